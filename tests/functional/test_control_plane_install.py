"""The ORAS install script rendered by the control_plane role, run for real with /bin/sh.

Against a loopback mirror laid out like the ORAS release page and holding the real ORAS CLI: once
as one joined script (cloud-init runs runcmd that way) and once item by item (Ignition: one
``/bin/sh -c`` per ExecStart line, stopping at the first failure), in a scratch prefix
(``control_plane_oras_install_prefix``) and with an environment without HOME. A tampered tarball
(valid tarball, other program) and a mirror that is down must fail and install nothing.
"""
import base64
import glob
import json
import os
import shutil
import stat
import subprocess

import pytest

from tests.harness import mirror as mirror_mod
from tests.harness import tools

from conftest import AUTH_PASSWORD, AUTH_USER
from test_control_plane import ARCH, FAKE_DIGEST, assert_node_rules, render  # noqa: F401 pylint: disable=unused-import

oras_wrapper = tools.plugin_util("_node_scripts").oras_wrapper


def _write_files(spec):
    """Write the files entries that have inline content (the script) to disk, as the provisioner would."""
    for f in spec["files"]:
        if "content" not in f:
            continue
        path = f["path"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(f["content"])
        os.chmod(path, int(f["permissions"], 8))


def _node_env():
    # Like a systemd unit started by Ignition: PATH only, no HOME.
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def _render_install(render, prefix, mirror_url, api_version="v1beta2", **extra):
    xv = {"control_plane_download_url": "oci://registry.example.com/k0s/k0s@" + FAKE_DIGEST,
          "control_plane_api_version": api_version, "control_plane_oras_install_prefix": prefix,
          "control_plane_oras_base_url": mirror_url, "control_plane_oras_download_retries": 2}
    xv.update(extra)
    dummy, dummy, objs = render(xv)
    spec = objs["K0sControlPlane/aws-test"]["spec"]["k0sConfigSpec"]
    assert_node_rules(spec, api_version)
    _write_files(spec)
    return spec["preStartCommands" if api_version == "v1beta1" else "preK0sCommands"]


def _uninstall(prefix):
    """Remove what the script installed, keep the script itself."""
    if os.path.exists(os.path.join(prefix, "bin")):
        shutil.rmtree(os.path.join(prefix, "bin"))
    for d in glob.glob(os.path.join(prefix, "lib", "k0smotron-oci", "oras-*")):
        shutil.rmtree(d)


def _run_commands(cmds, mode, cwd):
    """mode=joined: one /bin/sh script (cloud-init runcmd); items: one /bin/sh -c per item (Ignition ExecStart)."""
    if mode == "joined":
        return [subprocess.run(["/bin/sh", "-c", "\n".join(cmds)], capture_output=True, text=True,
                               env=_node_env(), cwd=cwd, check=False)]
    results = []
    for cmd in cmds:
        r = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, env=_node_env(), cwd=cwd, check=False)
        results.append(r)
        if r.returncode != 0:
            break  # a oneshot unit stops at the first failing ExecStart
    return results


@pytest.fixture(scope="module")
def installer(render, tmp_path_factory, oras_mirror):
    prefix = str(tmp_path_factory.mktemp("node") / "prefix")
    return prefix, _render_install(render, prefix, oras_mirror.url)


@pytest.mark.parametrize("mode", ["joined", "items"])
def test_install_script_installs_oras(installer, tmp_path, oras_mirror, registry, run_module, mode):
    prefix, cmds = installer
    _uninstall(prefix)
    results = _run_commands(cmds, mode, str(tmp_path))
    assert all(r.returncode == 0 for r in results), [(r.stdout, r.stderr) for r in results]
    wrapper = os.path.join(prefix, "bin", "oras")
    real = os.path.join(prefix, "lib", "k0smotron-oci", "oras-%s" % oras_mirror.version, "oras")
    assert os.access(real, os.X_OK) and os.access(wrapper, os.X_OK)
    # The one wrapper definition, shared with the oras role.
    with open(wrapper) as f:
        assert f.read() == oras_wrapper(real, oras_mirror.version, home="/root")
    out = subprocess.run([wrapper, "version"], capture_output=True, text=True, env=_node_env(), check=False)
    assert out.returncode == 0 and "Version:" in out.stdout and oras_mirror.version in out.stdout, out

    # Works without HOME: the real binary alone refuses a registry command, the wrapper runs it.
    d = tmp_path / "blob"
    d.mkdir()
    blob = d / "k0s"
    mirror_mod.stand_in_k0s(str(blob))
    res = run_module("artifact_push", {"reference": "%s/home/k0s:v1" % registry.host, "files": [str(blob)],
                                       "plain_http": True}, expect_fail=False)
    ref = res["download_url"][len("oci://"):]
    no_home = subprocess.run([real, "blob", "fetch", "--plain-http", "--output", str(d / "a"), ref],
                             capture_output=True, text=True, env=_node_env(), check=False)
    assert no_home.returncode != 0 and "HOME" in no_home.stderr, no_home
    ok = subprocess.run([wrapper, "blob", "fetch", "--plain-http", "--output", str(d / "b"), ref],
                        capture_output=True, text=True, env=_node_env(), check=False)
    assert ok.returncode == 0, ok
    assert mirror_mod.sha256_file(str(d / "b")) == mirror_mod.sha256_file(str(blob))

    # Again: the wanted version is there, nothing is downloaded.
    again = _run_commands(cmds, mode, str(tmp_path))
    assert all(r.returncode == 0 for r in again)
    assert "already installed" in again[-1].stderr


