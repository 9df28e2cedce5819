"""Issue 8 / issue 9: does a rendered K0sControlPlane (or worker template) boot?

Runs k0smotron's node-side bootstrap for real (tests/harness/bootsim.py) inside a private mount +
PID namespace, against the real TLS + htpasswd registry (its CA trusted only inside the namespace)
and the real ORAS CLI served from a loopback mirror, under both provisioner models (cloud-init and
Ignition). Needs root (CI runs as root); skips with the reason where unshare is not permitted.
"""
import base64
import copy
import json
import os
import shutil

import pytest
import yaml

from tests.harness import bootsim
from tests.harness import mirror as mirror_mod
from tests.harness import tools
from tests.harness.registry import free_port

from conftest import AUTH_PASSWORD, AUTH_USER

NS_OK, NS_REASON = bootsim.unshare_available()
needs_ns = pytest.mark.skipif(not NS_OK, reason=NS_REASON or "")
PROVISIONERS = ("cloud-init", "ignition")
ROLE_DIR = os.path.join(tools.ROOT, "roles", "control_plane")
SCRIPT_PATH = "/usr/local/lib/k0smotron-oci/install-oras.sh"


# --------------------------------------------------------------------------- pure models (no namespace)

@pytest.mark.parametrize("value, argv", [
    ("/bin/sh -c 'echo hi'", ["/bin/sh", "-c", "echo hi"]),
    # a single quote inside the command ends the quoting; the pieces glue back together without quotes
    ("/bin/sh -c 'echo 'it''s''", ["/bin/sh", "-c", "echo its"]),
    ("/bin/sh -c 'a \"b c\" d'", ["/bin/sh", "-c", 'a "b c" d']),
    ("/bin/sh -c 'printf \\\\n'", ["/bin/sh", "-c", "printf \\n"]),
    ("/bin/sh -c 'x\\ty'", ["/bin/sh", "-c", "x\ty"]),
])
def test_systemd_word_splitting(value, argv):
    assert bootsim.systemd_split(value) == argv


@pytest.mark.parametrize("value, message", [
    ("/bin/sh -c 'echo \\$HOME'", "invalid escape"),
    ("/bin/sh -c 'it's broken'", "unbalanced quoting"),
])
def test_systemd_word_splitting_errors(value, message):
    with pytest.raises(bootsim.UnitParseError, match=message):
        bootsim.systemd_split(value)


def test_systemd_specifiers_and_environment():
    assert bootsim.specifier_printf("date +%s") == "date +/bin/sh"  # %s = the user's shell
    assert bootsim.specifier_printf("100%% done %") == "100% done %"
    with pytest.raises(bootsim.UnitParseError, match="unknown specifier %Z"):
        bootsim.specifier_printf("date +%Z")
    env = dict(bootsim.SERVICE_ENV)
    assert bootsim.replace_env("v=${VERSION}; echo $v $$HOME ${PATH}", env) == \
        "v=; echo $v $HOME " + env["PATH"]
    assert bootsim.replace_env_argv(["/bin/sh", "-c", "$HOME"], env)[0] == ["/bin/sh", "-c"]


def test_ignition_unit_model_breaks_the_seed_commands():
    seed = ['VERSION="1.3.0"', 'curl -LO "https://x/v${VERSION}/oras_${VERSION}_linux_amd64.tar.gz"']
    execs, _ = bootsim.parse_unit_execstart(bootsim.ignition_unit_text(seed))
    argvs = [bootsim.replace_env_argv(argv, bootsim.SERVICE_ENV)[0] for _, argv in execs]
    assert argvs[1] == ["/bin/sh", "-c", 'curl -LO "https://x/v/oras__linux_amd64.tar.gz"']
    # a quoted argument silently becomes two: sh runs "echo quoted" with $0 = "text"
    execs, _ = bootsim.parse_unit_execstart(bootsim.ignition_unit_text(["echo 'quoted text'"]))
    assert execs[0][1] == ["/bin/sh", "-c", "echo quoted", "text"]
    # an odd number of quotes makes the unit fail to load: nothing in it runs
    with pytest.raises(bootsim.UnitParseError, match="bad unit file setting"):
        bootsim.parse_unit_execstart(bootsim.ignition_unit_text(["echo 'it's'"]))


