#!/usr/bin/env bash
# Build the AWX execution environment of docs/awx/execution-environment.yml for real, and run
# ansible-playbook k0smotron.oci.publish inside it against a TLS + htpasswd registry on 127.0.0.1.
#   bash scripts/ee.sh            # EE_WORK=/tmp/k0smotron-oci-ee by default; reruns reuse the base image
# No container registry is reachable here, so the base image is made locally: a Debian bookworm rootfs
# (debootstrap, from Debian packages) with python3 and pip, imported with "buildah from scratch". The
# shipped EE definition is used with two changes only: its base image is that local image, and the
# collections come from tarballs (this tree, built; kubernetes.core from .tools) through
# additional_build_files, as docs/awx.md shows for an unreleased build. ansible-builder writes the build
# context ("create"), buildah builds it (vfs storage, chroot isolation: no daemon, no user namespaces).
# Needs root (debootstrap, buildah); installs buildah and debootstrap with apt-get when missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${EE_WORK:-/tmp/k0smotron-oci-ee}
MIRROR=${EE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=localhost/k0smotron-oci-ee-base:bookworm
IMAGE=localhost/ee-k0smotron-oci:test
# A private image store, so that nothing of the machine's own containers storage is touched.
BUILDAH=(buildah --storage-driver vfs --root "$WORK/storage" --runroot "$WORK/run")
start=$(date +%s)
step() { printf '==> [%3ss] %s\n' "$(($(date +%s) - start))" "$*"; }

[ "$(id -u)" = 0 ] || { echo "scripts/ee.sh: needs root (debootstrap, buildah with vfs storage)" >&2; exit 1; }
if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  step "installing buildah and debootstrap (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap >/dev/null
fi
mkdir -p "$WORK"

if [ ! -x "$WORK/venv/bin/ansible-builder" ]; then
  step "ansible-builder venv ($WORK/venv)"
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q ansible-builder pyyaml 'ansible-core>=2.19,<2.20'
fi

if ! "${BUILDAH[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
  step "base image $BASE: debootstrap bookworm + python3, pip, ensurepip ($MIRROR)"
  rm -rf "$WORK/rootfs"
  debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates,openssl \
    bookworm "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log" >&2; exit 1; }
  # An image, not a system, like the usual EE base images: pip may install into the system Python (no
  # PEP 668 marker) and "python3 -m ensurepip", which ansible-builder runs, works (python3-venv holds it;
  # Debian refuses it for the system Python). The host's CA bundle, so that pip reaches PyPI as the host does.
  rm -f "$WORK"/rootfs/usr/lib/python3*/EXTERNALLY-MANAGED
  sed -i 's/^\( *\)_ensurepip_is_disabled_in_debian_for_system()$/\1pass/' "$WORK"/rootfs/usr/lib/python3*/ensurepip/__init__.py
  cp /etc/ssl/certs/ca-certificates.crt "$WORK/rootfs/etc/ssl/certs/ca-certificates.crt"
  # ansible-builder's scripts speak dnf ("install -y PKGS", "clean all"); this is the same for apt.
  cat >"$WORK/rootfs/usr/local/bin/ee-pkgmgr" <<'EOF'
