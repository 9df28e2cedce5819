# shellcheck shell=sh
# shellcheck disable=SC2154  # the values (version, release_url, ...) are set by the lines above this text
# install-oras.sh (k0smotron.oci): installs the ORAS CLI $version that k0smotron uses for an oci:// downloadURL:
#   $libdir/oras-$version/oras  the real binary, sha256-verified
#   $bindir/oras  a wrapper that sets HOME=/root when HOME is unset (oras_wrapper_text, above)
# The wrapper matters under Ignition: every command runs as a systemd ExecStart line without HOME, and the
# ORAS CLI refuses to start without it. With HOME=/root, oras reads /root/.docker/config.json.
# Idempotent: exits 0 at once when this version is already installed. Installs nothing when a download or
# the checksum fails. Source: $source = release (curl or wget from $release_url) or registry (oci_blob_fetch
# of the tarball's blob from $oras_registry/$oras_repository, curl only, the credentials of
# ${DOCKER_CONFIG:-/root/.docker}/config.json). Downloads stop after $max_size bytes, after 60 s plus one
# second per 16 KiB of that, and below 1 KiB/s for 30 s. Exit codes: 0 installed, 1 failed, 8 the download
# could not be written (disk full: the OS error is named).
# Needs: uname, curl (or wget for the release source), head, sha256sum (or openssl), tar, gzip, cmp.
set -eu
umask 022
real=$libdir/oras-$version/oras
wrapper=$bindir/oras

# Control characters are dropped: messages may carry text from a server or curl.
log() { printf 'install-oras: %s\n' "$*" | tr -d '\000-\010\013-\037\177' >&2; }
die() { log "ERROR: $*"; exit 1; }

# lookup KEY PAIRS: the value of KEY in "key=value" pairs, one a line (empty when absent).
lookup() {
  for pair in $2; do
    case $pair in "$1="*) printf '%s\n' "${pair#*=}"; return 0 ;; esac
  done
}

installed() {
  [ -x "$real" ] && [ -f "$wrapper" ] || return 1
  grep -qF "$marker" "$wrapper" && grep -qF "$real" "$wrapper" || return 1
  HOME=/root "$real" version 2>/dev/null | grep -qE "^Version: *$version([^0-9.]|$)"
}

write_wrapper() {
  oras_wrapper_text > "$wrapper.new"
  chmod 0755 "$wrapper.new"
}

if installed; then
  write_wrapper
  if cmp -s "$wrapper.new" "$wrapper"; then
    rm -f "$wrapper.new"
    log "ORAS $version is already installed ($wrapper)"
  else
    mv -f "$wrapper.new" "$wrapper"
    log "ORAS $version is already installed; updated its wrapper $wrapper"
  fi
  exit 0
fi

machine=$(uname -m)
arch=$(lookup "$machine" "$arch_map")
[ -n "$arch" ] || die "unsupported machine architecture $machine (ORAS release assets: $oras_arches)"
tarball=oras_${version}_linux_$arch.tar.gz

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d " " -f 1
  else
    openssl dgst -sha256 -r "$1" | cut -d " " -f 1
  fi
}

# get URL FILE: one bounded download attempt (at most max_size bytes reach FILE); 0 done, 1 failed,
# 2 more than max_size bytes, 8 FILE could not be written (the OS error in $tmp/write.err).
get() {
  echo 99 > "$tmp/get.rc"
  if command -v curl >/dev/null 2>&1; then
    if { curl -fsSL --proto =http,https --connect-timeout 20 --speed-limit 1024 --speed-time 30 \
        --max-time $((60 + max_size / 16384)) --max-filesize "$max_size" "$1"; echo $? > "$tmp/get.rc"; } |
      head -c $((max_size + 1)) > "$2" 2> "$tmp/write.err"; then :; else return 8; fi
  elif command -v wget >/dev/null 2>&1; then
    if { wget -q -T 30 -O - "$1"; echo $? > "$tmp/get.rc"; } |
      head -c $((max_size + 1)) > "$2" 2> "$tmp/write.err"; then :; else return 8; fi
  else
    die "neither curl nor wget is installed; nothing installed"
  fi
  [ "$(wc -c < "$2")" -le "$max_size" ] || return 2
  case $(cat "$tmp/get.rc") in
    0) return 0 ;;
    63) return 2 ;;
    *) return 1 ;;
  esac
}

fetch() {
  n=1
  while :; do
    rm -f "$2"
    rc=0
    get "$1" "$2" || rc=$?
    case $rc in
      0) return 0 ;;
      2) die "$1 sent more than $max_size bytes (the size limit of an ORAS tarball); nothing installed" ;;
      8) log "ERROR: cannot write the download of $1 to $2: $(head -n 1 "$tmp/write.err"); nothing installed"
         exit 8 ;;
    esac
    [ "$n" -lt "$retries" ] || return 1
    log "download of $1 failed (attempt $n of $retries), retrying in $((n * 2)) s"
    sleep $((n * 2))
    n=$((n + 1))
  done
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

if [ "$source" = registry ]; then
  digest=$(lookup "$arch" "$digests")
  [ -n "$digest" ] || die "no ORAS artifact digest known for $arch; nothing installed"
  size=$(lookup "$arch" "$sizes")
  set -- -c "${DOCKER_CONFIG:-/root/.docker}/config.json" -r "$fetch_retries" -m 0600 -l "$max_size"
  if [ -n "$size" ]; then set -- "$@" -s "$size"; fi
  if [ -n "$ca_file" ]; then set -- "$@" -a "$ca_file"; fi
  if [ "$plain_http" = 1 ]; then set -- "$@" -p; fi
  log "fetching $tarball from $oras_registry/$oras_repository@$digest"
  rc=0
  oci_blob_fetch "$@" -- "$oras_registry" "$oras_repository" "$digest" "$tmp/$tarball" || rc=$?
  case $rc in
    0) ;;
    8) log "ERROR: cannot fetch $tarball from $oras_registry/$oras_repository@$digest (oci_blob_fetch exit 8); nothing installed"
       exit 8 ;;
    *) die "cannot fetch $tarball from $oras_registry/$oras_repository@$digest (oci_blob_fetch exit $rc); nothing installed" ;;
  esac
  sum=${digest#sha256:}
else
  sum=$(lookup "$arch" "$sums")
  [ -n "$sum" ] || die "no checksum (sha256) known for $tarball; nothing installed"
  fetch "$release_url/$tarball" "$tmp/$tarball" || die "cannot download $release_url/$tarball; nothing installed"
fi
actual=$(sha256 "$tmp/$tarball")
[ "$actual" = "$sum" ] || die "checksum (sha256) mismatch for $tarball: expected $sum, got $actual; nothing installed"

mkdir "$tmp/x"
tar -xzf "$tmp/$tarball" -C "$tmp/x" oras || die "cannot extract oras from $tarball; nothing installed"
[ -f "$tmp/x/oras" ] || die "$tarball holds no oras binary; nothing installed"
HOME=/root "$tmp/x/oras" version >/dev/null 2>&1 || die "the oras binary from $tarball does not run here; nothing installed"

mkdir -p "$libdir/oras-$version" "$bindir"
cp "$tmp/x/oras" "$real.new"
chmod 0755 "$real.new"
mv -f "$real.new" "$real"
write_wrapper
mv -f "$wrapper.new" "$wrapper"
log "installed ORAS $version ($arch) as $wrapper"
