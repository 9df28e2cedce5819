"""Node bootstrap simulation: run what k0smotron's bootstrap runs on a node, for real, in a private namespace.

Given a rendered ``K0sControlPlane`` (``v1beta1``/``v1beta2``, ``spec.k0sConfigSpec``), a
``K0sWorkerConfigTemplate`` (``spec.template.spec``) or a ``K0sWorkerConfig``/``K0sControllerConfig``
(``spec``), plus the rendered ``Secret``/``ConfigMap`` objects its ``files[].contentFrom`` name, this
module does, in the order of k0smotron's bootstrap provider (see docs/boot-simulation.md for the
source pointers and for what is *not* reproduced):

1. resolve ``files`` (``content`` or ``contentFrom.secretRef``/``configMapRef`` from the objects'
   ``data`` (base64) / ``stringData``) -- the bootstrap controller;
2. build the command list: pre-commands (``preStartCommands`` v1beta1 / ``preK0sCommands`` v1beta2),
   then k0smotron's download lines for ``oci://`` URLs (``internal/controller/util/download.go``):
   ``export HOME=/root``, ``oras blob fetch --output DIR/k0s REF``, ``chmod +x DIR/k0s``;
3. hand both to a provisioner model (``internal/provisioner/``):

   * **cloud-init**: the user-data (``## template: jinja`` + ``#cloud-config``) is rendered by Jinja
     the way cloud-init does (``trim_blocks``, ``jinja2.ext.do``, undefined variables printed as
     ``CI_MISSING_JINJA_VAR/<name>``, syntax errors = the whole user-data ignored), parsed as YAML,
     ``write_files`` written (missing ``permissions`` -> 0644), and ``runcmd`` turned into one
     ``#!/bin/sh`` script (cloud-init's ``shellify``) run without ``-e`` from a service environment
     (``PATH`` and ``LANG`` only, no ``HOME``);
   * **Ignition**: ``permissions`` parsed as octal with no default (missing = no config at all),
     files written, then a oneshot unit with one ``ExecStart=/bin/sh -c '<command>'`` per command,
     parsed the way systemd parses it (line continuation, quote removal, C escapes, ``%``
     specifiers, ``${NAME}``/``$NAME``/``$$`` against an environment holding only ``PATH`` and
     ``LANG``); a parse error makes the unit not load (nothing runs); each line is its own process;
     the first failing line stops the unit.

Everything runs inside ``unshare --mount --pid --fork --propagation private``: a tmpfs becomes the
node's ``/``; ``/usr``, ``/etc``, ``/var``, ``/opt`` ... are overlays (host as the lower layer, writes
go to the tmpfs); ``/root``, ``/tmp``, ``/run``, ``/usr/local/bin`` and ``/usr/local/lib`` are empty
tmpfs (a fresh node: no host oras, no host credentials); the test CA is appended to the node's
``/etc/ssl/certs/ca-certificates.crt`` (what the Go-based oras reads; ``SSL_CERT_FILE`` is not set,
nodes don't have it). Commands run ``chroot``-ed there. When the driver exits, the PID namespace takes
every process with it and the mounts vanish; the host's ``/usr/local/bin`` and ``/root`` are checked
to be unchanged.

Usable from pytest (``simulate_boot``) and from the demo (``python -m tests.harness.bootsim``).
"""
import argparse
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NODE_LANG = "C.UTF-8"
SERVICE_ENV = {"PATH": NODE_PATH, "LANG": NODE_LANG}
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CLOUD_INIT_HEADER = "## template: jinja\n#cloud-config\n"
IGNITION_UNIT = "k0smotron-bootstrap.service"  # name assumed; only matters for %n/%N/%p
VERDICT_OK = "node bootstrap simulated: k0s installed, sha256 verified"
DEFAULT_INSTALL_DIR = "/usr/local/bin"

BOOTSTRAP_KINDS = ("K0sControlPlane", "K0sWorkerConfigTemplate", "K0sWorkerConfig", "K0sControllerConfig")


class SimulationError(Exception):
    """The input cannot be simulated (not a bootstrap object, unknown kind ...)."""


# --------------------------------------------------------------------------- results

