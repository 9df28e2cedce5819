"""The containerd configuration the collection renders for image-mirror nodes, proven with a real containerd
(Debian's 1.7, the one k0s <= 1.35 runs): its CRI plugin pulls k0s' pause image and kube-proxy from the TLS +
htpasswd registry with the rendered drop-in (credentials) and hosts.toml (CA), and fails without either.
containerd 2 (k0s >= 1.36) is not packaged here: its version-3 drop-in is checked against the documented
structure (containerd docs/cri/config.md) by parsing it."""
import os
import tomllib

import pytest

from tests.harness import tools
from tests.harness.containerd import Containerd, containerd_bin
from tests.harness.ocilayout import Bundle

from conftest import AUTH_PASSWORD, AUTH_USER

pytestmark = pytest.mark.skipif(not containerd_bin() or os.geteuid() != 0,
                                reason="needs root and containerd (scripts/setup.sh)")
PAUSE = "k0sproject/pause:3.10.1"
KUBE_PROXY = "k0sproject/kube-proxy:v1.34.1"


@pytest.fixture(scope="module")
def containerd_config():
    return tools.plugin_util("_containerd")


@pytest.fixture(scope="module")
def mirrored(auth_registry, registry, run_module, tmp_path_factory):
    """The test bundle mirrored into both registries (TLS + auth, and plain HTTP)."""
    bundle = Bundle()
    tar = bundle.write_tar(str(tmp_path_factory.mktemp("bundle") / "bundle.tar"))
    run_module("layout_push", dict(src=tar, target=auth_registry.host, username=AUTH_USER, password=AUTH_PASSWORD,
                                   ca_path=auth_registry.ca["ca"]), expect_fail=False)
    run_module("layout_push", dict(src=tar, target=registry.host, plain_http=True), expect_fail=False)
    return bundle


def node(tmp_path, containerd_config, host, password=AUTH_PASSWORD, ca=None, plain_http=False, user=AUTH_USER):
    certs = tmp_path / "certs.d"
    (certs / host).mkdir(parents=True)
    (certs / host / "hosts.toml").write_text(containerd_config.hosts_toml(host, plain_http=plain_http, ca_file=ca))
    drop_in = containerd_config.drop_in("v1.34.1+k0s.0", host, user if password else None, password,
                                        certs_dir=str(certs))
    return Containerd(str(tmp_path / "containerd"), {"10-k0smotron-oci-registry.toml": drop_in})


def test_pause_and_kube_proxy_pull_with_the_rendered_credentials_and_ca(
        auth_registry, mirrored, containerd_config, tmp_path):
    with node(tmp_path, containerd_config, auth_registry.host, ca=auth_registry.ca["ca"]) as ctd:
        for image in (PAUSE, KUBE_PROXY):
            image_id = ctd.pull("%s/%s" % (auth_registry.host, image))
            assert image_id.startswith("sha256:")
    log = open(ctd.log).read()
    digest = mirrored.digests()["quay.io/" + PAUSE]
    assert "repo digest \\\"%s/k0sproject/pause@%s\\\"" % (auth_registry.host, digest) in log


def test_wrong_password_pulls_nothing(auth_registry, mirrored, containerd_config, tmp_path):
    import grpc
    with node(tmp_path, containerd_config, auth_registry.host, ca=auth_registry.ca["ca"], password="wrong-pw") as ctd:
        with pytest.raises(grpc.RpcError) as e:
            ctd.pull("%s/%s" % (auth_registry.host, PAUSE))
    assert "401" in str(e.value) or "unauthorized" in str(e.value).lower()


def test_without_the_ca_tls_fails(auth_registry, mirrored, containerd_config, tmp_path):
    import grpc
    with node(tmp_path, containerd_config, auth_registry.host, ca=None) as ctd:
        with pytest.raises(grpc.RpcError) as e:
            ctd.pull("%s/%s" % (auth_registry.host, PAUSE))
    assert "certificate" in str(e.value) or "x509" in str(e.value)


def test_plain_http_registry_without_credentials(registry, mirrored, containerd_config, tmp_path):
    with node(tmp_path, containerd_config, registry.host, password=None, plain_http=True) as ctd:
        assert ctd.pull("%s/%s" % (registry.host, PAUSE)).startswith("sha256:")


def test_containerd_parses_the_drop_in_as_version_2(auth_registry, containerd_config, tmp_path):
    ctd = node(tmp_path, containerd_config, auth_registry.host, ca=auth_registry.ca["ca"])
    dumped = tomllib.loads(ctd.dump())
    registry = dumped["plugins"]["io.containerd.grpc.v1.cri"]["registry"]
    assert registry["config_path"] == str(tmp_path / "certs.d")
    assert registry["configs"][auth_registry.host]["auth"]["auth"]


def test_version_3_drop_in_for_k0s_1_36_has_the_documented_structure(containerd_config):
    text = containerd_config.drop_in("v1.36.3+k0s.2", "registry.example.com:5000", "u", "p")
    doc = tomllib.loads(text)
    assert doc["version"] == 3
    assert set(doc["plugins"]) == {"io.containerd.cri.v1.images"}
    registry = doc["plugins"]["io.containerd.cri.v1.images"]["registry"]
    assert registry["config_path"] == "/etc/containerd/certs.d"
    assert registry["configs"]["registry.example.com:5000"]["auth"]["auth"] == "dTpw"
    assert containerd_config.config_version("v1.35.9+k0s.0") == 2
