"""Issue 15: a node whose only network peer is the registry boots -- under the REAL tools.

The control_plane role renders with ``control_plane_oras_source: registry`` (ORAS tarball from the registry,
fetched by curl in install-oras.sh), ``control_plane_registry_ca`` (the registry's private CA, delivered as a
file; the node's system trust store does NOT hold it) and the credentials Secret. The ORAS mirror URL is a
dead port. Then the real cloud-init / Ignition + systemd boot the K0sControlPlane's bootstrap data in private
namespaces (tests/harness/realboot.py, used read-only here): ORAS comes from the registry, k0smotron's own
``oras blob fetch`` (no flags) gets --ca-file from the wrapper, and k0s is installed. Needs root and the
namespaces; skips with the reason otherwise.
"""
import base64
import hashlib
import json
import os

import pytest

from tests.harness import bootsim
from tests.harness import mirror as mirror_mod
from tests.harness import ocilayout
from tests.harness import realboot
from tests.harness import tools
from tests.harness.registry import free_port

from conftest import AUTH_PASSWORD, AUTH_USER

NS_OK, NS_REASON = bootsim.unshare_available()
pytestmark = pytest.mark.skipif(not NS_OK, reason=NS_REASON or "")
PROVISIONERS = ("cloud-init", "ignition")
PLAYBOOK = os.path.join(tools.ROOT, "playbooks", "control_plane.yml")


@pytest.fixture(scope="module")
def published(auth_registry, run_module, oras_mirror, tmp_path_factory):
    """The stand-in k0s and the real ORAS tarball (host arch) in the TLS + htpasswd registry."""
    d = tmp_path_factory.mktemp("registry-only")
    k0s = mirror_mod.stand_in_k0s(str(d / "k0s"))
    creds = {"username": AUTH_USER, "password": AUTH_PASSWORD, "ca_path": auth_registry.ca["ca"]}
    res = run_module("artifact_push", dict(creds, reference="%s/air/k0s:v1.34.1-k0s.0" % auth_registry.host,
                                           files=[k0s]), expect_fail=False)
    tarball = os.path.join(oras_mirror.root, "v%s" % oras_mirror.version,
                           "oras_%s_linux_%s.tar.gz" % (oras_mirror.version, tools.HOST_ARCH))
    oras = run_module("artifact_push", dict(creds, reference="%s/air/oras:v%s" % (auth_registry.host, oras_mirror.version),
                                            files=[tarball]), expect_fail=False)
    (layer,) = oras["layers"]
    return {"k0s_sha256": mirror_mod.sha256_file(k0s), "k0s_reference": "%s/air/k0s:v1.34.1-k0s.0" % auth_registry.host,
            "oras_digest": layer["digest"], "k0s_download_url": res["download_url"]}


@pytest.fixture(scope="module")
def rendered(published, auth_registry, oras_mirror, ansible_playbook, tmp_path_factory):
    def _render(provisioner, **extra):
        out = str(tmp_path_factory.mktemp("rendered"))
        with open(auth_registry.ca["ca"]) as f:
            pem = f.read()
        xv = {"control_plane_output_dir": out, "control_plane_provisioner": provisioner,
              "control_plane_api_version": "v1beta2",
              "control_plane_artifact_reference": published["k0s_reference"],
              "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": AUTH_PASSWORD,
              "control_plane_registry_ca_path": auth_registry.ca["ca"], "control_plane_registry_ca": pem,
              "control_plane_oras_version": oras_mirror.version,
              "control_plane_oras_base_url": "http://127.0.0.1:%d" % free_port(),  # nothing listens there
              "control_plane_oras_source": "registry",
              "control_plane_oras_artifact": {"repository": "%s/air/oras" % auth_registry.host,
                                              "digests": {tools.HOST_ARCH: published["oras_digest"]}}}
        xv.update(extra)
        proc = ansible_playbook(PLAYBOOK, extra_vars=xv)
        assert proc.returncode == 0, proc.stdout[-6000:]
        return bootsim.load_rendered_dir(out)
    return _render


@pytest.fixture(scope="module")
def host_untouched():
    before = realboot.host_snapshot()
    yield
    assert realboot.host_snapshot() == before


def _text(res):
    outputs = [(s.get("stderr") or "") + (s.get("stdout") or "") for s in res.steps if s["ran"]]
    return (res.error or "") + "\n" + "\n".join(outputs)


@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_node_needs_only_the_registry(rendered, published, host_untouched, provisioner):
    objs = rendered(provisioner)
    # No ca_files: the node's trust store does not hold the registry's CA; the role's CA file does the work.
    res = bootsim.simulate_boot(objs, provisioner=provisioner, kind="K0sControlPlane")
    assert res.skipped is None, res.skipped
    assert res.ok, res.report()
    assert res.k0s_sha256 == published["k0s_sha256"]
    assert res.k0s_runs and "v1.34.1+k0s.0" in res.k0s_version_output
    text = _text(res)
    assert "fetching oras_" in text and "installed ORAS" in text, res.report()
    assert AUTH_PASSWORD not in text
    modes = dict((f["path"], f["final_mode"]) for f in res.files_written)
    assert modes["/usr/local/lib/k0smotron-oci/registry-ca.pem"] == "0644"
    assert modes["/root/.docker/config.json"] == "0600"


