"""Issues 8, 9, 14: does a rendered K0sControlPlane (or worker template) boot -- under the REAL tools?

What k0smotron v2.1.0 would hand to the machine (cloud-init user-data or an Ignition config) is generated
by tests/harness/bootsim.py (the only modelled part: k0smotron's controller); then the real cloud-init
22.4 runs all four stages, or the real Ignition 2.14 writes the files and the unit and the real systemd
252 boots as PID 1 and runs the unit -- in private PID/mount/cgroup/UTS/IPC/network namespaces, against
the real TLS + htpasswd registry and the real ORAS CLI from a loopback mirror. Needs root (CI runs as
root); skips with the reason where the namespaces or the tools are not available.
"""
import base64
import json
import os
import socket
import subprocess

import pytest
import yaml

from tests.harness import bootsim
from tests.harness import realboot
from tests.harness import mirror as mirror_mod
from tests.harness import tools
from tests.harness.registry import free_port

from conftest import AUTH_PASSWORD, AUTH_USER

NS_OK, NS_REASON = bootsim.unshare_available()
needs_ns = pytest.mark.skipif(not NS_OK, reason=NS_REASON or "")
PROVISIONERS = ("cloud-init", "ignition")
ROLE_DIR = os.path.join(tools.ROOT, "roles", "control_plane")


# --------------------------------------------------------------------------- what k0smotron generates (no namespace)

FILES = [{"index": 0, "path": "/root/.docker/config.json", "content": b"{}\n", "permissions": "0600"},
         {"index": 1, "path": "/usr/local/lib/x.sh", "content": b"#!/bin/sh\necho 'a b'\n", "permissions": "0755"}]


def test_cloud_init_user_data_like_k0smotron():
    """internal/provisioner/cloudinit.go: jinja header, #cloud-config, YAML of write_files + runcmd."""
    text = bootsim.cloud_init_userdata(FILES, ["sh /usr/local/lib/x.sh", "export HOME=/root"])
    assert text.startswith("## template: jinja\n#cloud-config\nwrite_files:\n  - path: /root/.docker/config.json\n")
    doc = yaml.safe_load(text)
    assert doc == {"write_files": [{"path": f["path"], "content": f["content"].decode(), "permissions": f["permissions"]}
                                   for f in FILES], "runcmd": ["sh /usr/local/lib/x.sh", "export HOME=/root"]}
    # File.Permissions has no omitempty: a missing permissions is written as ""
    missing = [dict(FILES[0], permissions=None)]
    assert yaml.safe_load(bootsim.cloud_init_userdata(missing, []))["write_files"][0]["permissions"] == ""


def test_ignition_config_like_k0smotron():
    """internal/provisioner/ignition.go: Butane flatcar 1.1.0 -> spec 3.4.0, merged from a data URL."""
    config, inner = bootsim.ignition_config(FILES, ["sh /usr/local/lib/x.sh"], "flatcar", "1.1.0")
    outer = json.loads(config)
    assert outer["ignition"]["version"] == "3.4.0"
    source = outer["ignition"]["config"]["merge"][0]["source"]
    assert json.loads(base64.b64decode(source.split(",", 1)[1])) == json.loads(inner)
    doc = json.loads(inner)
    modes = [(f["path"], f["mode"]) for f in doc["storage"]["files"]]
    assert modes == [("/root/.docker/config.json", 0o600), ("/usr/local/lib/x.sh", 0o755)]
    unit = doc["systemd"]["units"][0]
    assert unit["name"] == "k0s-bootstrap.service" and unit["enabled"] is True
    assert "\nExecStart=/bin/sh -c 'sh /usr/local/lib/x.sh'\nRemainAfterExit=true\n" in unit["contents"]
    with pytest.raises(bootsim.SimulationError, match="strconv.ParseInt: parsing \"\": invalid syntax"):
        bootsim.ignition_config([dict(FILES[0], permissions=None)], [], "flatcar", "1.1.0")


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


# What the k0smotron docs page does, adapted to the mirror and otherwise made Ignition-safe (a script in
# files, one plain pre-command): the real binary straight into /usr/local/bin, nothing about HOME.
PLAIN_SCRIPT_PATH = "/usr/local/lib/plain-oras/install-oras.sh"
PLAIN_INSTALL = r"""#!/bin/sh
set -eu
base=@BASE@
ver=@VER@
tgz=oras_${ver}_linux_amd64.tar.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
curl -fsSLO "$base/v$ver/$tgz"
curl -fsSLO "$base/v$ver/oras_${ver}_checksums.txt"
grep " $tgz$" oras_${ver}_checksums.txt | sha256sum -c -
mkdir -p oras-install
tar -zxf "$tgz" -C oras-install
mv oras-install/oras /usr/local/bin/
"""


