"""Boot a node with the REAL tools: cloud-init 22.4, Ignition 2.14, systemd 252 (host side).

What k0smotron would hand to the machine is generated in ``bootsim`` (the only modelled part: the
controller); this module runs it:

* one private namespace per boot: ``unshare --fork --pid --mount --cgroup --uts --ipc --net
  --kill-child --propagation private`` with ``nsdriver.py`` as its PID 1, started inside a child
  cgroup of the host's cgroup2 hierarchy (the namespace's cgroup root, which systemd manages);
* the network namespace has only ``lo``. The registry and the ORAS mirror listen on the host's
  127.0.0.1, which a fresh network namespace cannot reach, and the download URL and the registry's
  certificate name ``127.0.0.1:PORT``. So for every ``127.0.0.1:PORT`` in the bootstrap data that is
  listening on the host, the namespace listens on its own ``127.0.0.1:PORT`` and relays each
  connection through a unix socket (a file in the work directory, bind-visible in both mount
  namespaces) to a relay thread here, which connects to the host's port. No veth pair, no route, no
  host network configuration is touched, and a port that is down on the host stays refused;
* after the boot: the child cgroup tree is removed, every process is gone (``--kill-child`` and the
  PID namespace), the mounts vanish with the mount namespace; the host's ``/usr/local/bin``,
  ``/usr/local/lib``, ``/root/.docker`` and ``/etc/ssl/certs`` are compared with a snapshot.

``boot(mode, data, plan_extra)`` is used by ``bootsim.simulate_boot``; ``available()`` says whether
the real tools can run here.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from . import tools
from .nsdriver import pump

NODE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SERVICE_ENV = {"PATH": NODE_PATH, "LANG": "C.UTF-8"}
CGROUP2_CANDIDATES = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
IGNITION_DIR = os.path.join(tools.TOOLS, "ignition")
IGNITION = os.path.join(IGNITION_DIR, "usr", "lib", "dracut", "modules.d", "30ignition", "ignition")
IGNITION_VALIDATE = os.path.join(IGNITION_DIR, "usr", "bin", "ignition-validate")
CLOUD_INIT = "/usr/bin/cloud-init"
SYSTEMD = "/lib/systemd/systemd"
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nsdriver.py")
UNSHARE = ["unshare", "--fork", "--pid", "--mount", "--cgroup", "--uts", "--ipc", "--net", "--kill-child",
           "--propagation", "private"]


# --------------------------------------------------------------------------- can the real tools run here?

def cgroup2_root():
    for c in CGROUP2_CANDIDATES:
        try:
            if os.path.exists(os.path.join(c, "cgroup.procs")) and \
                    os.path.exists(os.path.join(c, "cgroup.subtree_control")):
                return c
        except OSError:
            pass
    return None


def _own_cgroup(root):
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return os.path.join(root, line.strip()[3:].lstrip("/"))
    return root


_AVAILABLE = {}


def available(mode):
    """(True, None) if ``mode`` ('cloud-init' or 'ignition') can boot here with the real tools, else (False, why)."""
    if mode in _AVAILABLE:
        return _AVAILABLE[mode]
    why = None
    if os.name != "posix" or not shutil.which("unshare"):
        why = "unshare (util-linux) is not installed"
    elif os.geteuid() != 0:
        why = "needs root for mount/PID/network/cgroup namespaces (unshare); run as root (CI does)"
    elif mode == "cloud-init" and not os.path.exists(CLOUD_INIT):
        why = "cloud-init is not installed (bash scripts/setup.sh installs Debian's cloud-init)"
    elif mode == "ignition" and not os.path.exists(IGNITION):
        why = "Ignition is not unpacked under .tools/ignition (bash scripts/setup.sh does it)"
    elif mode == "ignition" and not os.path.exists(SYSTEMD):
        why = "systemd is not installed (%s)" % SYSTEMD
    elif not cgroup2_root():
        why = "no cgroup2 hierarchy mounted (looked at %s)" % ", ".join(CGROUP2_CANDIDATES)
    else:
        p = subprocess.run(UNSHARE + ["sh", "-c", "mount -t tmpfs probe /mnt && ip link set lo up"],
                           capture_output=True, text=True, timeout=30, check=False)
        if p.returncode != 0:
            why = "unshare with mount/PID/cgroup/network namespaces is not permitted here: %s" % p.stderr.strip()
    _AVAILABLE[mode] = (why is None, why)
    return _AVAILABLE[mode]


# --------------------------------------------------------------------------- loopback relays (host side)

class _Relay(object):
    """unix socket (in the work directory) -> host 127.0.0.1:port, one thread per connection."""

    def __init__(self, path, port):
        self.port = port
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        os.chmod(path, 0o600)
        self.srv.listen(64)
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.closed:
            try:
                conn, dummy = self.srv.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                up.settimeout(None)
            except OSError:
                conn.close()
                continue
            threading.Thread(target=pump, args=(conn, up), daemon=True).start()

    def close(self):
        self.closed = True
        self.srv.close()


_LOOPBACK = re.compile(r"(?:127\.0\.0\.1|localhost):(\d{2,5})")


def loopback_ports(*texts):
    """127.0.0.1:PORT mentioned in the bootstrap data that something listens on, on the host."""
    ports = set()
    for t in texts:
        ports.update(int(p) for p in _LOOPBACK.findall(t or ""))
    live = []
    for p in sorted(ports):
        try:
            socket.create_connection(("127.0.0.1", p), timeout=2).close()
            live.append(p)
        except OSError:
            pass
    return live


# --------------------------------------------------------------------------- host state

HOST_WATCHED = ("/usr/local/bin", "/usr/local/lib", "/root/.docker", "/etc/ssl/certs")


def host_snapshot():
    """Where a boot that leaked out of its namespace would write (other tests write elsewhere under /root)."""
    snap = {}
    for d in HOST_WATCHED:
        try:
            snap[d] = sorted((n, os.lstat(os.path.join(d, n)).st_mtime_ns) for n in os.listdir(d))
        except OSError:
            snap[d] = None
    return snap


def _remove_cgroup(path):
    """Remove a cgroup tree bottom-up (its processes are gone once the namespace has ended)."""
    if not os.path.isdir(path):
        return True
    for dirpath, dummy, dummy2 in sorted(os.walk(path), key=lambda w: -w[0].count("/")):
        for dummy3 in range(50):
            try:
                os.rmdir(dirpath)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
    return not os.path.exists(path)


def _remove_stale_cgroups(parent):
    """Child cgroups left by a test process that was killed mid-boot (its PID is gone, and so are its boots)."""
    for name in os.listdir(parent):
        m = re.match(r"^bootsim-(\d+)-[0-9a-f]{8}$", name)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            _remove_cgroup(os.path.join(parent, name))


# --------------------------------------------------------------------------- one boot

def boot(mode, work, plan, forward_texts=(), timeout=180):
    """Run one boot in a fresh namespace. ``work`` holds ``user-data`` or ``config.ign``; returns the
    driver's result dict (steps, timings, logs, k0s facts), with ``host_untouched`` and ``error``."""
    plan = dict(plan)
    plan.update(mode=mode, env=dict(SERVICE_ENV), machine_id=uuid.uuid4().hex, instance_id="iid-" + uuid.uuid4().hex[:12],
                ignition=IGNITION, timeout=plan.get("timeout", 120))
    relays = []
    plan["forward"] = []
    for port in loopback_ports(*forward_texts):
        path = os.path.join(work, "relay-%d.sock" % port)
        relays.append(_Relay(path, port))
        plan["forward"].append((port, path))
    with open(os.path.join(work, "plan.json"), "w") as f:
        json.dump(plan, f)
    cg_parent = _own_cgroup(cgroup2_root())
    _remove_stale_cgroups(cg_parent)
    cgroup = os.path.join(cg_parent, "bootsim-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8]))
    os.mkdir(cgroup)
    before = host_snapshot()
    t0 = time.time()
    out = {"error": None}
    log = open(os.path.join(work, "driver.log"), "w+")
    try:
        # The cgroup must be joined before unshare --cgroup, so that it becomes the namespace's root.
        cmd = ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "join", cgroup] + UNSHARE + \
            [sys.executable, DRIVER, work]
        try:
            p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = None
            out["error"] = "the boot did not finish within %d s (killed; see the logs below)" % timeout
        log.seek(0)
        out["driver_log"] = log.read()[-20000:]
        out["driver_rc"] = rc
    finally:
        log.close()
        for r in relays:
            r.close()
        out["cgroup_removed"] = _remove_cgroup(cgroup)
    out["seconds"] = round(time.time() - t0, 2)
    out["host_untouched"] = host_snapshot() == before
    rpath = os.path.join(work, "result.json")
    if os.path.exists(rpath):
        with open(rpath) as f:
            res = json.load(f)
        res.update((k, v) for k, v in out.items() if k != "error" or v)
        out = res
    elif not out["error"]:
        out["error"] = "namespace driver failed (rc=%s): %s" % (out.get("driver_rc"), out.get("driver_log", "")[-3000:])
    out.setdefault("steps", [])
    report = os.path.join(work, "out", "report.json")
    if os.path.exists(report):
        with open(report) as f:
            out["report"] = json.load(f)
    for name in ("systemd.log", "journal.txt"):
        p = os.path.join(work, "out", name)
        if os.path.exists(p):
            with open(p, errors="replace") as f:
                out[name.replace(".", "_")] = f.read()[-40000:]
    return out


def new_workdir():
    return tempfile.mkdtemp(prefix="realboot-")
