# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""A curl-only OCI blob fetch for nodes: the POSIX shell function ``oci_blob_fetch`` and a renderer.

A node that must reach nothing but the registry cannot download the ORAS CLI from GitHub first, so
its install script fetches the ORAS tarball (or anything else) straight through the distribution API:
``GET /v2/<repo>/blobs/<digest>`` with ``curl``. The shell code runs under dash and busybox ash, needs
neither jq nor HOME, and contains no ``{{``, ``{%`` or ``{#``: cloud-init renders user-data (including
``write_files`` contents) with Jinja before anything runs. It is meant to be delivered as a file.

``FETCH_LIBRARY`` is the function library alone (for an installer that sources or embeds it);
``fetch_script()`` returns a complete script: the library plus one call with every value quoted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import (
    Reference,
    ReferenceError,
    is_registry_host,
    validate_digest,
)

FETCH_FUNCTION = "oci_blob_fetch"
DEFAULT_CONFIG_PATH = "/root/.docker/config.json"
MAX_RETRIES = 10

# Exit codes of oci_blob_fetch (also documented in the shell text below).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_DIGEST = 5
EXIT_REDIRECT = 6
EXIT_HTTP = 7
EXIT_LOCAL = 8

_PORT_RE = re.compile(r".*:([0-9]+)")
_MODE_RE = re.compile(r"0?[0-7]{3}")
_JINJA_DELIMITERS = ("{{", "{%", "{#")

FETCH_LIBRARY = r'''# --- oci_blob_fetch (k0smotron.oci): fetch one blob from an OCI registry with curl alone -------------
# Usage: oci_blob_fetch [-c CONFIG_JSON] [-a CA_FILE] [-p] [-r RETRIES] [-m MODE] REGISTRY REPOSITORY DIGEST DEST
#   REGISTRY host[:port]; REPOSITORY e.g. k0smotron/oras; DIGEST sha256:<64 hex>; DEST an absolute path.
#   -c  docker config.json with the credentials (default /root/.docker/config.json; missing = anonymous)
#   -a  PEM file with a private CA: trusted in addition to the system's CA bundle, for this fetch only
#   -p  plain HTTP for REGISTRY (and only then may a redirect or token realm use http://)
#   -r  retries after the first attempt on connection errors, 429 and 5xx (default 3; backoff 1, 2, 4 .. 30 s)
#   -m  file mode of DEST (default 0644)
# Exit codes: 0 installed or already present, 2 bad arguments, 3 authentication or authorization
#   failed, 4 blob not found, 5 sha256 mismatch, 6 redirect refused, 7 other HTTP error or gave up
#   after the retries, 8 local problem (no curl, DEST's folder not writable, no sha256 tool).
# How it works: GET https://REGISTRY/v2/REPOSITORY/blobs/DIGEST without -L. On 401 it reads
#   WWW-Authenticate: Basic -> the "auth" entry of REGISTRY in the config; Bearer realm/service/scope
#   -> a token request with those credentials as Basic (anonymous without any), then the token.
#   Redirects are followed by hand: credentials go only to REGISTRY's own scheme://host:port, and
#   https -> http is refused unless -p. The body goes to a temp file next to DEST, its sha256 is
#   checked, then it is renamed over DEST: DEST is never half-written. Nothing here prints a
#   credential or a token, and none is put on a command line (curl reads headers with -H @file).
# The config.json is read without jq, by a small awk JSON scanner. Assumed format (what docker, oras
#   and k0smotron.oci's dockerconfigjson filter write): {"auths": {"<key>": {"auth": "<base64 of
#   user:password>", ...}}} where <key> is REGISTRY, optionally with a scheme and/or a path
#   (https://REGISTRY/v1/); keys compare case-insensitively. Only "auth" is used: "username" and
#   "password" alone, "identitytoken", "credsStore" and "credHelpers" are ignored (no helper can run
#   on a node). JSON escapes other than \" \\ \/ are not decoded (base64 never needs them).
# Runs in a subshell: no variable, trap, umask or "set" option of the caller is touched.
# wget is not a fallback: busybox wget neither verifies TLS certificates against a given CA nor can
#   stop at a redirect, so it cannot keep credentials on the registry; without curl this fails clearly.

_ocf_log() {
  printf 'oci_blob_fetch: %s\n' "$*" >&2
}

_ocf_cleanup() {
  if [ -n "$_ocf_part" ]; then rm -f "$_ocf_part"; fi
  if [ -n "$_ocf_tmp" ]; then rm -rf "$_ocf_tmp"; fi
  _ocf_part=
  _ocf_tmp=
}

# _ocf_json_get FILE PATH NORMALISE: print the first string value at PATH (keys separated by a tab).
# NORMALISE=1 compares keys as registry names (scheme, path and case dropped).
_ocf_json_get() {
  awk -v want="$2" -v norm="$3" '
function nk(k) {
  if (norm == 1) {
    sub(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, "", k)
    sub(/\/.*$/, "", k)
    k = tolower(k)
  }
  return k
}
function path(   p, j) {
  p = key[1]
  for (j = 2; j <= d; j++) p = p "\t" key[j]
  return p
}
{ text = text $0 "\n" }
END {
  n = length(text); d = 0; ins = 0; esc = 0
  for (i = 1; i <= n; i++) {
    c = substr(text, i, 1)
    if (ins) {
      if (esc) {
        if (c == "/" || c == "\\" || c == "\"") s = s c
        else s = s "\\" c
        esc = 0
      } else if (c == "\\") {
        esc = 1
      } else if (c == "\"") {
        ins = 0
        if (obj[d] && st[d] == "k") key[d] = nk(s)
        else if (obj[d] && path() == want) { print s; exit 0 }
      } else {
        s = s c
      }
      continue
    }
    if (c == "\"") { ins = 1; s = ""; continue }
    if (c == "{") { d++; obj[d] = 1; st[d] = "k"; key[d] = ""; continue }
    if (c == "[") { d++; obj[d] = 0; st[d] = "v"; key[d] = ""; continue }
    if (c == "}" || c == "]") { d--; continue }
    if (c == ":") { st[d] = "v"; continue }
    if (c == ",") { if (obj[d]) st[d] = "k"; continue }
  }
}' "$1" 2>/dev/null
}

# _ocf_parse_url URL: sets _ocf_u_scheme, _ocf_u_hostport, _ocf_u_origin (scheme://host:port); 1 if unusable.
_ocf_parse_url() {
  case $1 in
    http://*) _ocf_u_scheme=http; _ocf_u_port=80 ;;
    https://*) _ocf_u_scheme=https; _ocf_u_port=443 ;;
    *) return 1 ;;
  esac
  _ocf_u_rest=${1#*://}
  _ocf_u_hostport=${_ocf_u_rest%%/*}
  _ocf_u_hostport=${_ocf_u_hostport%%[?]*}
  case $_ocf_u_hostport in
    ''|*@*) return 1 ;;
    \[*\]) _ocf_u_host=$_ocf_u_hostport ;;
    \[*\]:*|*:*) _ocf_u_host=${_ocf_u_hostport%:*}; _ocf_u_port=${_ocf_u_hostport##*:} ;;
    *) _ocf_u_host=$_ocf_u_hostport ;;
  esac
  case $_ocf_u_port in
    ''|*[!0-9]*) return 1 ;;
  esac
  _ocf_u_host=$(printf '%s' "$_ocf_u_host" | tr 'A-Z' 'a-z')
  _ocf_u_origin=$_ocf_u_scheme://$_ocf_u_host:$_ocf_u_port
  return 0
}

# _ocf_curl OUT HEADERS AUTH_HEADER_FILE URL [curl args]: prints the HTTP status, returns curl's code.
_ocf_curl() {
  _ocf_c_out=$1
  _ocf_c_hdr=$2
  _ocf_c_auth=$3
  _ocf_c_url=$4
  shift 4
  set -- -q -sS -g --proto =http,https --connect-timeout 20 --speed-limit 1 --speed-time 60 \
    -o "$_ocf_c_out" -D "$_ocf_c_hdr" -w '%{http_code}' "$@"
  if [ -n "$_ocf_cabundle" ]; then set -- "$@" --cacert "$_ocf_cabundle"; fi
  if [ -n "$_ocf_c_auth" ]; then set -- "$@" -H "@$_ocf_c_auth"; fi
  curl "$@" "$_ocf_c_url"
}

# _ocf_header NAME_PATTERN: the first value of a response header (sed pattern for the name).
_ocf_header() {
  sed -n "s/^$1:[[:space:]]*//p" "$_ocf_tmp/resp" | sed 's/[[:space:]]*$//' | head -n 1
}

_ocf_sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    _ocf_sum=$(sha256sum < "$1") || return 1
    _ocf_sum=${_ocf_sum%% *}
  elif command -v openssl >/dev/null 2>&1; then
    _ocf_sum=$(openssl dgst -sha256 < "$1") || return 1
    _ocf_sum=${_ocf_sum##* }
  else
    return 1
  fi
  return 0
}

# _ocf_token: the Bearer flow for the challenge in $_ocf_chal; writes $_ocf_tmp/auth.h. 0, 3, 6, 7 or 75.
_ocf_token() {
  _ocf_realm=$(printf '%s\n' "$_ocf_chal" | sed -n 's/.*[[:space:],][Rr][Ee][Aa][Ll][Mm]="\([^"]*\)".*/\1/p')
  _ocf_service=$(printf '%s\n' "$_ocf_chal" | sed -n 's/.*[[:space:],][Ss][Ee][Rr][Vv][Ii][Cc][Ee]="\([^"]*\)".*/\1/p')
  _ocf_scope=$(printf '%s\n' "$_ocf_chal" | sed -n 's/.*[[:space:],][Ss][Cc][Oo][Pp][Ee]="\([^"]*\)".*/\1/p')
  if [ -z "$_ocf_scope" ]; then _ocf_scope=repository:$_ocf_repo:pull; fi
  _ocf_realm_saved_scheme=$_ocf_u_scheme
  if ! _ocf_parse_url "$_ocf_realm"; then
    _ocf_log "the registry's Bearer challenge has no usable realm (${_ocf_realm%%[?]*})"
    return 7
  fi
  if [ "$_ocf_u_scheme" = http ] && [ "$_ocf_plain" != 1 ]; then
    _ocf_log "refusing the token service at ${_ocf_realm%%[?]*}: plain http, and the registry was not configured for plain HTTP (-p)"
    return 6
  fi
  set --
  if [ -n "$_ocf_service" ]; then set -- "$@" --data-urlencode "service=$_ocf_service"; fi
  set -- "$@" --data-urlencode "scope=$_ocf_scope"
  _ocf_basic=
  if [ -s "$_ocf_tmp/basic.h" ]; then _ocf_basic=$_ocf_tmp/basic.h; fi
  _ocf_code=$(_ocf_curl "$_ocf_tmp/token.json" "$_ocf_tmp/token.h" "$_ocf_basic" "$_ocf_realm" -G "$@")
  _ocf_rc=$?
  _ocf_u_scheme=$_ocf_realm_saved_scheme
  if [ $_ocf_rc -ne 0 ]; then
    _ocf_reason="token service ${_ocf_realm%%[?]*}: curl exit code $_ocf_rc"
    return 75
  fi
  case $_ocf_code in
    200) ;;
    401|403)
      if [ -n "$_ocf_basic" ]; then
        _ocf_log "the token service ${_ocf_realm%%[?]*} refused the credentials for $_ocf_registry" \
          "from $_ocf_config (HTTP $_ocf_code): wrong user name or password?"
      else
        _ocf_log "the token service ${_ocf_realm%%[?]*} refused an anonymous token (HTTP $_ocf_code) and $_ocf_config has no credentials for $_ocf_registry"
      fi
      return 3 ;;
    429|5??)
      _ocf_reason="token service ${_ocf_realm%%[?]*}: HTTP $_ocf_code"
      return 75 ;;
    *)
      _ocf_log "the token service ${_ocf_realm%%[?]*} answered HTTP $_ocf_code"
      return 7 ;;
  esac
  _ocf_tok=$(_ocf_json_get "$_ocf_tmp/token.json" token 0)
  if [ -z "$_ocf_tok" ]; then _ocf_tok=$(_ocf_json_get "$_ocf_tmp/token.json" access_token 0); fi
  rm -f "$_ocf_tmp/token.json"
  case $_ocf_tok in
    '')
      _ocf_log "the token service ${_ocf_realm%%[?]*} answered without a token"
      return 7 ;;
    *[!A-Za-z0-9._~+/=-]*)
      _ocf_tok=
      _ocf_log "the token service ${_ocf_realm%%[?]*} returned a token with unexpected characters"
      return 7 ;;
  esac
  printf 'Authorization: Bearer %s\n' "$_ocf_tok" > "$_ocf_tmp/auth.h"
  _ocf_tok=
  return 0
}

# _ocf_sequence: one attempt from the registry URL to a 200 body in $_ocf_part. 0, 3, 4, 6, 7 or 75 (retry).
_ocf_sequence() {
  _ocf_url=$_ocf_scheme://$_ocf_registry/v2/$_ocf_repo/blobs/$_ocf_digest
  _ocf_hops=0
  _ocf_reauth=0
  while :; do
    if ! _ocf_parse_url "$_ocf_url"; then
      _ocf_log "refusing to fetch ${_ocf_url%%[?]*}: not an http(s) URL with a host"
      return 6
    fi
    _ocf_show=$_ocf_u_scheme://$_ocf_u_hostport
    _ocf_send=
    if [ "$_ocf_u_origin" = "$_ocf_reg_origin" ] && [ -s "$_ocf_tmp/auth.h" ]; then _ocf_send=$_ocf_tmp/auth.h; fi
    : > "$_ocf_tmp/resp.raw"
    _ocf_code=$(_ocf_curl "$_ocf_part" "$_ocf_tmp/resp.raw" "$_ocf_send" "$_ocf_url")
    _ocf_rc=$?
    tr -d '\r' < "$_ocf_tmp/resp.raw" > "$_ocf_tmp/resp" 2>/dev/null
    if [ $_ocf_rc -ne 0 ]; then
      _ocf_reason="$_ocf_show: curl exit code $_ocf_rc (HTTP $_ocf_code)"
      return 75
    fi
    case $_ocf_code in
      200)
        return 0 ;;
      301|302|303|307|308)
        _ocf_hops=$((_ocf_hops + 1))
        if [ $_ocf_hops -gt 5 ]; then
          _ocf_log "more than 5 redirects from $_ocf_show"
          return 6
        fi
        _ocf_loc=$(_ocf_header '[Ll][Oo][Cc][Aa][Tt][Ii][Oo][Nn]')
        case $_ocf_loc in
          http://*|https://*) ;;
          //*) _ocf_loc=$_ocf_u_scheme:$_ocf_loc ;;
          /*) _ocf_loc=$_ocf_u_scheme://$_ocf_u_hostport$_ocf_loc ;;
          '')
            _ocf_log "HTTP $_ocf_code from $_ocf_show without a Location"
            return 6 ;;
          *)
            _ocf_log "HTTP $_ocf_code from $_ocf_show with a relative Location that is not supported"
            return 6 ;;
        esac
        _ocf_from=$_ocf_u_scheme
        if ! _ocf_parse_url "$_ocf_loc"; then
          _ocf_log "refusing the redirect from $_ocf_show to ${_ocf_loc%%[?]*}: not an http(s) URL with a host (and no user info)"
          return 6
        fi
        if [ "$_ocf_from" = https ] && [ "$_ocf_u_scheme" = http ] && [ "$_ocf_plain" != 1 ]; then
          _ocf_log "refusing the redirect from $_ocf_show to ${_ocf_loc%%[?]*}: https to http downgrade (plain HTTP was not configured)"
          return 6
        fi
        if [ "$_ocf_u_origin" != "$_ocf_reg_origin" ]; then
          _ocf_log "following a redirect to $_ocf_u_scheme://$_ocf_u_hostport (no credentials sent there)"
        fi
        _ocf_url=$_ocf_loc
        continue ;;
      401)
        if [ "$_ocf_u_origin" != "$_ocf_reg_origin" ]; then
          _ocf_log "HTTP 401 from $_ocf_show after a redirect: credentials are only ever sent to $_ocf_registry"
          return 3
        fi
        if [ $_ocf_reauth -ge 1 ]; then
          _ocf_log "$_ocf_registry refused the credentials from $_ocf_config (HTTP 401): wrong user name or password, or no pull access to $_ocf_repo"
          return 3
        fi
        _ocf_reauth=1
        _ocf_chal=$(_ocf_header '[Ww][Ww][Ww]-[Aa][Uu][Tt][Hh][Ee][Nn][Tt][Ii][Cc][Aa][Tt][Ee]')
        case $_ocf_chal in
          [Bb][Aa][Ss][Ii][Cc]|[Bb][Aa][Ss][Ii][Cc][[:space:]]*)
            if [ ! -s "$_ocf_tmp/basic.h" ]; then
              _ocf_log "$_ocf_registry needs credentials (Basic) and $_ocf_config has none for it"
              return 3
            fi
            cp "$_ocf_tmp/basic.h" "$_ocf_tmp/auth.h" || return 8 ;;
          [Bb][Ee][Aa][Rr][Ee][Rr][[:space:]]*)
            _ocf_token
            _ocf_rc=$?
            if [ $_ocf_rc -ne 0 ]; then return $_ocf_rc; fi ;;
          *)
            _ocf_log "$_ocf_registry answered HTTP 401 without a Basic or Bearer challenge"
            return 3 ;;
        esac
        continue ;;
      403)
        _ocf_log "$_ocf_show denied access to $_ocf_repo (HTTP 403): no pull permission?"
        return 3 ;;
      404)
        _ocf_log "$_ocf_show has no blob $_ocf_digest in $_ocf_repo (HTTP 404)"
        return 4 ;;
      429|5??)
        _ocf_reason="$_ocf_show: HTTP $_ocf_code"
        _ocf_wait=$(_ocf_header '[Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr]')
        case $_ocf_wait in
          ''|*[!0-9]*) _ocf_wait= ;;
        esac
        return 75 ;;
      *)
        _ocf_log "$_ocf_show answered HTTP $_ocf_code for the blob $_ocf_digest of $_ocf_repo"
        return 7 ;;
    esac
  done
}

_ocf_main() {
  _ocf_config=/root/.docker/config.json
  _ocf_ca=
  _ocf_plain=0
  _ocf_retries=3
  _ocf_mode=0644
  _ocf_part=
  _ocf_tmp=
  _ocf_cabundle=
  OPTIND=1
  while getopts c:a:pr:m: _ocf_opt; do
    case $_ocf_opt in
      c) _ocf_config=$OPTARG ;;
      a) _ocf_ca=$OPTARG ;;
      p) _ocf_plain=1 ;;
      r) _ocf_retries=$OPTARG ;;
      m) _ocf_mode=$OPTARG ;;
      *) _ocf_log "usage: oci_blob_fetch [-c CONFIG_JSON] [-a CA_FILE] [-p] [-r RETRIES] [-m MODE] REGISTRY REPOSITORY DIGEST DEST"
         return 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  if [ $# -ne 4 ]; then
    _ocf_log "usage: oci_blob_fetch [-c CONFIG_JSON] [-a CA_FILE] [-p] [-r RETRIES] [-m MODE] REGISTRY REPOSITORY DIGEST DEST"
    return 2
  fi
  _ocf_registry=$1
  _ocf_repo=$2
  _ocf_digest=$3
  _ocf_dest=$4
  case $_ocf_registry in
    ''|-*|*[!]A-Za-z0-9.:[-]*) _ocf_log "registry must be host[:port], got: $_ocf_registry"; return 2 ;;
  esac
  case $_ocf_repo in
    ''|/*|*/|*//*|*[!a-z0-9._/-]*) _ocf_log "not a repository name: $_ocf_repo"; return 2 ;;
  esac
  _ocf_hex=${_ocf_digest#sha256:}
  if [ "sha256:$_ocf_hex" != "$_ocf_digest" ] || [ "$(expr "x$_ocf_hex" : 'x[0-9a-f]*$')" != 65 ]; then
    _ocf_log "digest must be sha256:<64 lowercase hex>, got: $_ocf_digest"
    return 2
  fi
  case $_ocf_dest in
    /*[!/]) ;;
    *) _ocf_log "destination must be an absolute file path, got: $_ocf_dest"; return 2 ;;
  esac
  case $_ocf_retries in
    ''|*[!0-9]*) _ocf_log "retries must be a number, got: $_ocf_retries"; return 2 ;;
  esac
  if [ "$_ocf_retries" -gt 10 ]; then _ocf_retries=10; fi
  case $_ocf_mode in
    [0-7][0-7][0-7]|[0-7][0-7][0-7][0-7]) ;;
    *) _ocf_log "mode must be octal such as 0644, got: $_ocf_mode"; return 2 ;;
  esac
  if [ -n "$_ocf_ca" ] && [ ! -r "$_ocf_ca" ]; then
    _ocf_log "CA file $_ocf_ca is not readable"
    return 2
  fi
  if ! command -v curl >/dev/null 2>&1; then
    _ocf_log "curl is not installed; it is the only supported client (wget cannot keep credentials on the" \
      "registry across redirects, nor verify a private CA everywhere): install curl"
    return 8
  fi
  _ocf_scheme=https
  if [ "$_ocf_plain" = 1 ]; then _ocf_scheme=http; fi
  if ! _ocf_parse_url "$_ocf_scheme://$_ocf_registry/"; then
    _ocf_log "registry must be host[:port], got: $_ocf_registry"
    return 2
  fi
  _ocf_reg_origin=$_ocf_u_origin
  _ocf_dir=${_ocf_dest%/*}
  if [ -z "$_ocf_dir" ]; then _ocf_dir=/; fi
  _ocf_base=${_ocf_dest##*/}
  if [ ! -d "$_ocf_dir" ] || [ ! -w "$_ocf_dir" ]; then
    _ocf_log "the folder $_ocf_dir of $_ocf_dest does not exist or is not writable"
    return 8
  fi
  if [ -f "$_ocf_dest" ] && _ocf_sha256 "$_ocf_dest" && [ "$_ocf_sum" = "$_ocf_hex" ]; then
    chmod "$_ocf_mode" "$_ocf_dest" || return 8
    _ocf_log "$_ocf_dest already matches $_ocf_digest"
    return 0
  fi
  umask 077
  _ocf_tmp=$(mktemp -d "${TMPDIR:-/tmp}/oci-blob-fetch.XXXXXX") || { _ocf_tmp=; _ocf_log "cannot create a temp folder"; return 8; }
  trap '_ocf_cleanup' EXIT
  trap '_ocf_cleanup; exit 130' INT TERM HUP
  _ocf_part=$(mktemp "$_ocf_dir/.$_ocf_base.XXXXXX") || { _ocf_part=; _ocf_log "cannot create a temp file in $_ocf_dir"; return 8; }
  if [ -n "$_ocf_ca" ]; then
    _ocf_cabundle=$_ocf_tmp/ca.pem
    cat "$_ocf_ca" > "$_ocf_cabundle" || return 8
    for _ocf_sys in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/ca-bundle.pem /etc/ssl/cert.pem; do
      if [ -r "$_ocf_sys" ]; then
        printf '\n' >> "$_ocf_cabundle"
        cat "$_ocf_sys" >> "$_ocf_cabundle"
        break
      fi
    done
  fi
  if [ -r "$_ocf_config" ]; then
    _ocf_tab=$(printf '\t')
    _ocf_reg_key=$(printf '%s' "$_ocf_registry" | tr 'A-Z' 'a-z')
    _ocf_auth=$(_ocf_json_get "$_ocf_config" "auths$_ocf_tab$_ocf_reg_key${_ocf_tab}auth" 1)
    case $_ocf_auth in
      '') ;;
      *[!A-Za-z0-9+/=]*) _ocf_auth=; _ocf_log "ignoring the auth entry for $_ocf_registry in $_ocf_config: not base64" ;;
      *) printf 'Authorization: Basic %s\n' "$_ocf_auth" > "$_ocf_tmp/basic.h" ;;
    esac
    _ocf_auth=
  fi
  _ocf_attempt=0
  _ocf_delay=1
  while :; do
    _ocf_wait=
    _ocf_reason=
    _ocf_sequence
    _ocf_rc=$?
    if [ $_ocf_rc -eq 0 ]; then break; fi
    if [ $_ocf_rc -ne 75 ]; then return $_ocf_rc; fi
    _ocf_attempt=$((_ocf_attempt + 1))
    if [ $_ocf_attempt -gt "$_ocf_retries" ]; then
      _ocf_log "gave up after $_ocf_attempt attempts: $_ocf_reason"
      return 7
    fi
    if [ -n "$_ocf_wait" ]; then
      if [ "$_ocf_wait" -gt 60 ]; then _ocf_wait=60; fi
    else
      _ocf_wait=$_ocf_delay
      _ocf_delay=$((_ocf_delay * 2))
      if [ $_ocf_delay -gt 30 ]; then _ocf_delay=30; fi
    fi
    _ocf_log "$_ocf_reason; retrying in $_ocf_wait s (attempt $((_ocf_attempt + 1)) of $((_ocf_retries + 1)))"
    sleep "$_ocf_wait"
  done
  if ! _ocf_sha256 "$_ocf_part"; then
    _ocf_log "neither sha256sum nor openssl is installed: cannot verify the download"
    return 8
  fi
  _ocf_size=$(wc -c < "$_ocf_part")
  _ocf_size=$((_ocf_size + 0))
  if [ "$_ocf_sum" != "$_ocf_hex" ]; then
    _ocf_log "sha256 mismatch for $_ocf_repo@$_ocf_digest from $_ocf_show: got sha256:$_ocf_sum ($_ocf_size bytes); nothing installed at $_ocf_dest"
    return 5
  fi
  chmod "$_ocf_mode" "$_ocf_part" || return 8
  if ! mv -f "$_ocf_part" "$_ocf_dest"; then
    _ocf_log "cannot rename the download to $_ocf_dest"
    return 8
  fi
  _ocf_part=
  _ocf_log "installed $_ocf_dest ($_ocf_digest, $_ocf_size bytes) from $_ocf_registry/$_ocf_repo"
  return 0
}

oci_blob_fetch() {
  (
    set +e
    _ocf_main "$@"
    _ocf_status=$?
    _ocf_cleanup
    trap - EXIT INT TERM HUP
    exit $_ocf_status
  )
}
# --- end of oci_blob_fetch ----------------------------------------------------------------------------
'''


class NodeFetchError(ValueError):
    """An input the node-side fetch cannot take; the message names the option."""


def _check_path(value, option, required=True):
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value.startswith("/") or value.endswith("/") \
            or any(c in value for c in "\n\r\0"):
        raise NodeFetchError("%s must be an absolute file path, got %r" % (option, value))
    return value


def validate(registry, repository, digest, dest, config_path=DEFAULT_CONFIG_PATH, ca_file=None,
             retries=3, mode="0644"):
    """Raise NodeFetchError unless every value is one ``oci_blob_fetch`` accepts."""
    # The collection's one reference parser decides what a registry, a repository and a digest are.
    if not all(isinstance(v, str) and v == v.strip() for v in (registry, repository, digest)):
        raise NodeFetchError("registry, repository and digest must be strings without surrounding blanks")
    try:
        if not is_registry_host(registry):
            raise ReferenceError("option registry: %r is not host[:port] (no scheme, no path)" % (registry,))
        ref = Reference.parse("registry.invalid/" + repository, option="repository")
        if ref.repository != repository or ref.tag or ref.digest:
            raise ReferenceError("option repository: %r is not a repository name (no tag, no digest)" % (repository,))
        validate_digest(digest, "option digest")
    except ReferenceError as e:
        raise NodeFetchError(str(e))
    if not digest.startswith("sha256:"):
        raise NodeFetchError("option digest: %r is not sha256:<64 lowercase hex characters>" % (digest,))
    port = _PORT_RE.fullmatch(registry.rsplit("]", 1)[-1])
    if port is not None and not 0 < int(port.group(1)) < 65536:
        raise NodeFetchError("registry port must be 1-65535, got %r" % (registry,))
    _check_path(dest, "dest")
    _check_path(config_path, "config_path")
    _check_path(ca_file, "ca_file", required=False)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise NodeFetchError("retries must be an integer from 0 to %d, got %r" % (MAX_RETRIES, retries))
    if not isinstance(mode, str) or not _MODE_RE.fullmatch(mode):
        raise NodeFetchError("mode must be an octal string such as '0644', got %r" % (mode,))


def fetch_command(registry, repository, digest, dest, config_path=DEFAULT_CONFIG_PATH, ca_file=None,
                  plain_http=False, retries=3, mode="0644"):
    """One ``oci_blob_fetch`` call with every value validated and shell-quoted."""
    validate(registry, repository, digest, dest, config_path, ca_file, retries, mode)
    args = [FETCH_FUNCTION, "-c", config_path]
    if ca_file:
        args += ["-a", ca_file]
    if plain_http:
        args.append("-p")
    args += ["-r", str(retries), "-m", mode, "--", registry, repository, digest, dest]
    return " ".join(shlex.quote(a) for a in args)


def fetch_script(registry, repository, digest, dest, config_path=DEFAULT_CONFIG_PATH, ca_file=None,
                 plain_http=False, retries=3, mode="0644"):
    """A complete ``/bin/sh`` script: the library, then one call; its exit code is the call's."""
    command = fetch_command(registry, repository, digest, dest, config_path, ca_file, plain_http, retries, mode)
    text = ("#!/bin/sh\n"
            "# Written by k0smotron.oci: fetch %s/%s@%s to %s (curl only, sha256-verified).\n"
            "%s\n%s\n") % (registry, repository, digest, dest, FETCH_LIBRARY, command)
    check_no_jinja(text)
    return text


def check_no_jinja(text):
    """Raise NodeFetchError if ``text`` holds a Jinja delimiter (cloud-init would render it)."""
    for delimiter in _JINJA_DELIMITERS:
        if delimiter in text:
            raise NodeFetchError("the script contains %r, which cloud-init's Jinja rendering would consume" % delimiter)
    return text
