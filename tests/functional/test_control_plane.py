"""The control_plane role, end to end through ansible-playbook.

Renders the k0smotron docs page's example (AWS, 3 replicas, v1.34.1+k0s.0, Recreate, an
authenticated registry) for v1beta1 and v1beta2, resolving the download URL from a real TLS +
htpasswd registry, and validates every object strictly against the upstream CRD schemas (and the
Secret against the Kubernetes schema). Then runs the generated ORAS install script with /bin/sh
against a loopback mirror holding the real ORAS CLI, joined and item by item, and with a tampered
tarball.
"""
import base64
import glob
import hashlib
import json
import os
import re
import stat

import pytest
import yaml

from tests.harness import mirror as mirror_mod
from tests.harness import tools
from tests.harness import schemas
from tests.harness.tools import ROOT

from conftest import AUTH_PASSWORD, AUTH_USER

PLAYBOOK = os.path.join(ROOT, "playbooks", "control_plane.yml")
PLAIN_COMMAND = re.compile(r"^[^'\"`$%{}\\\n\r]+$")
JINJA = re.compile(r"\{[{%#]")
ARCH = tools.HOST_ARCH
FAKE_DIGEST = "sha256:" + "ab" * 32


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def k0s_artifact(auth_registry, run_module, tmp_path_factory):
    """A stand-in k0s (NOT a real k0s) pushed like the docs page's 'oras push', to the TLS + auth registry."""
    d = tmp_path_factory.mktemp("cp-k0s")
    k0s = mirror_mod.stand_in_k0s(str(d / "k0s"))
    ref = "%s/cp/k0s:v1.34.1-k0s.0" % auth_registry.host
    res = run_module("artifact_push", {
        "reference": ref, "files": [k0s], "annotations": {"k0s": {"arch": "amd64"}},
        "username": AUTH_USER, "password": AUTH_PASSWORD, "ca_path": auth_registry.ca["ca"]}, expect_fail=False)
    sha = mirror_mod.sha256_file(k0s)
    return {"reference": ref, "host": auth_registry.host, "sha256": sha,
            "download_url": "oci://%s/cp/k0s@sha256:%s" % (auth_registry.host, sha),
            "manifest_digest": res["manifest_digest"], "ca": auth_registry.ca["ca"]}


MIRROR_VERSION = [None]


@pytest.fixture(scope="module")
def render(ansible_playbook, tmp_path_factory, oras_mirror):
    """render(extra_vars, expect_ok=True) -> (CompletedProcess, output dir, {kind/name: object})."""
    def _render(extra, expect_ok=True, check=False, diff=False, out=None, env=None):
        MIRROR_VERSION[0] = oras_mirror.version
        out = out or str(tmp_path_factory.mktemp("rendered"))
        xv = {"control_plane_output_dir": out, "control_plane_oras_base_url": oras_mirror.url,
              "control_plane_oras_version": oras_mirror.version}
        xv.update(extra)
        proc = ansible_playbook(PLAYBOOK, extra_vars=xv, check=check, diff=diff, env=env)
        if expect_ok:
            assert proc.returncode == 0, proc.stdout[-6000:]
        objs = {}
        for path in sorted(glob.glob(os.path.join(out, "*.yaml"))):
            for doc in schemas.load_file(path):
                objs["%s/%s" % (doc["kind"], doc["metadata"]["name"])] = doc
        return proc, out, objs
    return _render


def seed_vars(k0s_artifact, api_version, **kw):
    v = {"control_plane_api_version": api_version,
         "control_plane_artifact_reference": k0s_artifact["reference"],
         "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": AUTH_PASSWORD,
         "control_plane_registry_ca_path": k0s_artifact["ca"],
         "control_plane_aws_ssh_key_name": "my-key"}
    v.update(kw)
    return v


def node_specs(objs):
    """(object key, node spec) for K0sControlPlane.k0sConfigSpec and K0sWorkerConfigTemplate.spec.template.spec."""
    for key, obj in objs.items():
        if obj["kind"] == "K0sControlPlane":
            yield key, obj["spec"]["k0sConfigSpec"]
        elif obj["kind"] == "K0sWorkerConfigTemplate":
            yield key, obj["spec"]["template"]["spec"]


def all_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from all_strings(k)
            yield from all_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_strings(v)


def assert_valid(out):
    files = sorted(glob.glob(os.path.join(out, "*.yaml")))
    assert files
    errors = [e for f in files for e in schemas.validate_file(f)]
    assert errors == []


def assert_node_rules(spec, api_version):
    pre, other = ("preStartCommands", "preK0sCommands") if api_version == "v1beta1" else ("preK0sCommands", "preStartCommands")
    assert other not in spec
    assert spec[pre], "no pre-commands"
    for cmd in spec[pre]:
        assert PLAIN_COMMAND.match(cmd), "not a plain command line: %r" % cmd
    for text in all_strings(spec):
        assert not JINJA.search(text), "Jinja delimiter in node content: %r" % text[:200]
    for f in spec.get("files", []):
        assert isinstance(f.get("permissions"), str) and re.match(r"^0[0-7]{3}$", f["permissions"]), f
        assert ("content" in f) != ("contentFrom" in f), f


