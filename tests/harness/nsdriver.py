"""PID 1 of a boot namespace: builds the node's root and boots it with the real tools.

Run by tests/harness/realboot.py as
``unshare --fork --pid --mount --cgroup --uts --ipc --net --kill-child --propagation private
python3 nsdriver.py WORKDIR`` (standard library only). ``WORKDIR/plan.json`` says what to do:

* ``mode: cloud-init``: the NoCloud seed (``user-data`` as k0smotron generated it, ``meta-data``)
  goes to the node's ``/var/lib/cloud/seed/nocloud``; then the real cloud-init runs its four stages
  chroot-ed into the node (``init --local``, ``init``, ``modules --mode=config``,
  ``modules --mode=final``), as its systemd units would, with the units' environment.
* ``mode: ignition``: the real Ignition (``-platform file``, ``IGNITION_CONFIG_FILE``) runs the
  ``fetch-offline`` and ``files`` stages with ``-root`` = the node (as from an initramfs), then this
  process ``exec``s the real systemd as PID 1 of the node (``--unit=bootsim.target``), which runs the
  unit Ignition wrote; a reporter unit records the result and calls ``systemctl exit``.

The node: a tmpfs holding overlays of the host's ``/usr``, ``/etc``, ``/var``, ``/opt``, ``/bin``,
``/lib*`` (writes go to the tmpfs), fresh tmpfs ``/root``, ``/tmp``, ``/run``, ``/usr/local/bin``,
``/usr/local/lib``, ``/var/lib/cloud``, ``/var/log``; a fresh ``/proc`` with ``/proc/sys`` read-only
(a booted systemd would otherwise set the host kernel's sysctls), a fresh read-only ``/sys``, the
namespace's cgroup2 at ``/sys/fs/cgroup``, a tmpfs ``/dev`` with the usual nodes. The network
namespace has only ``lo``; ``plan["forward"]`` lists loopback ports relayed to the host through
unix sockets (see realboot.py). Results go to ``WORKDIR/result.json`` (``WORKDIR/out`` is the
node's ``/bootsim``).
"""
import hashlib
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

T0 = time.time()
# Set by main() from the work directory (the module is also imported by realboot.py for pump()).
WORK = PLAN = NS = ROOT = OUT = None
RESULT = {"steps": [], "error": None, "timings": {}}
OVERLAID = ("etc", "usr", "var", "opt", "srv", "home", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
FRESH = {"root": "0700", "tmp": "1777", "run": "0755", "mnt": "0755", "media": "0755"}


def sh(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), p.stderr.strip()))


def mount(*args):
    sh("mount", *args)


def node(path):
    return os.path.join(ROOT, path.lstrip("/"))


def save():
    RESULT["timings"]["total"] = round(time.time() - T0, 2)
    with open(os.path.join(WORK, "result.json"), "w") as f:
        json.dump(RESULT, f, indent=1)


# --------------------------------------------------------------------------- loopback relays

def pump(a, b):
    """Copy bytes both ways between two connected sockets until one side closes (then close both)."""
    try:
        while True:
            r, dummy, dummy = select.select([a, b], [], [], 600)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


