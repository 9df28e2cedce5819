"""control_plane_images: bundle, the node side run for real (issue 21).

A small airgap bundle made by the tests (tests/harness/ocilayout.py: an OCI image layout tar named like k0s'
image list) is pushed with k0smotron.oci.artifact_push to the TLS + htpasswd registry. The role renders the
workers' objects; the fetch script from their files entries and its plain pre-command run with /bin/sh, in an
environment like a systemd unit's (no HOME), with the credentials of a config.json and the private CA of
control_plane_registry_ca. The script's images_dir value line is pointed at a scratch folder (on a node it is
/var/lib/k0s/images): that line is the only thing the test changes.
"""
import os
import stat

from tests.harness import mirror as mirror_mod
from tests.harness import ocilayout

from conftest import AUTH_PASSWORD, AUTH_USER
from test_control_plane import FAKE_DIGEST, PLAIN_COMMAND, render  # noqa: F401 pylint: disable=unused-import
from test_control_plane_install import _docker_config, _run_with_config, _write_files

K0S_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(os.uname().machine, "amd64")


def test_bundle_fetched_into_the_images_folder(render, tmp_path, auth_registry, run_module):
    bundle = ocilayout.Bundle(images=ocilayout.K0S_IMAGES[-2:]).write_tar(str(tmp_path / "bundle.tar"))
    sha = mirror_mod.sha256_file(bundle)
    run_module("artifact_push", {"reference": "%s/air/images:v1.34.1-k0s.0" % auth_registry.host, "files": [bundle],
                                 "username": AUTH_USER, "password": AUTH_PASSWORD, "ca_path": auth_registry.ca["ca"]},
               expect_fail=False)
    with open(auth_registry.ca["ca"]) as f:
        pem = f.read()
    prefix = str(tmp_path / "prefix")
    xv = {"control_plane_download_url": "oci://%s/air/k0s@%s" % (auth_registry.host, FAKE_DIGEST),
          "control_plane_api_version": "v1beta2", "control_plane_oras_install_prefix": prefix,
          "control_plane_oras_checksums": {"amd64": "0" * 64}, "control_plane_registry_ca": pem,
          "control_plane_workers_enabled": True, "control_plane_images": "bundle",
          "control_plane_images_bundle": {K0S_ARCH: "oci://%s/air/images@sha256:%s" % (auth_registry.host, sha)}}
    dummy, dummy, objs = render(xv)
    spec = objs["K0sWorkerConfigTemplate/aws-test-md-0"]["spec"]["template"]["spec"]
    _write_files(spec)
    script = os.path.join(prefix, "lib", "k0smotron-oci", "fetch-images-bundle.sh")
    images = tmp_path / "images"
    with open(script) as f:
        text = f.read()
    assert "images_dir=/var/lib/k0s/images\n" in text
    with open(script, "w") as f:
        f.write(text.replace("images_dir=/var/lib/k0s/images\n", "images_dir=%s\n" % images, 1))
    cmds = [c for c in spec["preK0sCommands"] if "fetch-images-bundle" in c]
    assert cmds == ["sh " + script] and PLAIN_COMMAND.match(cmds[0])
    target = images / ("k0s-airgap-bundle-%s.tar" % K0S_ARCH)

    bad = _run_with_config(cmds, tmp_path, _docker_config(tmp_path, auth_registry.host, "wrong-password"))
    err = "".join(r.stderr for r in bad)
    assert bad[-1].returncode != 0 and "oci_blob_fetch exit 3" in err and "nothing written" in err, err
    assert "wrong-password" not in err and AUTH_PASSWORD not in err
    assert not images.exists() or os.listdir(str(images)) == []

    ok = _run_with_config(cmds, tmp_path, _docker_config(tmp_path, auth_registry.host, AUTH_PASSWORD))
    assert ok[-1].returncode == 0, ok[-1].stderr
    assert AUTH_PASSWORD not in ok[-1].stderr + ok[-1].stdout
    assert os.listdir(str(images)) == [target.name]   # no temp file left next to it
    assert mirror_mod.sha256_file(str(target)) == sha
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o644

    again = _run_with_config(cmds, tmp_path, _docker_config(tmp_path, auth_registry.host, AUTH_PASSWORD))
    assert again[-1].returncode == 0 and mirror_mod.sha256_file(str(target)) == sha