def test_cloud_init_jinja_model():
    files = [{"index": 0, "path": "/x", "content": b"a {{ foo }} b\n", "permissions": "0644"}]
    out = yaml.safe_load(bootsim.render_cloud_init_jinja(bootsim.cloud_init_userdata(files, ["echo ok"])))
    assert out["write_files"][0]["content"] == "a CI_MISSING_JINJA_VAR/foo b\n"
    files[0]["content"] = b'n=${#list}\n'
    with pytest.raises(Exception, match="comment"):
        bootsim.render_cloud_init_jinja(bootsim.cloud_init_userdata(files, ["echo ok"]))
    assert bootsim.shellify(["a", ["b", "it's"]]) == "#!/bin/sh\na\n'b' 'it'\\''s'\n"


def test_download_commands_follow_download_go():
    obj = {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta2", "kind": "K0sControlPlane",
           "spec": {"k0sConfigSpec": {"downloadURL": "oci://r:5000/k0s/k0s@sha256:" + "a" * 64,
                                      "k0sInstallDir": "/opt/bin"}}}
    assert bootsim.download_commands(obj) == [
        "export HOME=/root", "oras blob fetch --output /opt/bin/k0s r:5000/k0s/k0s@sha256:" + "a" * 64,
        "chmod +x /opt/bin/k0s"]


# --------------------------------------------------------------------------- real parts

@pytest.fixture(scope="module")
def k0s_artifact(auth_registry, run_module, tmp_path_factory):
    """A stand-in k0s pushed to the TLS + htpasswd registry with k0smotron.oci.artifact_push."""
    d = tmp_path_factory.mktemp("k0s-artifact")
    k0s = mirror_mod.stand_in_k0s(str(d / "k0s"))
    res = run_module("artifact_push", {
        "reference": "%s/boot/k0s:v1.34.1-k0s.0" % auth_registry.host, "files": [k0s],
        "annotations": {"k0s": {"arch": "amd64"}}, "username": AUTH_USER, "password": AUTH_PASSWORD,
        "ca_path": auth_registry.ca["ca"]}, expect_fail=False)
    sha = mirror_mod.sha256_file(k0s)
    assert res["download_url"] == "oci://%s/boot/k0s@sha256:%s" % (auth_registry.host, sha)
    return {"path": k0s, "sha256": sha, "download_url": res["download_url"],
            "manifest_digest": res["manifest_digest"], "host": auth_registry.host}


INSTALL_ORAS = r"""#!/bin/sh
# Test stand-in for the control_plane role's script: install ORAS (checksum-verified).
set -eu
base=@BASE@
ver=@VER@
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  armv7l) arch=armv7 ;;
  *) echo "install-oras: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
tgz=oras_${ver}_linux_${arch}.tar.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 2 -o "$tmp/$tgz" "$base/v$ver/$tgz"
curl -fsSL --retry 2 -o "$tmp/checksums.txt" "$base/v$ver/oras_${ver}_checksums.txt"
(cd "$tmp" && grep " $tgz\$" checksums.txt | sha256sum -c -) || { echo "install-oras: checksum mismatch for $tgz" >&2; exit 1; }
@INSTALL@
"""

INSTALL_WRAPPED = r"""mkdir -p /usr/local/lib/k0smotron-oci/oras
tar -xzf "$tmp/$tgz" -C /usr/local/lib/k0smotron-oci/oras oras
cat > /usr/local/bin/oras <<'WRAP'
#!/bin/sh
: "${HOME:=/root}"
export HOME
exec /usr/local/lib/k0smotron-oci/oras/oras "$@"
WRAP
chmod 0755 /usr/local/bin/oras"""

# What the k0smotron docs page does (adapted to the mirror, and made Ignition-safe otherwise):
# the real binary straight into /usr/local/bin, nothing about HOME.
INSTALL_PLAIN = r"""tar -xzf "$tmp/$tgz" -C /usr/local/bin oras
chmod 0755 /usr/local/bin/oras"""


