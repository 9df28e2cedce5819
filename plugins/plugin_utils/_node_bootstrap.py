# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""What the nodes get to bootstrap k0s from an ``oci://`` URL: the files (``install-oras.sh`` from
``_node_scripts``, the registry CA, the ``config.json`` Secret reference, the user's extra files), the pre- and
post-commands, what control_plane_images puts on nodes that run a worker (``_capi_images``), and the bootstrap
fields they go into (``K0sControlPlane.spec.k0sConfigSpec``, ``K0sWorkerConfigTemplate.spec.template.spec``).
The ORAS source (release download or the registry) and the TLS settings the nodes use to reach the registry are
read here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.k0smotron.oci.plugins.module_utils._reference import DOWNLOAD_SCHEME, Reference, ReferenceError
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_images import worker_node_content
from ansible_collections.k0smotron.oci.plugins.plugin_utils._capi_settings import (
    CapiError,
    get_bool,
    get_choice,
    get_dict,
    get_int,
    get_list,
    get_str,
    get_value,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_content_rules import (
    check_files,
    check_no_jinja,
    check_plain_commands,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import (
    ORAS_ARCHES,
    NodeScriptError,
    check_http_url,
    check_node_path,
    check_oras_version,
    install_oras_paths,
    install_oras_script,
    oras_tarball,
)

DOCKER_CONFIG_PATH = "/root/.docker/config.json"
DOCKER_CONFIG_KEY = ".dockerconfigjson"
# One or more PEM certificates (and nothing else but white space).
_PEM_CERTS = re.compile(r"\s*(?:-----BEGIN CERTIFICATE-----\r?\n(?:[A-Za-z0-9+/=]{1,76}\r?\n)+"
                        r"-----END CERTIFICATE-----\s*)+")
REGISTRY_CA_FILE = "registry-ca.pem"


def _oras_checksums(settings, version, release_checksums):
    """{arch: sha256} from control_plane_oras_checksums, else picked from the parsed release checksum list."""
    given = get_dict(settings, "control_plane_oras_checksums")
    if given:
        return given
    sums = {}
    for arch in ORAS_ARCHES:
        hexsum = (release_checksums or {}).get(oras_tarball(version, arch))
        if hexsum:
            sums[arch] = hexsum
    if not sums:
        raise CapiError("the ORAS release checksums list none of %s (%s). Check control_plane_oras_version and "
                        "control_plane_oras_base_url (or _checksums_url), or give control_plane_oras_checksums. Nodes "
                        "of an arch without a checksum fail to install ORAS."
                        % (oras_tarball(version, "<arch>"), ", ".join(ORAS_ARCHES)))
    return sums


def check_node_settings(settings):
    """Check what goes to the nodes and needs nothing resolved: paths, the ORAS version, URLs, checksums and
    retries of the node script, the registry TLS settings, the user's commands and files."""
    try:
        install_dir = get_str(settings, "control_plane_k0s_install_dir")
        if install_dir:
            check_node_path(install_dir, "control_plane_k0s_install_dir")
        check_node_path(get_str(settings, "control_plane_oras_install_prefix"), "control_plane_oras_install_prefix")
        if get_bool(settings, "control_plane_oras_install"):
            check_oras_version(get_str(settings, "control_plane_oras_version"))
            check_http_url(get_str(settings, "control_plane_oras_base_url"), "control_plane_oras_base_url")
            if get_str(settings, "control_plane_oras_checksums_url"):
                check_http_url(get_str(settings, "control_plane_oras_checksums_url"), "control_plane_oras_checksums_url")
    except NodeScriptError as e:
        raise CapiError(str(e))
    _check_node_tls(settings)
    sums = get_dict(settings, "control_plane_oras_checksums")
    if oras_registry_source(settings) and get_bool(settings, "control_plane_oras_install"):
        sums = {"amd64": "0" * 64}  # not used with the registry source; the digests are checked instead
    if sums and get_bool(settings, "control_plane_oras_install"):
        # checks the checksums and the retries as the build will
        _install_oras_file(settings, sums, None, get_str(settings, "control_plane_download_url") or
                           "oci://registry.invalid/not-resolved-yet")
    commands = get_list(settings, "control_plane_pre_commands") + get_list(settings, "control_plane_post_commands")
    check_plain_commands(commands, "control_plane_pre_commands / control_plane_post_commands")
    check_files(get_list(settings, "control_plane_extra_files"), "control_plane_extra_files")


def registry_ca(settings):
    """control_plane_registry_ca checked (PEM CERTIFICATE blocks), with a final newline; "" when unset."""
    pem = get_str(settings, "control_plane_registry_ca")
    if not pem.strip():
        return ""
    if not _PEM_CERTS.fullmatch(pem):
        raise CapiError("control_plane_registry_ca must be PEM text of one or more certificates (-----BEGIN "
                        "CERTIFICATE----- ... -----END CERTIFICATE-----, base64 lines of at most 76 characters), "
                        "the CA that signed the registry's TLS certificate; not a path, not a key")
    return pem.strip() + "\n"


def registry_ca_path(settings):
    return "%s/%s" % (install_oras_paths(get_str(settings, "control_plane_oras_install_prefix"))[1], REGISTRY_CA_FILE)


def node_registry(settings, download_url):
    """The registry the nodes fetch from: control_plane_registry_host, else the download URL's host[:port]."""
    host = get_str(settings, "control_plane_registry_host")
    if host:
        return host
    if not (download_url or "").startswith(DOWNLOAD_SCHEME):
        return ""  # an http(s) URL (InPlace): the nodes fetch nothing from a registry
    try:
        return Reference.parse(download_url, option="control_plane_download_url", allow_scheme=True).registry
    except ReferenceError as e:
        raise CapiError(str(e))


def _check_node_tls(settings):
    """CA / plain HTTP for the nodes need our oras wrapper (k0smotron runs oras with no flags)."""
    ca, plain = registry_ca(settings), get_bool(settings, "control_plane_registry_node_plain_http")
    if (ca or plain) and not get_bool(settings, "control_plane_oras_install"):
        raise CapiError("control_plane_registry_ca / control_plane_registry_node_plain_http need "
                        "control_plane_oras_install: true: k0smotron runs 'oras blob fetch' with no flags, and only "
                        "the role's oras wrapper adds --ca-file / --plain-http for the registry")
    return ca, plain


ORAS_SOURCES = ("release", "registry")


def oras_registry_source(settings):
    """control_plane_oras_artifact as {registry, repository, digests: {arch: sha256:HEX}, sizes: {arch: bytes}}; None
    with the release source. Accepts {repository: REG/REPO, digests: {...}, sizes: {...} (optional)} and the
    oras_publish role's oras_publish_result ({arch: {registry, repository, digest, size, ...}})."""
    if get_choice(settings, "control_plane_oras_source", ORAS_SOURCES) != "registry":
        return None
    artifact = get_dict(settings, "control_plane_oras_artifact")
    usage = ("control_plane_oras_source is registry: control_plane_oras_artifact must be {repository: REGISTRY/REPOSITORY, "
             "digests: {amd64: sha256:HEX, ...}} or the fact oras_publish_result of k0smotron.oci.oras_publish")
    if "digests" in artifact or "repository" in artifact:
        repo = artifact.get("repository")
        if not isinstance(repo, str) or "/" not in repo or not isinstance(artifact.get("digests"), dict):
            raise CapiError(usage)
        registry, repository = repo.split("/", 1)
        return {"registry": registry, "repository": repository, "digests": dict(artifact["digests"]),
                "sizes": dict(artifact.get("sizes") or {})}
    entries = [v for v in artifact.values() if isinstance(v, dict)]
    if not artifact or len(entries) != len(artifact) or not all("digest" in e for e in entries):
        raise CapiError(usage)
    places = set((e.get("registry"), e.get("repository")) for e in entries)
    if len(places) != 1:
        raise CapiError("control_plane_oras_artifact: the architectures name different registries or repositories "
                        "(%s); publish them as one artifact" % ", ".join(sorted("%s/%s" % p for p in places)))
    registry, repository = places.pop()
    return {"registry": registry, "repository": repository,
            "digests": dict((arch, e["digest"]) for arch, e in artifact.items()),
            "sizes": dict((arch, e["size"]) for arch, e in artifact.items() if "size" in e)}


def _install_oras_file(settings, checksums, script_path, download_url=""):
    ca, plain = _check_node_tls(settings)
    source = oras_registry_source(settings)
    try:
        content = install_oras_script(get_str(settings, "control_plane_oras_version"),
                                      get_str(settings, "control_plane_oras_base_url"),
                                      get_str(settings, "control_plane_oras_install_prefix"), checksums,
                                      get_int(settings, "control_plane_oras_download_retries", 1),
                                      registry=node_registry(settings, download_url) or None,
                                      ca_file=registry_ca_path(settings) if ca else None, plain_http=plain,
                                      source=source)
    except NodeScriptError as e:
        raise CapiError(str(e))
    return {"path": script_path, "permissions": "0755", "content": content}


def node_content(settings, names, release_checksums, download_url, runs_worker=True):
    """(files, pre-commands) of the controllers or the workers; ``runs_worker``: the nodes run a worker, and so
    get what control_plane_images puts on them (before the user's own files and commands)."""
    files, pre = [], []
    ca = registry_ca(settings)
    if ca:
        files.append({"path": registry_ca_path(settings), "permissions": "0644", "content": ca})
    install_dir = get_str(settings, "control_plane_k0s_install_dir")
    if install_dir:
        pre.append("mkdir -p %s" % install_dir)
    if get_bool(settings, "control_plane_oras_install"):
        script_path = install_oras_paths(get_str(settings, "control_plane_oras_install_prefix"))[0]
        version = get_str(settings, "control_plane_oras_version")
        sums = {} if oras_registry_source(settings) else _oras_checksums(settings, version, release_checksums)
        files.append(_install_oras_file(settings, sums, script_path, download_url))
        pre.append("sh %s" % script_path)
    if names.secret:
        files.append({"path": DOCKER_CONFIG_PATH, "permissions": "0600",
                      "contentFrom": {"secretRef": {"name": names.secret, "key": DOCKER_CONFIG_KEY}}})
    if runs_worker:
        images_files, images_pre = worker_node_content(
            settings, names.secret, registry_ca_path(settings) if ca else None,
            get_bool(settings, "control_plane_registry_node_plain_http"), node_registry(settings, download_url))
        files.extend(images_files)
        pre.extend(images_pre)
    files.extend(get_list(settings, "control_plane_extra_files"))
    pre.extend(get_list(settings, "control_plane_pre_commands"))
    check_plain_commands(pre, "control_plane_pre_commands (with the role's own: control_plane_k0s_install_dir)")
    check_files(files, "control_plane_extra_files")
    check_no_jinja(files, "control_plane_extra_files (or the ORAS install script: control_plane_oras_*)")
    return files, pre


def node_spec(settings, names, download_url, files, pre, args):
    """The bootstrap fields of K0sControlPlane.k0sConfigSpec and K0sWorkerConfigTemplate.spec.template.spec."""
    spec = {"downloadURL": download_url}
    install_dir = get_str(settings, "control_plane_k0s_install_dir")
    if install_dir:
        spec["k0sInstallDir"] = install_dir
    if get_str(settings, "control_plane_provisioner") == "ignition":
        ignition = {"variant": get_str(settings, "control_plane_ignition_variant"),
                    "version": str(get_value(settings, "control_plane_ignition_version"))}
        additional = get_str(settings, "control_plane_ignition_additional_config")
        if additional:
            ignition["additionalConfig"] = additional
        if names.api_version == "v1beta1":
            spec["ignition"] = ignition
        else:
            spec["provisioner"] = {"type": "ignition", "ignition": ignition}
    if files:
        spec["files"] = files
    v1 = names.api_version == "v1beta1"
    if pre:
        spec["preStartCommands" if v1 else "preK0sCommands"] = pre
    post = get_list(settings, "control_plane_post_commands")
    if names.secret and get_bool(settings, "control_plane_registry_config_remove"):
        # After k0s is installed and started, the credentials are no longer needed on the node.
        post = ["rm -f %s" % DOCKER_CONFIG_PATH] + post
    if post:
        spec["postStartCommands" if v1 else "postK0sCommands"] = post
    if args:
        spec["args"] = args
    return spec


def check_node_docker_config(dockerconfigjson):
    """The nodes' config.json: a JSON object with inline ``auths`` and no credential helpers (``credsStore``,
    ``credHelpers``: they cannot run on a node, and oras would try them before ``auths``). The message never
    holds any of the text."""
    try:
        config = json.loads(dockerconfigjson)
    except (ValueError, RecursionError):
        config = None
    if not isinstance(config, dict) or not isinstance(config.get("auths"), dict):
        raise CapiError("the docker config for the registry credentials Secret is not a JSON object with 'auths' "
                        "(build it with k0smotron.oci.dockerconfigjson or k0smotron.oci.node_dockerconfigjson)")
    helpers = sorted(k for k in ("credsStore", "credHelpers") if k in config)
    if helpers:
        raise CapiError("the docker config for the nodes holds %s: a credential helper cannot run on a node (and "
                        "oras would try it before the inline auths). Give inline credentials only (the filter "
                        "k0smotron.oci.node_dockerconfigjson drops the helpers)." % " and ".join(helpers))
