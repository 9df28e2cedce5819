# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""Day 2: the rules for upgrading a cluster whose k0s comes from an ``oci://`` URL. Which
``K0sControlPlane.spec.updateStrategy`` works with it (k0smotron and k0s autopilot decide this), and whether the
artifact holds the k0s version the cluster asks for (``K0sControlPlane.spec.version`` and ``downloadURL`` change
together)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import CapiError, get_bool, get_choice

# K0sControlPlane.spec.updateStrategy of k0smotron v2.1.0 (CRD enum); only the Recreate ones work with oci://.
UPDATE_STRATEGIES = ("InPlace", "Recreate", "RecreateDeleteFirst")
# Manifest annotation that k0s_publish writes: the k0s version of the artifact.
VERSION_ANNOTATION = "org.opencontainers.image.version"


def check_update_strategy(settings, download_url, workers=False, bundle=False):
    """Refuse updateStrategy InPlace with an oci:// URL on the nodes unless control_plane_allow_inplace_oci is set.

    With InPlace, k0smotron hands downloadURL to k0s autopilot (an update plan), and autopilot downloads over
    HTTP(S) only: the version bump would fail on every node. Since k0smotron v2.1.0 the workers are updated in
    place the same way (``workers``: the K0sWorkerConfigTemplate carries the URL too), and an airgap bundle
    (``bundle``: control_plane_images is bundle, whose bundles are oci:// blobs) would be fetched by autopilot
    as well."""
    strategy = get_choice(settings, "control_plane_update_strategy", UPDATE_STRATEGIES)
    if strategy != "InPlace" or get_bool(settings, "control_plane_allow_inplace_oci"):
        return strategy
    where = []
    if isinstance(download_url, str) and download_url.startswith("oci://"):
        where.append("the k0s download URL of the %s is an oci:// URL"
                     % ("K0sControlPlane and the workers' K0sWorkerConfigTemplate" if workers else "K0sControlPlane"))
    if bundle:
        where.append("the airgap bundles of control_plane_images: bundle are oci:// blobs")
    if where:
        raise CapiError("control_plane_update_strategy is InPlace, but %s. With InPlace, k0smotron hands the "
                        "controllers' and the workers' downloads to k0s autopilot, which downloads only over "
                        "HTTP(S): the next version bump would fail on every node. Use Recreate (new machines, then the "
                        "old ones go) or RecreateDeleteFirst (old machine first; for clusters without spare capacity). "
                        "Set control_plane_allow_inplace_oci: true only for an autopilot that can fetch oci:// URLs."
                        % " and ".join(where))
    return strategy


_VERSIONISH = re.compile(r"v?[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]*)?")


def _same_k0s_version(a, b):
    """v1.34.1+k0s.0 == 1.34.1-k0s.0 (tags cannot hold '+'; a leading v is optional)."""
    def norm(v):
        return v.strip().lstrip("v").replace("+", "-")
    return norm(a) == norm(b)


def artifact_version_check(k0s_version, annotations=None, tag=None, reference=""):
    """Compare the k0s version of an artifact with control_plane_k0s_version.

    The artifact's version is its manifest annotation org.opencontainers.image.version (k0s_publish writes it),
    else its tag when the tag looks like a version (v1.34.1-k0s.0). Returns ``(status, message)``: ``ok``,
    ``mismatch`` (the role fails) or ``unknown`` (no version to compare; the role warns)."""
    if not isinstance(k0s_version, str) or not k0s_version:
        raise CapiError("control_plane_k0s_version must be a k0s version such as v1.34.1+k0s.0, got %r"
                        % (k0s_version,))
    annotated = (annotations or {}).get(VERSION_ANNOTATION) if isinstance(annotations, dict) else None
    where = reference or "the artifact"
    if isinstance(annotated, str) and annotated:
        found, source = annotated, "its manifest annotation %s" % VERSION_ANNOTATION
    elif isinstance(tag, str) and _VERSIONISH.fullmatch(tag):
        found, source = tag, "its tag"
    else:
        return ("unknown", "%s carries no k0s version (no %s annotation, and no tag like v1.34.1-k0s.0), so the "
                           "role cannot check that it holds k0s %s (control_plane_k0s_version). Publish with "
                           "k0smotron.oci.k0s_publish, which writes the annotation."
                % (where, VERSION_ANNOTATION, k0s_version))
    if _same_k0s_version(found, k0s_version):
        return ("ok", "%s holds k0s %s (%s)" % (where, found, source))
    return ("mismatch", "%s holds k0s %s (%s), but control_plane_k0s_version is %s. K0sControlPlane.spec.version "
                        "and downloadURL change together in an upgrade: publish the new version and point "
                        "control_plane_artifact_reference (or control_plane_download_url) at it, or set "
                        "control_plane_k0s_version to %s." % (where, found, source, k0s_version, found))