def handwritten_objects(api_version, download_url, registry_host, oras_url, oras_version,
                        user=AUTH_USER, password=AUTH_PASSWORD, plain=False):
    """[Secret, K0sControlPlane, K0sWorkerConfigTemplate] in the shape the control_plane role renders."""
    script = (INSTALL_ORAS.replace("@BASE@", oras_url).replace("@VER@", oras_version)
              .replace("@INSTALL@", INSTALL_PLAIN if plain else INSTALL_WRAPPED))
    auth = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    config = json.dumps({"auths": {registry_host: {"auth": auth}}})
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
              "metadata": {"name": "aws-test-oci-registry", "namespace": "default"},
              "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()}}
    pre = "preStartCommands" if api_version == "v1beta1" else "preK0sCommands"
    spec = {"downloadURL": download_url,
            "files": [{"path": SCRIPT_PATH, "permissions": "0700", "content": script},
                      {"path": "/root/.docker/config.json", "permissions": "0600",
                       "contentFrom": {"secretRef": {"name": "aws-test-oci-registry", "key": ".dockerconfigjson"}}}],
            pre: ["sh " + SCRIPT_PATH]}
    kcp = {"apiVersion": "controlplane.cluster.x-k8s.io/" + api_version, "kind": "K0sControlPlane",
           "metadata": {"name": "aws-test", "namespace": "default"},
           "spec": {"replicas": 3, "version": "v1.34.1+k0s.0", "k0sConfigSpec": dict(spec, args=["--enable-worker"])}}
    wct = {"apiVersion": "bootstrap.cluster.x-k8s.io/" + api_version, "kind": "K0sWorkerConfigTemplate",
           "metadata": {"name": "aws-test-workers", "namespace": "default"},
           "spec": {"template": {"spec": dict(copy.deepcopy(spec), version="v1.34.1+k0s.0")}}}
    return [secret, kcp, wct]


@pytest.fixture(scope="module")
def render(k0s_artifact, oras_mirror):
    """render(api_version, **kw) -> rendered objects (Secret, K0sControlPlane, K0sWorkerConfigTemplate)."""
    def _render(api_version, oras_url=None, plain=False, password=AUTH_PASSWORD, download_url=None):
        return handwritten_objects(api_version, download_url or k0s_artifact["download_url"], k0s_artifact["host"],
                                   oras_url or oras_mirror.url, oras_mirror.version, password=password, plain=plain)
    return _render


@pytest.fixture(scope="module")
def boot(auth_registry):
    host_before = _host_state()

    def _boot(objects, provisioner, kind="K0sControlPlane", **kw):
        res = bootsim.simulate_boot(objects, provisioner=provisioner, kind=kind,
                                    ca_files=[auth_registry.ca["ca"]], **kw)
        assert res.skipped is None, res.skipped
        assert res.host_untouched is not False, res.report()  # None: nothing ran
        return res
    yield _boot
    assert _host_state() == host_before


def _host_state():
    return {d: sorted(os.listdir(d)) if os.path.isdir(d) else None for d in ("/usr/local/bin", "/usr/local/lib", "/root")}


def _find(objs, kind):
    return [o for o in objs if o.get("kind") == kind][0]


def _spec(obj):
    return bootsim._spec_of(obj)


def assert_failed_without_k0s(res, *needles):
    assert not res.ok, res.report()
    assert not res.k0s_present, res.report()
    text = (res.error or "") + "\n" + "\n".join(
        (s.get("stderr") or "") + (s.get("stdout") or "") for s in res.steps if s["ran"])
    for needle in needles:
        assert needle.lower() in text.lower(), "%r not in:\n%s" % (needle, res.report())


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
@pytest.mark.parametrize("api_version", ["v1beta1", "v1beta2"])
@pytest.mark.parametrize("kind", ["K0sControlPlane", "K0sWorkerConfigTemplate"])
def test_rendered_objects_boot(render, boot, k0s_artifact, api_version, kind, provisioner):
    objs = render(api_version)
    res = boot(objs, provisioner, kind=kind)
    assert res.ok, res.report()
    assert res.verdict() == bootsim.VERDICT_OK
    assert res.k0s_sha256 == k0s_artifact["sha256"] == _spec(_find(objs, kind))["downloadURL"].rsplit(":", 1)[1]
    assert res.k0s_runs and "v1.34.1+k0s.0" in res.k0s_version_output
    modes = dict((f["path"], f["final_mode"]) for f in res.files_written)
    assert modes["/root/.docker/config.json"] == "0600"
    if provisioner == "ignition":
        # k0smotron's three download lines are ExecStart lines of their own
        assert [s["name"].split(" ", 1)[1] for s in res.steps[-3:]][0] == "export HOME=/root"


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_wrong_password(render, boot, provisioner):
    res = boot(render("v1beta2", password="not-the-password"), provisioner)
    assert_failed_without_k0s(res, "unauthorized: authentication required")


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_manifest_digest_instead_of_blob_digest(render, boot, k0s_artifact, provisioner):
    url = "oci://%s/boot/k0s@%s" % (k0s_artifact["host"], k0s_artifact["manifest_digest"])
    res = boot(render("v1beta1", download_url=url), provisioner)
    assert_failed_without_k0s(res, "not found")


