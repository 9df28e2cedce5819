# -*- coding: utf-8 -*-
"""Day-2 rules of the control_plane objects (issue 15): upgrade-safe rendering, credential rotation, nodes that
need only the registry."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.k0smotron.oci.plugins.module_utils._capi import (
    CapiError,
    artifact_version_check,
    build_objects,
)

from ansible_collections.k0smotron.oci.tests.unit.plugins.module_utils.test__capi import defaults

VERSION = "v1.34.1+k0s.0"


# --------------------------------------------------------------------------- upgrades: InPlace with oci://

@pytest.mark.parametrize("strategy", ["Recreate", "RecreateDeleteFirst"])
def test_recreate_strategies_render(strategy):
    objs = build_objects(defaults(control_plane_update_strategy=strategy))
    kcp = [o for o in objs if o["kind"] == "K0sControlPlane"][0]
    assert kcp["spec"]["updateStrategy"] == strategy


def test_inplace_with_oci_refused_with_reason():
    with pytest.raises(CapiError) as e:
        build_objects(defaults(control_plane_update_strategy="InPlace"))
    msg = str(e.value)
    assert "autopilot" in msg and "HTTP(S)" in msg
    assert "Recreate" in msg and "RecreateDeleteFirst" in msg and "control_plane_allow_inplace_oci" in msg


def test_inplace_allowed_by_override():
    objs = build_objects(defaults(control_plane_update_strategy="InPlace", control_plane_allow_inplace_oci=True))
    assert [o for o in objs if o["kind"] == "K0sControlPlane"][0]["spec"]["updateStrategy"] == "InPlace"


def test_unknown_strategy_refused():
    with pytest.raises(CapiError, match="control_plane_update_strategy must be one of InPlace, Recreate, "
                                        "RecreateDeleteFirst"):
        build_objects(defaults(control_plane_update_strategy="Rolling"))


# --------------------------------------------------------------------------- upgrades: the artifact's k0s version

@pytest.mark.parametrize("annotations, tag, status", [
    ({"org.opencontainers.image.version": VERSION}, None, "ok"),
    ({"org.opencontainers.image.version": "v1.34.1-k0s.0"}, None, "ok"),     # as a tag would spell it
    ({"org.opencontainers.image.version": "v1.33.4+k0s.0"}, "v1.34.1-k0s.0", "mismatch"),  # annotation wins
    ({}, "v1.34.1-k0s.0", "ok"),
    (None, "v1.34.2-k0s.0", "mismatch"),
    ({}, "latest", "unknown"),
    ({}, None, "unknown"),
    ({"org.opencontainers.image.created": "2025-01-01T00:00:00Z"}, "", "unknown"),
])
def test_artifact_version(annotations, tag, status):
    got, msg = artifact_version_check(VERSION, annotations, tag, "reg.example.com/k0s:x")
    assert got == status, msg
    assert "reg.example.com/k0s:x" in msg
    if status == "mismatch":
        assert "control_plane_k0s_version is %s" % VERSION in msg


def test_artifact_version_needs_a_version():
    with pytest.raises(CapiError, match="control_plane_k0s_version"):
        artifact_version_check("", {}, "v1.34.1-k0s.0")
