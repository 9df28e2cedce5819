# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._layout import LayoutError, target_name


@pytest.mark.parametrize("ref_name, prefix, expected", [
    ("quay.io/k0sproject/pause:3.10.1", "", ("k0sproject/pause", "3.10.1")),
    ("quay.io/k0sproject/pause:3.10.1", "mirror", ("mirror/k0sproject/pause", "3.10.1")),
    ("quay.io/k0sproject/pause:3.10.1", "/a/b/", ("a/b/k0sproject/pause", "3.10.1")),
    ("registry.k8s.io/metrics-server/metrics-server:v0.7.2", "", ("metrics-server/metrics-server", "v0.7.2")),
    ("localhost:5000/team/app:1", "", ("team/app", "1")),
    ("docker.io/library/busybox:1.36", "", ("library/busybox", "1.36")),
    # no registry host in front: the whole path is kept, as k0s' spec.images.repository keeps it
    ("k0sproject/pause:3.10.1", "", ("k0sproject/pause", "3.10.1")),
])
def test_target_name_drops_the_registry_host_and_keeps_the_path(ref_name, prefix, expected):
    assert target_name(ref_name, prefix) == expected


@pytest.mark.parametrize("ref_name", ["pause", "3.10.1", "quay.io/k0sproject/pause", "quay.io/k0sproject/pause@sha256:" + "a" * 64,
                                      "quay.io/k0sproject/pause:bad tag", "quay.io/k0sproject/pause:3.10.1\n"])
def test_names_without_a_usable_tag_are_refused(ref_name):
    with pytest.raises(LayoutError):
        target_name(ref_name)


def test_a_tag_suffix_goes_after_the_tag_and_must_keep_it_valid():
    assert target_name("quay.io/k0sproject/pause:3.10.1", "m", "-arm64") == ("m/k0sproject/pause", "3.10.1-arm64")
    with pytest.raises(LayoutError) as e:
        target_name("quay.io/k0sproject/pause:3.10.1", "", "/x")
    assert "tag suffix '/x'" in str(e.value)
