# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""Where k0s' own system images come from (``control_plane_images``): ``none`` (k0s' defaults, quay.io),
``bundle`` (the airgap bundle of the node's architecture, fetched from the registry into ``/var/lib/k0s/images/``,
which k0s imports and pins) or ``mirror`` (every image from the private registry: ``spec.images.repository``,
and containerd configured for that registry, since containerd pulls the pause image itself, without kubelet's
credentials).

Two parts: the k0s ``ClusterConfig`` (the user's ``control_plane_k0s_config`` merged with what the mode needs,
a conflict is an error), and what the nodes that run a worker get (workers; controllers with
``--enable-worker``): the bundle fetch script, or the containerd drop-in and ``hosts.toml``. The drop-in holds
the registry's credentials when there are any, so it reaches the node through the registry credentials Secret
(``contentFrom``), never inline in an object.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import DockerConfigError, entry_credentials
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import (
    DOWNLOAD_SCHEME,
    Reference,
    ReferenceError,
    is_registry_host,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils import _containerd as containerd
from ansible_collections.k0smotron.oci.plugins.plugin_utils import _node_fetch as node_fetch
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import (
    CapiError,
    get_choice,
    get_dict,
    get_int,
    get_str,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import (
    K0S_ARCHES,
    install_oras_paths,
    shell_assignments,
)

IMAGES_MODES = ("none", "bundle", "mirror")
IMAGES_DIR = "/var/lib/k0s/images"
# uname -m -> k0s release arch (the airgap bundles' names).
MACHINE_TO_K0S_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
                       "armv7l": "arm", "armv7": "arm", "armhf": "arm", "arm": "arm"}
# k0s airgap bundles are a few hundred MiB; the fetch stops after this many bytes.
BUNDLE_MAX_SIZE = 4 << 30
BUNDLE_SCRIPT = "fetch-images-bundle.sh"
# The Secret key of the containerd drop-in (next to .dockerconfigjson in the registry credentials Secret).
CONTAINERD_SECRET_KEY = "containerd-registry.toml"
# Before k0s v1.34.1, a spec.images.repository with a path (REG/mirror) was applied twice.
SUBPATH_FROM = (1, 34, 1)
CONFIG_VARIABLE = "control_plane_k0s_config"
_DEFAULT_CONFIG = {"apiVersion": "k0s.k0sproject.io/v1beta1", "kind": "ClusterConfig", "metadata": {"name": "k0s"}}


def images_mode(settings):
    return get_choice(settings, "control_plane_images", IMAGES_MODES)


def runs_worker(args):
    """Whether a controller with these k0s args runs a worker (and so imports bundles and runs containerd)."""
    return any(a == "--enable-worker" or a == "--enable-worker=true" for a in args)


def bundle_refs(settings):
    """control_plane_images_bundle as {arch: Reference with a sha256 digest}, every entry checked."""
    bundle = get_dict(settings, "control_plane_images_bundle")
    usage = ("control_plane_images is bundle: control_plane_images_bundle must map k0s arches (%s) to the oci:// URL "
             "of the airgap bundle blob, oci://REGISTRY/REPOSITORY@sha256:HEX (the images facts of "
             "k0smotron.oci.k0s_publish)" % ", ".join(K0S_ARCHES))
    if not bundle:
        raise CapiError(usage)
    refs = {}
    for arch in sorted(bundle):
        url = bundle[arch]
        if arch not in K0S_ARCHES or not isinstance(url, str) or not url.startswith(DOWNLOAD_SCHEME):
            raise CapiError("%s; %r: %r is not usable" % (usage, arch, url))
        try:
            ref = Reference.parse(url, option="control_plane_images_bundle (%s)" % arch, allow_scheme=True)
            if ref.tag or not ref.digest:
                raise ReferenceError("control_plane_images_bundle (%s): %r needs @sha256:HEX and no tag" % (arch, url))
            node_fetch.validate(ref.registry, ref.repository, ref.digest, IMAGES_DIR + "/bundle.tar")
        except (ReferenceError, node_fetch.NodeFetchError) as e:
            raise CapiError("%s (%s)" % (e, usage))
        refs[arch] = ref
    return refs


def mirror_repository(settings):
    """(registry, repository value) of control_plane_images_repository (REG[/PREFIX]), checked against the k0s
    version (a prefix needs k0s >= v1.34.1)."""
    value = get_str(settings, "control_plane_images_repository")
    registry, _sep, prefix = value.partition("/")
    bad = not is_registry_host(registry) or value.endswith("/")
    if prefix and not bad:
        try:
            bad = Reference.parse("%s/%s/x" % (registry, prefix), option="control_plane_images_repository").tag
        except ReferenceError:
            bad = True
    if bad:
        raise CapiError("control_plane_images is mirror: control_plane_images_repository must be REGISTRY[/PREFIX] "
                        "(host[:port], then optional lowercase path components), where the images of the airgap "
                        "bundle are under their own paths (REGISTRY/PREFIX/k0sproject/pause:...), got %r" % (value,))
    if prefix:
        try:
            version = containerd.k0s_version_tuple(get_str(settings, "control_plane_k0s_version"),
                                                   "control_plane_k0s_version decides whether a sub-path works")
        except containerd.ContainerdConfigError as e:
            raise CapiError(str(e))
        if version < SUBPATH_FROM:
            raise CapiError("control_plane_images_repository %r has a sub-path (%s), and control_plane_k0s_version %s "
                            "is older than v1.34.1, which applies such a spec.images.repository twice "
                            "(REG/%s/%s/...). Mirror the images without a prefix (control_plane_images_repository: %s) "
                            "or use k0s v1.34.1 or newer."
                            % (value, prefix, get_str(settings, "control_plane_k0s_version"), prefix, prefix, registry))
    return registry, value


def check_images(settings):
    """Every images setting that needs nothing resolved, and the k0s config merge (conflicts)."""
    mode = images_mode(settings)
    if mode == "bundle":
        bundle_refs(settings)
    elif mode == "mirror":
        mirror_repository(settings)
    k0s_config(settings)
    return mode


def _set(images, key, value, mode):
    if images.get(key, value) != value:
        raise CapiError("%s sets spec.images.%s: %r, but control_plane_images: %s needs %r. Remove it from %s (the "
                        "role sets it) or set control_plane_images: none."
                        % (CONFIG_VARIABLE, key, images[key], mode, value, CONFIG_VARIABLE))
    images[key] = value


def k0s_config(settings):
    """control_plane_k0s_config with what control_plane_images needs merged in ({} stays {} with none).

    bundle: spec.images.default_pull_policy Never (the images are imported, nothing else may be pulled);
    mirror: spec.images.repository. With either, spec.telemetry.enabled is false unless the user's config sets
    it: a node that reaches only the registry cannot send telemetry, and k0s would retry it forever."""
    config = copy.deepcopy(get_dict(settings, CONFIG_VARIABLE))
    mode = images_mode(settings)
    if mode == "none":
        return config
    if not config:
        config = copy.deepcopy(_DEFAULT_CONFIG)
    spec = config.setdefault("spec", {})
    if not isinstance(spec, dict):
        raise CapiError("%s: spec must be a dict (the k0s ClusterConfig spec)" % CONFIG_VARIABLE)
    images = spec.setdefault("images", {})
    telemetry = spec.setdefault("telemetry", {})
    if not isinstance(images, dict) or not isinstance(telemetry, dict):
        raise CapiError("%s: spec.images and spec.telemetry must be dicts (k0s ClusterConfig)" % CONFIG_VARIABLE)
    if mode == "bundle":
        _set(images, "default_pull_policy", "Never", mode)
    else:
        _set(images, "repository", mirror_repository(settings)[1], mode)
    telemetry.setdefault("enabled", False)
    return config


def _registry_auth(config, registry):
    """(user, password) for ``registry`` from a node docker config's inline entry; (None, None) without one."""
    try:
        creds = entry_credentials(config, registry, "the nodes' docker config")
    except DockerConfigError as e:
        raise CapiError(str(e))
    if creds is None:
        return None, None
    if creds.identity_token or not (creds.username and creds.password):
        raise CapiError("control_plane_images is mirror: containerd needs a user name and password for %s "
                        "(control_plane_images_repository), and the nodes' docker config has an identity token or "
                        "no password for it. Give a username and password for %s." % (registry, registry))
    return creds.username, creds.password


def containerd_secret_text(settings, node_config):
    """The drop-in for the Secret key CONTAINERD_SECRET_KEY with mirror: with the credentials of the nodes'
    docker config (``node_config``, parsed) for the mirror's registry, if it has any; None without mirror."""
    if images_mode(settings) != "mirror":
        return None
    registry = mirror_repository(settings)[0]
    return _drop_in(settings, registry, *_registry_auth(node_config, registry))


def _drop_in(settings, registry, user=None, password=None):
    try:
        return containerd.drop_in(get_str(settings, "control_plane_k0s_version"), registry, user, password)
    except containerd.ContainerdConfigError as e:
        raise CapiError("control_plane_images is mirror: %s (control_plane_k0s_version, "
                        "control_plane_images_repository)" % e)


def _bundle_file(settings, script_path, ca_file, plain_http_registry):
    refs = bundle_refs(settings)
    values = [("images_dir", IMAGES_DIR),
              ("arch_map", " ".join("%s=%s" % (k, MACHINE_TO_K0S_ARCH[k]) for k in sorted(MACHINE_TO_K0S_ARCH))),
              ("k0s_arches", ", ".join(K0S_ARCHES)),
              ("bundles", " ".join("%s=%s/%s@%s" % (a, r.registry, r.repository, r.digest) for a, r in sorted(refs.items()))),
              ("fetch_retries", min(get_int(settings, "control_plane_oras_download_retries", 1) - 1,
                                    node_fetch.MAX_RETRIES)),
              ("max_size", BUNDLE_MAX_SIZE), ("ca_file", ca_file or ""),
              ("plain_http_registry", plain_http_registry or "")]
    content = ("#!/bin/sh\n"
               "# fetch-images-bundle.sh - written by the k0smotron.oci.control_plane Ansible role; do not edit on "
               "the node.\n# The values for this cluster; the shipped script follows them unchanged.\n%s%s%s"
               % (shell_assignments(values), node_fetch.fetch_library(), node_fetch.node_script(BUNDLE_SCRIPT)))
    return {"path": script_path, "permissions": "0755", "content": content}


def worker_node_content(settings, secret_name, ca_file, plain_http, node_registry):
    """(files, pre-commands) that nodes running a worker get for control_plane_images.

    ``secret_name``: the registry credentials Secret, if any: the drop-in is its key CONTAINERD_SECRET_KEY
    (containerd_secret_text), since it holds the credentials; without a Secret it is inline, without any.
    ``ca_file``: the registry CA's path on the node; ``plain_http``: the nodes reach ``node_registry`` over
    plain HTTP."""
    mode = images_mode(settings)
    if mode == "bundle":
        libdir = install_oras_paths(get_str(settings, "control_plane_oras_install_prefix"))[1]
        script_path = "%s/%s" % (libdir, BUNDLE_SCRIPT)
        return ([_bundle_file(settings, script_path, ca_file, node_registry if plain_http else "")],
                ["sh %s" % script_path])
    if mode != "mirror":
        return [], []
    registry = mirror_repository(settings)[0]
    hosts = {"path": "%s/%s/hosts.toml" % (containerd.CERTS_DIR, containerd.hosts_dir(registry)),
             "permissions": "0600", "content": containerd.hosts_toml(registry, plain_http, ca_file)}
    if secret_name:
        drop = {"path": containerd.DROP_IN_FILE, "permissions": "0600",
                "contentFrom": {"secretRef": {"name": secret_name, "key": CONTAINERD_SECRET_KEY}}}
    else:
        drop = {"path": containerd.DROP_IN_FILE, "permissions": "0600", "content": _drop_in(settings, registry)}
    return [hosts, drop], []