# --------------------------------------------------------------------------- the docs page's example

@pytest.mark.parametrize("api_version", ["v1beta1", "v1beta2"])
def test_seed_example(render, k0s_artifact, api_version):
    proc, out, objs = render(seed_vars(k0s_artifact, api_version), diff=True)
    assert AUTH_PASSWORD not in proc.stdout
    assert base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode() not in proc.stdout
    assert_valid(out)
    (secret_key,) = [k for k in objs if k.startswith("Secret/")]
    secret = objs[secret_key]
    # The name carries the first 8 hex digits of the sha256 of the docker config (rotation, issue 15).
    config_text = base64.b64decode(secret["data"][".dockerconfigjson"])
    secret_name = "aws-test-registry-credentials-" + hashlib.sha256(config_text).hexdigest()[:8]
    assert sorted(objs) == ["AWSCluster/aws-test", "AWSMachineTemplate/aws-test", "Cluster/aws-test",
                            "K0sControlPlane/aws-test", "Secret/" + secret_name]

    kcp = objs["K0sControlPlane/aws-test"]
    assert kcp["apiVersion"] == "controlplane.cluster.x-k8s.io/" + api_version
    assert kcp["metadata"] == {"name": "aws-test", "namespace": "default"}
    spec = kcp["spec"]
    assert (spec["replicas"], spec["version"], spec["updateStrategy"]) == (3, "v1.34.1+k0s.0", "Recreate")
    ks = spec["k0sConfigSpec"]
    assert ks["downloadURL"] == k0s_artifact["download_url"]
    assert ks["args"] == ["--enable-worker"]
    assert ks["k0s"]["spec"] == {"api": {"extraArgs": {"anonymous-auth": "true"}}, "telemetry": {"enabled": False}}
    assert "ignition" not in ks and "provisioner" not in ks
    assert spec["machineTemplate"] == {"infrastructureRef": {
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta2", "kind": "AWSMachineTemplate",
        "name": "aws-test", "namespace": "default"}}
    assert_node_rules(ks, api_version)
    pre = ks["preStartCommands" if api_version == "v1beta1" else "preK0sCommands"]
    assert pre == ["sh /usr/local/lib/k0smotron-oci/install-oras.sh"]
    script, config = ks["files"]
    assert script["path"] == "/usr/local/lib/k0smotron-oci/install-oras.sh" and script["permissions"] == "0755"
    assert "\nversion=%s\n" % MIRROR_VERSION[0] in script["content"]
    assert "tarball=oras_${version}_linux_$arch.tar.gz" in script["content"]
    assert config == {"path": "/root/.docker/config.json", "permissions": "0600",
                      "contentFrom": {"secretRef": {"name": secret_name, "key": ".dockerconfigjson"}}}
    # No DOCKER_CONFIG=... (an export does nothing under Ignition); install-oras.sh only reads it, with a default.
    assert "DOCKER_CONFIG=" not in json.dumps(ks)

    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"]["namespace"] == "default"
    cfg = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    auth = base64.b64decode(cfg["auths"][k0s_artifact["host"]]["auth"]).decode()
    assert auth == "%s:%s" % (AUTH_USER, AUTH_PASSWORD)
    secret_file = glob.glob(os.path.join(out, "*-secret-*.yaml"))[0]
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600

    cluster = objs["Cluster/aws-test"]["spec"]
    assert cluster["clusterNetwork"] == {"pods": {"cidrBlocks": ["192.168.0.0/16"]}, "serviceDomain": "cluster.local",
                                         "services": {"cidrBlocks": ["10.128.0.0/12"]}}
    if api_version == "v1beta1":
        assert cluster["controlPlaneRef"] == {"apiVersion": "controlplane.cluster.x-k8s.io/v1beta1",
                                              "kind": "K0sControlPlane", "name": "aws-test"}
    else:
        assert cluster["controlPlaneRef"] == {"apiGroup": "controlplane.cluster.x-k8s.io",
                                              "kind": "K0sControlPlane", "name": "aws-test"}
        assert cluster["infrastructureRef"] == {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                                "kind": "AWSCluster", "name": "aws-test"}
    aws = objs["AWSCluster/aws-test"]["spec"]
    assert aws["region"] == "eu-west-1" and aws["sshKeyName"] == "my-key"
    amt = objs["AWSMachineTemplate/aws-test"]["spec"]["template"]["spec"]
    assert amt["ami"] == {"id": "ami-0008aa5cb0cde3400"} and amt["instanceType"] == "t3.large"
    assert amt["cloudInit"] == {"insecureSkipSecretsManager": True}

    # Readable output: the script is block text that diffs line by line, not one long quoted line.
    with open(os.path.join(out, "30-k0scontrolplane-aws-test.yaml")) as f:
        text = f.read()
    assert "      content: |\n        #!/bin/sh\n        # install-oras.sh - written by" in text
    assert max(len(line) for line in text.splitlines()) < 200
    # Unchanged inputs: nothing changes on a second run (both API versions).
    proc2, dummy, objs2 = render(seed_vars(k0s_artifact, api_version), out=out)
    assert re.search(r"changed=0\s", proc2.stdout), proc2.stdout[-2000:]
    assert objs2 == objs