@pytest.fixture(scope="module")
def tampered_mirror(tmp_path_factory, oras, oras_mirror):
    root = str(tmp_path_factory.mktemp("oras-mirror-tampered"))
    mirror_mod.build_oras_mirror(root, oras, oras_mirror.version, arches=("amd64", "arm64"), tamper="amd64")
    m = mirror_mod.Mirror(root).start()
    yield m
    m.stop()


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_tampered_oras_tarball(render, boot, tampered_mirror, provisioner):
    res = boot(render("v1beta2", oras_url=tampered_mirror.url), provisioner)
    assert_failed_without_k0s(res, "checksum")
    assert "pwned" not in json.dumps([s.get("stdout") for s in res.steps])


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_mirror_down(render, boot, provisioner):
    res = boot(render("v1beta1", oras_url="http://127.0.0.1:%d" % free_port()), provisioner)
    assert_failed_without_k0s(res, "127.0.0.1", "connect")


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_missing_permissions(render, boot, provisioner):
    objs = render("v1beta2")
    del _spec(_find(objs, "K0sControlPlane"))["files"][1]["permissions"]
    res = boot(objs, provisioner)
    assert_failed_without_k0s(res, "files[1] (/root/.docker/config.json)", "permissions")
    if provisioner == "ignition":
        assert "strconv.ParseInt" in res.error and not any(s["ran"] for s in res.steps[1:])
    else:
        # cloud-init itself would boot (and leave the credentials world-readable): shown without strict
        loose = boot(objs, provisioner, strict=False)
        assert loose.ok, loose.report()
        assert dict((f["path"], f["final_mode"]) for f in loose.files_written)["/root/.docker/config.json"] == "0644"


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_registry_ca_not_trusted_by_the_node(render, provisioner):
    res = bootsim.simulate_boot(render("v1beta2"), provisioner=provisioner, kind="K0sControlPlane")
    assert_failed_without_k0s(res, "x509")


@needs_ns
@pytest.mark.parametrize("provisioner, works", [("cloud-init", True), ("ignition", False)])
def test_plain_oras_install_needs_home_under_ignition(render, boot, k0s_artifact, provisioner, works):
    """Issue 9 regression: without the HOME wrapper, k0smotron's separate `export HOME=/root` line does not
    reach `oras blob fetch` under Ignition and ORAS refuses to start."""
    res = boot(render("v1beta2", plain=True), provisioner)
    if works:
        assert res.ok, res.report()
        assert res.k0s_sha256 == k0s_artifact["sha256"]
    else:
        assert_failed_without_k0s(res, "failed to get user home directory: $HOME is not defined")
        assert res.failed_step["name"].startswith("ExecStart[3] oras blob fetch")


def test_cli_on_a_rendered_directory(render, auth_registry, tmp_path):
    out = tmp_path / "rendered"
    out.mkdir()
    objs = render("v1beta2")
    (out / "objects.yml").write_text(yaml.safe_dump_all(objs))
    import subprocess
    import sys
    p = subprocess.run([sys.executable, "-m", "tests.harness.bootsim", "--rendered", str(out), "--quiet",
                        "--ca", auth_registry.ca["ca"], "--provisioner", "both"],
                       cwd=tools.ROOT, capture_output=True, text=True)
    if not NS_OK:
        assert p.returncode == 0 and "skipped: " + NS_REASON in p.stdout
        return
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count(bootsim.VERDICT_OK) == 4, p.stdout
