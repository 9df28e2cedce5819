#!/usr/bin/env bash
# Installs everything the demo and the tests need, idempotently (skips what is present).
# Tools land in the repository: .venv/ (Python tools), .tools/ (oras, kubernetes.core).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/.tools"
VENV="$ROOT/.venv"
mkdir -p "$TOOLS"
log() { printf '[setup] %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- Debian packages: the registry (CNCF distribution) and htpasswd ---------------------------
if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
  log "installing docker-registry apache2-utils"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-registry apache2-utils >/dev/null
fi
command -v shellcheck >/dev/null || { log "installing shellcheck (the sanity test and the lint stage run it)"; $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq shellcheck >/dev/null; }
command -v busybox >/dev/null || { log "installing busybox (ash, for the node-side sh tests)"; $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq busybox >/dev/null; }
# The Debian package starts a service on :5000 where systemd runs; the tests start their own.

# --- The real boot tools (tests/harness/realboot.py): cloud-init 22.4, Ignition 2.14, systemd ----
# cloud-init from Debian, without recommends. Its units only run when systemd boots the machine: where
# systemd is not PID 1 (containers, CI) installing it starts nothing. On a machine booted by systemd,
# /etc/cloud/cloud-init.disabled keeps it from running at the next boot (the boot tests remove that
# file inside their namespaces only).
if ! command -v cloud-init >/dev/null; then
  log "installing cloud-init (Debian, --no-install-recommends)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends cloud-init >/dev/null
  if [ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then
    $SUDO touch /etc/cloud/cloud-init.disabled
  fi
fi
# Ignition is an initramfs tool: unpack Debian's package under .tools/ignition, install nothing.
IGN="$TOOLS/ignition/usr/lib/dracut/modules.d/30ignition/ignition"
if [ ! -x "$IGN" ] || [ ! -x "$TOOLS/ignition/usr/bin/ignition-validate" ]; then
  log "unpacking Debian's ignition under $TOOLS/ignition"
  tmp=$(mktemp -d) && chmod 755 "$tmp"  # apt's _apt user downloads into it
  (cd "$tmp" && { apt-get download ignition >/dev/null 2>&1 || { $SUDO apt-get update -qq && apt-get download ignition >/dev/null; }; })
  rm -rf "$TOOLS/ignition" && mkdir -p "$TOOLS/ignition"
  dpkg -x "$tmp"/ignition_*.deb "$TOOLS/ignition"
  rm -rf "$tmp"
fi
"$IGN" -version >/dev/null
[ -x /lib/systemd/systemd ] || log "warning: /lib/systemd/systemd missing: the Ignition boot tests will skip"

# --- ORAS CLI from Debian trixie, unpacked without touching the system's apt sources ---------
# trixie_download PKG: PKG's .deb from Debian trixie into $TOOLS/apt-trixie (private lists, no system change).
trixie_download() {
  local APT="$TOOLS/apt-trixie" mirror
  mkdir -p "$APT/lists/partial" "$APT/archives/partial"
  chmod 755 "$APT"  # apt's _apt user downloads into it
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$mirror" ] || mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$APT/trixie.list"
  local aptopts=(-o "Dir::State::Lists=$APT/lists" -o "Dir::Etc::SourceList=$APT/trixie.list"
                 -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::Cache::Archives=$APT/archives")
  apt-get "${aptopts[@]}" update -qq
  rm -f "$APT/$1"_*.deb
  (cd "$APT" && apt-get "${aptopts[@]}" download "$1" >/dev/null)
}
if [ ! -x "$TOOLS/oras/usr/bin/oras" ]; then
  log "fetching oras from Debian trixie"
  trixie_download oras
  rm -rf "$TOOLS/oras" && mkdir -p "$TOOLS/oras"
  dpkg -x "$TOOLS/apt-trixie"/oras_*.deb "$TOOLS/oras"
fi
"$TOOLS/oras/usr/bin/oras" version >/dev/null

# --- cosign from Debian trixie, the same way: the supply-chain tests check interop with the real CLI -----
if [ ! -x "$TOOLS/cosign/usr/bin/cosign" ]; then
  log "fetching cosign from Debian trixie"
  trixie_download cosign
  rm -rf "$TOOLS/cosign" && mkdir -p "$TOOLS/cosign"
  dpkg -x "$TOOLS/apt-trixie"/cosign_*.deb "$TOOLS/cosign"
fi
"$TOOLS/cosign/usr/bin/cosign" version >/dev/null 2>&1

# --- containerd 1.7 from Debian trixie, the same way: the image-mirror tests pull through its CRI plugin ------
if [ ! -x "$TOOLS/containerd/usr/bin/containerd" ]; then
  log "fetching containerd from Debian trixie"
  trixie_download containerd
  rm -rf "$TOOLS/containerd" && mkdir -p "$TOOLS/containerd"
  dpkg -x "$TOOLS/apt-trixie"/containerd_*.deb "$TOOLS/containerd"
fi
"$TOOLS/containerd/usr/bin/containerd" --version >/dev/null

# --- Python tools in a venv (a requirement added later is installed into an existing venv too) ----------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
if [ ! -x "$VENV/bin/ansible-test" ] ||
   ! "$VENV/bin/python" -c 'import kubernetes_validate, jsonschema, pytest, molecule, grpc, ansible_runner' 2>/dev/null; then
  log "installing tests/requirements.txt into $VENV"
  "$VENV/bin/pip" install -q -r "$ROOT/tests/requirements.txt"
fi

# --- kubernetes.core (Galaxy is unreachable; the 'ansible' wheel on PyPI bundles it) ----------
if [ ! -d "$TOOLS/collections/ansible_collections/kubernetes/core" ]; then
  log "extracting kubernetes.core from the ansible wheel"
  tmp=$(mktemp -d)
  "$VENV/bin/pip" download -q ansible==12.3.0 --no-deps -d "$tmp"
  (cd "$tmp" && { python3 -m zipfile -e ansible-*.whl x >/dev/null 2>&1 || unzip -q ansible-*.whl 'ansible_collections/kubernetes/core/*' -d x; })
  mkdir -p "$TOOLS/collections/ansible_collections/kubernetes"
  cp -r "$tmp/x/ansible_collections/kubernetes/core" "$TOOLS/collections/ansible_collections/kubernetes/"
  rm -rf "$tmp"
fi

# --- ansible-test downloads a pip bootstrap script from the internet; give it a local one -----
pipver=$("$VENV/bin/python" - <<'PY'
import ansible_test._internal.util as u, re, inspect, pathlib
src = pathlib.Path(u.__file__).parent.joinpath('python_requirements.py').read_text()
m = re.search(r"version='([0-9.]+)'", src) or re.search(r'get_pip_(\d+_\d+)', src)
print(m.group(1).replace('.', '_') if m else '24_2')
PY
) || pipver=24_2
mkdir -p "$HOME/.ansible/test/cache"
for v in "$pipver" 24_2 25_0 25_1; do
  f="$HOME/.ansible/test/cache/get_pip_${v}.py"
  [ -f "$f" ] || echo 'import ensurepip; ensurepip.bootstrap(upgrade=True)' > "$f"
done
# --- Other ansible-core lines: bash scripts/setup.sh ansible-core (scripts/test.sh stage "versions") ------
# One venv per line of tests/ansible-core-lines.txt under $TOOLS/ansible-core/<line> (or under
# $K0SMOTRON_OCI_ANSIBLE_CORE_VENVS/<line>, e.g. a CI cache); .venv keeps the default toolchain.
LINES_DIR=${K0SMOTRON_OCI_ANSIBLE_CORE_VENVS:-$TOOLS/ansible-core}
python_for() {  # pyenv's install of Python X.Y (its pythonX.Y shims may be broken), else pythonX.Y on PATH
  local p
  if command -v pyenv >/dev/null && p=$(pyenv prefix "$1" 2>/dev/null) && "$p/bin/python" -c '' 2>/dev/null; then
    echo "$p/bin/python"
  elif command -v "python$1" >/dev/null && "python$1" -c '' 2>/dev/null; then
    command -v "python$1"
  else
    log "error: ansible-core lines need Python $1 (tests/ansible-core-lines.txt): install it (pyenv install $1)"
    return 1
  fi
}
if [ "${1:-}" = ansible-core ]; then
  while read -r line py; do
    venv="$LINES_DIR/$line"
    if ! "$venv/bin/python" - "$line" 2>/dev/null <<'PY'
import sys, ansible.release, pytest, pytest_mock, xdist, jsonschema
sys.exit(not ansible.release.__version__.startswith(sys.argv[1] + "."))
PY
    then
      log "creating $venv (ansible-core $line, Python $py)"
      rm -rf "$venv"
      "$(python_for "$py")" -m venv "$venv"
      "$venv/bin/pip" install -q --upgrade pip
      "$venv/bin/pip" install -q "ansible-core==$line.*" -r "$ROOT/tests/requirements-ansible-core.txt"
    fi
  done < <(grep -v '^#' "$ROOT/tests/ansible-core-lines.txt")
fi
log "ready: $VENV, $TOOLS/oras/usr/bin/oras, $TOOLS/ignition, $TOOLS/collections, cloud-init $(cloud-init --version 2>&1 | awk '{print $NF}')"