class Step(dict):
    """One step: name, ran, exit_code, stdout, stderr, detail."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


class BootResult(object):
    def __init__(self, **kw):
        self.provisioner = kw.get("provisioner")
        self.kind = kw.get("kind")
        self.api_version = kw.get("api_version")
        self.name = kw.get("name")
        self.download_url = kw.get("download_url")
        self.expected_sha256 = kw.get("expected_sha256")
        self.k0s_path = kw.get("k0s_path")
        self.steps = []
        self.findings = []  # portability problems (strict mode turns errors into a failure)
        self.files_written = []  # [{path, mode}]
        self.k0s_sha256 = None
        self.k0s_runs = False
        self.k0s_version_output = ""
        self.host_untouched = None
        self.error = None
        self.failed_step = None
        self.skipped = None
        self.userdata = None  # what the provisioner model produced (cloud-config text / unit text)

    @property
    def k0s_present(self):
        return self.k0s_sha256 is not None

    @property
    def sha256_verified(self):
        return bool(self.k0s_sha256) and self.k0s_sha256 == self.expected_sha256

    @property
    def ok(self):
        return (self.skipped is None and self.error is None and self.sha256_verified and self.k0s_runs
                and self.host_untouched is not False)

    def verdict(self):
        if self.skipped:
            return "node bootstrap simulation skipped: %s" % self.skipped
        if self.ok:
            return VERDICT_OK
        return "node bootstrap simulation FAILED: %s" % (self.error or "k0s not installed")

    def report(self):
        lines = ["%s %s/%s (%s): %s" % (self.kind, self.api_version, self.name, self.provisioner, self.verdict())]
        for s in self.steps:
            status = "not run" if not s["ran"] else ("ok" if s.get("exit_code") in (0, None) else "exit %s" % s["exit_code"])
            if s.get("seconds") is not None:
                status += " (%.1f s)" % s["seconds"]
            lines.append("  - %-40s %s" % (s["name"][:40], status))
        for f in self.findings:
            lines.append("  ! %s: %s" % (f["level"], f["message"]))
        if self.userdata:
            lines.append("  bootstrap data modelled: %d bytes (%s)" % (
                len(self.userdata.encode()), "cloud-config" if self.provisioner == "cloud-init" else "files + unit"))
        if self.k0s_present:
            lines.append("  k0s: %s sha256:%s (%s), runs: %s %s" % (
                self.k0s_path, self.k0s_sha256, "matches downloadURL" if self.sha256_verified else
                "expected sha256:%s" % self.expected_sha256, self.k0s_runs, self.k0s_version_output.strip()))
        else:
            lines.append("  k0s: %s absent" % self.k0s_path)
        if self.failed_step:
            s = self.failed_step
            for stream in ("stdout", "stderr"):
                text = (s.get(stream) or "").strip()
                if text:
                    lines.append("  %s of %s:" % (stream, s["name"]))
                    lines.extend("    | " + ln for ln in text.splitlines()[-25:])
        return "\n".join(lines)

    def as_dict(self):
        d = dict(self.__dict__)
        d.update(ok=self.ok, verdict=self.verdict(), sha256_verified=self.sha256_verified)
        d["failed_step"] = self.failed_step["name"] if self.failed_step else None
        return d

    def __repr__(self):
        return "<BootResult %s>" % self.report()


# --------------------------------------------------------------------------- namespace support

def unshare_available():
    """(True, None) if a private mount + PID namespace can be made here, else (False, reason)."""
    if os.name != "posix" or not shutil.which("unshare"):
        return False, "unshare (util-linux) is not installed"
    if os.geteuid() != 0:
        return False, "needs root to create a private mount namespace (unshare -m); run as root (CI does)"
    for tool in ("chroot", "mount"):
        if not shutil.which(tool):
            return False, "%s is not installed" % tool
    probe = tempfile.mkdtemp(prefix="bootsim-probe-")
    # The same mounts the driver needs: a tmpfs and an overlay with a host directory as the lower layer.
    script = ('mount -t tmpfs bootsim "$1" && mkdir "$1/u" "$1/w" "$1/m" && '
              'mount -t overlay overlay -o lowerdir=/etc,upperdir="$1/u",workdir="$1/w" "$1/m"')
    try:
        p = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--propagation", "private", "true"],
                           capture_output=True, text=True, timeout=20, check=False)
        if p.returncode != 0:
            return False, "unshare -m --propagation private is not permitted here: %s" % p.stderr.strip()
        p = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--propagation", "private",
                            "/bin/sh", "-c", script, "probe", probe],
                           capture_output=True, text=True, timeout=20, check=False)
        if p.returncode != 0:
            return False, "tmpfs/overlay mounts are not permitted in a private namespace here: %s" % p.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, "unshare failed: %s" % e
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return True, None


# --------------------------------------------------------------------------- object model

def _as_list(objects):
    if objects is None:
        return []
    if isinstance(objects, dict):
        return [objects]
    return [o for o in objects if o]


def bootstrap_objects(objects):
    return [o for o in _as_list(objects) if o.get("kind") in BOOTSTRAP_KINDS]


def _spec_of(obj):
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "K0sControlPlane":
        return spec.get("k0sConfigSpec") or {}
    if kind == "K0sWorkerConfigTemplate":
        return (spec.get("template") or {}).get("spec") or {}
    if kind == "K0sControllerConfig" and "k0sConfigSpec" in spec:
        return spec.get("k0sConfigSpec") or {}
    if kind in BOOTSTRAP_KINDS:
        return spec
    raise SimulationError("%s is not a k0smotron bootstrap object (want one of %s)" % (kind, ", ".join(BOOTSTRAP_KINDS)))


def _api_version(obj):
    return (obj.get("apiVersion") or "").rsplit("/", 1)[-1]


def provisioner_of(obj):
    """The provisioner the object asks for: 'ignition' or 'cloud-init'."""
    spec = _spec_of(obj)
    if _api_version(obj) == "v1beta1":
        return "ignition" if spec.get("ignition") else "cloud-init"
    prov = spec.get("provisioner") or {}
    return "ignition" if prov.get("ignition") else "cloud-init"


def pre_commands(obj):
    spec = _spec_of(obj)
    key = "preStartCommands" if _api_version(obj) == "v1beta1" else "preK0sCommands"
    other = "preK0sCommands" if key == "preStartCommands" else "preStartCommands"
    if spec.get(other) is not None:
        raise SimulationError("%s %s has %s, which does not exist in that API version (use %s)"
                              % (obj.get("kind"), obj.get("apiVersion"), other, key))
    return list(spec.get(key) or [])


def install_dir(obj):
    return (_spec_of(obj).get("k0sInstallDir") or DEFAULT_INSTALL_DIR).rstrip("/") or "/"


def download_commands(obj):
    """k0smotron internal/controller/util/download.go, for the object's downloadURL."""
    spec = _spec_of(obj)
    url = spec.get("downloadURL") or ""
    d = install_dir(obj)
    if spec.get("preInstalledK0s"):
        return []
    if url.startswith("oci://"):
        return ["export HOME=/root",
                "oras blob fetch --output %s/k0s %s" % (d, url[len("oci://"):]),
                "chmod +x %s/k0s" % d]
    if url:
        return ["curl -sSfL --retry 5 %s -o %s/k0s" % (url, d), "chmod +x %s/k0s" % d]
    raise SimulationError("downloadURL is empty: the simulation only covers downloadURL installs "
                          "(k0smotron's get.k0s.sh path needs the internet)")


