# shellcheck shell=sh
# --- oci_blob_fetch (k0smotron.oci): fetch one blob from an OCI registry with curl alone -------------
# Usage: oci_blob_fetch [-c CONFIG_JSON] [-a CA_FILE] [-p] [-r RETRIES] [-m MODE] [-s SIZE | -l MAX] REGISTRY REPOSITORY DIGEST DEST
#   REGISTRY host[:port]; REPOSITORY e.g. k0smotron/oras; DIGEST sha256:<64 hex>; DEST an absolute path.
#   -c  docker config.json with the credentials (default /root/.docker/config.json; missing = anonymous)
#   -a  PEM file with a private CA: trusted in addition to the system's CA bundle, for this fetch only
#   -p  plain HTTP for REGISTRY (and only then may a redirect or token realm use http://)
#   -r  retries after the first attempt on connection errors, 429 and 5xx (default 3; backoff 1, 2, 4 .. 30 s)
#   -m  file mode of DEST (default 0644)
#   -s  the blob's size in bytes (the layer size of the manifest): the download stops after it, and any
#       other size is refused.
#   -l  without -s: the download stops after MAX bytes (default 512 MiB)
# Bounds: every request stops after its size limit (64 KiB for token answers) and after 60 s plus one
#   second per 16 KiB of that limit, and gives up when it moves slower than 1 KiB/s for 30 s.
#   Text a server sends (Location, realm) is logged without control characters (no terminal escapes).
# Exit codes: 0 installed or already present, 2 bad arguments, 3 authentication or authorization
#   failed, 4 blob not found, 5 sha256 or size mismatch (also: more than SIZE bytes sent), 6 redirect
#   refused, 7 other HTTP error or gave up after the retries, 8 local problem (no curl, DEST's folder not
#   writable, disk full: never retried, the OS error is named; no sha256 tool).
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

# Control characters are dropped (tab and newline kept): messages carry text a server chose.
_ocf_log() {
  printf 'oci_blob_fetch: %s\n' "$*" | tr -d '\000-\010\013-\037\177' >&2
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
  _ocf_u_host=$(printf '%s' "$_ocf_u_host" | tr '[:upper:]' '[:lower:]')
  _ocf_u_origin=$_ocf_u_scheme://$_ocf_u_host:$_ocf_u_port
  return 0
}

