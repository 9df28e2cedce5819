# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import subprocess

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._node_scripts import (
    ORAS_ARCHES,
    WRAPPER_MARKER,
    machine_arch_case,
    oras_arch,
    oras_wrapper,
)


@pytest.mark.parametrize("machine, arch", [("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "armv7")])
def test_oras_arch(machine, arch):
    assert oras_arch(machine) == arch


def test_oras_arch_unknown():
    with pytest.raises(ValueError, match="riscv64.*amd64, arm64, armv7"):
        oras_arch("riscv64")


@pytest.mark.parametrize("machine, expected", [("x86_64", "amd64"), ("aarch64", "arm64"), ("armhf", "armv7"), ("mips", None)])
def test_machine_arch_case_runs_in_sh(machine, expected):
    script = "machine=%s\n%secho \"$arch\"\n" % (machine, machine_arch_case())
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    if expected is None:
        assert proc.returncode == 1 and "unsupported machine architecture mips" in proc.stderr
    else:
        assert proc.returncode == 0 and proc.stdout.strip() == expected
    assert all(arch in machine_arch_case() for arch in ORAS_ARCHES)


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