_OCI_RE = re.compile(r"^oci://(?P<ref>[^@]+)@sha256:(?P<hex>[0-9a-f]{64})$")


def expected_sha256(obj):
    m = _OCI_RE.match(_spec_of(obj).get("downloadURL") or "")
    return m.group("hex") if m else None


def _find_source(sources, kind, name, namespace):
    for s in sources:
        if s.get("kind") != kind:
            continue
        md = s.get("metadata") or {}
        if md.get("name") != name:
            continue
        if namespace and md.get("namespace") not in (None, namespace):
            continue
        return s
    return None


def resolve_files(obj, sources):
    """files[] -> [{index, path, content(bytes), permissions(raw)}]; raises SimulationError like the controller."""
    spec = _spec_of(obj)
    ns = (obj.get("metadata") or {}).get("namespace") or "default"
    out = []
    for i, f in enumerate(spec.get("files") or []):
        path = f.get("path")
        if not path:
            raise SimulationError("files[%d] has no path" % i)
        cf = f.get("contentFrom")
        if cf:
            if "secretRef" in cf and cf["secretRef"]:
                ref, kind = cf["secretRef"], "Secret"
            elif "configMapRef" in cf and cf["configMapRef"]:
                ref, kind = cf["configMapRef"], "ConfigMap"
            else:
                raise SimulationError("files[%d] (%s): contentFrom names neither secretRef nor configMapRef" % (i, path))
            src = _find_source(sources, kind, ref.get("name"), ns)
            if src is None:
                raise SimulationError("files[%d] (%s): %s %s/%s not found: the bootstrap controller cannot "
                                      "generate bootstrap data (create it in the Cluster's namespace)"
                                      % (i, path, kind, ns, ref.get("name")))
            key = ref.get("key")
            data = dict((k, ("b64", v)) for k, v in (src.get("data") or {}).items())
            if kind == "Secret":
                data.update((k, ("str", v)) for k, v in (src.get("stringData") or {}).items())
            else:
                data = dict((k, ("str", v)) for k, v in (src.get("data") or {}).items())
                data.update((k, ("b64", v)) for k, v in (src.get("binaryData") or {}).items())
            if key not in data:
                raise SimulationError("files[%d] (%s): key %r not in %s %s/%s (keys: %s)"
                                      % (i, path, key, kind, ns, ref.get("name"), ", ".join(sorted(data)) or "none"))
            how, value = data[key]
            content = base64.b64decode(value) if how == "b64" else str(value).encode()
        else:
            content = f.get("content")
            content = b"" if content is None else (content.encode() if isinstance(content, str) else content)
        out.append({"index": i, "path": path, "content": content, "permissions": f.get("permissions")})
    return out


# --------------------------------------------------------------------------- portability checks

def portability_findings(obj, files):
    """Things that work under one provisioner only (DESIGN: 'The robust pattern for both')."""
    found = []
    for f in files:
        p = f["permissions"]
        where = "files[%d] (%s)" % (f["index"], f["path"])
        if p is None or p == "":
            found.append(("error", "%s has no permissions: k0smotron's Ignition path cannot parse it (no config "
                                   "at all) and cloud-init writes it 0644; set permissions: \"0600\" (quoted)" % where))
        elif not isinstance(p, str):
            found.append(("error", "%s: permissions %r is not a string (the CRD wants a quoted octal such as "
                                   "\"0600\"; an unquoted 0600 is a YAML integer)" % (where, p)))
        elif not re.match(r"^[0-7]{3,4}$", p):
            found.append(("error", "%s: permissions %r is not octal" % (where, p)))
        text = f["content"].decode("utf-8", "replace")
        for tok in ("{{", "{%", "{#"):
            if tok in text:
                found.append(("error", "%s contains %r: cloud-init renders the user-data with Jinja first"
                                       % (where, tok)))
    for j, c in enumerate(pre_commands(obj)):
        bad = [ch for ch in ("'", '"', "$", "%", "{", "}", "\\", "\n") if ch in c]
        if bad:
            found.append(("warning", "pre-command %d %r contains %s: it means different things under cloud-init "
                                     "and Ignition; ship it as a script in files" % (j, c, " ".join(repr(b) for b in bad))))
    return [{"level": lv, "message": m} for lv, m in found]


# --------------------------------------------------------------------------- cloud-init model

MISSING_JINJA_PREFIX = "CI_MISSING_JINJA_VAR/"


def cloud_init_userdata(files, commands):
    """The user-data text as k0smotron's cloud-init provisioner emits it (before Jinja)."""
    wf = []
    for f in files:
        entry = {"path": f["path"], "content": f["content"].decode("utf-8", "surrogateescape")}
        if f["permissions"] not in (None, ""):
            entry["permissions"] = f["permissions"]
        wf.append(entry)
    body = yaml.safe_dump({"write_files": wf, "runcmd": list(commands)}, default_flow_style=False,
                          sort_keys=False, width=1 << 20, allow_unicode=True)
    return CLOUD_INIT_HEADER + body


def render_cloud_init_jinja(userdata):
    """cloud-init's templater.render_string for '## template: jinja' parts (empty instance data)."""
    import jinja2

    class UndefinedJinjaVariable(jinja2.Undefined):
        def __str__(self):
            return "%s%s" % (MISSING_JINJA_PREFIX, self._undefined_name)

        def __sub__(self, other):
            raise TypeError('Undefined jinja variable: "%s-%s". Jinja tried subtraction.'
                            % (self._undefined_name, str(other).replace(MISSING_JINJA_PREFIX, "")))

    payload = userdata.partition("\n")[2]  # cloud-init strips the '## template: jinja' line
    tmpl = jinja2.Template(payload, undefined=UndefinedJinjaVariable, trim_blocks=True,
                           extensions=["jinja2.ext.do"])
    return tmpl.render()


