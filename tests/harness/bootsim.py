"""Node bootstrap: what k0smotron v2.1.0 would hand to a machine, booted with the REAL tools.

Given a rendered ``K0sControlPlane`` (``v1beta1``/``v1beta2``, ``spec.k0sConfigSpec``), a
``K0sWorkerConfigTemplate`` (``spec.template.spec``) or a ``K0sWorkerConfig``/``K0sControllerConfig``
(``spec``), plus the rendered ``Secret``/``ConfigMap`` objects its ``files[].contentFrom`` name:

1. MODEL of k0smotron's controller (no real one can run here; source references in
   docs/boot-simulation.md): resolve ``files`` (``content`` or ``contentFrom`` from the objects' ``data``
   / ``stringData``), the commands (pre-commands, then ``internal/controller/util/download.go``'s
   ``export HOME=/root``, ``oras blob fetch --output DIR/k0s REF``, ``chmod +x DIR/k0s``), and the
   provisioner output exactly as ``internal/provisioner/`` writes it: cloud-init user-data
   (``## template: jinja``, ``#cloud-config``, ``write_files`` + ``runcmd``) or the Ignition config
   (Butane translation, ``k0s-bootstrap.service`` with one ``ExecStart=/bin/sh -c '<command>'`` per
   command, merged from a data URL; a ``permissions`` that ``strconv.ParseInt`` rejects = no data).
2. REAL boot (realboot.py, nsdriver.py): cloud-init 22.4 runs its four stages on a NoCloud seed, or
   ``ignition-validate`` + Ignition 2.14 (``fetch-offline``, ``files``) write the node and systemd 252
   boots as PID 1 and runs the unit -- in private PID/mount/cgroup/UTS/IPC/network namespaces; the
   test CA is appended to the node's ``/etc/ssl/certs/ca-certificates.crt`` (what oras reads).
3. Verdict: ``DIR/k0s`` must have the sha256 of ``downloadURL``'s digest and ``k0s version`` must run.

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
import urllib.parse

import yaml

from . import realboot

NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NODE_LANG = "C.UTF-8"
SERVICE_ENV = {"PATH": NODE_PATH, "LANG": NODE_LANG}
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CLOUD_INIT_HEADER = "## template: jinja\n#cloud-config\n"
IGNITION_UNIT = "k0s-bootstrap.service"  # internal/provisioner/ignition.go
VERDICT_OK = "node booted with the real tools: k0s installed, sha256 verified"
REAL_TOOLS = {"cloud-init": "real cloud-init 22.4", "ignition": "real Ignition 2.14 + systemd 252 as PID 1"}
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
        self.userdata = None  # what k0smotron would hand to the machine (user-data / Ignition config)
        self.boot_seconds = None  # the namespace boot, wall clock
        self.timings = {}
        self.cgroup_removed = None
        self.k0s_mode = None
        self.cloud_init_log = self.cloud_init_output = self.runcmd_script = None
        self.unit_text = self.systemd_log = self.systemd_show = self.systemd_verify = None

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
        lines = ["%s %s/%s (%s, %s): %s" % (self.kind, self.api_version, self.name, self.provisioner,
                                            REAL_TOOLS.get(self.provisioner, "?"), self.verdict())]
        for s in self.steps:
            status = "not run" if not s["ran"] else ("ok" if s.get("exit_code") in (0, None) else "exit %s" % s["exit_code"])
            if s.get("seconds") is not None:
                status += " (%.1f s)" % s["seconds"]
            lines.append("  - %-40s %s" % (s["name"][:40], status))
        for f in self.findings:
            lines.append("  ! %s: %s" % (f["level"], f["message"]))
        if self.userdata:
            lines.append("  bootstrap data as k0smotron writes it: %d bytes (%s)" % (
                len(self.userdata.encode()), "cloud-init user-data" if self.provisioner == "cloud-init"
                else "Ignition config"))
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


# --------------------------------------------------------------------------- k0smotron's provisioners (the model)
# What k0smotron v2.1.0 hands to the machine, generated here exactly as its provisioners do
# (internal/provisioner/provisioner.go, cloudinit.go, ignition.go); the rest of the boot is real.


class _GoYAMLDumper(yaml.SafeDumper):
    """Close to gopkg.in/yaml.v3 with SetIndent(2): sequences indented, multi-line strings as literal blocks."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_GoYAMLDumper, self).increase_indent(flow, False)


