#!/usr/bin/env bash
# Runs every test of the collection on this machine, installing what it needs first.
#   bash scripts/test.sh                 # everything (what CI runs)
#   bash scripts/test.sh functional lint # only some stages
# Stages: sanity units lint integration functional molecule build
# shellcheck disable=SC2317  # the stage_* functions run by name ("stage_$s")
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_PYTHON_INTERPRETER="$ROOT/.venv/bin/python"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(sanity units lint integration functional molecule build)

WORK=$(mktemp -d /tmp/k0smotron-oci-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# ansible-test wants the tree at .../ansible_collections/k0smotron/oci: copy the working tree
# (tracked and new files, not ignored ones) there.
COLL="$WORK/ansible_collections/k0smotron/oci"
mkdir -p "$COLL"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$COLL"
export ANSIBLE_COLLECTIONS_PATH="$WORK:$ROOT/.tools/collections"

declare -A results
fail=0
run_stage() {
  local name=$1; shift
  printf '\n===== %s =====\n' "$name"
  local start=$SECONDS
  if "$@"; then results[$name]="passed ($((SECONDS - start)) s)"; else results[$name]="FAILED"; fail=1; fi
}

# The whole collection as built: bench/, scripts/ and tests/ ship in the tarball, so they are sanity-clean too.
stage_sanity() { (cd "$COLL" && ansible-test sanity --local --python 3.11 --color no); }
stage_units() { (cd "$COLL" && ansible-test units --local --python 3.11 --color no); }
stage_integration() { (cd "$COLL" && ansible-test integration --local --python 3.11 --color no); }
# Shipped node scripts run under dash and busybox ash on nodes: POSIX sh, checked as sh and as dash.
stage_lint() {
  (cd "$COLL" && ansible-lint --offline --profile production && python scripts/check_role_specs.py roles &&
    shellcheck -s sh plugins/plugin_utils/_node_sh/*.sh && shellcheck -s dash plugins/plugin_utils/_node_sh/*.sh)
}
stage_functional() {
  local args=(-q -p no:cacheprovider -o addopts="" tests/functional)
  if python -c 'import xdist' 2>/dev/null; then args+=(-n 2 --dist loadfile); fi
  pytest "${args[@]}"
}
stage_molecule() {
  local s
  for s in extensions/molecule/*/; do
    s=$(basename "$s")
    [ -f "extensions/molecule/$s/molecule.yml" ] || continue
    bash scripts/molecule.sh "$s" || return 1
  done
}
# ansible-doc renders every plugin of a type from the installed tarball (a broken DOCUMENTATION fails).
ansible_doc_all() {
  local inst=$1 type=$2 dir=$3 f
  for f in "$COLL/$dir"/*.py; do
    ANSIBLE_COLLECTIONS_PATH="$inst" ansible-doc -t "$type" "k0smotron.oci.$(basename "$f" .py)" >/dev/null || return 1
  done
  echo "ansible-doc: every $type renders"
}
stage_build() {
  local out="$WORK/build" inst="$WORK/installed"
  mkdir -p "$out" "$inst"
  (cd "$COLL" && ansible-galaxy collection build --output-path "$out" --force) &&
  ANSIBLE_COLLECTIONS_PATH="$inst" ansible-galaxy collection install --no-deps --offline --force -p "$inst" \
    "$out"/k0smotron-oci-*.tar.gz &&
  test -f "$inst/ansible_collections/k0smotron/oci/MANIFEST.json" &&
  ansible_doc_all "$inst" module plugins/modules &&
  ansible_doc_all "$inst" filter plugins/filter &&
  ansible_doc_all "$inst" lookup plugins/lookup &&
  ansible_doc_all "$inst" test plugins/test &&
  for r in "$COLL"/roles/*/; do
    ANSIBLE_COLLECTIONS_PATH="$inst" ansible-doc -t role "k0smotron.oci.$(basename "$r")" >/dev/null || return 1
  done &&
  # The shipped node scripts (plugins/plugin_utils/_node_sh) load from the installed tarball too.
  ANSIBLE_COLLECTIONS_PATH="$inst" ansible localhost -o -m ansible.builtin.copy \
    -a "dest=$WORK/oras-wrapper content={{ '/opt/oras' | k0smotron.oci.oras_wrapper('1.3.0') }}" >/dev/null &&
  grep -qxF "exec \"\$real\" \"\$@\"" "$WORK/oras-wrapper" &&
  echo "built and installed $(ls "$out")"
}

for s in "${stages[@]}"; do run_stage "$s" "stage_$s"; done
printf '\n===== summary =====\n'
passed=0 failed=0
for s in "${stages[@]}"; do
  printf '%-12s %s\n' "$s" "${results[$s]}"
  case "${results[$s]}" in passed*) passed=$((passed + 1));; *) failed=$((failed + 1));; esac
done
echo "stages: $passed passed, $failed failed"
exit $fail