def _variants(k0s_artifact, oras_mirror, tampered_mirror, dead_url):
    """Every rendering the tests boot, by name: (api_version, provisioner, overrides)."""
    pinned = {"control_plane_artifact_reference": "", "control_plane_download_url": k0s_artifact["download_url"]}
    v = oras_mirror.version
    plain = PLAIN_INSTALL.replace("@BASE@", oras_mirror.url).replace("@VER@", v)
    variants = dict((("%s-%s" % (api, prov)), (api, prov, {})) for api in ("v1beta1", "v1beta2") for prov in PROVISIONERS)
    variants.update(dict(("opt-bin-%s" % prov, ("v1beta2", prov, {"control_plane_k0s_install_dir": "/opt/bin"}))
                         for prov in PROVISIONERS))
    variants.update({
        # the ORAS tarball on the mirror was swapped after the checksums were published
        "tampered": ("v1beta2", "cloud-init", dict(pinned, control_plane_oras_base_url=tampered_mirror.url)),
        # the mirror is down at boot time (the checksums were read from the real one when rendering)
        "mirror-down": ("v1beta1", "cloud-init", dict(
            pinned, control_plane_oras_base_url=dead_url, control_plane_oras_download_retries=1,
            control_plane_oras_checksums_url="%s/v%s/oras_%s_checksums.txt" % (oras_mirror.url, v, v))),
        # issue 9: a plain ORAS install (no HOME wrapper), as a script so that only HOME differs
        "plain-oras": ("v1beta2", "ignition", dict(
            control_plane_oras_install=False, control_plane_pre_commands=["sh " + PLAIN_SCRIPT_PATH],
            control_plane_extra_files=[{"path": PLAIN_SCRIPT_PATH, "permissions": "0755", "content": plain}])),
    })
    return variants


@pytest.fixture(scope="module")
def dead_url():
    return "http://127.0.0.1:%d" % free_port()


@pytest.fixture(scope="module")
def render(k0s_artifact, oras_mirror, tampered_mirror, dead_url, auth_registry, ansible_playbook, tmp_path_factory):
    """render(name) -> the objects k0smotron.oci.control_plane wrote (state=rendered) for that variant.

    All variants render in one ansible-playbook run (one inventory host each, so facts don't mix).
    Default inputs: the blob digest resolved from the pushed tag (artifact_info over TLS + htpasswd),
    credentials rendered into a Secret, ORAS installed from the loopback mirror, a worker template.
    """
    base = tmp_path_factory.mktemp("rendered")
    variants = _variants(k0s_artifact, oras_mirror, tampered_mirror, dead_url)
    hosts = {}
    for name, (api, prov, overrides) in variants.items():
        hv = {
            "ansible_connection": "local",
            "control_plane_state": "rendered", "control_plane_output_dir": str(base / name),
            "control_plane_api_version": api, "control_plane_provisioner": prov,
            "control_plane_artifact_reference": "%s/boot/k0s:v1.34.1-k0s.0" % k0s_artifact["host"],
            "control_plane_registry_username": AUTH_USER, "control_plane_registry_password": AUTH_PASSWORD,
            "control_plane_registry_ca_path": auth_registry.ca["ca"],
            "control_plane_oras_base_url": oras_mirror.url, "control_plane_oras_version": oras_mirror.version,
            "control_plane_workers_enabled": True,
        }
        hv.update(overrides)
        hosts["render_" + name.replace("-", "_")] = hv
    inventory = base / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    play = ("- name: Render every variant\n  hosts: all\n  gather_facts: false\n"
            "  roles:\n    - role: k0smotron.oci.control_plane\n")
    p = ansible_playbook(play, inventory=str(inventory), env={"ANSIBLE_FORKS": "8"})
    assert p.returncode == 0, p.stdout[-6000:]

    def _render(name):
        return Rendered(str(base / name))
    return _render