def _str_representer(dumper, value):
    style = "|" if "\n" in value and all(c == "\n" or c >= " " for c in value) and not value.startswith(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_GoYAMLDumper.add_representer(str, _str_representer)


def cloud_init_userdata(files, commands):
    """CloudInitProvisioner.ToProvisionData: '## template: jinja', '#cloud-config', then the YAML of
    InputProvisionData{Files `write_files`, Commands `runcmd`} (File: path, content, permissions; no
    omitempty: a missing permissions is written as "")."""
    data = {"write_files": [{"path": f["path"], "content": f["content"].decode("utf-8", "surrogateescape"),
                             "permissions": "" if f["permissions"] is None else str(f["permissions"])}
                            for f in files],
            "runcmd": list(commands)}
    body = yaml.dump(data, Dumper=_GoYAMLDumper, default_flow_style=False, sort_keys=False, width=1 << 20,
                     allow_unicode=True, indent=2)
    return CLOUD_INIT_HEADER + body


# butane: variant + version -> Ignition spec version (config/<variant>/v<version>/translate.go)
BUTANE_SPECS = {("fcos", "1.0.0"): "3.0.0", ("fcos", "1.1.0"): "3.1.0", ("fcos", "1.2.0"): "3.2.0",
                ("fcos", "1.3.0"): "3.2.0", ("fcos", "1.4.0"): "3.3.0", ("fcos", "1.5.0"): "3.4.0",
                ("fcos", "1.6.0"): "3.5.0", ("flatcar", "1.0.0"): "3.3.0", ("flatcar", "1.1.0"): "3.4.0"}
# What Ignition 2.14 (Debian bookworm) accepts: 3.4.0 is still called 3.4.0-experimental there.
IGNITION_214_SPECS = {"3.0.0": "3.0.0", "3.1.0": "3.1.0", "3.2.0": "3.2.0", "3.3.0": "3.3.0",
                      "3.4.0": "3.4.0-experimental"}

IGNITION_UNIT_TEMPLATE_HEAD = """[Unit]
Description=K0s Bootstrap Commands
After=network-online.target

[Service]
Type=oneshot"""
IGNITION_UNIT_TEMPLATE_TAIL = """
RemainAfterExit=true

[Install]
WantedBy=multi-user.target"""


def ignition_unit_text(commands):
    """ignition.go's ignitionSystemdTemplate (text/template, no escaping): ExecStart=/bin/sh -c '<command>'."""
    return IGNITION_UNIT_TEMPLATE_HEAD + "".join("\nExecStart=/bin/sh -c '%s'" % c for c in commands) + \
        IGNITION_UNIT_TEMPLATE_TAIL


def ignition_permissions(files):
    """ignition.go: strconv.ParseInt(f.Permissions, 8, 32), no default: an error = no bootstrap data."""
    out = []
    for f in files:
        p = f["permissions"]
        ptxt = "" if p is None else str(p)
        if not re.match(r"^[+-]?[0-7]+$", ptxt) or isinstance(p, int):
            raise SimulationError(
                "k0smotron (Ignition provisioner): files[%d] (%s): strconv.ParseInt: parsing %s: invalid syntax -- "
                "k0smotron cannot generate the Ignition config, so the machine gets no bootstrap data at all; set "
                "permissions to a quoted octal string such as \"0600\"" % (f["index"], f["path"], json.dumps(ptxt)))
        out.append(int(ptxt, 8))
    return out


def _butane_data_url(content):
    """butane MakeDataURL with NoResourceAutoCompression: the shorter of URL-escaped and base64."""
    opaque = "," + urllib.parse.quote(content, safe="-_.!~*'()")
    b64 = ";base64," + base64.b64encode(content).decode()
    return "data:" + (b64 if len(b64) < len(opaque) else opaque)


def ignition_config(files, commands, variant="flatcar", version="1.1.0", spec_override=None):
    """IgnitionProvisioner.ToProvisionData: the Butane config {variant, version, storage.files (mode = the parsed
    permissions, contents.inline), systemd.units [k0s-bootstrap.service, enabled]} translated to Ignition JSON,
    then wrapped as {"ignition": {"version": V, "config": {"merge": [{"source": "data:application/json;base64,..."}]}}}.
    ``spec_override`` replaces the spec version in both documents (to run it on an older Ignition)."""
    spec = BUTANE_SPECS.get((variant, version))
    if spec is None:
        raise SimulationError("k0smotron (Butane): unknown variant/version %s %s" % (variant, version))
    modes = ignition_permissions(files)
    spec = spec_override or spec
    inner = {"ignition": {"version": spec}}
    if files:
        inner["storage"] = {"files": [{"path": f["path"], "contents": {"compression": "", "source": _butane_data_url(
            f["content"])}, "mode": m} for f, m in zip(files, modes)]}
    if commands:
        inner["systemd"] = {"units": [{"contents": ignition_unit_text(commands), "enabled": True, "name": IGNITION_UNIT}]}
    inner_text = json.dumps(inner, indent=2)  # Butane's Pretty output
    outer = {"ignition": {"config": {"merge": [{"source": "data:application/json;base64," + base64.b64encode(
        inner_text.encode()).decode()}]}, "version": spec}}
    return json.dumps(outer, separators=(",", ":")), inner_text


def ignition_settings(obj):
    """The variant/version the object asks for (v1beta1 spec.ignition, v1beta2 spec.provisioner.ignition)."""
    spec = _spec_of(obj)
    ign = (spec.get("ignition") if _api_version(obj) == "v1beta1" else (spec.get("provisioner") or {}).get("ignition"))
    ign = ign or {}
    return ign.get("variant") or "flatcar", ign.get("version") or "1.1.0"


# --------------------------------------------------------------------------- the real boot (see realboot.py)

REPORTER = r'''#!/usr/bin/python3
# bootsim reporter (runs after the bootstrap unit): what systemd and the node say, then `systemctl exit`.
import hashlib, json, os, subprocess
plan = json.load(open("/bootsim/reporter.json"))
unit = plan["unit"]
def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr
import time
run("journalctl", "--sync")
failed = run("systemctl", "show", unit, "-p", "ExecMainPID", "--value")[1].strip()
def last_pid():
    out = run("journalctl", "-u", unit, "-o", "json", "--output-fields=_PID", "--no-pager")[1]
    return max([int(json.loads(ln).get("_PID", 0)) for ln in out.splitlines() if ln.startswith("{")] or [0])
for i in range(10):  # the main process's last words may still be in flight to journald
    if not failed.isdigit() or int(failed) == 0 or last_pid() >= int(failed):
        break
    time.sleep(0.1)
    run("journalctl", "--sync")
rep = {"show": run("systemctl", "show", unit, "--no-pager", "-p", "LoadState", "-p", "LoadError", "-p", "ActiveState",
                   "-p", "Result", "-p", "ExecMainStatus", "-p", "ExecStart", "-p", "Environment")[1],
       "status": run("systemctl", "status", unit, "--no-pager", "-l")[1],
       "journal": run("journalctl", "-u", unit, "--no-pager", "-o", "json")[1],
       "verify": run("systemd-analyze", "verify", "/etc/systemd/system/" + unit),
       "enabled": run("systemctl", "is-enabled", unit)[1].strip()}
k0s = plan["k0s_path"]
rep["k0s_sha256"], rep["k0s_runs"], rep["k0s_version_output"] = None, False, ""
if os.path.isfile(k0s) and not os.path.islink(k0s):
    rep["k0s_sha256"] = hashlib.sha256(open(k0s, "rb").read()).hexdigest()
    rep["k0s_mode"] = "%04o" % (os.stat(k0s).st_mode & 0o7777)
    try:
        rc, o, e = run(k0s, "version")
        rep["k0s_runs"], rep["k0s_version_output"] = rc == 0, (o + e)[-2000:]
    except OSError as e:
        rep["k0s_version_output"] = str(e)
rep["files"] = [{"path": p, "final_mode": "%04o" % (os.stat(p).st_mode & 0o7777) if os.path.exists(p) else None}
                for p in plan["file_paths"]]
json.dump(rep, open("/bootsim/report.json", "w"), indent=1)
os.execv("/bin/systemctl", ["systemctl", "exit", "0"])
'''
# The node image's cloud-init settings: a NoCloud image; modules that need a real machine (resizing the
# root disk, generating SSH host keys, locales the image lacks) are off, as an image builder would set them.
NODE_CLOUD_CFG = """datasource_list: [NoCloud, None]
resize_rootfs: false
growpart: {mode: "off"}
ssh_genkeytypes: []
ssh_deletekeys: false
locale: false
"""


def _execstart_steps(show, journal_json):
    """systemctl show's ExecStart= entries (one per command, with status) -> steps, each with its output from
    the journal: a message belongs to the last ExecStart process started at or before its PID (PIDs only grow
    in the node's fresh PID namespace; a command's children log under their own PIDs)."""
    entries = []
    for line in journal_json.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        msg = e.get("MESSAGE")
        if isinstance(msg, list):
            msg = bytes(msg).decode("utf-8", "replace")
        if str(e.get("_PID", "")).isdigit():
            entries.append((int(e["_PID"]), msg or ""))
    rx = re.compile(r"ExecStart=\{ path=(?P<path>\S+) ; argv\[\]=(?P<argv>.*?) ; ignore_errors=\S+ ; "
                    r"start_time=\[(?P<start>[^\]]*)\] ; stop_time=\[(?P<stop>[^\]]*)\] ; "
                    r"pid=(?P<pid>\d+) ; code=(?P<code>\S+) ; status=(?P<status>[^ ]+) \}")
    found = list(rx.finditer(show))
    pids = [int(m.group("pid")) for m in found]
    steps = []
    for k, m in enumerate(found):
        ran = pids[k] != 0
        status = m.group("status").split("/")[0]
        code = int(status) if status.isdigit() else None
        if ran and m.group("code") != "exited":
            code = code or 128
        upper = min([p for p in pids[k + 1:] if p > pids[k]] or [1 << 62])
        out = [msg for pid, msg in entries if ran and pids[k] <= pid < upper]
        steps.append(Step(name="ExecStart[%d] %s" % (k + 1, m.group("argv")[len("/bin/sh -c "):][:60]), ran=ran,
                          exit_code=code if ran else None, stdout="", stderr="\n".join(out),
                          detail={"argv": m.group("argv"), "code": m.group("code")}))
    return steps


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
    """Boot one rendered bootstrap object with the real tools; returns a BootResult.

    objects: the bootstrap object (dict) or a list of rendered objects (Secrets/ConfigMaps among them are
    used for contentFrom too). secret_objects: more Secrets/ConfigMaps. provisioner: 'cloud-init',
    'ignition' or None (what the object asks for). ca_files: CA certificates the node trusts in addition to
    the system bundle. strict: portability errors (missing permissions, Jinja markers) fail the result
    before anything boots, even where the chosen provisioner would tolerate them.
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
    avail, reason = realboot.available(prov)
    if not avail:
        res.skipped = reason
        return res

    def fail_early(stepname, msg):
        res.steps.append(Step(name=stepname, ran=True, exit_code=1, stdout="", stderr=msg, detail=None))
        res.failed_step = res.steps[-1]
        res.error = msg
        return res

    # 1. k0smotron's bootstrap controller: files and commands (modelled)
    try:
        files = resolve_files(obj, sources)
        commands = pre_commands(obj) + download_commands(obj)
    except SimulationError as e:
        return fail_early("bootstrap controller: generate bootstrap data", str(e))
    res.findings = portability_findings(obj, files)
    if res.expected_sha256 is None:
        res.findings.append({"level": "error", "message": "downloadURL %r is not oci://REG/REPO@sha256:<64 hex>"
                             % res.download_url})
    # 2. k0smotron's provisioner: user-data or Ignition config (modelled, exactly as v2.1.0 writes it)
    if prov == "ignition":
        try:
            variant, version = ignition_settings(obj)
            res.userdata, inner = ignition_config(files, commands, variant, version)
        except SimulationError as e:
            return fail_early("k0smotron: generate Ignition config", str(e))
    else:
        res.userdata = cloud_init_userdata(files, commands)
    errors = [f["message"] for f in res.findings if f["level"] == "error"]
    if strict and errors:
        # A gate, not a boot: what works under one provisioner only is rejected before anything runs.
        return fail_early("preflight: portable across cloud-init and Ignition",
                          "not portable across provisioners: " + "; ".join(errors))

    # 3. the node boots: real cloud-init, or real Ignition + real systemd
    work = workdir or realboot.new_workdir()
    os.makedirs(work, exist_ok=True)
    plan = {"k0s_path": res.k0s_path, "file_paths": [f["path"] for f in files], "timeout": timeout,
            "ca_bundle": _ca_bundle(work, ca_files), "unit": IGNITION_UNIT}
    texts = [res.userdata] + commands + [f["content"].decode("utf-8", "replace") for f in files]
    try:
        if prov == "cloud-init":
            with open(os.path.join(work, "user-data"), "w") as f:
                f.write(res.userdata)
            plan["node_files"] = [("/etc/cloud/cloud.cfg.d/99-bootsim-node-image.cfg", NODE_CLOUD_CFG, 0o644)]
            out = realboot.boot("cloud-init", work, plan, forward_texts=texts, timeout=timeout + 60)
            _cloud_init_result(res, out)
        else:
            spec = json.loads(res.userdata)["ignition"]["version"]
            run_spec = IGNITION_214_SPECS.get(spec)
            if run_spec is None:
                return fail_early("ignition-validate", "Ignition 2.14 does not know spec %s (the newest it reads is "
                                  "3.4.0-experimental); use a Butane variant/version that gives <= 3.4.0" % spec)
            run_config, run_inner = ignition_config(files, commands, variant, version, spec_override=run_spec)
            with open(os.path.join(work, "config.ign"), "w") as f:
                f.write(run_config)
            with open(os.path.join(work, "merged.ign"), "w") as f:
                f.write(run_inner)
            for what, path in (("config", "config.ign"), ("merged config", "merged.ign")):
                p = subprocess.run([realboot.IGNITION_VALIDATE, os.path.join(work, path)], capture_output=True,
                                   text=True, check=False)
                res.steps.append(Step(name="ignition-validate: %s (spec %s run as %s)" % (what, spec, run_spec), ran=True,
                                      exit_code=p.returncode, stdout=p.stdout, stderr=p.stderr, detail=None))
                if p.returncode != 0:
                    res.failed_step = res.steps[-1]
                    res.error = "ignition-validate rejects the %s: %s" % (what, (p.stdout + p.stderr).strip()[-1500:])
                    return res
            os.makedirs(os.path.join(work, "out"), exist_ok=True)
            with open(os.path.join(work, "out", "reporter.json"), "w") as f:
                json.dump({"unit": IGNITION_UNIT, "k0s_path": res.k0s_path, "file_paths": plan["file_paths"]}, f)
            plan["node_files"] = [("/usr/local/sbin/bootsim-report", REPORTER, 0o755)]
            out = realboot.boot("ignition", work, plan, forward_texts=texts, timeout=timeout + 60)
            _ignition_result(res, out)
        _verdict(res, strict)
        return res
    finally:
        if not keep_workdir and not workdir:
            shutil.rmtree(work, ignore_errors=True)


def _driver_steps(out):
    return [Step(name=s["name"], ran=s.get("ran", True), exit_code=s.get("exit_code"), stdout=s.get("stdout", ""),
                 stderr=s.get("stderr", ""), seconds=s.get("seconds"), detail=None) for s in out.get("steps", [])]


def _common(res, out):
    res.host_untouched = out.get("host_untouched")
    res.boot_seconds = out.get("seconds")
    res.timings = out.get("timings", {})
    res.cgroup_removed = out.get("cgroup_removed")
    if out.get("error"):
        res.error = out["error"]


def _k0s_facts(res, found):
    """What the node's inspection found (the driver for cloud-init, the reporter unit under systemd)."""
    res.k0s_sha256 = found.get("k0s_sha256")
    res.k0s_runs = bool(found.get("k0s_runs"))
    res.k0s_version_output = found.get("k0s_version_output") or ""
    res.k0s_mode = found.get("k0s_mode")
    res.files_written = found.get("files") or []


def _cloud_init_result(res, out):
    _common(res, out)
    res.steps.extend(_driver_steps(out))
    res.cloud_init_log = out.get("cloud_init_log") or ""
    res.cloud_init_output = out.get("cloud_init_output") or ""
    res.runcmd_script = out.get("runcmd_script")
    for line in res.cloud_init_log.splitlines():
        if "[WARNING]" in line or "[ERROR]" in line or "[CRITICAL]" in line:
            res.findings.append({"level": "warning", "message": "cloud-init.log: " + line.split(" - ", 1)[-1]})
    for s in res.steps:
        if s["name"].startswith("cloud-init: modules --mode=final") and s["exit_code"]:
            # runcmd's output goes to cloud-init-output.log (and the unit's stdout)
            s["stdout"] = (s.get("stdout") or "") + "\n" + res.cloud_init_output[-6000:]
    _k0s_facts(res, out)


def _ignition_result(res, out):
    _common(res, out)
    res.steps.extend(_driver_steps(out))
    res.unit_text = out.get("unit_text")
    res.systemd_log = out.get("systemd_log") or ""
    rep = out.get("report")
    if rep is None:
        if not res.error and not [s for s in res.steps if s["exit_code"]]:
            res.error = "systemd did not report (booted: %s): %s" % (
                "unit_text" in out, (res.systemd_log or out.get("driver_log") or "")[-2000:])
        res.files_written = [{"path": p, "final_mode": None} for p in out.get("ignition_files") or []]
        return
    res.systemd_show = rep["show"]
    if "LoadState=loaded" not in rep["show"]:
        load_error = re.search(r"LoadError=(.*)", rep["show"])
        res.steps.append(Step(name="systemd: load %s" % IGNITION_UNIT, ran=True, exit_code=1, stdout=rep["status"],
                              stderr="%s %s" % (load_error.group(1) if load_error else "", rep["verify"][2]), detail=None))
    else:
        res.steps.extend(_execstart_steps(rep["show"], rep["journal"]))
    res.systemd_verify = rep["verify"]
    _k0s_facts(res, rep)


def _verdict(res, strict):
    failing = [s for s in res.steps if s["ran"] and s["exit_code"] not in (0, None)]
    if failing:
        res.failed_step = failing[0]
        res.error = res.error or _describe_failure(failing[0])
    elif res.error:
        pass
    elif res.k0s_sha256 is None:
        dropped = [f["message"] for f in res.findings if "cloud-init.log" in f["message"]]
        res.error = "%s was not installed%s" % (res.k0s_path, "; " + "; ".join(dropped) if dropped else "")
    elif not res.sha256_verified:
        res.error = "%s has sha256:%s, but downloadURL names sha256:%s" % (
            res.k0s_path, res.k0s_sha256, res.expected_sha256)
    elif not res.k0s_runs:
        res.error = "%s does not run: %s" % (res.k0s_path, res.k0s_version_output.strip()[-500:])
    if res.host_untouched is False:
        res.error = (res.error + "; " if res.error else "") + "the host's %s changed" % ", ".join(realboot.HOST_WATCHED)
    if res.cgroup_removed is False:
        res.error = (res.error + "; " if res.error else "") + "the boot's cgroup could not be removed"


def unshare_available():
    """(True, None) when both provisioners can boot here with the real tools, else (False, reason)."""
    for prov in ("cloud-init", "ignition"):
        ok, reason = realboot.available(prov)
        if not ok:
            return False, reason
    return True, None


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