def shellify(cmdlist):
    """cloud-init util.shellify: the runcmd script."""
    content = "#!/bin/sh\n"
    for args in cmdlist:
        if isinstance(args, (list, tuple)):
            content += " ".join("'%s'" % str(a).replace("'", "'\\''") for a in args) + "\n"
        elif isinstance(args, str):
            content += args + "\n"
        else:
            raise SimulationError("runcmd item %r is neither a string nor a list" % (args,))
    return content


def decode_perms(perm, default=0o644):
    """cloud-init write_files decode_perms: lenient (undecodable -> default, with a warning)."""
    if perm is None:
        return default
    try:
        if isinstance(perm, (int, float)):
            return int(perm)
        return int(str(perm), 8)
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- systemd model

SPECIFIERS = {
    "a": "x86-64", "A": "", "b": "6b0f5bd0c5e84b4c9b0c1e1d7a1b2c3d", "B": "", "C": "/var/cache",
    "d": "", "E": "/etc", "f": "/" + IGNITION_UNIT[:-8], "g": "root", "G": "0", "h": "/root", "H": "node",
    "i": "", "I": "", "j": IGNITION_UNIT[:-8].rsplit("-", 1)[-1], "J": IGNITION_UNIT[:-8].rsplit("-", 1)[-1],
    "l": "node", "L": "/var/log", "m": "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a", "M": "", "n": IGNITION_UNIT,
    "N": IGNITION_UNIT[:-8], "o": "flatcar", "p": IGNITION_UNIT[:-8], "P": IGNITION_UNIT[:-8], "q": "node",
    "r": "", "R": "", "s": "/bin/sh", "S": "/var/lib", "t": "/run", "T": "/tmp", "u": "root", "U": "0",
    "v": "6.6.0", "V": "/var/tmp", "w": "", "W": "", "y": "", "Y": "",
}


class UnitParseError(Exception):
    pass


_CUNESCAPE_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                     "\\": "\\", '"': '"', "'": "'", "s": " "}


def _cunescape_one(s, i):
    """systemd cunescape_one at s[i] (the char after the backslash): (text, consumed) or raise."""
    c = s[i] if i < len(s) else ""
    if c in _CUNESCAPE_SIMPLE:
        return _CUNESCAPE_SIMPLE[c], 1
    if c == "x":
        h = s[i + 1:i + 3]
        if len(h) == 2 and all(ch in "0123456789abcdefABCDEF" for ch in h) and int(h, 16) != 0:
            return chr(int(h, 16)), 3
    elif c in ("u", "U"):
        n = 4 if c == "u" else 8
        h = s[i + 1:i + 1 + n]
        if len(h) == n and all(ch in "0123456789abcdefABCDEF" for ch in h) and int(h, 16) != 0:
            return chr(int(h, 16)), n + 1
    elif c in "01234567" and c:
        o = s[i:i + 3]
        if len(o) == 3 and all(ch in "01234567" for ch in o) and int(o, 8) != 0 and int(o, 8) < 256:
            return chr(int(o, 8)), 3
    raise UnitParseError("invalid escape '\\%s'" % c)


def systemd_split(value):
    """extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) repeated: the words of an ExecStart= value."""
    words = []
    i, n = 0, len(value)
    ws = " \t\n\r"
    while True:
        while i < n and value[i] in ws:
            i += 1
        if i >= n:
            return words
        buf, quote = [], None
        while True:
            if i >= n:
                if quote:
                    raise UnitParseError("unbalanced quoting (a %s opened and never closed)" % quote)
                break
            c = value[i]
            if c == "\\":
                if i + 1 >= n:
                    raise UnitParseError("trailing backslash")
                text, used = _cunescape_one(value, i + 1)
                buf.append(text)
                i += 1 + used
                continue
            if quote:
                if c == quote:
                    quote = None
                else:
                    buf.append(c)
                i += 1
                continue
            if c in ws:
                break
            if c in ("'", '"'):
                quote = c
            else:
                buf.append(c)
            i += 1
        words.append("".join(buf))


