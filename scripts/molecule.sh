#!/usr/bin/env bash
# Run one molecule scenario from extensions/molecule/ on localhost (no containers).
#   bash scripts/molecule.sh SCENARIO [MOLECULE_COMMAND]     (command defaults to "test")
# Uses .venv/bin first on PATH, and an ANSIBLE_COLLECTIONS_PATH holding this tree as k0smotron.oci
# (kept if the caller already provides one that has k0smotron/oci) plus .tools/collections.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:?usage: scripts/molecule.sh SCENARIO [test|converge|verify|...]}
command=${2:-test}
[ -f "$ROOT/extensions/molecule/$scenario/molecule.yml" ] || {
  echo "no scenario extensions/molecule/$scenario (have: $(cd "$ROOT/extensions/molecule" && printf '%s ' *))" >&2; exit 2; }
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_PYTHON_INTERPRETER="${ANSIBLE_PYTHON_INTERPRETER:-$ROOT/.venv/bin/python}"
has_collection=false
IFS=: read -r -a paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}"
for p in "${paths[@]}"; do
  [ -n "$p" ] && [ -e "$p/ansible_collections/k0smotron/oci/galaxy.yml" ] && has_collection=true
done
if ! $has_collection; then
  tmp=$(mktemp -d /tmp/k0smotron-oci-molecule.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/ansible_collections/k0smotron"
  ln -s "$ROOT" "$tmp/ansible_collections/k0smotron/oci"
  export ANSIBLE_COLLECTIONS_PATH="$tmp:$ROOT/.tools/collections${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
fi
cd "$ROOT"
molecule "$command" -s "$scenario"