class Rendered(list):
    """The objects of a rendered directory (fresh copies each time), with ``dir``."""

    def __init__(self, directory):
        super(Rendered, self).__init__(bootsim.load_rendered_dir(directory))
        self.dir = directory


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
    return realboot.host_snapshot()


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
def test_rendered_objects_boot(render, boot, k0s_artifact, api_version, provisioner):
    """The role's output, for its provisioner, boots: control plane and worker template."""
    objs = render("%s-%s" % (api_version, provisioner))
    for kind in ("K0sControlPlane", "K0sWorkerConfigTemplate"):
        obj = _find(objs, kind)
        assert obj["apiVersion"].endswith("/" + api_version)
        assert bootsim.provisioner_of(obj) == provisioner
        res = boot(objs, None, kind=kind)  # None: the provisioner the object asks for
        assert res.provisioner == provisioner
        assert res.ok, res.report()
        assert res.verdict() == bootsim.VERDICT_OK
        assert res.k0s_sha256 == k0s_artifact["sha256"] == _spec(obj)["downloadURL"].rsplit(":", 1)[1]
        assert res.k0s_runs and "v1.34.1+k0s.0" in res.k0s_version_output
        modes = dict((f["path"], f["final_mode"]) for f in res.files_written)
        assert modes["/root/.docker/config.json"] == "0600"
        if provisioner == "ignition":
            # k0smotron's three download lines are ExecStart lines of their own
            assert [s["name"].split(" ", 2)[1] for s in res.steps[-3:]] == ["export", "oras", "chmod"]


# The negative cases render once and boot the same bootstrap data under both provisioner models: the
# role emits the same files and commands for both (only the provisioner field differs).

@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_wrong_password(render, boot, k0s_artifact, provisioner):
    """The rendered Secret edited to hold a wrong password (what a rotated password looks like)."""
    objs = render("v1beta2-cloud-init")
    secret = _find(objs, "Secret")
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    wrong = base64.b64encode(("%s:not-the-password" % AUTH_USER).encode()).decode()
    config["auths"][k0s_artifact["host"]]["auth"] = wrong
    secret["data"][".dockerconfigjson"] = base64.b64encode(json.dumps(config).encode()).decode()
    res = boot(objs, provisioner)
    assert_failed_without_k0s(res, "unauthorized: authentication required")


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_manifest_digest_instead_of_blob_digest(render, boot, k0s_artifact, provisioner):
    """downloadURL edited to the manifest digest (what `oras push` prints), not the k0s blob digest."""
    objs = render("v1beta1-cloud-init")
    _spec(_find(objs, "K0sControlPlane"))["downloadURL"] = "oci://%s/boot/k0s@%s" % (
        k0s_artifact["host"], k0s_artifact["manifest_digest"])
    res = boot(objs, provisioner)
    assert_failed_without_k0s(res, "not found")


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_tampered_oras_tarball(render, boot, provisioner):
    res = boot(render("tampered"), provisioner)
    assert_failed_without_k0s(res, "mismatch for oras_")
    assert "pwned" not in json.dumps([s.get("stdout") for s in res.steps])


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_mirror_down(render, boot, provisioner):
    res = boot(render("mirror-down"), provisioner)
    assert_failed_without_k0s(res, "cannot download http://127.0.0.1:", "nothing installed")


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_missing_permissions(render, boot, provisioner):
    objs = render("v1beta2-cloud-init")
    files = _spec(_find(objs, "K0sControlPlane"))["files"]
    idx = [f["path"] for f in files].index("/root/.docker/config.json")
    del files[idx]["permissions"]
    res = boot(objs, provisioner)
    assert_failed_without_k0s(res, "files[%d] (/root/.docker/config.json)" % idx, "permissions")
    if provisioner == "ignition":
        assert "strconv.ParseInt" in res.error and len(res.steps) == 1
    else:
        # cloud-init itself would boot (and leave the credentials world-readable): shown without strict
        loose = boot(objs, provisioner, strict=False)
        assert loose.ok, loose.report()
        assert dict((f["path"], f["final_mode"]) for f in loose.files_written)["/root/.docker/config.json"] == "0644"
        # k0smotron writes permissions: "" and the real cloud-init falls back to 0644, with only a warning
        assert "Undecodable permissions '', returning default 644" in loose.cloud_init_log


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_k0s_install_dir_is_followed(render, boot, k0s_artifact, provisioner):
    """k0sInstallDir (e.g. /opt/bin on Flatcar, whose /usr is read-only) moves k0smotron's download target.

    k0smotron's download lines do not create the folder: `oras blob fetch --output` fails when it is missing.
    """
    objs = render("v1beta2-" + provisioner)
    spec = _spec(_find(objs, "K0sWorkerConfigTemplate"))
    spec["k0sInstallDir"] = "/opt/bin"
    res = boot(objs, provisioner, kind="K0sWorkerConfigTemplate")
    assert_failed_without_k0s(res, "open /opt/bin/k0s: no such file or directory")
    spec["preK0sCommands"].append("mkdir -p /opt/bin")
    res = boot(objs, provisioner, kind="K0sWorkerConfigTemplate")
    assert res.ok, res.report()
    assert res.k0s_path == "/opt/bin/k0s" and res.k0s_sha256 == k0s_artifact["sha256"]


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_role_k0s_install_dir_creates_the_folder(render, boot, k0s_artifact, provisioner):
    """control_plane_k0s_install_dir renders k0sInstallDir plus the 'mkdir -p' k0smotron's download step needs."""
    objs = render("opt-bin-" + provisioner)
    for kind in ("K0sControlPlane", "K0sWorkerConfigTemplate"):
        spec = _spec(_find(objs, kind))
        assert spec["k0sInstallDir"] == "/opt/bin"
        assert spec["preK0sCommands"][0] == "mkdir -p /opt/bin"
        res = boot(objs, provisioner, kind=kind)
        assert res.ok, res.report()
        assert res.k0s_path == "/opt/bin/k0s" and res.k0s_sha256 == k0s_artifact["sha256"]