def specifier_printf(word):
    out, i = [], 0
    while i < len(word):
        c = word[i]
        if c == "%":
            if i + 1 >= len(word):
                out.append("%")  # a stray trailing % stays
                break
            s = word[i + 1]
            if s == "%":
                out.append("%")
            elif s in SPECIFIERS:
                out.append(SPECIFIERS[s])
            else:
                raise UnitParseError("Failed to resolve unit specifiers in '%s': unknown specifier %%%s" % (word, s))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def replace_env(word, env):
    """systemd replace_env(flags=0): ${NAME} -> value ('' if unset), $$ -> $, other $ literal."""
    out, i, n = [], 0, len(word)
    while i < n:
        c = word[i]
        if c == "$" and i + 1 < n:
            nxt = word[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "{":
                j = word.find("}", i + 2)
                if j < 0:
                    out.append(word[i:])
                    break
                out.append(env.get(word[i + 2:j], ""))
                i = j + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


def replace_env_argv(argv, env):
    """systemd replace_env_argv: a word '$NAME' is split into words (none if unset)."""
    out, notes = [], []
    for w in argv:
        if len(w) > 1 and w[0] == "$" and w[1] not in "{$":
            name = w[1:]
            val = env.get(name) if _ENV_NAME.match(name) else None
            if val is None:
                notes.append("argument %r expanded by systemd to nothing (%s)" % (
                    w, "not set" if _ENV_NAME.match(name) else "not a variable name"))
            out.extend(val.split() if val else [])
            continue
        out.append(replace_env(w, env))
    return out, notes


def ignition_unit_text(commands):
    lines = ["[Unit]", "Description=k0smotron bootstrap (as generated by the Ignition provisioner)",
             "After=network-online.target", "Wants=network-online.target", "", "[Service]", "Type=oneshot"]
    for c in commands:
        lines.append("ExecStart=/bin/sh -c '%s'" % c)
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def parse_unit_execstart(text):
    """systemd's unit file reader + config_parse_exec for [Service] ExecStart=: [(raw, argv)] or raise."""
    logical, cur = [], None
    for raw in text.split("\n"):
        if cur is not None:
            stripped = raw.strip()
            if stripped.startswith(("#", ";")):
                continue  # comments inside a continuation are skipped
            cur += " " + raw
        else:
            cur = raw
        if cur.endswith("\\") and not cur.endswith("\\\\"):
            cur = cur[:-1]
            continue
        logical.append(cur)
        cur = None
    if cur is not None:
        logical.append(cur)
    section, execs, warnings = None, [], []
    for line in logical:
        s = line.strip()
        if not s or s[0] in "#;":
            continue
        if s.startswith("[") and s.endswith("]"):
            section = s[1:-1]
            continue
        if "=" not in s:
            warnings.append("Missing '=', ignoring line: %s" % s)
            continue
        key, value = s.split("=", 1)
        key, value = key.strip(), value.strip()
        if section != "Service" or key != "ExecStart":
            continue
        if not value:
            execs = []  # an empty assignment resets the list
            continue
        try:
            words = systemd_split(value)
            argv = [specifier_printf(w) for w in words]
        except UnitParseError as e:
            raise UnitParseError("%s: ExecStart=%s: %s; Unit %s has a bad unit file setting, "
                                 "nothing in it runs" % (IGNITION_UNIT, value, e, IGNITION_UNIT))
        if not argv or not argv[0].startswith("/"):
            raise UnitParseError("%s: ExecStart=%s: executable path is not absolute" % (IGNITION_UNIT, value))
        execs.append((value, argv))
    return execs, warnings


def ignition_permissions(files):
    """k0smotron's Ignition provisioner: strconv.ParseInt(permissions, 8, 32), no default."""
    out = []
    for f in files:
        p = f["permissions"]
        ptxt = "" if p is None else str(p)
        if isinstance(p, int) or not re.match(r"^[+-]?[0-7]+$", ptxt):
            raise SimulationError(
                "Ignition: files[%d] (%s): strconv.ParseInt: parsing %s: invalid syntax -- k0smotron cannot "
                "generate the Ignition config, so the machine gets no bootstrap data at all; set permissions to "
                "a quoted octal string such as \"0600\"" % (f["index"], f["path"], json.dumps(ptxt)))
        out.append(int(ptxt, 8))
    return out


# --------------------------------------------------------------------------- the in-namespace driver

DRIVER = r'''
import json, os, subprocess, sys, hashlib, time
T0 = time.time()
work = sys.argv[1]
plan = json.load(open(os.path.join(work, "plan.json")))
res = {"steps": [], "files": [], "k0s_sha256": None, "k0s_runs": False, "k0s_version_output": "", "error": None}
def out(msg):
    sys.stderr.write("[bootsim] %s\n" % msg)
def sh(*args):
    p = subprocess.run(list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), p.stderr.strip()))
ns = os.path.join(work, "ns")
os.makedirs(ns, exist_ok=True)
sh("mount", "--make-rprivate", "/")
sh("mount", "-t", "tmpfs", "-o", "mode=0755", "bootsim", ns)
root = os.path.join(ns, "root")
os.makedirs(root)
for name in sorted(os.listdir("/")):
    src = "/" + name
    dst = os.path.join(root, name)
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
    elif name in ("proc", "sys", "dev"):
        os.makedirs(dst)
        sh("mount", "--rbind", src, dst)
        sh("mount", "--make-rslave", dst)
    elif name in ("etc", "usr", "var", "opt", "srv", "home", "bin", "sbin", "lib", "lib32", "lib64", "libx32") \
            and os.path.isdir(src):
        up, wk = os.path.join(ns, "upper", name), os.path.join(ns, "work", name)
        os.makedirs(up); os.makedirs(wk); os.makedirs(dst)
        sh("mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (src, up, wk), dst)
    elif name in ("root", "tmp", "run", "mnt", "media"):
        os.makedirs(dst)
        sh("mount", "-t", "tmpfs", "-o", "mode=%s" % ("0700" if name == "root" else "1777" if name == "tmp" else "0755"),
           "bootsim-" + name, dst)
    # anything else (/work, /boot, ...) is not part of the node
for d in ("usr/local/bin", "usr/local/lib"):
    p = os.path.join(root, d)
    os.makedirs(p, exist_ok=True)
    sh("mount", "-t", "tmpfs", "-o", "mode=0755", "bootsim-" + d.replace("/", "-"), p)
env = plan["env"]
res["setup_seconds"] = round(time.time() - T0, 2)
def chrooted(argv, stdin=None, timeout=None, cwd="/"):
    def pre():
        os.chroot(root)
        os.chdir(cwd)
    try:
        p = subprocess.run(argv, env=env, preexec_fn=pre, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                           capture_output=True, timeout=timeout or plan["timeout"])
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode("utf-8", "replace")
        return 124, (e.stdout or b"").decode("utf-8", "replace"), err + "\n[bootsim] timed out after %ss" % (
            timeout or plan["timeout"])
    except OSError as e:
        return 127, "", "[bootsim] cannot execute %s: %s" % (argv[0], e)
WRITE = 'umask 022; mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"'
def write(path, src, mode):
    with open(src, "rb") as f:
        return chrooted(["/bin/sh", "-c", WRITE, "write", path, "%o" % mode], stdin=f, timeout=30)
# The node trusts the test CA through its system bundle (what oras, a Go program, reads).
if plan.get("ca_bundle"):
    rc, o, e = write("/etc/ssl/certs/ca-certificates.crt", plan["ca_bundle"], 0o644)
    if rc:
        res["error"] = "cannot install the CA bundle: " + e
stop = res["error"] is not None
for step in plan["steps"]:
    rec = {"name": step["name"], "ran": False, "exit_code": None, "stdout": "", "stderr": "", "detail": step.get("detail")}
    res["steps"].append(rec)
    if stop:
        continue
    rec["ran"] = True
    t_step = time.time()
    if step["type"] == "files":
        for f in step["files"]:
            rc, o, e = write(f["path"], f["src"], f["mode"])
            res["files"].append({"path": f["path"], "mode": "%04o" % f["mode"], "rc": rc})
            if rc:
                rec.update(exit_code=rc, stderr="cannot write %s: %s" % (f["path"], e))
                stop = True
                break
        else:
            rec["exit_code"] = 0
        rec["seconds"] = round(time.time() - t_step, 2)
        continue
    if step["type"] == "install-script":
        rc, o, e = write(step["path"], step["src"], 0o700)
        if rc:
            rec.update(exit_code=rc, stderr=e); stop = True
            continue
        rc, o, e = chrooted([step["path"]])
    else:
        rc, o, e = chrooted(step["argv"])
    rec.update(exit_code=rc, stdout=o, stderr=e, seconds=round(time.time() - t_step, 2))
    if rc != 0 and step.get("stop_on_failure", True):
        stop = True
k0s = os.path.join(root, plan["k0s_path"].lstrip("/"))
if os.path.isfile(k0s) and not os.path.islink(k0s):
    h = hashlib.sha256()
    with open(k0s, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    res["k0s_sha256"] = h.hexdigest()
    res["k0s_mode"] = "%04o" % (os.stat(k0s).st_mode & 0o7777)
    rc, o, e = chrooted([plan["k0s_path"], "version"], timeout=30)
    res["k0s_runs"] = rc == 0
    res["k0s_version_output"] = (o + e)[-2000:]
for f in res["files"]:
    p = os.path.join(root, f["path"].lstrip("/"))
    if os.path.exists(p):
        f["final_mode"] = "%04o" % (os.stat(p).st_mode & 0o7777)
json.dump(res, open(os.path.join(work, "result.json"), "w"), indent=1)
'''


def _host_snapshot():
    snap = {}
    for d in ("/usr/local/bin", "/usr/local/lib", "/root"):
        try:
            snap[d] = sorted((n, os.lstat(os.path.join(d, n)).st_mtime_ns) for n in os.listdir(d))
        except OSError:
            snap[d] = None
    return snap


def _ca_bundle(work, ca_files):
    if not ca_files:
        return None
    path = os.path.join(work, "ca-bundle.crt")
    with open(path, "wb") as out:
        if os.path.exists(SYSTEM_CA_BUNDLE):
            with open(SYSTEM_CA_BUNDLE, "rb") as f:
                data = f.read()
            out.write(data if data.endswith(b"\n") else data + b"\n")
        for ca in ca_files:
            with open(ca, "rb") as f:
                out.write(f.read().rstrip(b"\n") + b"\n")
    return path


def _select(objects, kind=None, name=None):
    objs = bootstrap_objects(objects)
    if kind:
        objs = [o for o in objs if o.get("kind") == kind]
    if name:
        objs = [o for o in objs if (o.get("metadata") or {}).get("name") == name]
    if len(objs) != 1:
        raise SimulationError("expected exactly one bootstrap object (%s), found %d; pass kind=/name="
                              % ("/".join(BOOTSTRAP_KINDS), len(objs)))
    return objs[0]


def simulate_boot(objects, secret_objects=(), provisioner=None, ca_files=(), kind=None, name=None,
                  strict=True, timeout=120, keep_workdir=False, workdir=None):
    """Simulate the node side of k0smotron's bootstrap for one rendered object; returns a BootResult.

    objects: the bootstrap object (dict) or a list of rendered objects (Secrets/ConfigMaps among them are
    used for contentFrom too). secret_objects: more Secrets/ConfigMaps. provisioner: 'cloud-init',
    'ignition' or None (what the object asks for). ca_files: CA certificates the node trusts in addition to
    the system bundle. strict: portability errors (missing permissions, Jinja markers) fail the result even
    where the chosen provisioner would tolerate them.
    """
    all_objs = _as_list(objects)
    obj = _select(all_objs, kind, name)
    sources = [o for o in all_objs + _as_list(secret_objects) if o.get("kind") in ("Secret", "ConfigMap")]
    prov = provisioner or provisioner_of(obj)
    if prov not in ("cloud-init", "ignition"):
        raise SimulationError("provisioner must be cloud-init or ignition, not %r" % prov)
    md = obj.get("metadata") or {}
    res = BootResult(provisioner=prov, kind=obj.get("kind"), api_version=obj.get("apiVersion"),
                     name=md.get("name"), download_url=_spec_of(obj).get("downloadURL"),
                     expected_sha256=expected_sha256(obj), k0s_path=install_dir(obj).rstrip("/") + "/k0s")
    avail, reason = unshare_available()
    if not avail:
        res.skipped = reason
        return res

    def fail_early(stepname, msg):
        res.steps.append(Step(name=stepname, ran=True, exit_code=1, stdout="", stderr=msg, detail=None))
        res.failed_step = res.steps[-1]
        res.error = msg
        return res

    # 1. bootstrap controller: files and commands
    try:
        files = resolve_files(obj, sources)
        commands = pre_commands(obj) + download_commands(obj)
    except SimulationError as e:
        return fail_early("bootstrap controller: generate bootstrap data", str(e))
    res.findings = portability_findings(obj, files)
    if res.expected_sha256 is None:
        res.findings.append({"level": "error", "message": "downloadURL %r is not oci://REG/REPO@sha256:<64 hex>"
                             % res.download_url})

    if prov == "ignition":
        try:
            ignition_permissions(files)
        except SimulationError as e:
            return fail_early("k0smotron: generate Ignition config", str(e))
    errors = [f["message"] for f in res.findings if f["level"] == "error"]
    if strict and errors:
        # A gate, not a boot: what works under one provisioner only is rejected before anything runs.
        return fail_early("preflight: portable across cloud-init and Ignition",
                          "not portable across provisioners: " + "; ".join(errors))

    work = workdir or tempfile.mkdtemp(prefix="bootsim-")
    os.makedirs(work, exist_ok=True)
    try:
        plan = {"env": dict(SERVICE_ENV), "timeout": timeout, "k0s_path": res.k0s_path,
                "ca_bundle": _ca_bundle(work, ca_files), "steps": []}
        # 2. provisioner model
        if prov == "cloud-init":
            userdata = cloud_init_userdata(files, commands)
            res.userdata = userdata
            try:
                rendered = render_cloud_init_jinja(userdata)
                cfg = yaml.safe_load(rendered)
                if not isinstance(cfg, dict):
                    raise ValueError("rendered user-data is not a mapping")
            except Exception as e:  # cloud-init logs a warning and ignores the whole part
                return fail_early("cloud-init: render '## template: jinja' user-data",
                                  "cloud-init: Jinja/YAML of the user-data failed (%s: %s): cloud-init ignores the "
                                  "whole user-data, nothing is written or run; keep {{, {%% and {# out of files "
                                  "and commands" % (type(e).__name__, e))
            wfiles = []
            for k, wf in enumerate(cfg.get("write_files") or []):
                src = os.path.join(work, "file%03d" % k)
                with open(src, "wb") as out:
                    out.write(str(wf.get("content") or "").encode("utf-8", "surrogateescape"))
                wfiles.append({"path": wf["path"], "src": src, "mode": decode_perms(wf.get("permissions"))})
            changed = [f["path"] for f, wf in zip(files, cfg.get("write_files") or [])
                       if f["content"].decode("utf-8", "replace") != str(wf.get("content") or "")]
            if changed:
                res.findings.append({"level": "error", "message": "cloud-init's Jinja rendering changed the "
                                     "content of %s" % ", ".join(changed)})
            if [str(c) for c in cfg.get("runcmd") or []] != [str(c) for c in commands]:
                res.findings.append({"level": "error", "message": "cloud-init's Jinja rendering changed runcmd"})
            script = os.path.join(work, "runcmd")
            with open(script, "w") as out:
                out.write(shellify(cfg.get("runcmd") or []))
            plan["steps"].append({"type": "files", "name": "cloud-init: write_files (%d)" % len(wfiles),
                                  "files": wfiles})
            plan["steps"].append({"type": "install-script", "name": "cloud-init: runcmd (one /bin/sh script, %d lines)"
                                  % len(cfg.get("runcmd") or []),
                                  "path": "/var/lib/cloud/instance/scripts/runcmd", "src": script,
                                  "detail": shellify(cfg.get("runcmd") or [])})
        else:
            try:
                modes = ignition_permissions(files)
            except SimulationError as e:
                return fail_early("k0smotron: generate Ignition config", str(e))
            ifiles = []
            for f, mode in zip(files, modes):
                src = os.path.join(work, "file%03d" % f["index"])
                with open(src, "wb") as out:
                    out.write(f["content"])
                ifiles.append({"path": f["path"], "src": src, "mode": mode})
            unit = ignition_unit_text(commands)
            res.userdata = json.dumps({"files": [{"path": f["path"], "mode": m, "contents": f["content"].decode(
                "utf-8", "replace")} for f, m in zip(files, modes)]}) + "\n" + unit
            try:
                execs, warnings = parse_unit_execstart(unit)
            except UnitParseError as e:
                plan["steps"].append({"type": "files", "name": "ignition: storage.files (%d)" % len(ifiles),
                                      "files": ifiles})
                plan["steps"].append({"type": "exec", "name": "systemd: load %s" % IGNITION_UNIT,
                                      "argv": ["/bin/sh", "-c", "echo %s >&2; exit 1" % _shq(str(e))]})
                execs = None
            if execs is not None:
                for w in warnings:
                    res.findings.append({"level": "warning", "message": "systemd: %s" % w})
                plan["steps"].append({"type": "files", "name": "ignition: storage.files (%d)" % len(ifiles),
                                      "files": ifiles})
                for k, (raw, argv) in enumerate(execs):
                    final, notes = replace_env_argv(argv, SERVICE_ENV)
                    plan["steps"].append({"type": "exec", "name": "ExecStart[%d] %s" % (k + 1, " ".join(final[2:])[:60]),
                                          "argv": final, "detail": {"line": "ExecStart=" + raw, "argv": final,
                                                                    "notes": notes}})
                    if len(final) == 2 and final[:2] == ["/bin/sh", "-c"]:
                        res.findings.append({"level": "error", "message": "ExecStart=%s: systemd expanded the "
                                             "command to nothing" % raw})
        # 3. run it
        with open(os.path.join(work, "plan.json"), "w") as f:
            json.dump(plan, f)
        with open(os.path.join(work, "driver.py"), "w") as f:
            f.write(DRIVER)
        before = _host_snapshot()
        try:
            p = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--propagation", "private",
                                sys.executable, os.path.join(work, "driver.py"), work],
                               capture_output=True, text=True, timeout=timeout * max(2, len(plan["steps"])) + 60,
                               check=False)
        except subprocess.TimeoutExpired:
            return fail_early("namespace driver", "the simulation timed out")
        res.host_untouched = _host_snapshot() == before
        rpath = os.path.join(work, "result.json")
        if p.returncode != 0 or not os.path.exists(rpath):
            return fail_early("namespace driver", "namespace driver failed (rc=%s): %s" % (p.returncode, p.stderr[-3000:]))
        with open(rpath) as f:
            out = json.load(f)
        for s in out["steps"]:
            res.steps.append(Step(s))
        res.files_written = out["files"]
        res.k0s_sha256 = out["k0s_sha256"]
        res.k0s_runs = out["k0s_runs"]
        res.k0s_version_output = out["k0s_version_output"]
        res.k0s_mode = out.get("k0s_mode")
        res.setup_seconds = out.get("setup_seconds")
        if out.get("error"):
            res.error = out["error"]
        failing = [s for s in res.steps if s["ran"] and s["exit_code"] not in (0, None)]
        if failing:
            res.failed_step = failing[0]
            res.error = res.error or _describe_failure(failing[0])
        elif res.k0s_sha256 is None:
            res.error = res.error or "%s was not installed" % res.k0s_path
        elif not res.sha256_verified:
            res.error = "%s has sha256:%s, but downloadURL names sha256:%s" % (
                res.k0s_path, res.k0s_sha256, res.expected_sha256)
        elif not res.k0s_runs:
            res.error = "%s does not run: %s" % (res.k0s_path, res.k0s_version_output.strip()[-500:])
        if res.host_untouched is False:
            res.error = (res.error + "; " if res.error else "") + "the host's /usr/local/bin, /usr/local/lib or /root changed"
        errors = [f["message"] for f in res.findings if f["level"] == "error"]
        if strict and errors and not res.error:  # found while rendering (Jinja changed something)
            res.error = "not portable across provisioners: " + "; ".join(errors)
        return res
    finally:
        if not keep_workdir and not workdir:
            shutil.rmtree(work, ignore_errors=True)