@pytest.mark.parametrize("api_version", ["v1beta1", "v1beta2"])
def test_ignition_and_workers(render, k0s_artifact, api_version):
    dummy, out, objs = render(seed_vars(k0s_artifact, api_version, control_plane_provisioner="ignition",
                                        control_plane_workers_enabled=True,
                                        control_plane_ignition_additional_config="variant: flatcar\nversion: 1.1.0\n"))
    assert_valid(out)
    assert "MachineDeployment/aws-test-md-0" in objs and "K0sWorkerConfigTemplate/aws-test-md-0" in objs
    assert "AWSMachineTemplate/aws-test-md-0" in objs
    ignition = {"variant": "flatcar", "version": "1.1.0", "additionalConfig": "variant: flatcar\nversion: 1.1.0\n"}
    specs = dict(node_specs(objs))
    assert len(specs) == 2
    for key, spec in specs.items():
        assert spec["downloadURL"] == k0s_artifact["download_url"]
        assert_node_rules(spec, api_version)
        if api_version == "v1beta1":
            assert spec["ignition"] == ignition and "provisioner" not in spec
        else:
            assert spec["provisioner"] == {"type": "ignition", "ignition": ignition} and "ignition" not in spec
        assert spec["files"] == specs["K0sControlPlane/aws-test"]["files"]
    for name in ("aws-test", "aws-test-md-0"):
        amt = objs["AWSMachineTemplate/%s" % name]["spec"]["template"]["spec"]
        assert amt["ignition"] == {"storageType": "UnencryptedUserData"} and "cloudInit" not in amt
    md = objs["MachineDeployment/aws-test-md-0"]
    assert md["apiVersion"] == "cluster.x-k8s.io/" + api_version
    ref = md["spec"]["template"]["spec"]["bootstrap"]["configRef"]
    if api_version == "v1beta2":
        assert ref == {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "K0sWorkerConfigTemplate", "name": "aws-test-md-0"}
    else:
        assert ref == {"apiVersion": "bootstrap.cluster.x-k8s.io/v1beta1", "kind": "K0sWorkerConfigTemplate",
                       "name": "aws-test-md-0"}


def test_mixed_versions_and_own_infrastructure(render):
    """k0smotron v1beta1 objects with CAPI v1beta2 core objects, no AWS objects (bring your own), existing Secret."""
    dummy, out, objs = render({
        "control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
        "control_plane_api_version": "v1beta1", "control_plane_cluster_api_version": "v1beta2",
        "control_plane_registry_secret_name": "my-pull-secret", "control_plane_infrastructure": "none",
        "control_plane_cluster_infrastructure_ref": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                                                     "kind": "DockerCluster", "name": "c1"},
        "control_plane_machine_infrastructure_ref": {"apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                                                     "kind": "DockerMachineTemplate", "name": "c1-cp"},
        "control_plane_oras_checksums": {"amd64": "0" * 64}})
    assert sorted(objs) == ["Cluster/aws-test", "K0sControlPlane/aws-test"]
    assert_valid(out)
    cluster = objs["Cluster/aws-test"]
    assert cluster["apiVersion"] == "cluster.x-k8s.io/v1beta2"
    assert cluster["spec"]["infrastructureRef"] == {"apiGroup": "infrastructure.cluster.x-k8s.io",
                                                    "kind": "DockerCluster", "name": "c1"}
    ks = objs["K0sControlPlane/aws-test"]["spec"]["k0sConfigSpec"]
    assert ks["files"][1]["contentFrom"]["secretRef"] == {"name": "my-pull-secret", "key": ".dockerconfigjson"}
    assert "\nsums=amd64=%s\n" % ("0" * 64) in ks["files"][0]["content"]