def test_install_script_refuses_tampered_tarball(render, tmp_path, tampered_mirror):
    prefix = str(tmp_path / "prefix")
    cmds = _render_install(render, prefix, tampered_mirror.url)
    for mode in ("joined", "items"):
        _check_tampered(prefix, _run_commands(cmds, mode, str(tmp_path)))


def _check_tampered(prefix, results):
    assert results[-1].returncode != 0
    err = "".join(r.stderr for r in results)
    assert "checksum (sha256) mismatch" in err and "nothing installed" in err, err
    assert not os.path.exists(os.path.join(prefix, "bin", "oras"))
    assert not glob.glob(os.path.join(prefix, "lib", "k0smotron-oci", "oras-*"))
    assert "pwned" not in "".join(r.stdout for r in results)


def test_install_script_mirror_down(render, tmp_path):
    # Checksums given as a variable (nothing fetched at render time); the node's mirror is down.
    prefix = str(tmp_path / "prefix")
    cmds = _render_install(render, prefix, "http://127.0.0.1:9", control_plane_oras_checksums={ARCH: "0" * 64})
    results = _run_commands(cmds, "items", str(tmp_path))
    assert results[-1].returncode != 0
    assert "cannot download" in results[-1].stderr
    assert not os.path.exists(os.path.join(prefix, "bin", "oras"))


def test_private_ca_for_the_nodes_oras(render, tmp_path, oras_mirror, auth_registry, run_module):
    """control_plane_registry_ca: the CA goes to the node as a file and the wrapper gives it to the real oras for
    that registry only. k0smotron's own line, 'oras blob fetch --output PATH REG/REPO@DIGEST' without flags,
    then works against the TLS + htpasswd registry with a private CA; without the option it fails (x509). A
    re-run with another setting rewrites the wrapper of the installed ORAS."""
    blob = tmp_path / "k0s"
    mirror_mod.stand_in_k0s(str(blob))
    res = run_module("artifact_push", {"reference": "%s/ca/k0s:v1" % auth_registry.host, "files": [str(blob)],
                                       "username": AUTH_USER, "password": AUTH_PASSWORD,
                                       "ca_path": auth_registry.ca["ca"]}, expect_fail=False)
    ref = res["download_url"][len("oci://"):]
    with open(auth_registry.ca["ca"]) as f:
        pem = f.read()
    home = tmp_path / "root"
    (home / ".docker").mkdir(parents=True)
    auth = base64.b64encode(("%s:%s" % (AUTH_USER, AUTH_PASSWORD)).encode()).decode()
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth}}}))
    env = dict(_node_env(), HOME=str(home))  # oras finds HOME/.docker/config.json (on a node HOME=/root)
    prefix = str(tmp_path / "prefix")
    wrapper = os.path.join(prefix, "bin", "oras")

    def k0smotron_fetch(out):
        return subprocess.run([wrapper, "blob", "fetch", "--output", str(tmp_path / out), ref], capture_output=True,
                              text=True, env=env, check=False)

    url = "oci://" + ref
    cmds = _render_install(render, prefix, oras_mirror.url, control_plane_download_url=url)
    assert all(r.returncode == 0 for r in _run_commands(cmds, "items", str(tmp_path)))
    plain = k0smotron_fetch("plain")
    assert plain.returncode != 0 and ("x509" in plain.stderr or "certificate" in plain.stderr), plain.stderr

    cmds = _render_install(render, prefix, oras_mirror.url, control_plane_download_url=url,
                           control_plane_registry_ca=pem)
    results = _run_commands(cmds, "items", str(tmp_path))
    assert all(r.returncode == 0 for r in results) and "updated its wrapper" in results[-1].stderr
    ca_file = os.path.join(prefix, "lib", "k0smotron-oci", "registry-ca.pem")
    assert open(ca_file).read() == pem.strip() + "\n" and stat.S_IMODE(os.stat(ca_file).st_mode) == 0o644
    ok = k0smotron_fetch("ok")
    assert ok.returncode == 0, ok.stderr
    assert mirror_mod.sha256_file(str(tmp_path / "ok")) == mirror_mod.sha256_file(str(blob))


# --------------------------------------------------------------------------- ORAS from the registry alone (issue 15)

DEAD_MIRROR = "http://127.0.0.1:9"  # no mirror: install-oras.sh must not need one


