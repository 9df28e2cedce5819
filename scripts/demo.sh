#!/usr/bin/env bash
# The k0smotron.oci demo, one command on a fresh machine:
#   bash scripts/demo.sh
#   K0S_BINARY=/path/to/k0s-v1.34.1+k0s.0-amd64 bash scripts/demo.sh   # publish a real k0s release file
# Installs the tools (scripts/setup.sh), then runs scripts/demo.py: a local TLS registry and release
# mirror on 127.0.0.1, ansible-playbook k0smotron.oci.site and k0smotron.oci.node, schema validation,
# boots with the real cloud-init, Ignition and systemd, then a node whose only peer is the registry.
# Output in ./demo-output (or --output DIR). Nothing is left running.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
echo "==> installing the tools (scripts/setup.sh; the first run downloads Python packages, a minute or two)"
bash "$ROOT/scripts/setup.sh"

OUT="$PWD/demo-output"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --output) OUT="${args[$((i + 1))]:-$OUT}";;
    --output=*) OUT="${args[$i]#--output=}";;
  esac
done
mkdir -p "$OUT"

pid=""
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  # The driver stops what it started; if it was killed, stop its children recorded in demo.pids.
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -f "$OUT/demo.pids" ]; then
    while read -r p; do
      if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -TERM "$p" 2>/dev/null || true; fi
    done < "$OUT/demo.pids"
    rm -f "$OUT/demo.pids"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$ROOT/.venv/bin/python" "$ROOT/scripts/demo.py" "$@" &
pid=$!
rc=0
wait "$pid" || rc=$?
pid=""
exit "$rc"