def test_check_mode_writes_nothing(render, tmp_path):
    out = str(tmp_path / "never")
    proc, dummy, objs = render({"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST},
                               check=True, out=out)
    assert objs == {} and not os.path.exists(out)


# --------------------------------------------------------------------------- errors users make

def test_manifest_digest_instead_of_blob_digest(render, k0s_artifact):
    url = "oci://%s/cp/k0s@%s" % (k0s_artifact["host"], k0s_artifact["manifest_digest"])
    proc, dummy, dummy = render(seed_vars(k0s_artifact, "v1beta2", control_plane_download_url=url), expect_ok=False)
    assert proc.returncode != 0
    assert "MANIFEST digest" in proc.stdout
    assert k0s_artifact["download_url"] in proc.stdout
    assert AUTH_PASSWORD not in proc.stdout


@pytest.mark.parametrize("url,needle", [
    ("oci://registry.example.com/k0s/k0s:v1.34.1-k0s.0", "digest"),
    ("https://registry.example.com/k0s/k0s@" + FAKE_DIGEST, "oci://"),
    ("oci://registry.example.com/k0s/k0s@sha256:abcdefg123456789", "sha256"),
])
def test_bad_download_url(render, url, needle):
    proc, dummy, dummy = render({"control_plane_download_url": url}, expect_ok=False)
    assert proc.returncode != 0
    assert "control_plane_download_url is not usable" in proc.stdout
    assert needle in proc.stdout


@pytest.mark.parametrize("pad", [("", "\n"), ("", " ")])
def test_download_url_with_surrounding_whitespace_refused(render, tmp_path, pad):
    # A YAML '|' block leaves a newline that would split Ignition's ExecStart line. The checked value must be the
    # rendered one (a leading space already fails the role's format check).
    url = pad[0] + "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST + pad[1]
    proc, dummy, objs = render({"control_plane_download_url": url, "control_plane_oras_checksums": {"amd64": "0" * 64}},
                               expect_ok=False, out=str(tmp_path / "out"))
    assert proc.returncode != 0 and objs == {}
    assert "control_plane_download_url" in proc.stdout and "leading or trailing whitespace" in proc.stdout


def test_no_download_url(render):
    proc, dummy, dummy = render({}, expect_ok=False)
    assert "Set control_plane_download_url" in proc.stdout


def test_quoted_pre_command_refused(render):
    proc, dummy, dummy = render({"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
                                 "control_plane_pre_commands": ['echo "${HOME}"']}, expect_ok=False)
    assert "not plain lines" in proc.stdout


# --------------------------------------------------------------------------- present / absent (no API server here)

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster: {server: "https://127.0.0.1:%d", insecure-skip-tls-verify: true}
contexts:
- name: nowhere
  context: {cluster: nowhere, user: nobody}
current-context: nowhere
users:
- name: nobody
  user: {token: not-a-token}
"""


@pytest.mark.parametrize("state", ["present", "absent"])
def test_present_and_absent_reach_kubernetes_core(render, tmp_path, state):
    """No API server exists here: check the wiring up to kubernetes.core.k8s (objects, order, kubeconfig, no leaks)."""
    from tests.harness.registry import free_port
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG % free_port())
    proc, dummy, objs = render({"control_plane_state": state, "control_plane_kubeconfig": str(kubeconfig),
                                "control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
                                "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": AUTH_PASSWORD,
                                "control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_wait_timeout": 5},
                               expect_ok=False, out=str(tmp_path / "out"))
    assert proc.returncode != 0 and objs == {}
    assert "HTTPSConnectionPool(host='127.0.0.1'" in proc.stdout  # kubernetes.core.k8s used our kubeconfig
    items = re.findall(r"^failed: \[localhost\] \(item=([^)]*\)?)\)", proc.stdout, re.M)
    order = ["(censored due to no_log)", "AWSMachineTemplate/default/aws-test", "AWSCluster/default/aws-test",
             "K0sControlPlane/default/aws-test", "Cluster/default/aws-test"]
    if state == "present":
        assert items == order, items
    else:
        # Registry Secrets go last, all of the cluster's by their labels (their names carry a content hash).
        assert items == ["Cluster/default/aws-test", "K0sControlPlane/default/aws-test", "AWSCluster/default/aws-test",
                         "AWSMachineTemplate/default/aws-test",
                         "Secret/default/all with app.kubernetes.io/managed-by=k0smotron.oci,"
                         "cluster.x-k8s.io/cluster-name=aws-test"], items
    assert AUTH_PASSWORD not in proc.stdout
    assert base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode() not in proc.stdout


def test_argument_specs_match_defaults():
    """Every public variable is documented with the same default (and nothing else is)."""
    role = os.path.join(ROOT, "roles", "control_plane")
    with open(os.path.join(role, "defaults", "main.yml")) as f:
        defaults = yaml.safe_load(f)
    with open(os.path.join(role, "meta", "argument_specs.yml")) as f:
        options = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(options)
    assert all(k.startswith("control_plane_") for k in defaults)
    assert {k: v for k, v in defaults.items() if options[k].get("default") != v} == {}


def test_jinja_in_k0s_config_refused(render):
    proc, dummy, dummy = render({"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
                                 "control_plane_oras_checksums": {"amd64": "0" * 64},
                                 "control_plane_k0s_config": {"spec": {"api": {"extraArgs": {"x": "{{ '{%' }} x"}}}}},
                                expect_ok=False)
    assert "Jinja opening delimiter" in proc.stdout


def test_null_in_objects_refused(render):
    proc, dummy, dummy = render({"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
                                 "control_plane_oras_checksums": {"amd64": "0" * 64},
                                 "control_plane_k0s_config": {"spec": {"api": {"extraArgs": {"x": None}}}}}, expect_ok=False)
    assert "holds a null value" in proc.stdout


def test_objects_validated_against_the_shipped_schemas(render):
    """A files entry with a key the CRD does not know (what the API server would prune) fails the run."""
    extra = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
             "control_plane_oras_checksums": {"amd64": "0" * 64},
             "control_plane_extra_files": [{"path": "/etc/motd", "content": "hi", "permissions": "0644", "owner": "root"}]}
    proc, dummy, objs = render(extra, expect_ok=False)
    assert proc.returncode != 0 and objs == {}
    assert "do not match the CRD schemas" in proc.stdout
    assert "K0sControlPlane/aws-test" in proc.stdout and "files[1].owner" in proc.stdout, proc.stdout[-3000:]
    proc, dummy, objs = render(dict(extra, control_plane_validate=False))
    assert "K0sControlPlane/aws-test" in objs


# --------------------------------------------------------------------------- issue 12 items 9-12

def test_characters_outside_bmp_survive(render):
    """Item 9: emoji in extra files and the k0s config (to_json wrote surrogate pairs that YAML rejected)."""
    content = "# \U0001F680 launch config\nname: caf\u00e9 \U0001F600\n"
    dummy, out, objs = render({"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
                               "control_plane_oras_checksums": {"amd64": "0" * 64},
                               "control_plane_extra_files": [{"path": "/etc/x.yaml", "permissions": "0644",
                                                              "content": content}],
                               "control_plane_k0s_config": {"spec": {"api": {"extraArgs": {"x": "\U0001F680"}}}}})
    ks = objs["K0sControlPlane/aws-test"]["spec"]["k0sConfigSpec"]
    assert ks["files"][-1]["content"] == content
    assert ks["k0s"]["spec"]["api"]["extraArgs"]["x"] == "\U0001F680"
    with open(os.path.join(out, "30-k0scontrolplane-aws-test.yaml"), encoding="utf-8") as f:
        assert "\U0001F680 launch config" in f.read()


@pytest.mark.parametrize("extra, needle", [
    # Item 10: values that would go into install-oras.sh (run as root on the nodes) are validated.
    ({"control_plane_oras_version": "1.3.0;touch /tmp/PWNED"}, "control_plane_oras_version must be an ORAS release version"),
    ({"control_plane_oras_base_url": "https://example.com/$(touch /tmp/PWNED)"}, "control_plane_oras_base_url must be an http"),
    ({"control_plane_oras_checksums_url": "https://example.com/s.txt;touch /tmp/PWNED"},
     "control_plane_oras_checksums_url must be an http"),
    # Item 11: full matches (a trailing newline passed '$'), and every Kubernetes name is checked.
    ({"control_plane_cluster_name": "aws-test\n"}, "control_plane_cluster_name must be a DNS-1123 label"),
    ({"control_plane_namespace": "default\n"}, "control_plane_namespace must be a DNS-1123 label"),
    ({"control_plane_registry_secret_name": "creds\n---"}, "control_plane_registry_secret_name must be a DNS-1123 subdomain"),
    ({"control_plane_workers_enabled": True, "control_plane_workers_name": "md\n---"},
     "control_plane_workers_name must be a DNS-1123 label"),
])
def test_unsafe_values_refused(render, tmp_path, extra, needle):
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_oras_checksums": {"amd64": "0" * 64}}
    xv.update(extra)
    proc, dummy, objs = render(xv, expect_ok=False, out=str(tmp_path / "out"))
    assert proc.returncode != 0 and objs == {}
    assert needle in proc.stdout, proc.stdout[-3000:]


def test_layout_switch_removes_the_other_layout(render, tmp_path):
    """Item 12: files -> single -> files leaves only what the last run wrote, the credentials Secret file included."""
    out = str(tmp_path / "out")
    os.makedirs(out)
    keep = os.path.join(out, "README.md")
    with open(keep, "w") as f:
        f.write("not ours\n")
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_oras_checksums": {"amd64": "0" * 64},
          "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": AUTH_PASSWORD}
    dummy, dummy, objs = render(dict(xv, control_plane_output_layout="files"), out=out)
    files = sorted(os.listdir(out))
    assert [f for f in files if re.fullmatch(r"00-secret-aws-test-registry-credentials-[0-9a-f]{8}[.]yaml", f)] \
        and len(files) == 6
    dummy, dummy, single = render(dict(xv, control_plane_output_layout="single"), out=out)
    assert sorted(os.listdir(out)) == ["README.md", "aws-test.yaml"]
    assert single == objs
    assert stat.S_IMODE(os.stat(os.path.join(out, "aws-test.yaml")).st_mode) == 0o600
    dummy, dummy, again = render(dict(xv, control_plane_output_layout="files"), out=out)
    assert sorted(os.listdir(out)) == files and again == objs


def test_registry_config_path(render, tmp_path):
    """control_plane_registry_config_path: the inline auths entry for the registry is copied into the Secret (keys
    compared by host, helpers dropped); a config with only a credential helper fails clearly, without secrets."""
    entry = {"auth": base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()}
    good = tmp_path / "config.json"
    good.write_text(json.dumps({"auths": {"https://registry.example.com/v1/": entry, "other.example.com": {"auth": "eDp5"}},
                                "credsStore": "desktop"}))
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_registry_config_path": str(good)}
    proc, dummy, objs = render(xv, out=str(tmp_path / "out"))
    (secret,) = [o for k, o in objs.items() if k.startswith("Secret/aws-test-registry-credentials-")]
    assert json.loads(base64.b64decode(secret["data"][".dockerconfigjson"])) == {"auths": {"registry.example.com": entry}}
    assert entry["auth"] not in proc.stdout

    helper_only = tmp_path / "helper.json"
    helper_only.write_text(json.dumps({"credsStore": "desktop", "auths": {"registry.example.com": {}}}))
    proc, dummy, objs = render(dict(xv, control_plane_registry_config_path=str(helper_only)), expect_ok=False,
                               out=str(tmp_path / "out2"))
    assert proc.returncode != 0 and objs == {}
    assert "holds no inline credentials" in proc.stdout and "cannot run on a node" in proc.stdout


# --------------------------------------------------------------------------- day 2: upgrades (issue 15)

def test_inplace_with_oci_refused(render, tmp_path):
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_update_strategy": "InPlace"}
    proc, dummy, objs = render(xv, expect_ok=False, out=str(tmp_path / "out"))
    assert proc.returncode != 0 and objs == {}
    assert "autopilot" in proc.stdout and "RecreateDeleteFirst" in proc.stdout
    proc, dummy, objs = render(dict(xv, control_plane_allow_inplace_oci=True), out=str(tmp_path / "out2"))
    assert objs["K0sControlPlane/aws-test"]["spec"]["updateStrategy"] == "InPlace"


@pytest.fixture(scope="module")
def published_k0s(ansible_playbook, auth_registry, tmp_path_factory):
    """A stand-in k0s published with k0smotron.oci.k0s_publish under a tag that is no version ("candidate"):
    only the manifest annotation tells its k0s version."""
    d = tmp_path_factory.mktemp("day2-k0s")
    k0s = mirror_mod.stand_in_k0s(str(d / "k0s"), "v1.34.1+k0s.0", pad_bytes=7)
    mirror_mod.RELEASE_KEY.sign(k0s)
    repo = "%s/day2/k0s" % auth_registry.host
    proc = ansible_playbook("k0smotron.oci.publish", extra_vars={
        "k0s_publish_repository": repo, "k0s_publish_tag": "candidate", "k0s_publish_version": "v1.34.1+k0s.0",
        "k0s_publish_files": {"amd64": str(k0s)}, "k0s_publish_checksums": {"amd64": mirror_mod.sha256_file(str(k0s))},
        "k0s_publish_trusted_keys": [mirror_mod.RELEASE_KEY.public_pem],
        "k0s_publish_registry_username": AUTH_USER, "k0s_publish_registry_password": AUTH_PASSWORD,
        "k0s_publish_registry_ca_path": auth_registry.ca["ca"], "k0s_publish_cache_dir": str(d / "cache")})
    assert proc.returncode == 0, proc.stdout[-4000:]
    return {"reference": repo + ":candidate", "ca": auth_registry.ca["ca"]}


def day2_vars(artifact, **kw):
    v = {"control_plane_artifact_reference": artifact["reference"], "control_plane_registry_username": AUTH_USER,
         "control_plane_registry_password": AUTH_PASSWORD, "control_plane_registry_ca_path": artifact["ca"],
         "control_plane_oras_checksums": {"amd64": "0" * 64}}
    v.update(kw)
    return v


def test_published_version_annotation_checked(render, published_k0s, tmp_path):
    """k0s_publish writes org.opencontainers.image.version; control_plane compares it with control_plane_k0s_version."""
    proc, dummy, objs = render(day2_vars(published_k0s), out=str(tmp_path / "ok"))
    assert "WARNING: " not in proc.stdout
    assert objs["K0sControlPlane/aws-test"]["spec"]["version"] == "v1.34.1+k0s.0"
    proc, dummy, objs = render(day2_vars(published_k0s, control_plane_k0s_version="v1.35.0+k0s.0"), expect_ok=False,
                               out=str(tmp_path / "bump"))
    assert proc.returncode != 0 and objs == {}
    assert "holds k0s v1.34.1+k0s.0 (its manifest annotation org.opencontainers.image.version)" in proc.stdout
    assert "control_plane_k0s_version is v1.35.0+k0s.0" in proc.stdout
    assert AUTH_PASSWORD not in proc.stdout


def test_tag_checked_without_annotation(render, k0s_artifact, run_module, tmp_path):
    """The k0s_artifact fixture has no annotation: its tag v1.34.1-k0s.0 is compared; a tag such as 'latest' only
    warns."""
    proc, dummy, dummy = render(seed_vars(k0s_artifact, "v1beta1", control_plane_k0s_version="v1.34.2+k0s.0",
                                          control_plane_oras_checksums={"amd64": "0" * 64}),
                                expect_ok=False, out=str(tmp_path / "tag"))
    assert proc.returncode != 0 and "holds k0s v1.34.1-k0s.0 (its tag)" in proc.stdout
    latest = k0s_artifact["reference"].rsplit(":", 1)[0] + ":latest"
    k0s = mirror_mod.stand_in_k0s(str(tmp_path / "k0s"))
    run_module("artifact_push", {"reference": latest, "files": [k0s], "username": AUTH_USER,
                                 "password": AUTH_PASSWORD, "ca_path": k0s_artifact["ca"]}, expect_fail=False)
    proc, dummy, objs = render(seed_vars(k0s_artifact, "v1beta1", control_plane_artifact_reference=latest,
                                         control_plane_oras_checksums={"amd64": "0" * 64}), out=str(tmp_path / "latest"))
    assert "WARNING: %s carries no k0s version" % latest in proc.stdout
    assert objs["K0sControlPlane/aws-test"]


# --------------------------------------------------------------------------- day 2: credential rotation (issue 15)

def test_password_rotation_renders_a_new_secret(render, tmp_path):
    """A new password gives a new Secret name (hash of the config), a changed K0sControlPlane, and the old
    Secret's file is removed from the output directory; the same password renders the same files."""
    out = str(tmp_path / "out")
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_registry_username": AUTH_USER,
          "control_plane_registry_password": "first-Passw0rd"}
    dummy, dummy, one = render(xv, out=out)
    first = sorted(os.listdir(out))
    proc, dummy, again = render(xv, out=out)
    assert again == one and sorted(os.listdir(out)) == first
    assert re.search(r"localhost\s+:\s+ok=\d+\s+changed=0", proc.stdout), proc.stdout[-2000:]
    proc, dummy, two = render(dict(xv, control_plane_registry_password="second-Passw0rd"), out=out)
    (old,) = [k for k in one if k.startswith("Secret/")]
    (new,) = [k for k in two if k.startswith("Secret/")]
    assert re.fullmatch(r"Secret/aws-test-registry-credentials-[0-9a-f]{8}", new) and new != old
    assert old not in two and not any(old.split("/")[1] in f for f in os.listdir(out))
    ref = two["K0sControlPlane/aws-test"]["spec"]["k0sConfigSpec"]["files"][1]["contentFrom"]["secretRef"]
    assert ref["name"] == new.split("/")[1]
    for password in ("first-Passw0rd", "second-Passw0rd"):
        assert password not in proc.stdout and password not in new
    assert stat.S_IMODE(os.stat(os.path.join(out, "00-secret-%s.yaml" % new.split("/")[1])).st_mode) == 0o600
    assert_valid(out)


