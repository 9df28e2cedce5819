"""Start and stop a real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1."""
import base64
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

from . import certs


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """One registry process. ``tls=True`` adds a self-signed CA + cert; ``users`` adds htpasswd basic auth."""

    def __init__(self, workdir, tls=False, users=None, port=None):
        self.workdir = workdir
        self.tls = tls
        self.users = users or {}
        self.port = port or free_port()
        self.proc = None
        self.ca = None
        os.makedirs(workdir, exist_ok=True)
        self.storage = os.path.join(workdir, "storage")

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @property
    def url(self):
        return "%s://%s" % ("https" if self.tls else "http", self.host)

    def _config(self):
        lines = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % self.storage,
            "  delete:",
            "    enabled: true",
            "http:",
            "  addr: %s" % self.host,
            "  secret: k0smotron-oci-test",
        ]
        if self.tls:
            if self.ca is None:
                self.ca = certs.make_ca_and_server_cert(os.path.join(self.workdir, "pki"))
            lines += ["  tls:", "    certificate: %s" % self.ca["cert"], "    key: %s" % self.ca["key"]]
        if self.users:
            htpasswd = os.path.join(self.workdir, "htpasswd")
            with open(htpasswd, "w") as f:
                for user, password in self.users.items():
                    out = subprocess.run(["htpasswd", "-Bbn", user, password], check=True,
                                         capture_output=True, text=True).stdout.strip()
                    f.write(out + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: k0smotron-oci-test", "    path: %s" % htpasswd]
        return "\n".join(lines) + "\n"

    def start(self, timeout=20):
        binary = shutil.which("docker-registry")
        if not binary:
            raise RuntimeError("docker-registry not installed: run scripts/setup.sh")
        config = os.path.join(self.workdir, "config.yml")
        with open(config, "w") as f:
            f.write(self._config())
        self.log = os.path.join(self.workdir, "registry.log")
        # Own output file: a pipe to our stdout would keep the caller's pipe open forever.
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen([binary, "serve", config], stdout=logf, stderr=logf,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("registry exited: %s" % open(self.log).read()[-2000:])
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("registry did not answer on %s" % self.url)

    def _answers(self):
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.ca["ca"])
        try:
            urllib.request.urlopen(self.url + "/v2/", timeout=1, context=ctx)
            return True
        except urllib.error.HTTPError:
            return True  # 401 means it is up
        except (OSError, ValueError):
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self):
        """Hard stop (SIGKILL), for fault tests; start() again reuses the same storage and port."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def docker_config(self, user=None, password=None):
        """A docker config.json dict for this registry (auths.HOST.auth)."""
        if user is None:
            user, password = next(iter(self.users.items()))
        auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        return {"auths": {self.host: {"auth": auth}}}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
