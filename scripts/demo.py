"""The k0smotron.oci demo: the whole "OCI Registry Integration for k0smotron" flow, on this machine.

Run it through ``bash scripts/demo.sh`` (which installs the tools first). Steps:

1. start a registry on 127.0.0.1 (CNCF distribution, TLS with a throw-away CA + htpasswd: k0smotron's
   nodes run ``oras blob fetch`` without --plain-http, so the realistic registry speaks trusted TLS);
2. serve a loopback mirror laid out like the upstream release pages: k0s (a real release file given as
   K0S_BINARY=/path/to/k0s-v1.34.1+k0s.0-amd64, otherwise a small stand-in) and the real ORAS CLI;
3. ``ansible-playbook k0smotron.oci.site``: publish (download from the mirror, verify sha256sums.txt,
   push) -> resolve the blob digest in the registry -> render the control plane manifests;
   the registry credentials come from K0SMOTRON_OCI_USERNAME / K0SMOTRON_OCI_PASSWORD, as in AWX;
4. ``ansible-playbook k0smotron.oci.node`` into a scratch prefix (ORAS + k0s fetched by digest);
5. validate the manifests strictly against the CRD schemas shipped in the collection, boot a node from
   each bootstrap object with the real tools (cloud-init 22.4; Ignition 2.14 + systemd 252 as PID 1;
   private namespaces, needs root), and check with ``oras blob fetch`` that the URL's blob is
   byte-identical to the published file;
6. nodes that need only the registry: ``ansible-playbook k0smotron.oci.publish_oras`` pushes the ORAS
   tarball into the registry, the mirror is stopped, ``k0smotron.oci.control_plane`` renders with
   ``control_plane_oras_source: registry`` and the registry's CA as a file, and the node boots again under
   both provisioners with the registry as its only network peer (it does not trust that CA by itself).

Everything listens on 127.0.0.1 and is stopped at the end (also on Ctrl-C / SIGTERM); the registry
password is random per run and never printed.
"""
import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.harness import mirror as mirror_mod  # noqa: E402
from tests.harness import tools  # noqa: E402
from tests.harness.registry import Registry  # noqa: E402

DEFAULT_VERSION = "v1.34.1+k0s.0"
USER = "demo"
REPOSITORY = "k0smotron/k0s"
PASSWORD_ENV = "DEMO_REGISTRY_PASSWORD"
PASSWORD_LOOKUP = "{{ lookup('ansible.builtin.env', '%s') }}" % PASSWORD_ENV
TASK_LINE = re.compile(r"^TASK \[(.*)\]", re.M)
PROGRESS_SECONDS = 0.5  # how often a running playbook's log is looked at
PROGRESS_EVERY = 3.0  # at most one progress line per playbook this often
K0S_NAME = re.compile(r"^k0s-(v[0-9][^/]*\+k0s\.[0-9]+)-(amd64|arm64|arm)$")


def _cpu_seconds():
    import resource
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class DemoError(Exception):
    pass


class Interrupted(BaseException):
    """SIGTERM / SIGHUP: unwinds like Ctrl-C, so that everything started is stopped."""

    def __init__(self, signum):
        BaseException.__init__(self, signum)
        self.signum = signum