# --------------------------------------------------------------------------- nodes' login, the download URL's digest

def rendered_secret(objs):
    secrets = [o for k, o in objs.items() if k.startswith("Secret/")]
    return json.loads(base64.b64decode(secrets[0]["data"][".dockerconfigjson"])) if secrets else None


def test_awx_environment_login_reaches_the_nodes(render, k0s_artifact, tmp_path):
    """The AWX credential injects only K0SMOTRON_OCI_USERNAME / _PASSWORD: control_plane.yml resolves with them
    and must render them into the registry Secret too (as site.yml does)."""
    xv = seed_vars(k0s_artifact, "v1beta2", control_plane_registry_username="", control_plane_registry_password="")
    proc, dummy, objs = render(xv, out=str(tmp_path / "out"), diff=True,
                               env={"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": AUTH_PASSWORD})
    auth = base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
    assert rendered_secret(objs) == {"auths": {k0s_artifact["host"]: {"auth": auth}}}
    assert AUTH_PASSWORD not in proc.stdout and auth not in proc.stdout


def test_controller_only_login_fails_clearly(render, k0s_artifact, tmp_path):
    """A login the resolve found only in the controller's docker config would leave the nodes without one."""
    config = tmp_path / "docker" / "config.json"
    config.parent.mkdir()
    auth = base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
    config.write_text(json.dumps({"auths": {k0s_artifact["host"]: {"auth": auth}}}))
    xv = seed_vars(k0s_artifact, "v1beta2", control_plane_registry_username="", control_plane_registry_password="")
    proc, dummy, objs = render(xv, expect_ok=False, out=str(tmp_path / "out"), env={"DOCKER_CONFIG": str(config.parent)})
    assert proc.returncode != 0 and objs == {}
    assert "the nodes would get none" in proc.stdout and k0s_artifact["host"] in proc.stdout
    assert AUTH_PASSWORD not in proc.stdout and auth not in proc.stdout