#!/bin/sh
set -e
case "$1" in
  install) shift; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install --no-install-recommends "$@";;
  clean) apt-get clean; rm -rf /var/lib/apt/lists/*;;
  *) exec apt-get "$@";;
esac
EOF
  chmod 755 "$WORK/rootfs/usr/local/bin/ee-pkgmgr"
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb
  tar -C "$WORK/rootfs" -cf "$WORK/rootfs.tar" .
  ctr=$("${BUILDAH[@]}" from scratch)
  "${BUILDAH[@]}" add "$ctr" "$WORK/rootfs.tar" / >/dev/null
  "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 --cmd /bin/bash "$ctr"
  "${BUILDAH[@]}" commit --rm "$ctr" "$BASE" >/dev/null
  rm -rf "$WORK/rootfs" "$WORK/rootfs.tar"
fi

step "collection tarballs (this tree; kubernetes.core from .tools)"
rm -rf "$WORK/ee" && mkdir -p "$WORK/ee/files"
"$WORK/venv/bin/ansible-galaxy" collection build "$ROOT" --output-path "$WORK/ee/files" --force >/dev/null
K8S="$ROOT/.tools/collections/ansible_collections/kubernetes/core"
[ -f "$K8S/MANIFEST.json" ] || { echo "scripts/ee.sh: no kubernetes.core in .tools: run scripts/setup.sh" >&2; exit 1; }
# An installed collection is an artifact once tarred up (MANIFEST.json, FILES.json at the root), except that
# the ansible wheel's copy in .tools dropped docs/, tests/, .github/ but kept them in FILES.json: list only what is there.
"$WORK/venv/bin/python" - "$K8S" "$WORK/ee/files" <<'PY'
import hashlib
import io
import json
import os
import sys
import tarfile

src, out = sys.argv[1:]
with open(os.path.join(src, "MANIFEST.json")) as f:
    manifest = json.load(f)
with open(os.path.join(src, "FILES.json")) as f:
    files = json.load(f)
files["files"] = [e for e in files["files"] if e["name"] == "." or os.path.lexists(os.path.join(src, e["name"]))]
files_json = json.dumps(files, indent=4).encode()
manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
info = manifest["collection_info"]
with tarfile.open(os.path.join(out, "%s-%s-%s.tar.gz" % (info["namespace"], info["name"], info["version"])), "w:gz") as tar:
    for name, data in (("MANIFEST.json", json.dumps(manifest, indent=4).encode()), ("FILES.json", files_json)):
        member = tarfile.TarInfo(name)
        member.size, member.mode = len(data), 0o644
        tar.addfile(member, io.BytesIO(data))
    for entry in files["files"]:
        if entry["name"] != ".":
            tar.add(os.path.join(src, entry["name"]), arcname=entry["name"], recursive=False)
PY

step "EE definition: docs/awx/execution-environment.yml with the local base image and the tarballs"
"$WORK/venv/bin/python" - "$ROOT/docs/awx/execution-environment.yml" "$WORK/ee" "$BASE" <<'PY'
import glob
import os
import sys

import yaml

src, out, base = sys.argv[1:]
with open(src) as f:
    ee = yaml.safe_load(f)
ee["images"]["base_image"]["name"] = base
tarballs = sorted(os.path.basename(p) for p in glob.glob(os.path.join(out, "files", "*.tar.gz")))
# Both collections from the build context (no Galaxy here), exactly as docs/awx.md's tarball recipe.
# The galaxy stage copies the build context's _build/ to /build/.
ee["dependencies"]["galaxy"] = {"collections": [{"name": "/build/collections/" + t, "type": "file"} for t in tarballs]}
ee["additional_build_files"] = [{"src": "files/" + t, "dest": "collections"} for t in tarballs]
ee.setdefault("options", {})["package_manager_path"] = "/usr/local/bin/ee-pkgmgr"
with open(os.path.join(out, "execution-environment.yml"), "w") as f:
    yaml.safe_dump(ee, f, sort_keys=False)
PY

step "ansible-builder create"
(cd "$WORK/ee" && "$WORK/venv/bin/ansible-builder" create -f execution-environment.yml -c context --output-filename Containerfile >/dev/null)
step "buildah bud (vfs, chroot isolation) -> $IMAGE"
"${BUILDAH[@]}" bud --isolation chroot --network host --layers=false -f "$WORK/ee/context/Containerfile" \
  -t "$IMAGE" "$WORK/ee/context" >"$WORK/build.log" 2>&1 \
  || { tail -n 40 "$WORK/build.log" >&2; echo "scripts/ee.sh: build failed, log: $WORK/build.log" >&2; exit 1; }

step "ansible-playbook k0smotron.oci.publish inside $IMAGE (buildah run, host network) against 127.0.0.1"
# A TLS + htpasswd registry and a k0s release mirror (a stand-in binary) from the test harness; the
# credentials reach the playbook as the AWX credential type injects them: K0SMOTRON_OCI_* variables.
export EE_BUILDAH="${BUILDAH[*]}" EE_IMAGE="$IMAGE" EE_WORK="$WORK"
"$ROOT/.venv/bin/python" - "$ROOT" <<'PY'
import os
import shlex
import subprocess
import sys

sys.path.insert(0, sys.argv[1])
from tests.harness import mirror
from tests.harness.registry import Registry

work, buildah = os.environ["EE_WORK"], shlex.split(os.environ["EE_BUILDAH"])
version, password = "v1.34.1+k0s.0", "ee-Passw0rd-not-shown"
k0s = mirror.stand_in_k0s(os.path.join(work, "k0s"), version)
mirror.build_k0s_mirror(os.path.join(work, "k0s-release"), version, {"amd64": k0s})
with Registry(os.path.join(work, "registry"), tls=True, users={"ee": password}) as reg:
    rel = mirror.Mirror(os.path.join(work, "k0s-release")).start()
    ctr = subprocess.run(buildah + ["from", os.environ["EE_IMAGE"]], check=True, capture_output=True, text=True).stdout.strip()
    try:
        cmd = buildah + ["run", "--isolation", "chroot", "--network", "host", "-v", "%s:/runner/ca.pem:ro" % reg.ca["ca"],
                         "--env", "K0SMOTRON_OCI_USERNAME=ee", "--env", "K0SMOTRON_OCI_PASSWORD=" + password,
                         "--env", "K0SMOTRON_OCI_CA_PATH=/runner/ca.pem", "--env", "ANSIBLE_NOCOLOR=1",
                         # The image's user (1000, group 0) has no home; /runner is group-writable, as in AWX.
                         "--env", "HOME=/runner", ctr, "--",
                         "ansible-playbook", "-i", "localhost,", "-c", "local", "k0smotron.oci.publish",
                         "-e", "k0s_publish_repository=%s/ee/k0s" % reg.host, "-e", "k0s_publish_base_url=" + rel.url,
                         "-e", "k0s_publish_version=" + version]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    finally:
        subprocess.run(buildah + ["rm", ctr], capture_output=True, check=False)
        rel.stop()
out = proc.stdout + proc.stderr
print(out[-3000:])
url = "oci://%s/ee/k0s@sha256:%s" % (reg.host, mirror.sha256_file(k0s))
if proc.returncode != 0 or url not in out or password in out:
    sys.exit("scripts/ee.sh: the playbook in the EE did not publish %s (rc %d)" % (url, proc.returncode))
print("published in the EE: " + url)
PY
step "done: image $IMAGE in $WORK/storage (buildah --root $WORK/storage --runroot $WORK/run images)"
