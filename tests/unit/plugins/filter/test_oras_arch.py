# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.filter.oras_arch import FilterModule

oras_arch = FilterModule().filters()["oras_arch"]


@pytest.mark.parametrize("machine, arch", [
    ("x86_64", "amd64"),
    ("aarch64", "arm64"),
    ("armv7l", "armv7"),
    ("armhf", "armv7"),
    # A release architecture (the role's oras_arch override) maps to itself.
    ("amd64", "amd64"),
    ("arm64", "arm64"),
    ("armv7", "armv7"),
])
def test_oras_arch(machine, arch):
    assert oras_arch(machine) == arch


@pytest.mark.parametrize("machine", ["riscv64", "arm", "i386", "", None])
def test_oras_arch_unsupported(machine):
    with pytest.raises(AnsibleFilterError, match=r"k0smotron\.oci\.oras_arch: unsupported .*amd64, arm64, armv7"):
        oras_arch(machine)