@needs_ns
@pytest.mark.parametrize("provisioner, works", [("cloud-init", False), ("ignition", True)])
def test_jinja_marker_in_a_file(render, boot, provisioner, works):
    """Shell's ${#} in a files entry: real cloud-init's Jinja pass fails and it drops the WHOLE user-data
    silently (all stages exit 0; only a WARNING in cloud-init.log); Ignition does not care."""
    objs = render("v1beta2-" + provisioner)
    _spec(_find(objs, "K0sControlPlane"))["files"].append(
        {"path": "/usr/local/lib/count.sh", "permissions": "0755", "content": "#!/bin/sh\nset -- a b\necho ${#}\n"})
    strict = boot(objs, provisioner)
    assert_failed_without_k0s(strict, "files[2] (/usr/local/lib/count.sh) contains '{#'")
    res = boot(objs, provisioner, strict=False)
    if works:
        assert res.ok, res.report()
        return
    assert_failed_without_k0s(res, "was not installed")
    assert all(s["exit_code"] == 0 for s in res.steps if s["name"].startswith("cloud-init: ")), res.report()
    warnings = [ln for ln in res.cloud_init_log.splitlines() if "WARNING" in ln and "jinja" in ln.lower()]
    assert warnings, res.cloud_init_log[-3000:]
    assert not any(f["final_mode"] for f in res.files_written), res.files_written  # nothing written at all
    assert not res.runcmd_script


@needs_ns
@pytest.mark.parametrize("provisioner", PROVISIONERS)
def test_registry_ca_not_trusted_by_the_node(render, provisioner):
    res = bootsim.simulate_boot(render("v1beta2-cloud-init"), provisioner=provisioner, kind="K0sControlPlane")
    assert_failed_without_k0s(res, "x509: certificate signed by unknown authority")


@needs_ns
@pytest.mark.parametrize("provisioner, works", [("cloud-init", True), ("ignition", False)])
def test_plain_oras_install_needs_home_under_ignition(render, boot, k0s_artifact, provisioner, works):
    """Issue 9 regression: without the HOME wrapper, k0smotron's separate `export HOME=/root` line does not
    reach `oras blob fetch` under Ignition and ORAS refuses to start."""
    objs = render("plain-oras")
    res = boot(objs, provisioner)  # same bootstrap data under both models
    if works:
        assert res.ok, res.report()
        assert res.k0s_sha256 == k0s_artifact["sha256"]
    else:
        assert_failed_without_k0s(res, "failed to get user home directory: $HOME is not defined")
        assert res.failed_step["name"].startswith("ExecStart[3] oras blob fetch")


# The seed page's own pre-commands (k0smotron docs, "OCI Registry Integration"), pointed at the loopback
# mirror instead of github.com (the only change besides `sudo mv` -> `mv`: the node image has no sudo).
SEED_COMMANDS = [
    'VERSION="@VER@"',
    'curl -LO "@BASE@/v${VERSION}/oras_${VERSION}_linux_amd64.tar.gz"',
    "mkdir -p oras-install/",
    "tar -zxf oras_${VERSION}_*.tar.gz -C oras-install/",
    "mv oras-install/oras /usr/local/bin/",
    "rm -rf oras_${VERSION}_*.tar.gz oras-install/",
    "export DOCKER_CONFIG=/root/.docker # In addition to downloading hours, we need to make oras use the proper "
    "`.docker/config.json` by setting the directoty of the desired config",
]


