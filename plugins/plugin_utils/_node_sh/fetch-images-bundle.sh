# shellcheck shell=sh
# shellcheck disable=SC2154  # the values (images_dir, bundles, ...) are set by the lines above this text
# fetch-images-bundle.sh (k0smotron.oci): puts the k0s airgap bundle (an OCI image layout tar) for this node's
# architecture into $images_dir, where k0s imports it when its worker starts. The bundle is one blob in the
# registry ($bundles: "arch=REGISTRY/REPOSITORY@sha256:HEX ..."), fetched with oci_blob_fetch (above): curl
# only, the credentials of ${DOCKER_CONFIG:-/root/.docker}/config.json, sha256-verified, written to a temp file
# next to the target and renamed: k0s never sees a half-written tar. Idempotent: a bundle already in place
# with the right digest is kept. Exit codes: 0 in place, 1 failed (nothing written), 8 local problem (disk full).
set -eu
umask 022

log() { printf 'fetch-images-bundle: %s\n' "$*" | tr -d '\000-\010\013-\037\177' >&2; }
die() { log "ERROR: $*"; exit 1; }

# lookup KEY PAIRS: the value of KEY in "key=value" pairs, one a line (empty when absent).
lookup() {
  for pair in $2; do
    case $pair in "$1="*) printf '%s\n' "${pair#*=}"; return 0 ;; esac
  done
}

machine=$(uname -m)
arch=$(lookup "$machine" "$arch_map")
[ -n "$arch" ] || die "unsupported machine architecture $machine (k0s arches: $k0s_arches)"
ref=$(lookup "$arch" "$bundles")
[ -n "$ref" ] || die "no airgap bundle for $arch in control_plane_images_bundle; nothing written"
registry=${ref%%/*}
rest=${ref#*/}
repository=${rest%@*}
digest=${rest#*@}
bundle_name=k0s-airgap-bundle-$arch.tar

set -- -c "${DOCKER_CONFIG:-/root/.docker}/config.json" -r "$fetch_retries" -m 0644 -l "$max_size"
if [ -n "$ca_file" ]; then set -- "$@" -a "$ca_file"; fi
if [ "$registry" = "$plain_http_registry" ]; then set -- "$@" -p; fi
mkdir -p "$images_dir"
log "fetching the $arch airgap bundle from $registry/$repository@$digest"
rc=0
oci_blob_fetch "$@" -- "$registry" "$repository" "$digest" "$images_dir/$bundle_name" || rc=$?
case $rc in
  0) log "the $arch airgap bundle is $images_dir/$bundle_name" ;;
  8) log "ERROR: cannot write $images_dir/$bundle_name (oci_blob_fetch exit 8)"; exit 8 ;;
  *) die "cannot fetch the $arch airgap bundle $registry/$repository@$digest (oci_blob_fetch exit $rc); nothing written" ;;
esac