def _shq(s):
    return "'" + s.replace("'", "'\\''") + "'"


def _describe_failure(step):
    text = (step.get("stderr") or "").strip() or (step.get("stdout") or "").strip()
    tail = "\n".join(text.splitlines()[-6:])
    return "%s failed (exit %s): %s" % (step["name"], step["exit_code"], tail or "no output")


# --------------------------------------------------------------------------- rendered directories / CLI

def load_yaml_objects(paths):
    objs = []
    for path in paths:
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if isinstance(doc, dict) and doc.get("kind") == "List":
                    objs.extend(doc.get("items") or [])
                elif isinstance(doc, dict):
                    objs.append(doc)
    return objs


def load_rendered_dir(directory):
    paths = sorted(glob.glob(os.path.join(directory, "**", "*.yml"), recursive=True)
                   + glob.glob(os.path.join(directory, "**", "*.yaml"), recursive=True))
    return load_yaml_objects(paths)


def simulate_rendered_dir(directory, secret_files=(), provisioner=None, ca_files=(), strict=True, timeout=120):
    """Simulate every bootstrap object found in a rendered directory; returns [BootResult]."""
    objs = load_rendered_dir(directory)
    extra = load_yaml_objects(secret_files)
    results = []
    for o in bootstrap_objects(objs):
        md = o.get("metadata") or {}
        results.append(simulate_boot(objs, extra, provisioner=provisioner, ca_files=ca_files, kind=o["kind"],
                                     name=md.get("name"), strict=strict, timeout=timeout))
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.harness.bootsim",
                                 description="Simulate k0smotron's node bootstrap for rendered objects.")
    ap.add_argument("--rendered", required=True, help="directory with the rendered YAML (control_plane_output_dir)")
    ap.add_argument("--secret", action="append", default=[], help="extra YAML with Secrets/ConfigMaps (repeatable)")
    ap.add_argument("--ca", action="append", default=[], help="CA certificate the node trusts (repeatable)")
    ap.add_argument("--provisioner", choices=("cloud-init", "ignition", "both", "object"), default="object",
                    help="object = what each object asks for (default); both = cloud-init and ignition")
    ap.add_argument("--no-strict", action="store_true", help="do not fail on portability findings")
    ap.add_argument("--json", action="store_true", help="print JSON results")
    ap.add_argument("--quiet", action="store_true", help="print only the verdict lines")
    args = ap.parse_args(argv)
    ok, reason = unshare_available()
    if not ok:
        print("node bootstrap simulation skipped: %s" % reason)
        return 0
    provs = {"object": [None], "both": ["cloud-init", "ignition"]}.get(args.provisioner, [args.provisioner])
    results = []
    for prov in provs:
        results += simulate_rendered_dir(args.rendered, args.secret, provisioner=prov, ca_files=args.ca,
                                         strict=not args.no_strict)
    if not results:
        print("node bootstrap simulation FAILED: no K0sControlPlane / K0sWorkerConfigTemplate in %s" % args.rendered)
        return 1
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=1, default=str))
    for r in results:
        if args.quiet:
            print("%s/%s (%s): %s" % (r.kind, r.name, r.provisioner, r.verdict()))
        else:
            print(r.report())
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
