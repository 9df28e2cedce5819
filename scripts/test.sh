#!/usr/bin/env bash
# Runs every test of the collection on this machine, installing what it needs first.
#   bash scripts/test.sh                 # everything (what CI runs)
#   bash scripts/test.sh functional lint # only some stages
# Stages: sanity units lint integration functional molecule build versions
# shellcheck disable=SC2317  # the stage_* functions run by name ("stage_$s")
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_PYTHON_INTERPRETER="$ROOT/.venv/bin/python"
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(sanity units lint integration functional molecule build versions)

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
PYTEST_ARGS=(-q -p no:cacheprovider -o addopts="")
if python -c 'import xdist' 2>/dev/null; then PYTEST_ARGS+=(-n 2 --dist loadfile); fi
stage_functional() { pytest "${PYTEST_ARGS[@]}" tests/functional; }
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

# Every other supported ansible-core line (tests/ansible-core-lines.txt; the stages above use the default, .venv):
# its ansible-test units, and with its ansible-playbook and Python the role suites below, the shipped playbooks
# node and site (publish -> resolve -> render) end to end included.
VERSION_TESTS=(
  "tests/functional/test_control_plane.py::test_seed_example[v1beta2]"        # credentials -> Secret
  tests/functional/test_control_plane.py::test_mixed_versions_and_own_infrastructure  # no credentials
  tests/functional/test_control_plane.py::test_registry_config_path
  tests/functional/test_node_roles.py::test_node_playbook_installs_and_is_idempotent
  tests/functional/test_k0s_publish.py::test_site_check_real_idempotent
)
# requires_ansible must name the lowest line tested, so that the claim stays true when the list changes.
check_floor() {
  python - <<'PY'
import re, yaml
floor = yaml.safe_load(open("meta/runtime.yml"))["requires_ansible"]
lines = [l.split()[0] for l in open("tests/ansible-core-lines.txt") if l.strip() and not l.startswith("#")]
lowest = min(lines + ["2.19"], key=lambda v: tuple(map(int, v.split("."))))
if floor != ">=%s.0" % lowest:
    raise SystemExit("meta/runtime.yml requires_ansible is %r, but the lowest line tested is %s "
                     "(tests/ansible-core-lines.txt): make them agree" % (floor, lowest))
print("requires_ansible %s: the lowest line tested" % floor)
PY
}
stage_versions() {
  check_floor || return 1
  K0SMOTRON_OCI_ANSIBLE_CORE_VENVS=$LINES_DIR bash scripts/setup.sh ansible-core >/dev/null || return 1
  local line py bin start result rc=0
  while read -r line py; do
    bin="$LINES_DIR/$line/bin"
    start=$SECONDS result=passed
    printf -- '--- ansible-core %s (Python %s)\n' "$("$bin/python" -c 'import ansible.release as r; print(r.__version__)')" "$py"
    if ! (cd "$COLL" && PATH="$bin:$PATH" ansible-test units --local --python "$py" --color no) ||
       ! K0SMOTRON_OCI_TEST_ANSIBLE_BIN="$bin" pytest "${PYTEST_ARGS[@]}" "${VERSION_TESTS[@]}"; then
      result=FAILED rc=1
    fi
    printf -- '--- ansible-core %s: %s (%d s)\n' "$line" "$result" "$((SECONDS - start))"
  done < <(grep -v '^#' tests/ansible-core-lines.txt)
  return "$rc"
}
LINES_DIR=${K0SMOTRON_OCI_ANSIBLE_CORE_VENVS:-$ROOT/.tools/ansible-core}

for s in "${stages[@]}"; do run_stage "$s" "stage_$s"; done
printf '\n===== summary =====\n'
passed=0 failed=0
for s in "${stages[@]}"; do
  printf '%-12s %s\n' "$s" "${results[$s]}"
  case "${results[$s]}" in passed*) passed=$((passed + 1));; *) failed=$((failed + 1));; esac
done
echo "stages: $passed passed, $failed failed"
exit $fail