def test_wrong_password_installs_nothing(rendered, host_untouched):
    objs = rendered("cloud-init")
    (secret,) = [o for o in objs if o["kind"] == "Secret"]
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    for entry in config["auths"].values():
        entry["auth"] = base64.b64encode(("%s:not-the-password" % AUTH_USER).encode()).decode()
    secret["data"][".dockerconfigjson"] = base64.b64encode(json.dumps(config).encode()).decode()
    res = bootsim.simulate_boot(objs, provisioner="cloud-init", kind="K0sControlPlane")
    assert res.skipped is None, res.skipped
    assert not res.ok and not res.k0s_present, res.report()
    text = _text(res)
    assert "oci_blob_fetch exit 3" in text and "nothing installed" in text, res.report()


# --------------------------------------------------------------------------- issue 21: k0s system images

K0S_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(os.uname().machine, "amd64")
BUNDLE_PATH = "/var/lib/k0s/images/k0s-airgap-bundle-%s.tar" % K0S_ARCH
DROP_IN = "/etc/k0s/containerd.d/10-k0smotron-oci-registry.toml"
HOSTS_TOML = "/etc/containerd/certs.d/%s/hosts.toml"


def _output(res):
    """Everything the boot's commands printed: the steps, cloud-init's output log, the unit's journal."""
    return "\n".join([_text(res), res.cloud_init_output or "", res.systemd_log or ""])


@pytest.fixture(scope="module")
def images_bundle(auth_registry, run_module, tmp_path_factory):
    """A small airgap bundle (tests/harness/ocilayout.py) pushed as a blob to the TLS + htpasswd registry."""
    path = ocilayout.Bundle(images=ocilayout.K0S_IMAGES[-3:]).write_tar(
        str(tmp_path_factory.mktemp("images-bundle") / "bundle.tar"))
    sha = mirror_mod.sha256_file(path)
    run_module("artifact_push", {"reference": "%s/air/images:v1.34.1-k0s.0" % auth_registry.host, "files": [path],
                                 "username": AUTH_USER, "password": AUTH_PASSWORD, "ca_path": auth_registry.ca["ca"]},
               expect_fail=False)
    return {"sha256": sha, "bundle": {K0S_ARCH: "oci://%s/air/images@sha256:%s" % (auth_registry.host, sha)}}


@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_bundle_mode_puts_the_bundle_in_place(rendered, images_bundle, host_untouched, provisioner):
    """The node fetches its arch's bundle into /var/lib/k0s/images/ before k0s starts, with the right sha256 (a
    plain pre-command after the role's own prints it into the boot's output; the model of k0smotron
    runs no post-commands)."""
    objs = rendered(provisioner, control_plane_images="bundle", control_plane_images_bundle=images_bundle["bundle"],
                    control_plane_pre_commands=["sha256sum " + BUNDLE_PATH, "ls -l " + BUNDLE_PATH])
    res = bootsim.simulate_boot(objs, provisioner=provisioner, kind="K0sControlPlane")
    assert res.skipped is None, res.skipped
    assert res.ok, res.report()
    text = _output(res)
    assert "%s  %s" % (images_bundle["sha256"], BUNDLE_PATH) in text, res.report()
    assert "-rw-r--r--" in text and "fetching the %s airgap bundle" % K0S_ARCH in text, res.report()
    assert AUTH_PASSWORD not in text


@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_mirror_mode_writes_the_containerd_files(rendered, auth_registry, host_untouched, provisioner):
    """The drop-in (from the Secret, with the credentials) and hosts.toml land with mode 0600 and the content the
    role rendered (compared by sha256: the drop-in holds the credentials, so it is not printed)."""
    objs = rendered(provisioner, control_plane_images="mirror", control_plane_images_repository=auth_registry.host,
                    control_plane_pre_commands=["sha256sum %s %s" % (DROP_IN, HOSTS_TOML % auth_registry.host)])
    (secret,) = [o for o in objs if o["kind"] == "Secret"]
    drop_in = base64.b64decode(secret["data"]["containerd-registry.toml"])
    auth = base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
    assert auth.encode() in drop_in
    spec = [o for o in objs if o["kind"] == "K0sControlPlane"][0]["spec"]["k0sConfigSpec"]
    hosts = [f for f in spec["files"] if f["path"] == HOSTS_TOML % auth_registry.host][0]["content"]
    res = bootsim.simulate_boot(objs, provisioner=provisioner, kind="K0sControlPlane")
    assert res.skipped is None, res.skipped
    assert res.ok, res.report()
    modes = dict((f["path"], f["final_mode"]) for f in res.files_written)
    assert modes[DROP_IN] == "0600" and modes[HOSTS_TOML % auth_registry.host] == "0600", modes
    text = _output(res)
    assert "%s  %s" % (hashlib.sha256(drop_in).hexdigest(), DROP_IN) in text, res.report()
    assert "%s  %s" % (hashlib.sha256(hosts.encode()).hexdigest(), HOSTS_TOML % auth_registry.host) in text
    assert AUTH_PASSWORD not in text and auth not in text


def test_bundle_mode_wrong_password_writes_nothing(rendered, images_bundle, host_untouched):
    objs = rendered("cloud-init", control_plane_images="bundle", control_plane_images_bundle=images_bundle["bundle"])
    (secret,) = [o for o in objs if o["kind"] == "Secret"]
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    for entry in config["auths"].values():
        entry["auth"] = base64.b64encode(("%s:not-the-password" % AUTH_USER).encode()).decode()
    secret["data"][".dockerconfigjson"] = base64.b64encode(json.dumps(config).encode()).decode()
    res = bootsim.simulate_boot(objs, provisioner="cloud-init", kind="K0sControlPlane")
    assert res.skipped is None, res.skipped
    assert not res.ok and not res.k0s_present, res.report()
    assert "oci_blob_fetch exit 3" in _text(res), res.report()
