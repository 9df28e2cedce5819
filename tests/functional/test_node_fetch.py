"""The node-side curl fetch (plugins/plugin_utils/_node_fetch.py) against real registries, run by dash and
by busybox ash (with busybox's own awk/sed/sha256sum/mktemp), with curl as the only HTTP client."""
import base64
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from tests.functional.conftest import AUTH_PASSWORD, AUTH_USER
from tests.harness import fakeregistry, hostile, tools
from tests.harness.fakeregistry import reply, trickle
from tests.harness.faultproxy import FaultProxy
from tests.harness.nodefetch import SIGNATURE, Front, Recorder, node_fetch_module

node_fetch = node_fetch_module()
fake = fakeregistry.fake  # the harness' fixture

pytestmark = pytest.mark.skipif(not (shutil.which("dash") and shutil.which("busybox") and shutil.which("curl")),
                                reason="needs dash, busybox and curl (scripts/setup.sh)")


@pytest.fixture(scope="session")
def busybox_bin(tmp_path_factory):
    """A PATH where every tool is a busybox applet (wget included), and one that adds only curl."""
    applets = tmp_path_factory.mktemp("busybox-applets")
    subprocess.run(["busybox", "--install", "-s", str(applets)], check=True)
    curl_only = tmp_path_factory.mktemp("curl-only")
    os.symlink(shutil.which("curl"), str(curl_only / "curl"))
    return {"applets": str(applets), "with_curl": "%s:%s" % (curl_only, applets)}


@pytest.fixture(params=["dash", "busybox"])
def shell(request, busybox_bin):
    """(argv prefix, environment) of a node shell: no HOME, nothing but PATH."""
    if request.param == "dash":
        return request.param, ["dash"], {"PATH": "/usr/bin:/bin"}
    return request.param, [shutil.which("busybox"), "sh"], {"PATH": busybox_bin["with_curl"]}