@needs_ns
@pytest.mark.parametrize("provisioner, works", [("cloud-init", True), ("ignition", False)])
def test_seed_page_commands(render, boot, k0s_artifact, oras_mirror, provisioner, works):
    """The docs' commands work as one cloud-init script; under Ignition each is its own ExecStart= line of a
    real systemd unit: ${VERSION} is expanded by systemd (to nothing) before sh runs, so curl asks the mirror
    for /v/oras__linux_amd64.tar.gz and the unit stops there."""
    if tools.HOST_ARCH != "amd64":
        pytest.skip("the seed page's commands download the amd64 tarball; this machine is %s" % tools.HOST_ARCH)
    objs = render("plain-oras")
    spec = _spec(_find(objs, "K0sControlPlane"))
    spec["preK0sCommands"] = [c.replace("@VER@", oras_mirror.version).replace("@BASE@", oras_mirror.url)
                              for c in SEED_COMMANDS]
    res = boot(objs, provisioner, strict=False)
    if works:
        assert res.ok, res.report()
        assert res.k0s_sha256 == k0s_artifact["sha256"]
        return
    # systemd keeps ${VERSION} in the unit and expands it (to nothing) when it starts each line. curl -LO (no -f)
    # saves the mirror's 404 page as oras__linux_amd64.tar.gz; tar is the first to fail on it.
    assert res.failed_step["name"].startswith("ExecStart[4] tar -zxf oras_${VERSION}_*.tar.gz"), res.report()
    assert_failed_without_k0s(res, "gzip: stdin: not in gzip format")


@needs_ns
def test_unbalanced_quote_keeps_the_unit_from_loading(render, boot):
    """A single quote in a command ends k0smotron's '...' quoting: real systemd refuses the whole unit."""
    objs = render("v1beta2-ignition")
    _spec(_find(objs, "K0sControlPlane"))["preK0sCommands"].append("echo it's")
    res = boot(objs, "ignition", strict=False)
    assert_failed_without_k0s(res, "Unbalanced quoting", "bad unit file setting")
    assert res.failed_step["name"] == "systemd: load k0s-bootstrap.service"
    assert not [s for s in res.steps if s["name"].startswith("ExecStart[")]  # nothing in it ran


def _sysctls():
    out = subprocess.run(["sysctl", "-a"], capture_output=True, text=True, check=False).stdout
    return dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)


def _etc_state():
    state = {}
    for dirpath, dirnames, filenames in os.walk("/etc"):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            state[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return state


@needs_ns
def test_boots_leave_the_host_alone(render, boot):
    """A booted systemd and cloud-init would set sysctls, the hostname and files in /etc: none reaches the host."""
    objs = render("v1beta2-ignition")
    first, second = _sysctls(), _sysctls()
    # counters that move by themselves (other processes on the host), not settings
    volatile = {k for k in first if first[k] != second.get(k)} | {k for k in first if k.startswith((
        "fs.dentry-state", "fs.file-nr", "fs.inode-", "fs.aio-nr", "fs.quota.", "kernel.random.", "kernel.ns_last_pid",
        "kernel.pty.nr", "kernel.hung_task_detect_count", "net.netfilter.nf_conntrack_count"))}
    etc_before, hostname = _etc_state(), socket.gethostname()
    cgroups_before = sorted(os.listdir(realboot._own_cgroup(realboot.cgroup2_root())))
    for provisioner in PROVISIONERS:
        res = boot(objs, provisioner)
        assert res.ok, res.report()
        assert res.cgroup_removed is True
    after = _sysctls()
    changed = sorted(k for k in set(first) | set(after) if k not in volatile and first.get(k) != after.get(k))
    assert changed == [], ["%s: %s -> %s" % (k, first.get(k), after.get(k)) for k in changed]
    assert _etc_state() == etc_before
    assert socket.gethostname() == hostname
    assert sorted(os.listdir(realboot._own_cgroup(realboot.cgroup2_root()))) == cgroups_before
    leftovers = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True, check=True).stdout
    assert "realboot-" not in leftovers and "bootsim" not in leftovers


def test_cli_on_a_rendered_directory(render, auth_registry):
    """What the demo calls: python -m tests.harness.bootsim --rendered DIR."""
    import subprocess
    import sys
    objs = render("v1beta2-ignition")
    p = subprocess.run([sys.executable, "-m", "tests.harness.bootsim", "--rendered", objs.dir, "--quiet",
                        "--ca", auth_registry.ca["ca"], "--provisioner", "both"],
                       cwd=tools.ROOT, capture_output=True, text=True, check=False)
    if not NS_OK:
        assert p.returncode == 0 and "skipped: " + NS_REASON in p.stdout
        return
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count(bootsim.VERDICT_OK) == 4, p.stdout