def test_manifest_digest_without_reference_refused(render, k0s_artifact, tmp_path):
    url = "oci://%s/cp/k0s@%s" % (k0s_artifact["host"], k0s_artifact["manifest_digest"])
    xv = seed_vars(k0s_artifact, "v1beta2", control_plane_download_url=url, control_plane_artifact_reference="")
    proc, dummy, objs = render(xv, expect_ok=False, out=str(tmp_path / "out"))
    assert proc.returncode != 0 and objs == {}
    assert "control_plane_download_url is not usable" in proc.stdout
    assert "is a manifest digest, not a blob digest" in proc.stdout
    assert AUTH_PASSWORD not in proc.stdout


def test_unknown_blob_without_reference_refused(render, k0s_artifact, tmp_path):
    url = "oci://%s/cp/k0s@%s" % (k0s_artifact["host"], FAKE_DIGEST)
    xv = seed_vars(k0s_artifact, "v1beta2", control_plane_download_url=url, control_plane_artifact_reference="")
    proc, dummy, objs = render(xv, expect_ok=False, out=str(tmp_path / "out"))
    assert proc.returncode != 0 and objs == {}
    assert "blob %s not found" % FAKE_DIGEST in proc.stdout


def test_anonymous_check_and_unreachable_warning(render, registry, run_module, tmp_path):
    k0s = tmp_path / "k0s"
    k0s.write_bytes(b"stand-in k0s\n")
    pushed = run_module("artifact_push", {"reference": "%s/anon/k0s:v1" % registry.host, "files": [str(k0s)],
                                          "plain_http": True}, expect_fail=False)
    base = {"control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_registry_plain_http": True}
    proc, dummy, objs = render(dict(base, control_plane_download_url=pushed["download_url"]), out=str(tmp_path / "a"))
    assert "not checked" not in proc.stdout and objs
    manifest_url = "oci://%s/anon/k0s@%s" % (registry.host, pushed["manifest_digest"])
    proc, dummy, objs = render(dict(base, control_plane_download_url=manifest_url), expect_ok=False,
                               out=str(tmp_path / "b"))
    assert proc.returncode != 0 and "is a manifest digest" in proc.stdout
    # Nothing listens on port 9 of the loopback: the URL cannot be checked, which is said, and rendering goes on.
    proc, dummy, objs = render(dict(base, control_plane_download_url="oci://127.0.0.1:9/k0s/k0s@" + FAKE_DIGEST),
                               out=str(tmp_path / "c"))
    assert "was not checked against the registry" in proc.stdout and objs


