# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_fetch import node_script
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import (
    ORAS_ARCHES,
    NodeScriptError,
    WRAPPER_MARKER,
    install_oras_script,
    oras_arch,
    oras_release,
    oras_wrapper,
)


@pytest.mark.parametrize("machine, arch", [("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "armv7")])
def test_oras_arch(machine, arch):
    assert oras_arch(machine) == arch


def test_oras_arch_unknown():
    with pytest.raises(ValueError, match="riscv64.*amd64, arm64, armv7"):
        oras_arch("riscv64")


@pytest.mark.parametrize("machine, expected", [("x86_64", "amd64"), ("aarch64", "arm64"), ("armhf", "armv7"), ("mips", None)])
def test_install_script_maps_the_machine_in_sh(tmp_path, machine, expected):
    """install-oras.sh finds the arch from ``uname -m`` with the one map (MACHINE_TO_ORAS_ARCH), then looks up its
    checksum; a stand-in curl that fails ends the run right after (nothing is downloaded)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("uname", "echo %s" % machine), ("curl", "echo \"curl $*\" >&2; exit 7")):
        (bin_dir / name).write_text("#!/bin/sh\n%s\n" % text)
        (bin_dir / name).chmod(0o755)
    sums = dict((arch, str(i) * 64) for i, arch in enumerate(ORAS_ARCHES))
    script = tmp_path / "install-oras.sh"
    script.write_text(install_oras_script("1.3.0", "http://127.0.0.1:9/x", str(tmp_path / "p"), sums, 1))
    proc = subprocess.run(["sh", str(script)], capture_output=True, text=True, check=False,
                          env={"PATH": "%s:/usr/bin:/bin" % bin_dir})
    assert proc.returncode == 1
    if expected is None:
        assert "unsupported machine architecture mips (ORAS release assets: amd64, arm64, armv7)" in proc.stderr
    else:
        assert "oras_1.3.0_linux_%s.tar.gz" % expected in proc.stderr, proc.stderr


@pytest.mark.parametrize("home, expected", [("", "/root"), ("/home/it's", "/home/it's")])
def test_oras_wrapper_sets_home_only_when_unset(tmp_path, home, expected):
    real = tmp_path / "real oras"
    real.write_text('#!/bin/sh\necho "HOME=$HOME args=$*"\n')
    real.chmod(0o755)
    wrapper = tmp_path / "oras"
    wrapper.write_text(oras_wrapper(str(real), "1.3.0", home=home))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    assert WRAPPER_MARKER in wrapper.read_text()
    env = {"PATH": os.environ["PATH"]}
    out = subprocess.run([str(wrapper), "blob", "fetch"], env=env, capture_output=True, text=True, check=True).stdout
    if os.getuid() == 0 or home:
        assert out.strip() == "HOME=%s args=blob fetch" % expected
    env["HOME"] = "/elsewhere"
    out = subprocess.run([str(wrapper), "x"], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "HOME=/elsewhere args=x"


# --------------------------------------------------------------------------- wrapper flags for one registry (issue 15)

def _wrapper_args(tmp_path, args, **kw):
    """Run the wrapper over a stand-in real binary that prints each argument on its own line."""
    real = tmp_path / "real-oras"
    real.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    real.chmod(0o755)
    wrapper = tmp_path / "oras"
    wrapper.write_text(oras_wrapper(str(real), "1.3.0", home="/root", **kw))
    wrapper.chmod(0o755)
    proc = subprocess.run(["/bin/sh", str(wrapper)] + args, env={"PATH": os.environ["PATH"]}, capture_output=True,
                          text=True, check=True)
    return proc.stdout.splitlines()


CA = "/usr/local/lib/k0smotron-oci/registry-ca.pem"
REF = "reg.example.com:5000/k0s/k0s@sha256:" + "ab" * 32


@pytest.mark.parametrize("args, expected", [
    # What k0smotron runs: flags go in after the subcommand.
    (["blob", "fetch", "--output", "/usr/local/bin/k0s", REF],
     ["blob", "fetch", "--ca-file", CA, "--plain-http", "--output", "/usr/local/bin/k0s", REF]),
    (["pull", REF], ["pull", "--ca-file", CA, "--plain-http", REF]),
    (["manifest", "fetch", REF], ["manifest", "fetch", "--ca-file", CA, "--plain-http", REF]),
    # Other registries (another port, a longer host, a path that merely contains the host) are left alone.
    (["blob", "fetch", "--output", "/x", "reg.example.com/k0s/k0s@sha256:" + "ab" * 32],
     ["blob", "fetch", "--output", "/x", "reg.example.com/k0s/k0s@sha256:" + "ab" * 32]),
    (["blob", "fetch", "--output", "/x", "reg.example.com:50000/k/k@sha256:" + "ab" * 32],
     ["blob", "fetch", "--output", "/x", "reg.example.com:50000/k/k@sha256:" + "ab" * 32]),
    (["pull", "evil.reg.example.com:5000/x:y"], ["pull", "evil.reg.example.com:5000/x:y"]),
    (["pull", "other.example.com/reg.example.com:5000/x:y"], ["pull", "other.example.com/reg.example.com:5000/x:y"]),
    # Other commands, even for that registry, are left alone.
    (["push", REF, "file"], ["push", REF, "file"]),
    (["blob", "push", REF, "file"], ["blob", "push", REF, "file"]),
    (["version"], ["version"]),
    ([], []),
    (["it's", "a b"], ["it's", "a b"]),
])
def test_oras_wrapper_flags_for_the_registry_only(tmp_path, args, expected):
    assert _wrapper_args(tmp_path, args, registry="reg.example.com:5000", ca_file=CA, plain_http=True) == expected


def test_oras_wrapper_ca_only_and_plain_only(tmp_path):
    args = ["blob", "fetch", "--output", "/x", REF]
    assert _wrapper_args(tmp_path, args, registry="reg.example.com:5000", ca_file="/a b/ca.pem") == \
        ["blob", "fetch", "--ca-file", "/a b/ca.pem", "--output", "/x", REF]
    assert _wrapper_args(tmp_path, args, registry="reg.example.com:5000", plain_http=True) == \
        ["blob", "fetch", "--plain-http", "--output", "/x", REF]


def test_oras_wrapper_ignores_the_registry_without_flags():
    assert oras_wrapper("/x/oras", "1.3.0", home="/root") == oras_wrapper("/x/oras", "1.3.0", "/root", registry="r")
    assert "\nregistry=''\n" in oras_wrapper("/x/oras", "1.3.0")
    with pytest.raises(NodeScriptError, match="host\\[:port\\]"):
        oras_wrapper("/x/oras", "1.3.0", registry="reg.example.com/path", plain_http=True)


@pytest.mark.parametrize("base, version, checksums_url, expected_checksums", [
    ("https://github.com/oras-project/oras/releases/download", "1.3.0", "",
     "https://github.com/oras-project/oras/releases/download/v1.3.0/oras_1.3.0_checksums.txt"),
    ("http://127.0.0.1:8080/oras/", "1.2.3-rc.1", "", "http://127.0.0.1:8080/oras/v1.2.3-rc.1/oras_1.2.3-rc.1_checksums.txt"),
    ("http://m/oras", "1.3.0", "http://other/sums.txt", "http://other/sums.txt"),
])
def test_oras_release_layout(base, version, checksums_url, expected_checksums):
    release = oras_release(base, version, checksums_url=checksums_url)
    plain = version
    assert release["version"] == plain
    assert release["checksums_url"] == expected_checksums
    assert sorted(release["assets"]) == sorted(ORAS_ARCHES)
    assert release["assets"]["armv7"] == "oras_%s_linux_armv7.tar.gz" % plain
    assert release["urls"]["arm64"] == "%s/v%s/oras_%s_linux_arm64.tar.gz" % (base.rstrip("/"), plain, plain)


@pytest.mark.parametrize("version", ["v1.3.0", "1.3.0\n", "1.3", "1.3.0;id", ""])
def test_oras_release_refuses_a_bad_version(version):
    with pytest.raises(NodeScriptError, match="oras_version must be an ORAS release version"):
        oras_release("https://example.com", version, variable="oras_version")


@pytest.mark.parametrize("name", ["install-oras.sh", "oci-blob-fetch.sh", "oras-wrapper.sh"])
def test_shipped_scripts_parse_in_dash_and_busybox_and_survive_cloud_init(name):
    """Each shipped node script once, on its own (the goldens show it as one line naming it): POSIX sh for
    dash and busybox ash, and nothing cloud-init's Jinja pass would consume."""
    text = node_script(name)
    for delimiter in ("{{", "{%", "{#"):
        assert delimiter not in text, delimiter
    for argv in (["dash", "-n"], ["busybox", "sh", "-n"]):
        if not shutil.which(argv[0]):
            pytest.skip("%s is not installed (scripts/setup.sh)" % argv[0])
        proc = subprocess.run(argv, input=text, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (argv, proc.stderr)