def relay(port, unix_path):
    """Listen on the namespace's 127.0.0.1:port; each connection goes to the host through unix_path."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)

    def loop():
        while True:
            conn, dummy = srv.accept()
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                up.connect(unix_path)
            except OSError:
                conn.close()
                continue
            threading.Thread(target=pump, args=(conn, up), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def relays_process():
    """A child process that keeps the relays alive after this process execs systemd."""
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setsid()
        for port, path in PLAN["forward"]:
            relay(port, path)
        while True:
            time.sleep(3600)
    finally:
        os._exit(0)


# --------------------------------------------------------------------------- the node's root

def build_root():
    mount("--make-rprivate", "/")
    sh("ip", "link", "set", "lo", "up")
    sh("hostname", "bootsim-node")
    os.makedirs(NS, exist_ok=True)
    mount("-t", "tmpfs", "-o", "mode=0755", "bootsim", NS)
    os.makedirs(ROOT)
    for name in sorted(os.listdir("/")):
        src, dst = "/" + name, node(name)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif name in OVERLAID and os.path.isdir(src):
            up, wk = os.path.join(NS, "upper", name), os.path.join(NS, "work", name)
            os.makedirs(up)
            os.makedirs(wk)
            os.makedirs(dst)
            mount("-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (src, up, wk), dst)
        elif name in FRESH:
            os.makedirs(dst)
            mount("-t", "tmpfs", "-o", "mode=" + FRESH[name], "bootsim-" + name, dst)
        elif name in ("proc", "sys", "dev"):
            os.makedirs(dst)
        # anything else (/work, /boot, ...) is not part of the node
    for d in ("usr/local/bin", "usr/local/lib", "var/lib/cloud", "var/log"):
        os.makedirs(node(d), exist_ok=True)
        mount("-t", "tmpfs", "-o", "mode=0755", "bootsim-" + d.replace("/", "-"), node(d))
    # fresh proc of this PID namespace; its sysctls read-only (they are the host kernel's)
    mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", node("proc"))
    for p in ("proc/sys", "proc/sysrq-trigger"):
        if not os.path.exists(node(p)):
            continue
        mount("--bind", node(p), node(p))
        mount("-o", "remount,bind,ro", node(p))
    mount("-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", node("sys"))
    mount("-t", "cgroup2", "-o", "nosuid,nodev,noexec", "cgroup2", node("sys/fs/cgroup"))
    mount("-t", "tmpfs", "-o", "mode=0755,nosuid", "bootsim-dev", node("dev"))
    for dev in ("null", "zero", "full", "random", "urandom", "tty"):
        open(node("dev/" + dev), "w").close()
        mount("--bind", "/dev/" + dev, node("dev/" + dev))
    os.symlink("/proc/self/fd", node("dev/fd"))
    for i, std in enumerate(("stdin", "stdout", "stderr")):
        os.symlink("/proc/self/fd/%d" % i, node("dev/" + std))
    for d in ("dev/shm", "dev/pts"):
        os.makedirs(node(d))
    mount("-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "bootsim-shm", node("dev/shm"))
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(node("bootsim"))
    mount("--bind", OUT, node("bootsim"))
    # a node of its own: its own machine-id (not a first boot: no preset-all), the test CA in its bundle
    with open(node("etc/machine-id"), "w") as f:
        f.write(PLAN["machine_id"] + "\n")
    if PLAN.get("ca_bundle"):
        with open(PLAN["ca_bundle"], "rb") as src, open(node("/etc/ssl/certs/ca-certificates.crt"), "wb") as dst:
            dst.write(src.read())
    for path, text, mode in PLAN.get("node_files", []):
        p = node(path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)


def run(name, argv, env, chroot=True, timeout=None, stdin=None):
    """One step; returns its record (exit_code, stdout, stderr, seconds)."""
    rec = {"name": name, "ran": True, "argv": argv, "exit_code": None, "stdout": "", "stderr": ""}
    RESULT["steps"].append(rec)
    t = time.time()

    def pre():
        if chroot:
            os.chroot(ROOT)
            os.chdir("/")
    try:
        p = subprocess.run(argv, env=env, preexec_fn=pre, stdin=stdin or subprocess.DEVNULL, capture_output=True,
                           timeout=timeout or PLAN["timeout"], check=False)
        rec.update(exit_code=p.returncode, stdout=p.stdout.decode("utf-8", "replace")[-20000:],
                   stderr=p.stderr.decode("utf-8", "replace")[-20000:])
    except subprocess.TimeoutExpired as e:
        rec.update(exit_code=124, stdout=(e.stdout or b"").decode("utf-8", "replace")[-20000:],
                   stderr=(e.stderr or b"").decode("utf-8", "replace")[-20000:] + "\n[bootsim] timed out")
    rec["seconds"] = round(time.time() - t, 2)
    return rec


def read_node(path, limit=200000):
    try:
        with open(node(path), "rb") as f:
            return f.read()[-limit:].decode("utf-8", "replace")
    except OSError:
        return None


def inspect_k0s():
    """sha256 and `k0s version` of the installed binary (from outside the node, then chroot-ed)."""
    k0s = node(PLAN["k0s_path"])
    res = {"k0s_sha256": None, "k0s_runs": False, "k0s_version_output": ""}
    if os.path.isfile(k0s) and not os.path.islink(k0s):
        h = hashlib.sha256()
        with open(k0s, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        res["k0s_sha256"] = h.hexdigest()
        res["k0s_mode"] = "%04o" % (os.stat(k0s).st_mode & 0o7777)
        try:
            p = subprocess.run([PLAN["k0s_path"], "version"], env=PLAN["env"], capture_output=True, timeout=30,
                               preexec_fn=lambda: (os.chroot(ROOT), os.chdir("/")), check=False)
            res["k0s_runs"] = p.returncode == 0
            res["k0s_version_output"] = (p.stdout + p.stderr).decode("utf-8", "replace")[-2000:]
        except (OSError, subprocess.SubprocessError) as e:
            res["k0s_version_output"] = "cannot run %s: %s" % (PLAN["k0s_path"], e)
    files = []
    for path in PLAN["file_paths"]:
        p = node(path)
        files.append({"path": path, "final_mode": "%04o" % (os.stat(p).st_mode & 0o7777) if os.path.exists(p) else None})
    res["files"] = files
    return res


# --------------------------------------------------------------------------- cloud-init

BOOT_TARGET = """[Unit]
Description=bootsim: the node's first boot (the units Ignition enabled, then the reporter)
Wants=%(units)s bootsim-report.service
"""
REPORT_UNIT = """[Unit]
Description=bootsim: record the bootstrap unit's result and stop the node
After=%(units)s

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /usr/local/sbin/bootsim-report
"""
CLOUD_INIT_STAGES = (  # cloud-init's systemd units, in boot order (/lib/systemd/system/cloud-*.service)
    ("cloud-init-local.service", ["/usr/bin/cloud-init", "init", "--local"]),
    ("cloud-init.service", ["/usr/bin/cloud-init", "init"]),
    ("cloud-config.service", ["/usr/bin/cloud-init", "modules", "--mode=config"]),
    ("cloud-final.service", ["/usr/bin/cloud-init", "modules", "--mode=final"]),
)


def boot_cloud_init():
    if os.path.exists(node("/etc/cloud/cloud-init.disabled")):  # setup.sh's guard for systemd hosts
        os.remove(node("/etc/cloud/cloud-init.disabled"))
    seed = node("/var/lib/cloud/seed/nocloud")
    os.makedirs(seed)
    with open(os.path.join(seed, "user-data"), "wb") as dst, open(os.path.join(WORK, "user-data"), "rb") as src:
        dst.write(src.read())
    with open(os.path.join(seed, "meta-data"), "w") as f:
        f.write("instance-id: %s\nlocal-hostname: bootsim-node\n" % PLAN["instance_id"])
    RESULT["timings"]["setup"] = round(time.time() - T0, 2)
    for unit, argv in CLOUD_INIT_STAGES:
        rec = run("cloud-init: %s (%s)" % (" ".join(argv[1:]), unit), argv, PLAN["env"])
        if rec["exit_code"] != 0:
            break  # a failed stage: the later units would still start on a real node, but the verdict is made
    RESULT["cloud_init_log"] = read_node("/var/log/cloud-init.log")
    RESULT["cloud_init_output"] = read_node("/var/log/cloud-init-output.log")
    RESULT["cloud_init_result"] = read_node("/run/cloud-init/result.json")
    RESULT["runcmd_script"] = read_node("/var/lib/cloud/instance/scripts/runcmd")
    # the cloud-config as cloud-init processed it, validated by cloud-init's own schema
    if read_node("/var/lib/cloud/instance/cloud-config.txt") is not None:
        run("cloud-init: schema --system", ["/usr/bin/cloud-init", "schema", "--system"], PLAN["env"])
    RESULT.update(inspect_k0s())
    save()


# --------------------------------------------------------------------------- Ignition + systemd

def boot_ignition():
    # Ignition's view is an initramfs: its own /run (it caches the config in /run/ignition.json),
    # the node's root at -root. The node image says SELinux is off (Flatcar ships /etc/selinux/config).
    mount("-t", "tmpfs", "-o", "mode=0755", "bootsim-ign-run", "/run")
    os.makedirs(node("/etc/selinux"), exist_ok=True)
    with open(node("/etc/selinux/config"), "w") as f:
        f.write("SELINUX=disabled\nSELINUXTYPE=targeted\n")
    stubs = os.path.join(NS, "stubs")
    os.makedirs(stubs)
    with open(os.path.join(stubs, "setfiles"), "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(os.path.join(stubs, "setfiles"), 0o755)
    env = {"PATH": stubs + ":" + PLAN["env"]["PATH"], "LANG": "C.UTF-8",
           "IGNITION_CONFIG_FILE": os.path.join(WORK, "config.ign")}
    RESULT["timings"]["setup"] = round(time.time() - T0, 2)
    for stage in ("fetch-offline", "files"):
        argv = [PLAN["ignition"], "-platform", "file", "-stage", stage, "-root", ROOT, "-log-to-stdout"]
        rec = run("ignition: -stage %s" % stage, argv, env, chroot=False)
        if rec["exit_code"] != 0:
            RESULT.update(inspect_k0s())
            save()
            return
    RESULT["ignition_files"] = [p for p in PLAN["file_paths"] if os.path.exists(node(p))]
    RESULT["unit_text"] = read_node("/etc/systemd/system/" + PLAN["unit"])
    RESULT["preset"] = read_node("/etc/systemd/system-preset/20-ignition.preset") or ""
    # What Ignition enabled (its preset file; a first boot's preset-all would enable them): the boot
    # target wants those units, then the reporter.
    enabled = [ln.split()[1] for ln in RESULT["preset"].splitlines() if ln.startswith("enable ")]
    units = " ".join(enabled) or PLAN["unit"]
    with open(node("/etc/systemd/system/bootsim.target"), "w") as f:
        f.write(BOOT_TARGET % {"units": units})
    with open(node("/etc/systemd/system/bootsim-report.service"), "w") as f:
        f.write(REPORT_UNIT % {"units": units})
    save()
    # systemd as PID 1 of the node: this process becomes it.
    os.chroot(ROOT)
    os.chdir("/")
    log = os.open("/bootsim/systemd.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.execve("/lib/systemd/systemd", ["/lib/systemd/systemd", "--system", "--unit=bootsim.target",
                                       "--log-target=console", "--log-level=info", "--show-status=0"],
              {"container": "bootsim", "PATH": PLAN["env"]["PATH"], "LANG": "C.UTF-8"})


def main(work):
    global WORK, PLAN, NS, ROOT, OUT
    WORK = work
    with open(os.path.join(WORK, "plan.json")) as f:
        PLAN = json.load(f)
    NS = os.path.join(WORK, "ns")
    ROOT = os.path.join(NS, "root")
    OUT = os.path.join(WORK, "out")
    try:
        build_root()
        if PLAN["forward"]:
            relays_process()
        if PLAN["mode"] == "cloud-init":
            boot_cloud_init()
        else:
            boot_ignition()
    except Exception as e:  # noqa: BLE001 - reported to the caller
        import traceback
        RESULT["error"] = "namespace driver: %s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
        save()
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