# --------------------------------------------------------------------------- k0s system images (issue 21)

IMAGES_BUNDLE = {"amd64": "oci://registry.example.com/k0s/airgap@sha256:" + "c1" * 32,
                 "arm64": "oci://registry.example.com/k0s/airgap@sha256:" + "c2" * 32}


@pytest.mark.parametrize("provisioner", ["cloud-init", "ignition"])
def test_images_mirror_through_the_role(render, tmp_path, provisioner):
    """mirror: the k0s config is merged, containerd's drop-in (with the credentials) reaches the nodes only through
    the Secret, mode 0600 on disk and in the files entries, and the objects pass the shipped CRD schemas."""
    out = str(tmp_path / "out")
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_registry_username": AUTH_USER,
          "control_plane_registry_password": AUTH_PASSWORD, "control_plane_api_version": "v1beta2",
          "control_plane_provisioner": provisioner, "control_plane_workers_enabled": True,
          "control_plane_images": "mirror", "control_plane_images_repository": "registry.example.com/k0s-mirror"}
    proc, dummy, objs = render(xv, out=out)
    assert AUTH_PASSWORD not in proc.stdout
    (secret_key,) = [k for k in objs if k.startswith("Secret/")]
    secret = objs[secret_key]
    drop_in = base64.b64decode(secret["data"]["containerd-registry.toml"]).decode()
    auth = base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
    assert 'plugins."io.containerd.grpc.v1.cri".registry' in drop_in and auth in drop_in
    specs = dict(node_specs(objs))
    assert set(specs) == {"K0sControlPlane/aws-test", "K0sWorkerConfigTemplate/aws-test-md-0"}
    for key, spec in specs.items():
        files = dict((f["path"], f) for f in spec["files"])
        entry = files["/etc/k0s/containerd.d/10-k0smotron-oci-registry.toml"]
        assert entry == {"path": "/etc/k0s/containerd.d/10-k0smotron-oci-registry.toml", "permissions": "0600",
                         "contentFrom": {"secretRef": {"name": secret_key.split("/")[1],
                                                       "key": "containerd-registry.toml"}}}, key
        assert files["/etc/containerd/certs.d/registry.example.com/hosts.toml"]["permissions"] == "0600"
    config = objs["K0sControlPlane/aws-test"]["spec"]["k0sConfigSpec"]["k0s"]
    assert config["spec"]["images"] == {"repository": "registry.example.com/k0s-mirror"}
    assert config["spec"]["api"] == {"extraArgs": {"anonymous-auth": "true"}}   # the role's default config kept
    for path in glob.glob(os.path.join(out, "*.yaml")):
        text = open(path).read()
        if not os.path.basename(path).startswith("00-secret-"):
            assert auth not in text and AUTH_PASSWORD not in text, path
    assert stat.S_IMODE(os.stat(os.path.join(out, "00-secret-%s.yaml" % secret_key.split("/")[1])).st_mode) == 0o600
    assert_valid(out)