class Demo(object):
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.output)
        self.work = os.path.join(self.out, "work")
        self.manifests = os.path.join(self.out, "manifests")
        self.node = os.path.join(self.out, "node")
        self.logs = os.path.join(self.out, "logs")
        # Random per run (tests may fix it with DEMO_REGISTRY_PASSWORD to check it never shows up).
        self.password = os.environ.get("DEMO_REGISTRY_PASSWORD") or secrets.token_urlsafe(18)
        self.registry = None
        self.mirror = None
        self.children = []
        self.timings = []
        self.summary = []
        self.commands = []
        self.started = time.time()

    # ------------------------------------------------------------------ output helpers
    def say(self, text=""):
        print(text.replace(self.password, "********"), flush=True)

    def step(self, title, func, *a, **kw):
        self.say("==> %s" % title)
        start = time.time()
        result = func(*a, **kw)
        seconds = time.time() - start
        self.timings.append((title, seconds))
        self.say("    done in %.1f s" % seconds)
        return result

    def write_private(self, path, data):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(data)

    def record_pid(self, pid):
        # scripts/demo.sh kills these in its trap if this driver dies without cleaning up.
        with open(os.path.join(self.out, "demo.pids"), "a") as f:
            f.write("%d\n" % pid)

    # ------------------------------------------------------------------ environment
    def prepare(self):
        if os.path.exists(self.out):
            for name in ("work", "manifests", "manifests-registry-only", "node", "logs", "demo.pids", "summary.txt"):
                path = os.path.join(self.out, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                elif os.path.lexists(path):
                    os.unlink(path)
        for d in (self.work, self.manifests, self.node, self.logs, os.path.join(self.work, "home")):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.work, 0o700)
        self.oras = tools.oras_path()
        self.oras_version = tools.oras_version(self.oras)
        self.oras_arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armv7"}.get(os.uname().machine, "amd64")
        self.collections = tools.collections_path(os.path.join(self.work, "collections"))
        self.env = dict(os.environ)
        # Profiling / debugging hooks may be passed through, e.g. DEMO_KEEP_ENV=ANSIBLE_CALLBACKS_ENABLED,...
        self.keep_env = set(filter(None, os.environ.get("DEMO_KEEP_ENV", "").split(",")))
        for key in [k for k in self.env if k.startswith(("K0SMOTRON_OCI_", "ANSIBLE_")) and k not in self.keep_env]:
            del self.env[key]
        self.env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_PIPELINING": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.work, "ansible-local"),
            "ANSIBLE_REMOTE_TMP": os.path.join(self.work, "ansible-remote"),
            "XDG_CACHE_HOME": os.path.join(self.work, "cache"),
            "PATH": os.path.dirname(sys.executable) + os.pathsep + self.env.get("PATH", ""),
        })

    def k0s_source(self):
        """-> (path, version, arch, is_real)."""
        given = os.environ.get("K0S_BINARY", "")
        if given:
            path = os.path.abspath(os.path.expanduser(given))
            if not os.path.isfile(path):
                raise DemoError("K0S_BINARY=%s is not a file" % given)
            m = K0S_NAME.match(os.path.basename(path))
            version = os.environ.get("K0S_VERSION") or (m.group(1) if m else DEFAULT_VERSION)
            arch = os.environ.get("K0S_ARCH") or (m.group(2) if m else "amd64")
            return path, version, arch, True
        version = os.environ.get("K0S_VERSION") or DEFAULT_VERSION
        path = mirror_mod.stand_in_k0s(os.path.join(self.work, "k0s-stand-in"), version)
        return path, version, "amd64", False

    def start_services(self):
        self.registry = Registry(os.path.join(self.work, "registry"), tls=True, users={USER: self.password})
        self.registry.start()
        self.record_pid(self.registry.proc.pid)
        self.ca = self.registry.ca["ca"]
        self.say("    registry: %s (TLS, private CA %s, htpasswd user %r)"
                 % (self.registry.url, os.path.relpath(self.ca), USER))
        self.k0s_path, self.version, self.arch, self.real = self.k0s_source()
        self.make_signing_key()
        root = os.path.join(self.work, "mirror")
        os.makedirs(root, exist_ok=True)
        mirror_mod.build_k0s_mirror(os.path.join(root, "k0s"), self.version, {self.arch: self.k0s_path})
        # Only this machine's architecture (the demo's node is this machine), built once per ORAS binary and
        # kept in <output>/.cache: compressing ~11 MiB takes seconds.
        key = "%s-%s-%s" % (self.oras_version, self.oras_arch, mirror_mod.sha256_file(self.oras)[:16])
        cached = os.path.join(self.out, ".cache", "oras-mirror-" + key)
        if not os.path.isdir(cached):
            tmp = cached + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            mirror_mod.build_oras_mirror(tmp, self.oras, self.oras_version, arches=(self.oras_arch,))
            os.rename(tmp, cached)
        os.symlink(cached, os.path.join(root, "oras"))
        self.mirror = mirror_mod.Mirror(root).start()
        self.k0s_base_url = self.mirror.url + "/k0s"
        self.oras_base_url = self.mirror.url + "/oras"
        self.published_sha256 = mirror_mod.sha256_file(self.k0s_path)
        self.say("    mirror:   %s (upstream layout: k0s %s/k0s-%s-%s + sha256sums.txt, ORAS %s from .tools)"
                 % (self.mirror.url, self.version, self.version, self.arch, self.oras_version))
        if self.real:
            self.say("    k0s:      %s (sha256 %s), as given with K0S_BINARY" % (self.k0s_path, self.published_sha256))
        else:
            self.say("    k0s:      STAND-IN, NOT A REAL k0s BINARY (a %d-byte shell script printing %s;"
                     % (os.path.getsize(self.k0s_path), self.version))
            self.say("              point K0S_BINARY=/path/to/k0s-%s-amd64 at a real release file to publish that)"
                     % self.version)

    # ------------------------------------------------------------------ ansible
    def start_playbook(self, name, extra_vars, log_name, env=None, inventory="localhost,"):
        # The vars file stays (the printed command can be run again): the password is looked up from the
        # environment, never written into it.
        vars_path = os.path.join(self.work, "%s-vars.json" % log_name)
        text = json.dumps(extra_vars, indent=1).replace(json.dumps(self.password), json.dumps(PASSWORD_LOOKUP))
        self.write_private(vars_path, text)
        log_path = os.path.join(self.logs, "%s.log" % log_name)
        cmd = [tools.venv_bin("ansible-playbook"), "-i", inventory, "-c", "local", name, "-e", "@" + vars_path]
        run_env = dict(self.env)
        run_env.update(env or {})
        run_env[PASSWORD_ENV] = self.password
        shown_env = ["ANSIBLE_COLLECTIONS_PATH=%s" % self.collections,
                     "ANSIBLE_PYTHON_INTERPRETER=%s" % os.path.relpath(sys.executable), PASSWORD_ENV + "=..."]
        shown_env += ["%s=%s" % (k, "\"$%s\"" % PASSWORD_ENV if v == self.password else v) for k, v in sorted((env or {}).items())]
        command = "%s %s -i %s -c local %s -e @%s" % (" ".join(shown_env), os.path.relpath(cmd[0]), inventory, name,
                                                      os.path.relpath(vars_path))
        self.commands.append(command)
        self.say("    $ " + command)
        with open(log_path, "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=run_env, cwd=self.out)
        self.children.append(proc)
        return {"proc": proc, "name": name, "log": log_path, "vars": vars_path, "start": time.time(), "task": None,
                "shown": time.time()}

    def progress(self, run):
        """Print the task a running playbook is at, when it changed (its output goes to its log)."""
        try:
            with open(run["log"]) as f:
                tasks = TASK_LINE.findall(f.read())
        except OSError:
            return
        if tasks and tasks[-1] != run["task"] and time.time() - run["shown"] >= PROGRESS_EVERY:
            run["task"], run["shown"] = tasks[-1], time.time()
            self.say("    ... %s %4.0f s: %s" % (run["name"].split(".")[-1], time.time() - run["start"], tasks[-1]))

    def finish_playbook(self, run):
        while run["proc"].poll() is None:
            self.progress(run)
            time.sleep(PROGRESS_SECONDS)
        rc = run["proc"].wait()
        seconds = time.time() - run["start"]
        text = open(run["log"]).read().replace(self.password, "********")
        with open(run["log"], "w") as f:
            f.write(text)
        recap = [ln.strip() for ln in text.splitlines() if re.match(r"^\S+\s+:\s+ok=", ln)]
        for ln in recap:
            self.say("    %s recap (%.1f s): %s" % (run["name"], seconds, re.sub(r"\s+", " ", ln)))
        self.timings.append((run["name"], seconds))
        if rc != 0:
            tail = "\n".join(text.splitlines()[-40:])
            raise DemoError("ansible-playbook %s failed (rc=%d); log %s:\n%s" % (run["name"], rc, run["log"], tail))
        return text

    def start_site(self):
        extra = {
            "k0s_publish_version": self.version,
            "k0s_publish_architectures": [self.arch],
            "k0s_publish_base_url": self.k0s_base_url,
            "k0s_publish_repository": "%s/%s" % (self.registry.host, REPOSITORY),
            "k0s_publish_registry_ca_path": self.ca,
            "k0s_publish_cache_dir": os.path.join(self.work, "k0s-cache"),
            # The mirror plays the k0s release, signed as k0s signs its releases (cosign sign-blob, cosign.pub),
            # with the key pinned here; what is pushed is signed with our own key, and rendering checks it.
            "k0s_publish_trusted_keys": [mirror_mod.RELEASE_KEY.public_pem],
            "k0s_publish_signing_key": self.signing_key,
            "control_plane_trusted_keys": [self.signing_pub],
            "control_plane_state": "rendered",
            "control_plane_output_dir": self.manifests,
            "control_plane_oras_base_url": self.oras_base_url,
            "control_plane_oras_version": self.oras_version,
            "control_plane_aws_ssh_key_name": "demo",
        }
        # Credentials only in the environment, the way the AWX credential type injects them.
        env = {"K0SMOTRON_OCI_USERNAME": USER, "K0SMOTRON_OCI_PASSWORD": self.password,
               "K0SMOTRON_OCI_SIGNING_KEY_PASSWORD": self.password}
        return self.start_playbook("k0smotron.oci.site", extra, "site", env=env)

    def make_signing_key(self):
        """The publisher's key pair (ECDSA P-256, cosign's default), the private half encrypted with the demo's
        password: k0s_publish signs with it, control_plane trusts only its public half."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        key = ec.generate_private_key(ec.SECP256R1())
        self.signing_key = os.path.join(self.work, "signing.key")
        self.signing_pub = os.path.join(self.work, "signing.pub")
        self.write_private(self.signing_key, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.password.encode())).decode())
        with open(self.signing_pub, "w") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode())

    def finish_site(self, run):
        text = self.finish_playbook(run)
        urls = sorted(set(re.findall(r"oci://127\.0\.0\.1:%d/%s@sha256:[0-9a-f]{64}" % (self.registry.port, REPOSITORY),
                                     text)))
        if len(urls) != 1:
            raise DemoError("expected one download URL in the site run, found %r" % urls)
        self.url = urls[0]
        if self.url != self.expected_url:
            raise DemoError("site printed %s, but the published file is %s" % (self.url, self.expected_url))
        self.files = sorted(os.listdir(self.manifests))
        if not self.files:
            raise DemoError("nothing was rendered to %s" % self.manifests)
        verified = re.findall(r"is a layer of manifest (sha256:[0-9a-f]{64}), signed by key (sha256:[0-9a-f]{64})", text)
        if not verified:
            raise DemoError("site rendered without saying which key verified the artifact's signature")
        self.signature_result = "manifest %s signed by key %s (release signatures checked on the way in)" % verified[0]
        self.say("    signature: " + self.signature_result)

    def published(self):
        """True once the registry serves the manifest of the tag (site's publish play is done)."""
        import base64
        import ssl
        import urllib.error
        import urllib.request
        req = urllib.request.Request("%s/v2/%s/manifests/%s" % (self.registry.url, REPOSITORY,
                                                                self.version.replace("+", "-")), method="HEAD")
        req.add_header("Accept", "application/vnd.oci.image.manifest.v1+json")
        req.add_header("Authorization", "Basic " + base64.b64encode(("%s:%s" % (USER, self.password)).encode()).decode())
        try:
            urllib.request.urlopen(req, timeout=2, context=ssl.create_default_context(cafile=self.ca)).close()
            return True
        except (urllib.error.URLError, OSError):
            return False

    def start_node(self):
        prefix = self.node
        extra = {
            "oras_base_url": self.oras_base_url,
            "oras_version": self.oras_version,
            "oras_install_dir": os.path.join(prefix, "usr/local/lib/k0smotron-oci"),
            "oras_bin_dir": os.path.join(prefix, "usr/local/bin"),
            "oras_wrapper_home": os.path.join(prefix, "root"),
            "k0s_binary_download_url": self.expected_url,
            "k0s_binary_install_path": os.path.join(prefix, "usr/local/bin/k0s"),
            "k0s_binary_docker_config_path": os.path.join(prefix, "root/.docker/config.json"),
            "k0s_binary_registry_ca_path": self.ca,
            "k0s_binary_registry_username": USER,
            "k0s_binary_registry_password": self.password,
        }
        return self.start_playbook("k0smotron.oci.node", extra, "node")

    def finish_node(self, run):
        self.finish_playbook(run)
        prefix = self.node
        k0s = os.path.join(prefix, "usr/local/bin/k0s")
        got = mirror_mod.sha256_file(k0s)
        if got != self.published_sha256:
            raise DemoError("%s has sha256 %s, expected %s" % (k0s, got, self.published_sha256))
        self.say("    node prefix %s: usr/local/bin/oras (wrapper), usr/local/bin/k0s sha256 %s (matches)"
                 % (os.path.relpath(prefix), got))

    def playbooks(self):
        """site, and, as soon as its publish play has pushed the artifact, node alongside its control plane play."""
        self.expected_url = "oci://%s/%s@sha256:%s" % (self.registry.host, REPOSITORY, self.published_sha256)
        site = self.start_site()
        node = None
        while site["proc"].poll() is None and node is None:
            self.progress(site)
            if self.published():
                self.say("    publish done (%.1f s): starting the node playbook while site renders the control plane"
                         % (time.time() - site["start"]))
                node = self.start_node()
            else:
                time.sleep(PROGRESS_SECONDS)
        try:
            self.finish_site(site)
        finally:
            if node is None and site["proc"].returncode == 0:
                node = self.start_node()
            if node is not None:
                self.finish_node(node)

    # ------------------------------------------------------------------ checks
    def validate(self):
        from tests.harness import schemas
        errors = []
        for name in self.files:
            errors += schemas.validate_file(os.path.join(self.manifests, name))
        if errors:
            raise DemoError("schema validation failed:\n  " + "\n  ".join(errors))
        self.schema_result = "%d files valid against %s (strict)" % (len(self.files), schemas.SOURCE)
        self.say("    " + self.schema_result)

    def boot(self):
        from tests.harness import bootsim
        ok, reason = bootsim.unshare_available()
        if not ok:
            self.boot_result = "node bootstrap simulation skipped: %s" % reason
            self.say("    " + self.boot_result)
            return
        results = []
        for provisioner in ("cloud-init", "ignition"):  # the same objects under both real provisioners
            results += bootsim.simulate_rendered_dir(self.manifests, provisioner=provisioner, ca_files=[self.ca],
                                                     timeout=60)
        if not results:
            raise DemoError("no bootstrap object (K0sControlPlane) in %s" % self.manifests)
        lines = []
        for r in results:
            lines.append("%s/%s (%s, %s): %s in %.1f s"
                         % (r.kind, r.name, r.provisioner, bootsim.REAL_TOOLS[r.provisioner], r.verdict(), r.boot_seconds or 0))
            self.say("    " + lines[-1])
            if not r.ok:
                raise DemoError("boot simulation failed:\n%s" % r.report())
        self.boot_result = "; ".join(lines)

    def fetch_back(self):
        ref = self.url[len("oci://"):]
        dest = os.path.join(self.work, "fetched-k0s")
        env = dict(self.env, HOME=os.path.join(self.work, "home"),
                   DOCKER_CONFIG=os.path.join(self.work, "home", ".docker"))
        p = subprocess.run([self.oras, "blob", "fetch", "--ca-file", self.ca, "--username", USER, "--password-stdin",
                            "--output", dest, ref], input=self.password, capture_output=True, text=True, env=env, check=False)
        if p.returncode != 0:
            raise DemoError("oras blob fetch failed: %s" % (p.stderr or p.stdout).replace(self.password, "********"))
        with open(dest, "rb") as a, open(self.k0s_path, "rb") as b:
            same = a.read() == b.read()
        os.unlink(dest)
        if not same:
            raise DemoError("oras blob fetch %s returned different bytes than the published file" % ref)
        self.say("    $ oras blob fetch --ca-file %s --output k0s %s" % (os.path.relpath(self.ca), ref))
        self.say("    byte-identical to the published file (%s)" % ("real k0s" if self.real else "stand-in"))

    def registry_only(self):
        """Issue 15: publish ORAS into the registry, stop the mirror, render with control_plane_oras_source=registry
        and boot a node whose only network peer is the registry (its CA delivered as a file, not trusted by the node)."""
        from tests.harness import bootsim
        ok, reason = bootsim.unshare_available()
        if not ok:
            self.registry_only_result = "registry-only boot skipped: %s" % reason
            self.say("    " + self.registry_only_result)
            return
        tarball = os.path.join(self.work, "mirror", "oras", "v%s" % self.oras_version,
                               "oras_%s_linux_%s.tar.gz" % (self.oras_version, self.oras_arch))
        oras_repository = "%s/k0smotron/oras" % self.registry.host
        env = {"K0SMOTRON_OCI_USERNAME": USER, "K0SMOTRON_OCI_PASSWORD": self.password}
        self.finish_playbook(self.start_playbook("k0smotron.oci.publish_oras", {
            "oras_publish_version": self.oras_version,
            "oras_publish_architectures": [self.oras_arch],
            "oras_publish_base_url": self.oras_base_url,
            "oras_publish_cache_dir": os.path.join(self.work, "oras-cache"),
            "oras_publish_repository": oras_repository,
            "oras_publish_registry_ca_path": self.ca,
        }, "publish_oras", env=env))
        self.mirror.stop()
        self.mirror = None
        self.say("    release mirror stopped: from here on the registry is the node's only network peer")
        with open(self.ca) as f:
            ca_pem = f.read()
        out = os.path.join(self.out, "manifests-registry-only")
        shutil.rmtree(out, ignore_errors=True)
        self.finish_playbook(self.start_playbook("k0smotron.oci.control_plane", {
            "control_plane_output_dir": out,
            "control_plane_api_version": "v1beta2",
            "control_plane_download_url": self.url,
            "control_plane_registry_username": USER,
            "control_plane_registry_password": self.password,
            "control_plane_registry_ca_path": self.ca,
            "control_plane_registry_ca": ca_pem,
            "control_plane_oras_version": self.oras_version,
            "control_plane_oras_base_url": self.oras_base_url,  # the stopped mirror: must not be needed
            "control_plane_oras_source": "registry",
            "control_plane_oras_artifact": {"repository": oras_repository,
                                            "digests": {self.oras_arch: "sha256:" + mirror_mod.sha256_file(tarball)}},
            "control_plane_aws_ssh_key_name": "demo",
        }, "control_plane_registry_only"))
        lines = []
        for provisioner in ("cloud-init", "ignition"):
            # No ca_files: the node does not trust the registry's CA; the role's CA file and the oras wrapper do.
            for r in bootsim.simulate_rendered_dir(out, provisioner=provisioner, timeout=60):
                lines.append("%s/%s (%s): %s" % (r.kind, r.name, provisioner, r.verdict()))
                self.say("    " + lines[-1])
                if not r.ok or r.k0s_sha256 != self.published_sha256:
                    raise DemoError("registry-only boot failed:\n%s" % r.report())
        if not lines:
            raise DemoError("no bootstrap object in %s" % out)
        self.registry_only_result = ("node's only network peer was the registry (ORAS and k0s from %s, mirror "
                                     "stopped): %d boots ok" % (self.registry.host, len(lines)))
        self.say("    " + self.registry_only_result)

    def images(self):
        """Issue 21: k0s' system images from the registry. A generated airgap bundle (k0s v1.34.1's image names, tiny
        images) is published both ways by k0s_publish, then a real containerd pulls pause from the registry through
        the drop-in and hosts.toml the collection renders for image-mirror nodes."""
        from tests.harness.ocilayout import Bundle
        bundle = Bundle().write_tar(os.path.join(self.work, "k0s-airgap-bundle-%s-linux-%s.tar" % (self.version, self.arch)))
        env = {"K0SMOTRON_OCI_USERNAME": USER, "K0SMOTRON_OCI_PASSWORD": self.password}
        common = {
            "k0s_publish_version": self.version, "k0s_publish_architectures": [self.arch],
            "k0s_publish_files": {self.arch: self.k0s_path}, "k0s_publish_trusted_keys": [mirror_mod.RELEASE_KEY.public_pem],
            "k0s_publish_repository": "%s/%s" % (self.registry.host, REPOSITORY), "k0s_publish_registry_ca_path": self.ca,
            "k0s_publish_cache_dir": os.path.join(self.work, "k0s-cache"), "k0s_publish_images_files": {self.arch: bundle},
        }
        for delivery in ("bundle", "mirror"):
            text = self.finish_playbook(self.start_playbook("k0smotron.oci.publish", dict(common, k0s_publish_images=delivery),
                                                            "publish_images_" + delivery, env=env))
            # The role's summary lines: the bundle's oci:// URL, or how many images went where.
            lines = [ln.strip(' ",') for ln in text.splitlines()
                     if re.match(r'\s+"(%s: (oci://\S*airgap-bundle@|\d+ images)|k0s system images )' % re.escape(self.arch), ln)]
            if not lines:
                raise DemoError("publish with k0s_publish_images=%s printed no summary" % delivery)
            for ln in lines:
                self.say("    %s: %s" % (delivery, ln))
        from tests.harness.containerd import Containerd, containerd_bin
        if not containerd_bin() or os.geteuid() != 0:
            self.images_result = "bundle and mirror published; containerd pull skipped (needs root and containerd)"
            self.say("    " + self.images_result)
            return
        containerd_config = tools.plugin_util("_containerd")
        certs = os.path.join(self.work, "certs.d")
        os.makedirs(os.path.join(certs, self.registry.host), exist_ok=True)
        with open(os.path.join(certs, self.registry.host, "hosts.toml"), "w") as f:
            f.write(containerd_config.hosts_toml(self.registry.host, ca_file=self.ca))
        drop_in = containerd_config.drop_in(self.version, self.registry.host, USER, self.password, certs_dir=certs)
        with Containerd(os.path.join(self.work, "containerd"), {"10-k0smotron-oci-registry.toml": drop_in}) as ctd:
            pause = "%s/k0sproject/pause:3.10.1" % self.registry.host
            image_id = ctd.pull(pause)
        self.images_result = ("bundle artifact and image mirror published; a real containerd pulled %s (%s) with the "
                              "rendered drop-in and hosts.toml" % (pause, image_id))
        self.say("    " + self.images_result)

    # ------------------------------------------------------------------ main
    def run(self):
        self.prepare()
        self.say("k0smotron.oci demo (output in %s)" % os.path.relpath(self.out))
        self.step("start a TLS + htpasswd registry and a release mirror on 127.0.0.1", self.start_services)
        self.step("playbooks site + node (site: publish -> resolve -> render; node: ORAS + k0s into a scratch "
                  "prefix, started once the artifact is pushed)", self.playbooks)
        self.step("validate the rendered manifests (CRD schemas shipped in the collection)", self.validate)
        self.step("boot a node from each bootstrap object with the real cloud-init, Ignition and systemd", self.boot)
        self.step("fetch the blob back with the ORAS CLI", self.fetch_back)
        self.step("nodes that need only the registry: publish ORAS into it, stop the mirror, render with "
                  "control_plane_oras_source=registry, boot", self.registry_only)
        self.step("k0s' system images from the registry: publish a generated airgap bundle as an artifact and as an "
                  "image mirror, pull pause with containerd", self.images)
        total = time.time() - self.started
        lines = [
            "",
            "==================== summary ====================",
            "k0s %s (%s): %s" % (self.version, self.arch, "real release file" if self.real
                                 else "STAND-IN test file, not a real k0s binary"),
            "published: %s/%s:%s" % (self.registry.host, REPOSITORY, self.version.replace("+", "-")),
            "download URL: %s" % self.url,
            "signature: %s; offline, no transparency log (docs/supply-chain.md)" % self.signature_result,
            "rendered manifests (%s):" % os.path.relpath(self.manifests),
        ] + ["  %s" % os.path.join(os.path.relpath(self.manifests), f) for f in self.files] + [
            "schema validation: %s" % self.schema_result,
            "boot simulation: %s" % self.boot_result,
            "registry only: %s" % self.registry_only_result,
            "images: %s" % self.images_result,
            "node scratch prefix: %s" % os.path.relpath(self.node),
            "logs: %s" % os.path.relpath(self.logs),
            "timings: " + ", ".join("%s %.1f s" % (t.split(" (")[0], s) for t, s in self.timings),
            "(node starts as soon as the artifact is in the registry and runs alongside site's control plane play)",
            "total: %.1f s (CPU: %.1f s in this driver and its children)" % (total, _cpu_seconds()),
            "",
            "K0sControlPlane.spec.k0sConfigSpec.downloadURL: %s" % self.url,
            "",
            "==================== next steps ====================",
            "The commands above can be run again (the registry and mirror are stopped now; %s is the registry "
            "password); their vars files stay in %s:" % (PASSWORD_ENV, os.path.relpath(self.work)),
        ] + ["  " + c for c in self.commands] + [
            "Your own registry: publish a real k0s there (README, Quick start):",
            "  K0SMOTRON_OCI_USERNAME=... K0SMOTRON_OCI_PASSWORD=... ansible-playbook k0smotron.oci.publish \\",
            "    -e k0s_publish_version=%s -e k0s_publish_repository=REGISTRY/REPOSITORY" % self.version,
            "  then render: ansible-playbook k0smotron.oci.control_plane \\",
            "    -e control_plane_artifact_reference=REGISTRY/REPOSITORY:%s -e control_plane_output_dir=./manifests"
            % self.version.replace("+", "-"),
            "  (a private CA: k0s_publish_registry_ca_path and control_plane_registry_ca; no internet: docs/airgapped.md)",
            "Apply the manifests to your management cluster (k0smotron and Cluster API installed):",
            "  kubectl apply -f %s/   or   -e control_plane_state=present" % os.path.relpath(self.manifests),
        ]
        for ln in lines:
            self.say(ln)
        with open(os.path.join(self.out, "summary.txt"), "w") as f:
            f.write("\n".join(lines).replace(self.password, "********") + "\n")

    def stop(self):
        for child in self.children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
        if self.mirror is not None:
            self.mirror.stop()
            self.mirror = None
        if self.registry is not None:
            self.registry.stop()
            self.registry = None
        pids = os.path.join(self.out, "demo.pids")
        if os.path.exists(pids):
            os.unlink(pids)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    ap.add_argument("--output", default=os.path.join(os.getcwd(), "demo-output"),
                    help="output directory (default ./demo-output; its work/, manifests/, node/ and logs/ are replaced)")
    args = ap.parse_args(argv)

    def on_signal(signum, _frame):
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    demo = Demo(args)
    try:
        demo.run()
        return 0
    except DemoError as e:
        demo.say("demo FAILED: %s" % e)
        return 1
    except KeyboardInterrupt:
        demo.say("demo interrupted")
        return 130
    except Interrupted as e:
        demo.say("demo interrupted (%s): stopping what it started" % signal.Signals(e.signum).name)
        return 128 + e.signum
    finally:
        demo.stop()


if __name__ == "__main__":
    sys.exit(main())
