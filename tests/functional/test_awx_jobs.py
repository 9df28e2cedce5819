"""Every shipped playbook as an AWX job, through ansible-runner (tests/harness/awx.py).

The shipped credential types (docs/awx/) are rendered as AWX renders them (env, extra_vars, file,
tower.filename.*); survey answers and injected extra vars are !unsafe in env/extravars, as AWX writes
them. Each job must succeed against the real TLS + htpasswd registry, and the password must appear
nowhere in the job's stdout, job events or fact cache (nor base64-encoded with the user name).
"""
import base64
import json
import os
import subprocess

import pytest

from conftest import AUTH_PASSWORD, AUTH_USER
from tests.harness import mirror as mirror_mod
from tests.harness import tools
from tests.harness.awx import AwxJob, extravars_text, inject, load_credential_type

VERSION = "v1.34.1+k0s.0"
TAG = "v1.34.1-k0s.0"
OCI_REGISTRY = load_credential_type("credential_type")
NODE_PULL = load_credential_type("node_credential_type")
RELEASE_KEYS = [mirror_mod.RELEASE_KEY.public_pem]  # the fake releases are signed as k0s signs its releases
SECRETS = (AUTH_PASSWORD, base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode())


@pytest.fixture(scope="module")
def k0s_release(tmp_path_factory):
    root = tmp_path_factory.mktemp("awx-k0s-release")
    binary = mirror_mod.stand_in_k0s(str(root / "k0s"), VERSION, pad_bytes=4096)
    mirror_mod.build_k0s_mirror(str(root / "mirror"), VERSION, {"amd64": binary})
    m = mirror_mod.Mirror(str(root / "mirror")).start()
    m.sha = mirror_mod.sha256_file(binary)
    yield m
    m.stop()


@pytest.fixture()
def credential(auth_registry):
    """An "OCI registry" credential: the push account and the registry's CA as PEM text."""
    with open(auth_registry.ca["ca"]) as f:
        pem = f.read()
    return OCI_REGISTRY, {"username": AUTH_USER, "password": AUTH_PASSWORD, "ca_certificate": pem}


@pytest.fixture()
def job(tmp_path, collections_dir):
    def make(playbook, **kw):
        return AwxJob(tmp_path / "private_data_dir", playbook, tools.collections_path(collections_dir), **kw)
    return make


def assert_successful(job):
    assert job.rc == 0, job.stdout[-6000:]
    with open(os.path.join(job.artifacts, "status")) as f:
        assert f.read().strip() == "successful"
    assert any(e.get("event") == "playbook_on_stats" for e in job.events)


def assert_no_secret(job):
    """What AWX keeps of a job (stdout, job_events/*.json, fact_cache/*) does not hold the password. (Runner's
    own artifacts/<id>/command records the environment it was given, which is the credential; AWX shows the
    job's environment redacted instead.)"""
    texts = {p: t for p, t in job.artifact_texts().items() if p == "stdout" or p.startswith(("job_events/", "fact_cache/"))}
    assert "stdout" in texts and any(p.startswith("job_events/") for p in texts), sorted(texts)
    texts["(ansible-runner's own output)"] = job.stdout
    for path, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, "the password is in %s" % path


def test_extravars_are_unsafe_as_awx_writes_them():
    text = extravars_text({"from_template": "{{ 1 + 1 }}"}, {"answer": "{{ 2 + 2 }}", "arches": ["amd64"], "n": 3})
    assert "from_template: '{{ 1 + 1 }}'" in text
    assert "!unsafe 'answer': !unsafe '{{ 2 + 2 }}'" in text
    assert "- !unsafe 'amd64'" in text and "!unsafe 'n': 3" in text


