"""Run a TLS + htpasswd registry and an ORAS mirror in the background, for molecule and demos.

    python -m tests.harness.serve start STATE_DIR   # starts everything, writes STATE_DIR/env.json
    python -m tests.harness.serve stop STATE_DIR    # stops everything that 'start' started

``start`` forks a server process (its own session and log file, pid in STATE_DIR/serve.pid).
That process starts the registry (a child process, pid in STATE_DIR/registry.pid) and the mirror
(a thread), pushes a stand-in k0s binary with the ORAS CLI, writes env.json, then waits for
SIGTERM and stops both. ``stop`` sends SIGTERM, waits, and kills the registry if it is left.
Everything listens on 127.0.0.1 only.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

from . import mirror as mirror_mod
from . import tools
from .registry import Registry

USER = "k0s-molecule"
PASSWORD = "m0lecule-Pa55-word"
TAG = "v1.34.1-k0s.0"


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def run(state):
    state = os.path.abspath(state)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    oras = tools.oras_path()
    version = tools.oras_version(oras)
    reg = Registry(os.path.join(state, "registry"), tls=True, users={USER: PASSWORD})
    mirror = None
    try:
        reg.start()
        with open(os.path.join(state, "registry.pid"), "w") as f:
            f.write(str(reg.proc.pid))
        mirror_root = os.path.join(state, "oras-mirror")
        mirror_mod.build_oras_mirror(mirror_root, oras, version)
        mirror = mirror_mod.Mirror(mirror_root).start()

        work = os.path.join(state, "push")
        os.makedirs(work, exist_ok=True)
        binary = mirror_mod.stand_in_k0s(os.path.join(work, "k0s"))
        cfg = os.path.join(work, "oras-config.json")
        env = dict(os.environ, HOME=work)
        ref = "%s/k0smotron/k0s:%s" % (reg.host, TAG)
        subprocess.run([oras, "push", "--ca-file", reg.ca["ca"], "--registry-config", cfg,
                        "--username", USER, "--password-stdin", ref, "k0s"],
                       input=PASSWORD, text=True, cwd=work, env=env, check=True, capture_output=True)
        digest = mirror_mod.sha256_file(binary)
        info = {
            "registry": reg.host,
            "ca_path": reg.ca["ca"],
            "username": USER,
            "password": PASSWORD,
            "oras_mirror_url": mirror.url,
            "oras_version": version,
            "artifact_reference": ref,
            "artifact_title": "k0s",
            "blob_sha256": digest,
            "download_url": "oci://%s/k0smotron/k0s@sha256:%s" % (reg.host, digest),
        }
        tmp = os.path.join(state, "env.json.tmp")
        with open(tmp, "w") as f:
            json.dump(info, f, indent=2)
        os.rename(tmp, os.path.join(state, "env.json"))
        while not stop.wait(0.5):
            if reg.proc is None or reg.proc.poll() is not None:
                print("registry exited", file=sys.stderr)
                break
    finally:
        if mirror:
            mirror.stop()
        reg.stop()
        for name in ("registry.pid", "serve.pid", "env.json"):
            try:
                os.unlink(os.path.join(state, name))
            except OSError:
                pass


def start(state, timeout=60):
    state = os.path.abspath(state)
    os.makedirs(state, exist_ok=True)
    pid = _read_pid(os.path.join(state, "serve.pid"))
    if pid and _pid_alive(pid) and os.path.exists(os.path.join(state, "env.json")):
        print(os.path.join(state, "env.json"))
        return 0
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(state, "serve.log"), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.harness.serve", "run", state], cwd=root,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    with open(os.path.join(state, "serve.pid"), "w") as f:
        f.write(str(proc.pid))
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(os.path.join(state, "env.json")):
            print(os.path.join(state, "env.json"))
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(state)
    sys.stderr.write("serve did not start; log:\n%s\n" % open(os.path.join(state, "serve.log")).read()[-3000:])
    return 1


def stop(state, timeout=15):
    state = os.path.abspath(state)
    pid = _read_pid(os.path.join(state, "serve.pid"))
    reg_pid = _read_pid(os.path.join(state, "registry.pid"))
    if pid and _pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + timeout
        while time.time() < deadline and _pid_alive(pid):
            try:  # reap it if it is our child
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    if reg_pid and _pid_alive(reg_pid):
        os.kill(reg_pid, signal.SIGKILL)
    for name in ("registry.pid", "serve.pid", "env.json"):
        try:
            os.unlink(os.path.join(state, name))
        except OSError:
            pass
    return 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop", "run"):
        sys.stderr.write(__doc__)
        return 2
    cmd, state = argv[1], argv[2]
    if cmd == "run":
        run(state)
        return 0
    return start(state) if cmd == "start" else stop(state)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