def test_images_bundle_through_the_role(render, tmp_path):
    """bundle: the fetch script and its plain pre-command on the workers and the controllers with --enable-worker
    only, default_pull_policy Never; a conflicting value in control_plane_k0s_config fails naming it."""
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_workers_enabled": True,
          "control_plane_args": [], "control_plane_images": "bundle", "control_plane_images_bundle": IMAGES_BUNDLE}
    dummy, out, objs = render(xv)
    specs = dict(node_specs(objs))
    script = "/usr/local/lib/k0smotron-oci/fetch-images-bundle.sh"
    worker = specs["K0sWorkerConfigTemplate/aws-test-md-0"]
    assert script in [f["path"] for f in worker["files"]]
    assert "sh " + script in worker["preStartCommands"]
    assert script not in [f["path"] for f in specs["K0sControlPlane/aws-test"]["files"]]
    config = objs["K0sControlPlane/aws-test"]["spec"]["k0sConfigSpec"]["k0s"]
    assert config["spec"]["images"] == {"default_pull_policy": "Never"}
    assert config["spec"]["telemetry"] == {"enabled": False}
    for cmd in worker["preStartCommands"]:
        assert PLAIN_COMMAND.match(cmd)
    assert not any(JINJA.search(s) for s in all_strings(objs))
    assert_valid(out)
    conflict = {"spec": {"images": {"default_pull_policy": "Always"}}}
    proc, dummy, objs = render(dict(xv, control_plane_k0s_config=conflict), expect_ok=False)
    assert proc.returncode != 0 and objs == {}
    assert "control_plane_k0s_config sets spec.images.default_pull_policy" in proc.stdout, proc.stdout[-3000:]