@pytest.fixture(scope="module")
def oras_tarball(oras_mirror):
    path = os.path.join(oras_mirror.root, "v%s" % oras_mirror.version,
                        "oras_%s_linux_%s.tar.gz" % (oras_mirror.version, ARCH))
    return path, "sha256:" + mirror_mod.sha256_file(path)


def _registry_install(render, tmp_path, registry_host, digest, repository="air/oras", **extra):
    prefix = str(tmp_path / "prefix")
    xv = {"control_plane_download_url": "oci://%s/air/k0s@%s" % (registry_host, FAKE_DIGEST),
          "control_plane_oras_source": "registry",
          "control_plane_oras_artifact": {"repository": "%s/%s" % (registry_host, repository), "digests": {ARCH: digest}}}
    xv.update(extra)
    cmds = _render_install(render, prefix, DEAD_MIRROR, **xv)
    return prefix, cmds


def _docker_config(tmp_path, host, password):
    d = tmp_path / "docker"
    d.mkdir(exist_ok=True)
    auth = base64.b64encode(("%s:%s" % (AUTH_USER, password)).encode()).decode()
    (d / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return str(d)


def _run_with_config(cmds, tmp_path, docker_config):
    env = dict(_node_env(), DOCKER_CONFIG=docker_config)  # on a node: /root/.docker/config.json
    return [subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, env=env, cwd=str(tmp_path),
                           check=False) for cmd in cmds]


def _nothing_installed(prefix):
    return not os.path.exists(os.path.join(prefix, "bin", "oras")) and \
        not glob.glob(os.path.join(prefix, "lib", "k0smotron-oci", "oras-*"))


def test_oras_from_the_registry_alone(render, tmp_path, auth_registry, run_module, oras_tarball, oras_mirror):
    """control_plane_oras_source=registry against the TLS + htpasswd registry with a private CA
    (control_plane_registry_ca) and config.json credentials; the mirror URL is dead. Wrong credentials fail
    clearly with nothing installed."""
    path, digest = oras_tarball
    run_module("artifact_push", {"reference": "%s/air/oras:v%s" % (auth_registry.host, oras_mirror.version),
                                 "files": [path], "username": AUTH_USER, "password": AUTH_PASSWORD,
                                 "ca_path": auth_registry.ca["ca"]}, expect_fail=False)
    with open(auth_registry.ca["ca"]) as f:
        pem = f.read()
    prefix, cmds = _registry_install(render, tmp_path, auth_registry.host, digest, control_plane_registry_ca=pem)
    script = open(os.path.join(prefix, "lib", "k0smotron-oci", "install-oras.sh")).read()
    assert DEAD_MIRROR not in script.replace("release_url=" + DEAD_MIRROR, "")

    bad = _run_with_config(cmds, tmp_path, _docker_config(tmp_path, auth_registry.host, "wrong-password"))
    err = "".join(r.stderr for r in bad)
    assert bad[-1].returncode != 0 and "oci_blob_fetch exit 3" in err and "nothing installed" in err, err
    assert "wrong-password" not in err and AUTH_PASSWORD not in err
    assert _nothing_installed(prefix)

    ok = _run_with_config(cmds, tmp_path, _docker_config(tmp_path, auth_registry.host, AUTH_PASSWORD))
    assert all(r.returncode == 0 for r in ok), [r.stderr for r in ok]
    assert AUTH_PASSWORD not in "".join(r.stderr + r.stdout for r in ok)
    wrapper = os.path.join(prefix, "bin", "oras")
    out = subprocess.run([wrapper, "version"], capture_output=True, text=True, env=_node_env(), check=False)
    assert out.returncode == 0 and oras_mirror.version in out.stdout, out
    again = _run_with_config(cmds, tmp_path, _docker_config(tmp_path, auth_registry.host, AUTH_PASSWORD))
    assert "already installed" in again[-1].stderr


def test_oras_from_the_registry_tampered_blob(render, tmp_path, proxy, run_module, oras_tarball, oras_mirror):
    """Plain HTTP (control_plane_registry_node_plain_http) through a proxy that flips a byte of every blob: the
    sha256 check fails, nothing is installed."""
    path, digest = oras_tarball
    run_module("artifact_push", {"reference": "%s/air/oras:v%s" % (proxy.host, oras_mirror.version),
                                 "files": [path], "plain_http": True}, expect_fail=False)
    proxy.add("GET", r"/blobs/sha256:", "corrupt", count=100)
    prefix, cmds = _registry_install(render, tmp_path, proxy.host, digest,
                                     control_plane_registry_node_plain_http=True)
    results = _run_with_config(cmds, tmp_path, str(tmp_path / "no-docker-config"))
    err = "".join(r.stderr for r in results)
    assert results[-1].returncode != 0 and "sha256 mismatch" in err and "nothing installed" in err, err
    assert _nothing_installed(prefix)
