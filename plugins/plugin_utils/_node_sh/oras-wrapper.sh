# shellcheck shell=sh
# shellcheck disable=SC2154  # real, home, registry, ca_file, plain_http: set by the lines above this text
# The oras wrapper of k0smotron.oci (the lines above set its values; _node_scripts.oras_wrapper writes them).
# ORAS refuses to start without HOME, and systemd units (Ignition runs k0smotron's commands in one) start
# without it: set HOME when it is unset (to $home, else the user's home from passwd, else /root), then run
# the real binary $real. With $registry set: oras pull / blob fetch / manifest fetch of a reference in that
# registry (exactly host[:port]) get --ca-file $ca_file and/or --plain-http after the subcommand
# (k0smotron runs 'oras blob fetch' with no flags). Every other command runs unchanged.
if [ -z "${HOME:-}" ]; then
  HOME=$home
  if [ -z "$HOME" ]; then HOME=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6); fi
  [ -n "$HOME" ] || HOME=/root
  export HOME
fi
if [ -n "$registry" ]; then
  case ${1:-} in
    pull) n=1 ;;
    blob|manifest) if [ "${2:-}" = fetch ]; then n=2; else n=0; fi ;;
    *) n=0 ;;
  esac
  ours=0
  if [ "$n" -gt 0 ]; then
    for a in "$@"; do
      case $a in "$registry"/*) ours=1 ;; esac
    done
  fi
  if [ "$ours" = 1 ]; then
    a1=$1
    shift
    if [ "$n" = 2 ]; then a2=$1; shift; fi
    if [ "$plain_http" = 1 ]; then set -- --plain-http "$@"; fi
    if [ -n "$ca_file" ]; then set -- --ca-file "$ca_file" "$@"; fi
    if [ "$n" = 2 ]; then set -- "$a1" "$a2" "$@"; else set -- "$a1" "$@"; fi
  fi
fi
exec "$real" "$@"