def test_publish_job(job, auth_registry, k0s_release, credential, tmp_path):
    j = job("publish").run(
        template_vars={"k0s_publish_cache_dir": str(tmp_path / "cache"), "k0s_publish_trusted_keys": RELEASE_KEYS},
        survey={"k0s_publish_repository": auth_registry.host + "/awx/k0s", "k0s_publish_version": VERSION,
                "k0s_publish_architectures": ["amd64"], "k0s_publish_base_url": k0s_release.url},
        credentials=[credential], env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert_successful(j)
    assert "oci://%s/awx/k0s@sha256:%s" % (auth_registry.host, k0s_release.sha) in j.stdout
    assert_no_secret(j)


def test_publish_job_signs_with_the_credentials_key(job, auth_registry, k0s_release, credential, tmp_path):
    """The credential's signing key (a 0600 file, K0SMOTRON_OCI_SIGNING_KEY) signs what the job pushes; neither the
    key nor its password shows up in what AWX keeps of the job."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    key_password = "k3y-Pa55-for-awx"
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(key_password.encode())).decode()
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    kind, inputs = credential
    signing = (kind, dict(inputs, signing_key=pem, signing_key_password=key_password))
    repo = auth_registry.host + "/awx-signed/k0s"
    j = job("publish").run(
        template_vars={"k0s_publish_cache_dir": str(tmp_path / "cache"), "k0s_publish_trusted_keys": RELEASE_KEYS},
        survey={"k0s_publish_repository": repo, "k0s_publish_version": VERSION, "k0s_publish_base_url": k0s_release.url},
        credentials=[signing], env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert_successful(j)
    assert_no_secret(j)
    for path, text in j.artifact_texts().items():
        if path == "stdout" or path.startswith("job_events/"):
            assert key_password not in text and "PRIVATE KEY" not in text, path
    cosign = tools.cosign_path()
    if cosign:
        pub = tmp_path / "signing.pub"
        pub.write_text(public)
        docker = tmp_path / "cosign-docker"
        docker.mkdir()
        auth = base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
        (docker / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth}}}))
        env = dict(os.environ, SSL_CERT_FILE=auth_registry.ca["ca"], DOCKER_CONFIG=str(docker))
        proc = subprocess.run([cosign, "verify", "--key", str(pub), "--insecure-ignore-tlog", "%s:%s" % (repo, TAG)],
                              capture_output=True, text=True, env=env, check=False)
        assert proc.returncode == 0, proc.stderr
    found = [e for e in j.events if "signature" in json.dumps(e.get("event_data", {}).get("res", {}))]
    assert found, "the push result carries the signature it wrote"


def test_survey_answers_are_not_templated(job, auth_registry, k0s_release, credential, tmp_path):
    """A survey answer that is a template stays text (AWX's !unsafe): the password never gets into it."""
    answer = "{{ lookup('ansible.builtin.env', 'K0SMOTRON_OCI_PASSWORD') }}"
    j = job("publish").run(
        survey={"k0s_publish_repository": auth_registry.host + "/awx/k0s", "k0s_publish_version": answer,
                "k0s_publish_base_url": k0s_release.url},
        credentials=[credential], env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert j.rc != 0
    assert "k0s_publish_version" in j.stdout, j.stdout[-4000:]
    assert_no_secret(j)


def test_publish_oras_job(job, auth_registry, oras_mirror, credential, tmp_path):
    j = job("publish_oras").run(
        template_vars={"oras_publish_cache_dir": str(tmp_path / "cache"), "oras_publish_download_delay": 0},
        survey={"oras_publish_repository": auth_registry.host + "/awx/oras", "oras_publish_version": oras_mirror.version,
                "oras_publish_base_url": oras_mirror.url},
        credentials=[credential], env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert_successful(j)
    assert "%s/awx/oras@sha256:" % auth_registry.host in j.stdout
    assert_no_secret(j)


@pytest.fixture(scope="module")
def pushed(auth_registry, run_module, tmp_path_factory):
    """A stand-in k0s (NOT a real k0s) pushed to the TLS + auth registry under its tag."""
    binary = mirror_mod.stand_in_k0s(str(tmp_path_factory.mktemp("awx-pushed") / "k0s"), VERSION, pad_bytes=2048)
    ref = "%s/awx-pushed/k0s:%s" % (auth_registry.host, TAG)
    run_module("artifact_push", {"reference": ref, "files": [binary], "annotations": {"k0s": {"arch": tools.HOST_ARCH}},
                                 "username": AUTH_USER, "password": AUTH_PASSWORD, "ca_path": auth_registry.ca["ca"]},
               expect_fail=False)
    sha = mirror_mod.sha256_file(binary)
    return {"reference": ref, "sha256": sha, "url": "oci://%s/awx-pushed/k0s@sha256:%s" % (auth_registry.host, sha)}


def test_control_plane_job(job, auth_registry, oras_mirror, pushed, credential, tmp_path):
    """Resolve with the injected credential; the registry CA for the nodes is a (multi-line) survey answer."""
    out = tmp_path / "manifests"
    j = job("control_plane").run(
        template_vars={"control_plane_oras_base_url": oras_mirror.url, "control_plane_oras_version": oras_mirror.version},
        survey={"control_plane_artifact_reference": pushed["reference"], "control_plane_output_dir": str(out),
                "control_plane_cluster_name": "awx-test", "control_plane_replicas": 1,
                "control_plane_aws_ssh_key_name": "my-key", "control_plane_registry_ca": credential[1]["ca_certificate"]},
        credentials=[credential])
    assert_successful(j)
    text = "".join(f.read_text() for f in sorted(out.iterdir()))
    assert "downloadURL: " + pushed["url"] in text
    assert "registry-ca.pem" in text
    assert_no_secret(j)


def test_node_job(job, auth_registry, oras_mirror, pushed, tmp_path):
    """The node pull credential injects k0s_binary_registry_username/_password as !unsafe extra vars."""
    prefix = tmp_path / "prefix"
    j = job("node").run(
        template_vars={"oras_install_dir": str(prefix / "lib" / "k0smotron-oci"), "oras_bin_dir": str(prefix / "bin"),
                       "oras_download_delay": 0, "k0s_binary_install_path": str(prefix / "bin" / "k0s"),
                       "k0s_binary_docker_config_path": str(prefix / "root" / ".docker" / "config.json")},
        survey={"k0s_binary_download_url": pushed["url"], "oras_version": oras_mirror.version,
                "oras_base_url": oras_mirror.url, "k0s_binary_registry_ca_path": auth_registry.ca["ca"]},
        credentials=[(NODE_PULL, {"username": AUTH_USER, "password": AUTH_PASSWORD})])
    assert_successful(j)
    assert mirror_mod.sha256_file(str(prefix / "bin" / "k0s")) == pushed["sha256"]
    config = json.loads((prefix / "root" / ".docker" / "config.json").read_text())
    assert config["auths"][auth_registry.host]["auth"] == SECRETS[1]
    assert_no_secret(j)


def test_site_job(job, auth_registry, k0s_release, oras_mirror, credential, tmp_path):
    """publish -> resolve -> render; the nodes' Secret carries the injected account, the job output does not."""
    out = tmp_path / "manifests"
    j = job("site").run(
        template_vars={"k0s_publish_cache_dir": str(tmp_path / "cache"), "k0s_publish_trusted_keys": RELEASE_KEYS,
                       "control_plane_oras_base_url": oras_mirror.url,
                       "control_plane_oras_version": oras_mirror.version},
        survey={"k0s_publish_repository": auth_registry.host + "/awx-site/k0s", "k0s_publish_version": VERSION,
                "k0s_publish_architectures": ["amd64"], "k0s_publish_base_url": k0s_release.url,
                "control_plane_state": "rendered", "control_plane_output_dir": str(out),
                "control_plane_cluster_name": "awx-site", "control_plane_aws_ssh_key_name": "my-key"},
        credentials=[credential], env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert_successful(j)
    text = "".join(f.read_text() for f in sorted(out.iterdir()))
    assert "downloadURL: oci://%s/awx-site/k0s@sha256:%s" % (auth_registry.host, k0s_release.sha) in text
    assert ".dockerconfigjson" in text
    assert_no_secret(j)


def test_the_ca_file_is_the_injected_one(job, auth_registry, credential, tmp_path):
    """K0SMOTRON_OCI_CA_PATH is tower.filename.ca_file: a 0600 file in the job's env/ holding the PEM; without
    a CA the variable is empty (system CAs)."""
    j = job("publish")
    env, extra = inject(OCI_REGISTRY, credential[1], j.dir)
    path = env["K0SMOTRON_OCI_CA_PATH"]
    assert os.path.dirname(path) == os.path.join(j.dir, "env") and extra == {}
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path) as f:
        assert f.read() == credential[1]["ca_certificate"]
    env = inject(OCI_REGISTRY, {"username": AUTH_USER, "password": AUTH_PASSWORD}, j.dir)[0]
    # Without a CA or a signing key their variables stay empty: system CAs, nothing signed.
    assert env == {"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": AUTH_PASSWORD,
                   "K0SMOTRON_OCI_CA_PATH": "", "K0SMOTRON_OCI_SIGNING_KEY": "", "K0SMOTRON_OCI_SIGNING_KEY_PASSWORD": ""}
    # openssl accepts the injected file as the CA of the registry's certificate.
    proc = subprocess.run(["openssl", "verify", "-CAfile", path, auth_registry.ca["cert"]], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