def sha(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def b64(user, password):
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class Node:
    """A node's folders: the destination folder and a config.json."""

    def __init__(self, tmp_path, shell):
        self.name, self.argv, self.env = shell
        self.tmp = tmp_path
        self.out = tmp_path / "out"
        self.out.mkdir()
        self.dest = str(self.out / "oras.tar.gz")
        self.config = str(tmp_path / "config.json")

    def write_config(self, obj):
        with open(self.config, "w") as f:
            json.dump(obj, f, indent=2)

    def fetch(self, registry, repository, digest, **kw):
        kw.setdefault("config_path", self.config)
        kw.setdefault("retries", 1)
        script = node_fetch.fetch_script(registry, repository, digest, self.dest, **kw)
        path = self.tmp / "fetch.sh"
        path.write_text(script)
        proc = subprocess.run(self.argv + [str(path)], env=self.env, capture_output=True, text=True, timeout=120, check=False)
        for secret in (AUTH_PASSWORD, b64(AUTH_USER, AUTH_PASSWORD), b64(AUTH_USER, "wrong-password"), SIGNATURE):
            assert secret not in proc.stdout + proc.stderr, "a secret was printed"
        assert proc.stdout == ""
        return proc

    def installed(self):
        return os.listdir(str(self.out))


@pytest.fixture()
def node(tmp_path, shell):
    return Node(tmp_path, shell)


def oras_push(oras, oras_env, tmp_path, ref, size=300 * 1024 + 3, extra=()):
    """Push one random file with the real ORAS CLI; returns (local path, blob digest)."""
    path = tmp_path / "payload.tar.gz"
    path.write_bytes(os.urandom(size))
    cmd = [oras, "push"] + list(extra) + [ref, "payload.tar.gz"]
    subprocess.run(cmd, cwd=str(tmp_path), env=oras_env, check=True, capture_output=True, text=True,
                   input=AUTH_PASSWORD)
    return str(path), sha(str(path))


@pytest.fixture(scope="module")
def tls_blob(auth_registry, oras, tmp_path_factory):
    d = tmp_path_factory.mktemp("tls-blob")
    env = dict(os.environ, HOME=str(d), DOCKER_CONFIG=str(d))
    return oras_push(oras, env, d, auth_registry.host + "/nodes/oras:v1",
                     extra=["--ca-file", auth_registry.ca["ca"], "-u", AUTH_USER, "--password-stdin"])


@pytest.fixture(scope="module")
def plain_blob(registry, oras, tmp_path_factory):
    d = tmp_path_factory.mktemp("plain-blob")
    env = dict(os.environ, HOME=str(d), DOCKER_CONFIG=str(d))
    return oras_push(oras, env, d, registry.host + "/nodes/oras:v1", extra=["--plain-http"])


# --------------------------------------------------------------------------- TLS + htpasswd (Basic), private CA


def test_tls_basic_private_ca(node, auth_registry, tls_blob):
    path, digest = tls_blob
    # Keys as docker writes them too (scheme, path, upper case), a foreign entry, a credsStore (ignored),
    # and a password holding JSON's awkward characters next to "auth".
    node.write_config({"auths": {"other.example:5000": {"auth": b64("someone", "else")},
                                 "https://%s/v1/" % auth_registry.host.upper(): {
                                     "password": 'x}{"\\y', "auth": b64(AUTH_USER, AUTH_PASSWORD)}},
                       "credsStore": "desktop"})
    proc = node.fetch(auth_registry.host, "nodes/oras", digest, ca_file=auth_registry.ca["ca"], mode="0640")
    assert proc.returncode == 0, proc.stderr
    assert sha(node.dest) == digest and "installed %s" % node.dest in proc.stderr
    assert oct(os.stat(node.dest).st_mode & 0o777) == "0o640"
    assert node.installed() == ["oras.tar.gz"], "no temp file left"
    # Already there: no download, still exit 0.
    again = node.fetch(auth_registry.host, "nodes/oras", digest, ca_file=auth_registry.ca["ca"], mode="0640")
    assert again.returncode == 0 and "already matches" in again.stderr


def test_username_password_config_from_node_dockerconfigjson(node, auth_registry, tls_blob):
    """A docker config with username/password (no "auth"), as control_plane's node_dockerconfigjson passes it on:
    the node's fetcher (which reads "auth" only) gets in."""
    docker_config = tools.module_util("_docker_config")
    given = {"auths": {auth_registry.host: {"username": AUTH_USER, "password": AUTH_PASSWORD}}}
    node.write_config(docker_config.node_config(given, auth_registry.host, "the docker config"))
    proc = node.fetch(auth_registry.host, "nodes/oras", tls_blob[1], ca_file=auth_registry.ca["ca"])
    assert proc.returncode == 0, proc.stderr
    assert sha(node.dest) == tls_blob[1]


def test_tls_without_the_ca_fails(node, auth_registry, tls_blob):
    node.write_config(auth_registry.docker_config())
    proc = node.fetch(auth_registry.host, "nodes/oras", tls_blob[1], retries=0)
    assert proc.returncode == 7 and "curl exit code 60" in proc.stderr, proc.stderr
    assert node.installed() == []


def test_wrong_credentials_fail_clearly(node, auth_registry, tls_blob):
    node.dest = str(node.out / "oras.tar.gz")
    node.write_config(auth_registry.docker_config(AUTH_USER, "wrong-password"))
    proc = node.fetch(auth_registry.host, "nodes/oras", tls_blob[1], ca_file=auth_registry.ca["ca"])
    assert proc.returncode == 3, proc.stderr
    assert "refused the credentials from %s" % node.config in proc.stderr
    assert node.installed() == []


def test_no_credentials_for_a_basic_registry(node, auth_registry, tls_blob):
    # No config.json at all: anonymous, and the registry wants Basic.
    proc = node.fetch(auth_registry.host, "nodes/oras", tls_blob[1], ca_file=auth_registry.ca["ca"])
    assert proc.returncode == 3 and "needs credentials (Basic)" in proc.stderr, proc.stderr
    assert node.installed() == []


# --------------------------------------------------------------------------- Bearer token front


@pytest.fixture()
def bearer(registry):
    with FaultProxy(registry.host, bearer_users={AUTH_USER: AUTH_PASSWORD}) as front:
        yield front


def test_bearer_token_flow(node, bearer, plain_blob):
    node.write_config({"auths": {bearer.host: {"auth": b64(AUTH_USER, AUTH_PASSWORD)}}})
    proc = node.fetch(bearer.host, "nodes/oras", plain_blob[1], plain_http=True)
    assert proc.returncode == 0, proc.stderr
    assert sha(node.dest) == plain_blob[1]
    assert len(bearer.token_requests) == 1
    assert "scope=repository%3anodes%2foras%3apull" in bearer.token_requests[0].lower()
    assert "service=k0smotron-test" in bearer.token_requests[0]
    for token in bearer.tokens:
        assert token not in proc.stderr


def test_bearer_wrong_credentials_and_anonymous(node, bearer, plain_blob):
    node.write_config({"auths": {bearer.host: {"auth": b64(AUTH_USER, "wrong-password")}}})
    proc = node.fetch(bearer.host, "nodes/oras", plain_blob[1], plain_http=True)
    assert proc.returncode == 3 and "refused the credentials" in proc.stderr and "wrong user name or password" \
        in proc.stderr, proc.stderr
    os.remove(node.config)
    anonymous = node.fetch(bearer.host, "nodes/oras", plain_blob[1], plain_http=True)
    assert anonymous.returncode == 3 and "refused an anonymous token" in anonymous.stderr, anonymous.stderr
    assert node.installed() == []


def test_bearer_realm_over_http_is_refused_for_an_https_registry(node, auth_registry, registry):
    """A registry reached over https must not have credentials sent to an http:// token realm."""
    pki = auth_registry.ca
    with Recorder(registry.host, "nodes/oras") as token_service:
        realm = 'Bearer realm="http://127.0.0.1:%d/token",service="s",scope="repository:nodes/oras:pull"' \
            % token_service.port
        with Front("unused", tls=pki, challenge=realm) as front:
            node.write_config({"auths": {front.host: {"auth": b64(AUTH_USER, AUTH_PASSWORD)}}})
            proc = node.fetch(front.host, "nodes/oras", "sha256:" + "1" * 64, ca_file=pki["ca"])
    assert proc.returncode == 6 and "refusing the token service at http://127.0.0.1:%d/token" % token_service.port \
        in proc.stderr, proc.stderr
    assert token_service.requests == []


# --------------------------------------------------------------------------- tampering, redirects


def test_tampered_blob_is_refused(node, proxy, plain_blob):
    """The proxy flips a byte of every blob body: the registry serves other bytes under the digest."""
    rule = proxy.add("GET", r"/blobs/sha256:", "corrupt", count=100)
    with open(node.dest, "wb") as f:
        f.write(b"old binary")
    proc = node.fetch(proxy.host, "nodes/oras", plain_blob[1], plain_http=True)
    assert rule.hits == 1, "a mismatch is not retried"
    assert proc.returncode == 5 and "sha256 mismatch" in proc.stderr and "nothing installed" in proc.stderr
    with open(node.dest, "rb") as f:
        assert f.read() == b"old binary"
    assert node.installed() == ["oras.tar.gz"]


def test_redirect_to_another_host_gets_no_credentials(node, auth_registry, registry, plain_blob):
    """The registry (TLS, Basic) redirects the blob to https://localhost:<other port>: that host must
    receive no Authorization, and the pre-signed query is never printed."""
    pki = auth_registry.ca
    with Recorder(registry.host, "nodes/oras", tls=pki) as cdn:
        with Front("https://localhost:%d" % cdn.port, users={AUTH_USER: AUTH_PASSWORD}, tls=pki) as front:
            node.write_config({"auths": {front.host: {"auth": b64(AUTH_USER, AUTH_PASSWORD)}}})
            proc = node.fetch(front.host, "nodes/oras", plain_blob[1], ca_file=pki["ca"])
    assert proc.returncode == 0, proc.stderr
    assert sha(node.dest) == plain_blob[1]
    assert "following a redirect to https://localhost:%d (no credentials sent there)" % cdn.port in proc.stderr
    assert [r[2].get("Authorization") for r in front.requests] == [None, "Basic " + b64(AUTH_USER, AUTH_PASSWORD)]
    assert len(cdn.requests) == 1
    assert not any(k.lower() in ("authorization", "cookie") for k in cdn.requests[0][2]), cdn.requests[0][2]
    assert SIGNATURE in cdn.requests[0][1]


def test_https_to_http_redirect_is_refused(node, auth_registry, registry, plain_blob):
    pki = auth_registry.ca
    with Recorder(registry.host, "nodes/oras") as cdn:
        with Front("http://127.0.0.1:%d" % cdn.port, users={AUTH_USER: AUTH_PASSWORD}, tls=pki) as front:
            node.write_config({"auths": {front.host: {"auth": b64(AUTH_USER, AUTH_PASSWORD)}}})
            proc = node.fetch(front.host, "nodes/oras", plain_blob[1], ca_file=pki["ca"])
    assert proc.returncode == 6 and "https to http downgrade" in proc.stderr, proc.stderr
    assert cdn.requests == []
    assert node.installed() == []


# --------------------------------------------------------------------------- retries, 404, no curl


def test_transient_503_is_retried_and_bounded(node, proxy, plain_blob):
    rule = proxy.add("GET", r"/blobs/sha256:", "status", count=1, status=503)
    proc = node.fetch(proxy.host, "nodes/oras", plain_blob[1], plain_http=True)
    assert proc.returncode == 0 and rule.hits == 1 and "retrying in 1 s" in proc.stderr, proc.stderr
    os.remove(node.dest)
    rule = proxy.add("GET", r"/blobs/sha256:", "status", count=100, status=503)
    proc = node.fetch(proxy.host, "nodes/oras", plain_blob[1], plain_http=True, retries=1)
    assert proc.returncode == 7 and rule.hits == 2 and "gave up after 2 attempts" in proc.stderr, proc.stderr
    assert node.installed() == []


def test_missing_blob(node, registry, plain_blob):
    proc = node.fetch(registry.host, "nodes/oras", "sha256:" + "0" * 64, plain_http=True)
    assert proc.returncode == 4 and "no blob sha256:%s" % ("0" * 64) in proc.stderr
    assert node.installed() == []


def test_no_curl_is_a_clear_error(tmp_path, busybox_bin, registry, plain_blob):
    """busybox wget is on PATH but is not used: it cannot keep credentials on the registry."""
    node = Node(tmp_path, ("busybox", [shutil.which("busybox"), "sh"], {"PATH": busybox_bin["applets"]}))
    proc = node.fetch(registry.host, "nodes/oras", plain_blob[1], plain_http=True)
    assert proc.returncode == 8 and "curl is not installed" in proc.stderr
    assert node.installed() == []


@pytest.mark.parametrize("args", [
    ["127.0.0.1:5000", "nodes/oras", "sha256:" + "A" * 64, "/tmp/x"],
    ["127.0.0.1:5000", "nodes/oras", "sha256:" + "a" * 63, "/tmp/x"],
    ["127.0.0.1:5000", "nodes/oras", "sha512:" + "a" * 64, "/tmp/x"],
    ["127.0.0.1:5000/x", "nodes/oras", "sha256:" + "a" * 64, "/tmp/x"],
    ["127.0.0.1:5000", "Nodes/oras", "sha256:" + "a" * 64, "/tmp/x"],
    ["127.0.0.1:5000", "nodes/oras", "sha256:" + "a" * 64, "relative"],
    ["127.0.0.1:5000", "nodes/oras", "sha256:" + "a" * 64],
], ids=["upper-hex", "short", "sha512", "registry-path", "repo-case", "relative-dest", "missing-arg"])
def test_the_shell_function_validates_its_arguments(shell, tmp_path, args):
    name, argv, env = shell
    script = tmp_path / "lib.sh"
    script.write_text(node_fetch.fetch_library() + '\noci_blob_fetch "$@"\n')
    proc = subprocess.run(argv + [str(script)] + args, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("oci_blob_fetch: "), proc.stderr


def test_sourced_library_leaves_the_caller_alone(shell, tmp_path, registry, plain_blob):
    """Sourced with set -eu and traps of its own, the caller keeps its traps, options and variables."""
    name, argv, env = shell
    lib = tmp_path / "lib.sh"
    lib.write_text(node_fetch.fetch_library())
    script = tmp_path / "caller.sh"
    script.write_text("set -eu\ntrap 'echo caller-exit-trap' EXIT\n_ocf_registry=mine\n. %s\n"
                      "if oci_blob_fetch -p %s nodes/oras sha256:%s %s/x; then echo ok; else echo failed=$?; fi\n"
                      "echo \"$_ocf_registry\"\n" % (lib, registry.host, "0" * 64, tmp_path))
    proc = subprocess.run(argv + [str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout.split() == ["failed=4", "mine", "caller-exit-trap"], proc.stdout + proc.stderr


# --------------------------------------------------------------------------- hostile registries (shared scenarios)

# What the shell fetcher must do in each scenario of tests/harness/hostile.py: (exit code, text in its log).
HOSTILE_OUTCOMES = {
    "endless-blob": (5, "sent more than the %d bytes expected" % len(hostile.BLOB)),
    "blob-without-size": (0, "installed"),  # the size comes from render time, not from the server
    "endless-token-answer": (7, "answered with more than 64 KiB: refused"),
    "escapes-in-location": (7, "following a redirect to https://cdn[2J]0;pwned[31m.invalid"),
}


@pytest.mark.parametrize("scenario", sorted(hostile.SCENARIOS))
def test_hostile_registry(node, fake, scenario):
    hostile.SCENARIOS[scenario](fake)
    code, needle = HOSTILE_OUTCOMES[scenario]
    proc = node.fetch(fake.host, hostile.REPOSITORY, hostile.BLOB_DIGEST, plain_http=True, retries=0,
                      size=len(hostile.BLOB))
    assert proc.returncode == code and needle in proc.stderr, proc.stderr
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr, "terminal escapes reached the log"
    assert node.installed() == (["oras.tar.gz"] if code == 0 else [])


def test_hostile_scenarios_are_all_covered():
    assert sorted(HOSTILE_OUTCOMES) == sorted(hostile.SCENARIOS)


def test_size_mismatch_is_refused(node, fake):
    """A body shorter than the layer size given at render time is refused even when nothing else is wrong."""
    fake.on("GET", "/blobs/", reply(200, body=hostile.BLOB))
    proc = node.fetch(fake.host, hostile.REPOSITORY, hostile.BLOB_DIGEST, plain_http=True, retries=0,
                      size=len(hostile.BLOB) + 1)
    assert proc.returncode == 5 and "got %d bytes, expected %d" % (len(hostile.BLOB), len(hostile.BLOB) + 1) \
        in proc.stderr, proc.stderr
    assert node.installed() == []


@pytest.fixture()
def small_disk(node):
    """The node's destination folder on a 64 KiB tmpfs (needs root)."""
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(node.out)],
                                           capture_output=True, check=False).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield node
    subprocess.run(["umount", str(node.out)], check=True)


def test_full_disk_is_not_retried(small_disk, fake):
    big = os.urandom(256 * 1024)
    digest = "sha256:" + hashlib.sha256(big).hexdigest()
    fake.on("GET", "/blobs/", reply(200, body=big))
    proc = small_disk.fetch(fake.host, hostile.REPOSITORY, digest, plain_http=True, retries=3, size=len(big))
    # The OS error as the shell's head reports it (busybox says "I/O error" for every write error).
    assert proc.returncode == 8 and "cannot write the download" in proc.stderr, proc.stderr
    assert "No space left on device" in proc.stderr or (small_disk.name == "busybox" and "I/O error" in proc.stderr)
    assert fake.count("GET", "/blobs/") == 1, "a full disk is not retried"
    assert small_disk.installed() == []


def test_trickle_is_cut_off(tmp_path, busybox_bin, fake):
    """2 bytes/s passed the old '--speed-limit 1 --speed-time 60' for ever; below 1 KiB/s for 30 s now ends the
    attempt (curl exit 28), and that is retried like any network error."""
    node = Node(tmp_path, ("dash", ["dash"], {"PATH": "/usr/bin:/bin"}))
    fake.on("GET", "/blobs/", trickle(hostile.BLOB))
    proc = node.fetch(fake.host, hostile.REPOSITORY, hostile.BLOB_DIGEST, plain_http=True, retries=0,
                      size=len(hostile.BLOB))
    assert proc.returncode == 7 and "curl exit code 28" in proc.stderr, proc.stderr
    assert node.installed() == []


def test_over_long_token_is_refused(node, fake):
    """A token that fits the 64 KiB answer but is longer than 16 KiB never goes into a header."""
    challenge = 'Bearer realm="%s/token",service="fake"' % fake.url
    fake.on("GET", "/token", reply(200, {"Content-Type": "application/json"}, '{"token":"%s"}' % ("t" * 20000)))
    fake.on("GET", "/blobs/", reply(401, {"WWW-Authenticate": challenge}))
    proc = node.fetch(fake.host, hostile.REPOSITORY, hostile.BLOB_DIGEST, plain_http=True, retries=0)
    assert proc.returncode == 7 and "returned a token longer than 16 KiB: refused" in proc.stderr, proc.stderr
    assert fake.count("GET", "/blobs/") == 1, "the blob was not asked for again with that token"


def test_release_download_of_install_oras_is_bounded(shell, tmp_path, fake):
    """The release path of install-oras.sh (curl from a mirror) stops an endless tarball at the ORAS tarball cap."""
    name, argv, env = shell
    scripts = tools.plugin_util("_node_scripts")
    fake.on("GET", "/oras_", fakeregistry.endless())
    sums = dict((arch, "0" * 64) for arch in scripts.ORAS_ARCHES)
    path = tmp_path / "install-oras.sh"
    path.write_text(scripts.install_oras_script("1.3.0", fake.url, str(tmp_path / "prefix"), sums, 3))
    proc = subprocess.run(argv + [str(path)], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "sent more than %d bytes" % scripts.ORAS_TARBALL_MAX_SIZE in proc.stderr, proc.stderr
    assert fake.count("GET") == 1, "an oversized answer is not retried"
    assert not (tmp_path / "prefix").exists()