# _ocf_curl OUT HEADERS AUTH_HEADER_FILE URL LIMIT [curl args]: one request whose body goes to OUT, at most
#   LIMIT bytes of it (plus one: then _ocf_over=1). Sets _ocf_code (HTTP status) and _ocf_cerr (curl's
#   message); returns curl's code, or 8 when OUT cannot be written (_ocf_werr: the OS error). The body passes
#   through head, because curl's --max-filesize does not stop a body without a Content-Length before 8.4.
_ocf_curl() {
  _ocf_c_out=$1
  _ocf_c_hdr=$2
  _ocf_c_auth=$3
  _ocf_c_url=$4
  _ocf_c_limit=$5
  shift 5
  set -- -q -sS -g --proto =http,https --connect-timeout 20 --speed-limit 1024 --speed-time 30 \
    --max-time $((60 + _ocf_c_limit / 16384)) --max-filesize "$_ocf_c_limit" -o - -D "$_ocf_c_hdr" "$@"
  if [ -n "$_ocf_cabundle" ]; then set -- "$@" --cacert "$_ocf_cabundle"; fi
  if [ -n "$_ocf_c_auth" ]; then set -- "$@" -H "@$_ocf_c_auth"; fi
  _ocf_over=0
  _ocf_werr=
  echo 99 > "$_ocf_tmp/curl.rc"
  if { curl "$@" "$_ocf_c_url" 2> "$_ocf_tmp/curl.err"; echo $? > "$_ocf_tmp/curl.rc"; } |
    head -c $((_ocf_c_limit + 1)) > "$_ocf_c_out" 2> "$_ocf_tmp/write.err"; then :; else
    _ocf_werr=$(head -n 1 "$_ocf_tmp/write.err")
    if [ -z "$_ocf_werr" ]; then _ocf_werr="cannot write $_ocf_c_out"; fi
    return 8
  fi
  _ocf_c_rc=$(cat "$_ocf_tmp/curl.rc")
  _ocf_cerr=$(head -n 1 "$_ocf_tmp/curl.err")
  _ocf_code=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$_ocf_c_hdr" 2>/dev/null)
  if [ -z "$_ocf_code" ]; then _ocf_code=000; fi
  _ocf_c_got=$(wc -c < "$_ocf_c_out")
  if [ "$_ocf_c_got" -gt "$_ocf_c_limit" ] || [ "$_ocf_c_rc" = 63 ]; then
    _ocf_over=1
    return 0
  fi
  if [ "$_ocf_c_rc" = 23 ]; then
    _ocf_werr="cannot write $_ocf_c_out"
    return 8
  fi
  return "$_ocf_c_rc"
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
  _ocf_curl "$_ocf_tmp/token.json" "$_ocf_tmp/token.h" "$_ocf_basic" "$_ocf_realm" 65536 -G "$@"
  _ocf_rc=$?
  _ocf_u_scheme=$_ocf_realm_saved_scheme
  if [ $_ocf_rc -eq 8 ]; then
    _ocf_log "cannot write the token answer: $_ocf_werr"
    return 8
  fi
  if [ $_ocf_rc -ne 0 ]; then
    _ocf_reason="token service ${_ocf_realm%%[?]*}: curl exit code $_ocf_rc ($_ocf_cerr)"
    return 75
  fi
  if [ "$_ocf_over" = 1 ]; then
    _ocf_log "the token service ${_ocf_realm%%[?]*} answered with more than 64 KiB: refused"
    return 7
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
  if [ "$(expr "x$_ocf_tok" : '.*')" -gt 16385 ]; then
    _ocf_tok=
    _ocf_log "the token service ${_ocf_realm%%[?]*} returned a token longer than 16 KiB: refused"
    return 7
  fi
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
    _ocf_curl "$_ocf_part" "$_ocf_tmp/resp.raw" "$_ocf_send" "$_ocf_url" "$_ocf_limit"
    _ocf_rc=$?
    tr -d '\r' < "$_ocf_tmp/resp.raw" > "$_ocf_tmp/resp" 2>/dev/null
    if [ $_ocf_rc -eq 8 ]; then
      _ocf_log "cannot write the download next to $_ocf_dest: $_ocf_werr; nothing installed"
      return 8
    fi
    if [ $_ocf_rc -ne 0 ]; then
      _ocf_reason="$_ocf_show: curl exit code $_ocf_rc (HTTP $_ocf_code) $_ocf_cerr"
      return 75
    fi
    case $_ocf_code in
      200)
        if [ "$_ocf_over" = 1 ]; then
          _ocf_log "$_ocf_show sent more than the $_ocf_limit bytes expected for $_ocf_repo@$_ocf_digest; nothing installed at $_ocf_dest"
          return 5
        fi
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
  _ocf_size=
  _ocf_limit=536870912
  _ocf_part=
  _ocf_tmp=
  _ocf_cabundle=
  OPTIND=1
  while getopts c:a:pr:m:s:l: _ocf_opt; do
    case $_ocf_opt in
      c) _ocf_config=$OPTARG ;;
      a) _ocf_ca=$OPTARG ;;
      p) _ocf_plain=1 ;;
      r) _ocf_retries=$OPTARG ;;
      m) _ocf_mode=$OPTARG ;;
      s) _ocf_size=$OPTARG ;;
      l) _ocf_limit=$OPTARG ;;
      *) _ocf_log "usage: oci_blob_fetch [-c CONFIG_JSON] [-a CA_FILE] [-p] [-r RETRIES] [-m MODE] [-s SIZE | -l MAX] REGISTRY REPOSITORY DIGEST DEST"
         return 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  if [ $# -ne 4 ]; then
    _ocf_log "usage: oci_blob_fetch [-c CONFIG_JSON] [-a CA_FILE] [-p] [-r RETRIES] [-m MODE] [-s SIZE | -l MAX] REGISTRY REPOSITORY DIGEST DEST"
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
  case $_ocf_limit in
    ''|*[!0-9]*|0*) _ocf_log "the size limit must be a number of bytes > 0, got: $_ocf_limit"; return 2 ;;
  esac
  case $_ocf_size in
    '') ;;
    *[!0-9]*|0*) _ocf_log "size must be a number of bytes > 0, got: $_ocf_size"; return 2 ;;
    *) _ocf_limit=$_ocf_size ;;
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
    _ocf_reg_key=$(printf '%s' "$_ocf_registry" | tr '[:upper:]' '[:lower:]')
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
  _ocf_got=$(wc -c < "$_ocf_part")
  _ocf_got=$((_ocf_got + 0))
  if [ -n "$_ocf_size" ] && [ "$_ocf_got" != "$_ocf_size" ]; then
    _ocf_log "size mismatch for $_ocf_repo@$_ocf_digest from $_ocf_show: got $_ocf_got bytes, expected $_ocf_size; nothing installed at $_ocf_dest"
    return 5
  fi
  if [ "$_ocf_sum" != "$_ocf_hex" ]; then
    _ocf_log "sha256 mismatch for $_ocf_repo@$_ocf_digest from $_ocf_show: got sha256:$_ocf_sum ($_ocf_got bytes); nothing installed at $_ocf_dest"
    return 5
  fi
  chmod "$_ocf_mode" "$_ocf_part" || return 8
  if ! mv -f "$_ocf_part" "$_ocf_dest"; then
    _ocf_log "cannot rename the download to $_ocf_dest"
    return 8
  fi
  _ocf_part=
  _ocf_log "installed $_ocf_dest ($_ocf_digest, $_ocf_got bytes) from $_ocf_registry/$_ocf_repo"
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
