# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""The Cluster API objects of the ``control_plane`` role, built as data from the role's variables.

``build_objects(settings, ...)`` returns the objects in apply order (Secret, AWSMachineTemplate(s), AWSCluster,
K0sControlPlane, K0sWorkerConfigTemplate, MachineDeployment, Cluster); ``object_names(settings)`` only their
``apiVersion``/``kind``/``metadata`` (what deletion needs). ``settings`` maps the role's variable names
(``control_plane_*``) to their values. Every rule about the objects lives here: Kubernetes names (DNS-1123),
infrastructure references, node content valid under cloud-init and Ignition (plain pre-commands, no Jinja
delimiters, file permissions), no null values. Errors are ``CapiError`` whose message names the variable.
Pure: standard library and the collection's other module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import re

from ansible_collections.k0smotron.oci.plugins.module_utils._capi_schema import is_dns_label, is_dns_subdomain
from ansible_collections.k0smotron.oci.plugins.module_utils._node_scripts import (
    ORAS_ARCHES,
    NodeScriptError,
    check_http_url,
    check_node_path,
    check_oras_version,
    install_oras_paths,
    install_oras_script,
    oras_tarball,
)

AWS_API_VERSION = "infrastructure.cluster.x-k8s.io/v1beta2"
API_VERSIONS = ("v1beta1", "v1beta2")
DOCKER_CONFIG_PATH = "/root/.docker/config.json"
DOCKER_CONFIG_KEY = ".dockerconfigjson"
IGNITION_VARIANTS = ("fcos", "flatcar", "openshift", "r4e", "fiot")
# K0sControlPlane.spec.updateStrategy of k0smotron v2.1.0 (CRD enum); only the Recreate ones work with oci://.
UPDATE_STRATEGIES = ("InPlace", "Recreate", "RecreateDeleteFirst")
OCI_UPDATE_STRATEGIES = ("Recreate", "RecreateDeleteFirst")
# Manifest annotation that k0s_publish writes: the k0s version of the artifact.
VERSION_ANNOTATION = "org.opencontainers.image.version"

# Kinds in apply order with their file-name prefix; deletion runs in reverse (Cluster first: CAPI cascades).
KIND_PREFIX = (
    ("Secret", "00"),
    ("AWSMachineTemplate", "10"),
    ("AWSCluster", "20"),
    ("K0sControlPlane", "30"),
    ("K0sWorkerConfigTemplate", "40"),
    ("MachineDeployment", "50"),
    ("Cluster", "60"),
)
_PREFIX = dict(KIND_PREFIX)

# DNS-1123 label (namespaces, names used as label values) and subdomain (other object names).
_API_VERSION = re.compile(r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
_KIND = re.compile(r"[A-Z][A-Za-z0-9]*")
# A pre/post-command must be one plain line: no quotes, $, %, braces, backslashes, newlines (cloud-init runs the
# list as one script after Jinja; Ignition runs each as ExecStart=/bin/sh -c '...').
_PLAIN_COMMAND = re.compile(r"[^'\"`$%{}\\\n\r]+")
# Jinja opening delimiters: cloud-init renders the user-data with Jinja (## template: jinja).
_JINJA = re.compile(r"\{[{%#]")
_PERMISSIONS = re.compile(r"0?[0-7]{3,4}")
# One or more PEM certificates (and nothing else but white space).
_PEM_CERTS = re.compile(r"\s*(?:-----BEGIN CERTIFICATE-----\r?\n(?:[A-Za-z0-9+/=]{1,76}\r?\n)+"
                        r"-----END CERTIFICATE-----\s*)+")
REGISTRY_CA_FILE = "registry-ca.pem"


class CapiError(ValueError):
    """Settings that cannot make valid objects; the message names the variable and says what to do."""


# --------------------------------------------------------------------------- settings access and checks

def _get(settings, name):
    try:
        return settings[name]
    except KeyError:
        raise CapiError("the settings lack %s (pass every control_plane_* variable of the role)" % name)


def _str(settings, name):
    value = _get(settings, name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CapiError("%s must be a string, got %s" % (name, type(value).__name__))
    return value


def _int(settings, name, minimum=0):
    value = _get(settings, name)
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum or (isinstance(value, str) and value.strip() != str(number)):
        raise CapiError("%s must be a whole number >= %d, got %r" % (name, minimum, value))
    return number


_TRUE = ("1", "yes", "on", "true", "y", "t")
_FALSE = ("0", "no", "off", "false", "n", "f", "")


def _bool(settings, name):
    value = _get(settings, name)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CapiError("%s must be a boolean, got %r" % (name, value))


def _list(settings, name, elements=None):
    value = _get(settings, name)
    if value is None or value == "":
        return []
    if not isinstance(value, list) or (elements and not all(isinstance(v, elements) for v in value)):
        raise CapiError("%s must be a list%s" % (name, " of %s" % elements.__name__ if elements else ""))
    return list(value)


def _dict(settings, name):
    value = _get(settings, name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise CapiError("%s must be a dict, got %s" % (name, type(value).__name__))
    return dict(value)


def _choice(settings, name, choices):
    value = _str(settings, name)
    if value not in choices:
        raise CapiError("%s must be one of %s, got %r" % (name, ", ".join(choices), value))
    return value


def check_dns_label(value, variable):
    """A DNS-1123 label (namespaces; names that are also label values): full match, at most 63 characters."""
    if not is_dns_label(value):
        raise CapiError("%s must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a "
                        "letter or digit, at most 63 characters; got %r" % (variable, value))
    return value


def check_dns_subdomain(value, variable):
    """A DNS-1123 subdomain (most object names): full match, at most 253 characters."""
    if not is_dns_subdomain(value):
        raise CapiError("%s must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending "
                        "with a letter or digit, at most 253 characters; got %r" % (variable, value))
    return value


def _path_of(path):
    return "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in path).lstrip(".") or "(top)"


def _walk(value, path=()):
    """(path, value) of every value in nested dicts/lists, keys included as values."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,), key
            yield from _walk(item, path + (key,))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def check_no_null(value, variable):
    for path, item in _walk(value):
        if item is None:
            raise CapiError("%s holds a null value at %s (an empty or undefined value; note that Ansible renders a "
                            "string holding a Jinja delimiter, and a bare comment opener yields null). Omit the field "
                            "or give it a value." % (variable, _path_of(path)))


def check_no_jinja(value, variable):
    for path, item in _walk(value):
        if isinstance(item, str) and _JINJA.search(item):
            raise CapiError("%s holds a Jinja opening delimiter at %s (an opening brace followed by another brace, a "
                            "percent sign or a hash): cloud-init renders the user-data with Jinja, so this text would "
                            "change or break the node's bootstrap. Write it without that sequence (for example "
                            "expr length instead of the shell's length operator)." % (variable, _path_of(path)))


def check_plain_commands(commands, variable):
    bad = [c for c in commands if not isinstance(c, str) or not _PLAIN_COMMAND.fullmatch(c)]
    if bad:
        raise CapiError("%s: these commands are not plain lines: %r. Under Ignition each command runs as "
                        "ExecStart=/bin/sh -c '...' (quotes break, systemd expands $ and %%), under cloud-init through "
                        "Jinja. Put the logic into a script (control_plane_extra_files, with permissions) and call it "
                        "with one plain line such as 'sh /usr/local/lib/my-step.sh'." % (variable, bad))


def check_files(files, variable):
    for entry in files:
        path = entry.get("path") if isinstance(entry, dict) else None
        label = path if isinstance(path, str) else "(no path)"
        if (not isinstance(path, str) or not path.startswith("/")
                or not isinstance(entry.get("permissions"), str) or not _PERMISSIONS.fullmatch(entry["permissions"])
                or ("content" in entry) == ("contentFrom" in entry)):
            raise CapiError("%s entry %s needs an absolute path, permissions as a quoted octal string (e.g. \"0644\"; "
                            "Ignition cannot parse a file without permissions) and exactly one of content / "
                            "contentFrom." % (variable, label))


def check_ref(ref, variable):
    """An infrastructure reference {apiVersion: GROUP/VERSION, kind: KIND, name: NAME}."""
    if (not isinstance(ref, dict) or not isinstance(ref.get("apiVersion"), str)
            or not _API_VERSION.fullmatch(ref["apiVersion"]) or not isinstance(ref.get("kind"), str)
            or not _KIND.fullmatch(ref["kind"])):
        raise CapiError("With control_plane_infrastructure=none, %s must be a reference {apiVersion: GROUP/VERSION, "
                        "kind: KIND, name: NAME} to infrastructure objects you manage yourself." % variable)
    check_dns_subdomain(ref.get("name"), "%s.name" % variable)
    check_no_null(ref, variable)
    return ref


# --------------------------------------------------------------------------- day 2: upgrades

def check_update_strategy(settings, download_url):
    """Refuse updateStrategy InPlace with an oci:// download URL unless control_plane_allow_inplace_oci is set.

    With InPlace, k0smotron hands downloadURL to k0s autopilot (an update plan), and autopilot downloads over
    HTTP(S) only: the version bump would fail on every node."""
    strategy = _choice(settings, "control_plane_update_strategy", UPDATE_STRATEGIES)
    if (strategy == "InPlace" and isinstance(download_url, str) and download_url.startswith("oci://")
            and not _bool(settings, "control_plane_allow_inplace_oci")):
        raise CapiError("control_plane_update_strategy is InPlace, but the k0s download URL is an oci:// URL. With "
                        "InPlace, k0smotron hands downloadURL to k0s autopilot, which downloads only over HTTP(S): the "
                        "next version bump would fail on every node. Use Recreate (new machines, then the old ones "
                        "go) or RecreateDeleteFirst (old machine first; for clusters without spare capacity). Set "
                        "control_plane_allow_inplace_oci: true only for an autopilot that can fetch oci:// URLs.")
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


# --------------------------------------------------------------------------- derived names

# Labels of the registry credentials Secret: state=present lists older Secrets of the cluster by them, state=absent
# deletes them all by them (a Secret's name changes with its content, see secret_hash).
MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "k0smotron.oci")
CLUSTER_LABEL = "cluster.x-k8s.io/cluster-name"
SECRET_HASH_LENGTH = 8


def secret_hash(dockerconfigjson):
    """First 8 hex digits of the sha256 over the docker config text: the registry Secret's name suffix."""
    return hashlib.sha256(dockerconfigjson.encode("utf-8")).hexdigest()[:SECRET_HASH_LENGTH]


def registry_secret_selector(settings):
    """{apiVersion, kind, metadata.namespace, label_selectors} that finds every registry credentials Secret the role
    rendered for this cluster (in any version, hashed name or not)."""
    names = _Names(settings)
    obj = _head("v1", "Secret", "", names.namespace)
    del obj["metadata"]["name"]
    obj["label_selectors"] = ["%s=%s" % MANAGED_BY_LABEL, "%s=%s" % (CLUSTER_LABEL, names.cluster)]
    return obj


class _Names:
    """The names every object uses, validated. ``dockerconfigjson``: the Secret's content, for its hashed name."""

    def __init__(self, settings, dockerconfigjson=None):
        self.cluster = check_dns_label(_str(settings, "control_plane_cluster_name"), "control_plane_cluster_name")
        self.namespace = check_dns_label(_str(settings, "control_plane_namespace"), "control_plane_namespace")
        self.api_version = _choice(settings, "control_plane_api_version", API_VERSIONS)
        self.capi_version = _choice(settings, "control_plane_cluster_api_version", ("",) + API_VERSIONS) \
            or self.api_version
        self.infrastructure = _choice(settings, "control_plane_infrastructure", ("aws", "none"))
        self.workers = _bool(settings, "control_plane_workers_enabled")
        workers_name = _str(settings, "control_plane_workers_name")
        # The workers' name is also the value of the cluster.x-k8s.io/deployment-name label: a DNS label.
        self.workers_name = check_dns_label(workers_name or "%s-md-0" % self.cluster,
                                            "control_plane_workers_name" if workers_name
                                            else "control_plane_cluster_name (+ '-md-0', the workers' name)")
        self.creds_given = bool(_str(settings, "control_plane_registry_username")
                                or _str(settings, "control_plane_registry_config_path"))
        secret = _str(settings, "control_plane_registry_secret_name")
        if secret:
            check_dns_subdomain(secret, "control_plane_registry_secret_name")
        self.secret = secret or ("%s-registry-credentials" % self.cluster if self.creds_given else "")
        # A rendered Secret's name carries a hash of its content, so that new credentials make a new Secret and a
        # changed K0sControlPlane (k0smotron does not notice a changed Secret). Without the content (the first
        # build, outside no_log) the name stays the base name; that build is only shown, never written.
        self.secret_hashed = self.creds_given and _bool(settings, "control_plane_registry_secret_hash_suffix")
        if self.secret_hashed and len(self.secret) > 253 - SECRET_HASH_LENGTH - 1:
            raise CapiError("control_plane_registry_secret_name is too long for the '-<hash>' suffix (at most %d "
                            "characters), or set control_plane_registry_secret_hash_suffix: false"
                            % (253 - SECRET_HASH_LENGTH - 1))
        if self.secret_hashed and dockerconfigjson:
            self.secret = check_dns_subdomain("%s-%s" % (self.secret, secret_hash(dockerconfigjson)),
                                              "control_plane_registry_secret_name (with the '-<hash>' suffix)")
        self.k0s_api = "controlplane.cluster.x-k8s.io/%s" % self.api_version
        self.bootstrap_api = "bootstrap.cluster.x-k8s.io/%s" % self.api_version
        self.capi_api = "cluster.x-k8s.io/%s" % self.capi_version
        if self.infrastructure == "aws":
            self.cluster_infra_ref = {"apiVersion": AWS_API_VERSION, "kind": "AWSCluster", "name": self.cluster}
            self.machine_ref = {"apiVersion": AWS_API_VERSION, "kind": "AWSMachineTemplate", "name": self.cluster}
            self.workers_machine_ref = {"apiVersion": AWS_API_VERSION, "kind": "AWSMachineTemplate",
                                        "name": self.workers_name}
        else:
            self.cluster_infra_ref = check_ref(_dict(settings, "control_plane_cluster_infrastructure_ref"),
                                               "control_plane_cluster_infrastructure_ref")
            self.machine_ref = check_ref(_dict(settings, "control_plane_machine_infrastructure_ref"),
                                         "control_plane_machine_infrastructure_ref")
            self.workers_machine_ref = check_ref(_dict(settings, "control_plane_workers_infrastructure_ref"),
                                                 "control_plane_workers_infrastructure_ref") if self.workers else {}

    def kinds(self):
        """(apiVersion, kind, name) of every object, in apply order."""
        aws, workers = self.infrastructure == "aws", self.workers
        items = []
        if self.creds_given:
            items.append(("v1", "Secret", self.secret))
        if aws:
            items.append((AWS_API_VERSION, "AWSMachineTemplate", self.cluster))
            if workers:
                items.append((AWS_API_VERSION, "AWSMachineTemplate", self.workers_name))
            items.append((AWS_API_VERSION, "AWSCluster", self.cluster))
        items.append((self.k0s_api, "K0sControlPlane", self.cluster))
        if workers:
            items.append((self.bootstrap_api, "K0sWorkerConfigTemplate", self.workers_name))
            items.append((self.capi_api, "MachineDeployment", self.workers_name))
        items.append((self.capi_api, "Cluster", self.cluster))
        return items


def _head(api_version, kind, name, namespace):
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace}}


def object_names(settings):
    """apiVersion, kind and metadata (name, namespace) of each object in apply order: all that deletion needs.

    A registry Secret with a hashed name is left out: its name depends on its content; deletion finds it by its
    labels (registry_secret_selector)."""
    names = _Names(settings)
    return [_head(api, kind, name, names.namespace) for api, kind, name in names.kinds()
            if not (kind == "Secret" and names.secret_hashed)]


def file_name(obj):
    """``NN-kind-name.yaml`` (NN orders the files as the objects are applied)."""
    return "%s-%s-%s.yaml" % (_PREFIX[obj["kind"]], obj["kind"].lower(), obj["metadata"]["name"])


# --------------------------------------------------------------------------- node content

def _oras_checksums(settings, version, release_checksums):
    """{arch: sha256} from control_plane_oras_checksums, else picked from the parsed release checksum list."""
    given = _dict(settings, "control_plane_oras_checksums")
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


def check_static(settings):
    """Check every input that needs nothing resolved (names, references, node content rules, ORAS settings)."""
    names = _Names(settings)
    _choice(settings, "control_plane_provisioner", ("cloud-init", "ignition"))
    _choice(settings, "control_plane_ignition_variant", IGNITION_VARIANTS)
    _int(settings, "control_plane_replicas")
    _int(settings, "control_plane_workers_replicas")
    _choice(settings, "control_plane_update_strategy", UPDATE_STRATEGIES)
    try:
        install_dir = _str(settings, "control_plane_k0s_install_dir")
        if install_dir:
            check_node_path(install_dir, "control_plane_k0s_install_dir")
        check_node_path(_str(settings, "control_plane_oras_install_prefix"), "control_plane_oras_install_prefix")
        if _bool(settings, "control_plane_oras_install"):
            check_oras_version(_str(settings, "control_plane_oras_version"))
            check_http_url(_str(settings, "control_plane_oras_base_url"), "control_plane_oras_base_url")
            if _str(settings, "control_plane_oras_checksums_url"):
                check_http_url(_str(settings, "control_plane_oras_checksums_url"), "control_plane_oras_checksums_url")
    except NodeScriptError as e:
        raise CapiError(str(e))
    _check_node_tls(settings)
    sums = _dict(settings, "control_plane_oras_checksums")
    if oras_registry_source(settings) and _bool(settings, "control_plane_oras_install"):
        sums = {"amd64": "0" * 64}  # not used with the registry source; the digests are checked instead
    if sums and _bool(settings, "control_plane_oras_install"):
        # checks the checksums and the retries as the build will
        _install_oras_file(settings, sums, None, _str(settings, "control_plane_download_url") or
                           "oci://registry.invalid/not-resolved-yet")
    commands = _list(settings, "control_plane_pre_commands") + _list(settings, "control_plane_post_commands")
    check_plain_commands(commands, "control_plane_pre_commands / control_plane_post_commands")
    check_files(_list(settings, "control_plane_extra_files"), "control_plane_extra_files")
    for name in ("control_plane_extra_files", "control_plane_k0s_config", "control_plane_cluster_network",
                 "control_plane_aws_control_plane_load_balancer",
                 "control_plane_aws_additional_control_plane_ingress_rules", "control_plane_args",
                 "control_plane_workers_args", "control_plane_pre_commands", "control_plane_post_commands"):
        check_no_null(_get(settings, name), name)
    for name in ("control_plane_extra_files", "control_plane_k0s_config", "control_plane_args",
                 "control_plane_workers_args", "control_plane_pre_commands", "control_plane_post_commands"):
        check_no_jinja(_get(settings, name), name)
    return names


def registry_ca(settings):
    """control_plane_registry_ca checked (PEM CERTIFICATE blocks), with a final newline; "" when unset."""
    pem = _str(settings, "control_plane_registry_ca")
    if not pem.strip():
        return ""
    if not _PEM_CERTS.fullmatch(pem):
        raise CapiError("control_plane_registry_ca must be PEM text of one or more certificates (-----BEGIN "
                        "CERTIFICATE----- ... -----END CERTIFICATE-----, base64 lines of at most 76 characters), "
                        "the CA that signed the registry's TLS certificate; not a path, not a key")
    return pem.strip() + "\n"


def registry_ca_path(settings):
    return "%s/%s" % (install_oras_paths(_str(settings, "control_plane_oras_install_prefix"))[1], REGISTRY_CA_FILE)


def node_registry(settings, download_url):
    """The registry the nodes fetch from: control_plane_registry_host, else the download URL's host[:port]."""
    host = _str(settings, "control_plane_registry_host")
    if host:
        return host
    match = re.match(r"oci://([^/]+)/", download_url or "")
    return match.group(1) if match else ""


def _check_node_tls(settings):
    """CA / plain HTTP for the nodes need our oras wrapper (k0smotron runs oras with no flags)."""
    ca, plain = registry_ca(settings), _bool(settings, "control_plane_registry_node_plain_http")
    if (ca or plain) and not _bool(settings, "control_plane_oras_install"):
        raise CapiError("control_plane_registry_ca / control_plane_registry_node_plain_http need "
                        "control_plane_oras_install: true: k0smotron runs 'oras blob fetch' with no flags, and only "
                        "the role's oras wrapper adds --ca-file / --plain-http for the registry")
    return ca, plain


ORAS_SOURCES = ("release", "registry")


def oras_registry_source(settings):
    """control_plane_oras_artifact as {registry, repository, digests: {arch: sha256:HEX}}; None with the release
    source. Accepts {repository: REG/REPO, digests: {...}} and the oras_publish role's oras_publish_result
    ({arch: {registry, repository, digest, ...}})."""
    if _choice(settings, "control_plane_oras_source", ORAS_SOURCES) != "registry":
        return None
    artifact = _dict(settings, "control_plane_oras_artifact")
    usage = ("control_plane_oras_source is registry: control_plane_oras_artifact must be {repository: REGISTRY/REPOSITORY, "
             "digests: {amd64: sha256:HEX, ...}} or the fact oras_publish_result of k0smotron.oci.oras_publish")
    if "digests" in artifact or "repository" in artifact:
        repo = artifact.get("repository")
        if not isinstance(repo, str) or "/" not in repo or not isinstance(artifact.get("digests"), dict):
            raise CapiError(usage)
        registry, repository = repo.split("/", 1)
        return {"registry": registry, "repository": repository, "digests": dict(artifact["digests"])}
    entries = [v for v in artifact.values() if isinstance(v, dict)]
    if not artifact or len(entries) != len(artifact) or not all("digest" in e for e in entries):
        raise CapiError(usage)
    places = set((e.get("registry"), e.get("repository")) for e in entries)
    if len(places) != 1:
        raise CapiError("control_plane_oras_artifact: the architectures name different registries or repositories "
                        "(%s); publish them as one artifact" % ", ".join(sorted("%s/%s" % p for p in places)))
    registry, repository = places.pop()
    return {"registry": registry, "repository": repository,
            "digests": dict((arch, e["digest"]) for arch, e in artifact.items())}


def _install_oras_file(settings, checksums, script_path, download_url=""):
    ca, plain = _check_node_tls(settings)
    source = oras_registry_source(settings)
    try:
        content = install_oras_script(_str(settings, "control_plane_oras_version"),
                                      _str(settings, "control_plane_oras_base_url"),
                                      _str(settings, "control_plane_oras_install_prefix"), checksums,
                                      _int(settings, "control_plane_oras_download_retries", 1),
                                      registry=node_registry(settings, download_url) or None,
                                      ca_file=registry_ca_path(settings) if ca else None, plain_http=plain,
                                      source=source)
    except NodeScriptError as e:
        raise CapiError(str(e))
    return {"path": script_path, "permissions": "0755", "content": content}


def _node_content(settings, names, release_checksums, download_url):
    """(files, pre-commands) shared by the controllers and the workers."""
    files, pre = [], []
    ca = registry_ca(settings)
    if ca:
        files.append({"path": registry_ca_path(settings), "permissions": "0644", "content": ca})
    install_dir = _str(settings, "control_plane_k0s_install_dir")
    if install_dir:
        pre.append("mkdir -p %s" % install_dir)
    if _bool(settings, "control_plane_oras_install"):
        script_path = install_oras_paths(_str(settings, "control_plane_oras_install_prefix"))[0]
        version = _str(settings, "control_plane_oras_version")
        sums = {} if oras_registry_source(settings) else _oras_checksums(settings, version, release_checksums)
        files.append(_install_oras_file(settings, sums, script_path, download_url))
        pre.append("sh %s" % script_path)
    if names.secret:
        files.append({"path": DOCKER_CONFIG_PATH, "permissions": "0600",
                      "contentFrom": {"secretRef": {"name": names.secret, "key": DOCKER_CONFIG_KEY}}})
    files.extend(_list(settings, "control_plane_extra_files"))
    pre.extend(_list(settings, "control_plane_pre_commands"))
    check_plain_commands(pre, "control_plane_pre_commands (with the role's own: control_plane_k0s_install_dir)")
    check_files(files, "control_plane_extra_files")
    check_no_jinja(files, "control_plane_extra_files (or the ORAS install script: control_plane_oras_*)")
    return files, pre


def _node_spec(settings, names, download_url, files, pre, args):
    """The bootstrap fields of K0sControlPlane.k0sConfigSpec and K0sWorkerConfigTemplate.spec.template.spec."""
    spec = {"downloadURL": download_url}
    install_dir = _str(settings, "control_plane_k0s_install_dir")
    if install_dir:
        spec["k0sInstallDir"] = install_dir
    if _str(settings, "control_plane_provisioner") == "ignition":
        ignition = {"variant": _str(settings, "control_plane_ignition_variant"),
                    "version": str(_get(settings, "control_plane_ignition_version"))}
        additional = _str(settings, "control_plane_ignition_additional_config")
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
    post = _list(settings, "control_plane_post_commands")
    if names.secret and _bool(settings, "control_plane_registry_config_remove"):
        # After k0s is installed and started, the credentials are no longer needed on the node.
        post = ["rm -f %s" % DOCKER_CONFIG_PATH] + post
    if post:
        spec["postStartCommands" if v1 else "postK0sCommands"] = post
    if args:
        spec["args"] = args
    return spec


def _ref(ref, style):
    """A Cluster API object reference: v1beta2 {apiGroup, kind, name}, v1beta1 {apiVersion, kind, name}."""
    if style == "v1beta2":
        return {"apiGroup": ref["apiVersion"].split("/")[0], "kind": ref["kind"], "name": ref["name"]}
    return {"apiVersion": ref["apiVersion"], "kind": ref["kind"], "name": ref["name"]}


# --------------------------------------------------------------------------- the objects

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


def _secret(names, dockerconfigjson):
    obj = _head("v1", "Secret", names.secret, names.namespace)
    obj["metadata"]["labels"] = {CLUSTER_LABEL: names.cluster, MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1]}
    obj["type"] = "kubernetes.io/dockerconfigjson"
    obj["data"] = {DOCKER_CONFIG_KEY: base64.b64encode(dockerconfigjson.encode("utf-8")).decode("ascii")}
    return obj


def _aws_machine_template(settings, names, name, instance_type, ami_id):
    spec = {}
    if ami_id:
        spec["ami"] = {"id": ami_id}
    spec["instanceType"] = instance_type
    spec["publicIP"] = _bool(settings, "control_plane_aws_public_ip")
    profile = _str(settings, "control_plane_aws_iam_instance_profile")
    if profile:
        spec["iamInstanceProfile"] = profile
    if _str(settings, "control_plane_provisioner") == "ignition":
        spec["ignition"] = {"storageType": _str(settings, "control_plane_aws_ignition_storage_type")}
    else:
        spec["cloudInit"] = {"insecureSkipSecretsManager": _bool(settings,
                                                                 "control_plane_aws_insecure_skip_secrets_manager")}
    spec["uncompressedUserData"] = _bool(settings, "control_plane_aws_uncompressed_user_data")
    ssh_key = _str(settings, "control_plane_aws_ssh_key_name")
    if ssh_key:
        spec["sshKeyName"] = ssh_key
    obj = _head(AWS_API_VERSION, "AWSMachineTemplate", name, names.namespace)
    obj["spec"] = {"template": {"spec": spec}}
    return obj


def _aws_cluster(settings, names):
    spec = {"region": _str(settings, "control_plane_aws_region")}
    ssh_key = _str(settings, "control_plane_aws_ssh_key_name")
    if ssh_key:
        spec["sshKeyName"] = ssh_key
    load_balancer = _dict(settings, "control_plane_aws_control_plane_load_balancer")
    if load_balancer:
        spec["controlPlaneLoadBalancer"] = load_balancer
    rules = _list(settings, "control_plane_aws_additional_control_plane_ingress_rules", dict)
    if rules:
        spec["network"] = {"additionalControlPlaneIngressRules": rules}
    obj = _head(AWS_API_VERSION, "AWSCluster", names.cluster, names.namespace)
    obj["spec"] = spec
    return obj


def _k0s_control_plane(settings, names, node):
    k0s_config = _dict(settings, "control_plane_k0s_config")
    config_spec = _node_spec(settings, names, args=_list(settings, "control_plane_args", str), **node)
    if k0s_config:
        config_spec["k0s"] = k0s_config
    machine_ref = dict(names.machine_ref)
    machine_ref["namespace"] = names.namespace
    obj = _head(names.k0s_api, "K0sControlPlane", names.cluster, names.namespace)
    obj["spec"] = {"replicas": _int(settings, "control_plane_replicas"),
                   "version": _str(settings, "control_plane_k0s_version"),
                   "updateStrategy": _str(settings, "control_plane_update_strategy"),
                   "k0sConfigSpec": config_spec,
                   "machineTemplate": {"infrastructureRef": machine_ref}}
    return obj


def _worker_config_template(settings, names, node):
    spec = {"version": _str(settings, "control_plane_k0s_version")}
    spec.update(_node_spec(settings, names, args=_list(settings, "control_plane_workers_args", str), **node))
    obj = _head(names.bootstrap_api, "K0sWorkerConfigTemplate", names.workers_name, names.namespace)
    obj["spec"] = {"template": {"spec": spec}}
    return obj


def _machine_deployment(settings, names):
    labels = {"cluster.x-k8s.io/cluster-name": names.cluster, "cluster.x-k8s.io/deployment-name": names.workers_name}
    config_ref = {"apiVersion": names.bootstrap_api, "kind": "K0sWorkerConfigTemplate", "name": names.workers_name}
    obj = _head(names.capi_api, "MachineDeployment", names.workers_name, names.namespace)
    obj["spec"] = {
        "clusterName": names.cluster,
        "replicas": _int(settings, "control_plane_workers_replicas"),
        "selector": {"matchLabels": dict(labels)},
        "template": {
            "metadata": {"labels": dict(labels)},
            "spec": {"clusterName": names.cluster,
                     "version": _str(settings, "control_plane_k0s_version"),
                     "bootstrap": {"configRef": _ref(config_ref, names.capi_version)},
                     "infrastructureRef": _ref(names.workers_machine_ref, names.capi_version)}}}
    return obj


def _cluster(settings, names):
    spec = {}
    network = _dict(settings, "control_plane_cluster_network")
    if network:
        spec["clusterNetwork"] = network
    spec["controlPlaneRef"] = _ref({"apiVersion": names.k0s_api, "kind": "K0sControlPlane", "name": names.cluster},
                                   names.capi_version)
    spec["infrastructureRef"] = _ref(names.cluster_infra_ref, names.capi_version)
    obj = _head(names.capi_api, "Cluster", names.cluster, names.namespace)
    obj["spec"] = spec
    return obj


def build_objects(settings, dockerconfigjson=None, oras_release_checksums=None):
    """The objects in apply order.

    ``settings``: the role's variables; ``control_plane_download_url`` must be the (resolved) oci:// URL.
    ``dockerconfigjson``: JSON text of the nodes' docker config; with credentials given, the Secret is rendered
    from it, and left out without it (so that the other objects and any error can be shown outside no_log).
    ``oras_release_checksums``: {asset name: sha256} of the ORAS release (parsed checksums file), used when
    ``control_plane_oras_checksums`` is empty."""
    names = check_static(settings)
    if names.creds_given and dockerconfigjson is not None:
        if not isinstance(dockerconfigjson, str) or not dockerconfigjson:
            raise CapiError("the docker config for the registry credentials Secret is empty")
        check_node_docker_config(dockerconfigjson)
        names = _Names(settings, dockerconfigjson)
    download_url = _str(settings, "control_plane_download_url")
    if not download_url:
        raise CapiError("control_plane_download_url is empty: set it (oci://REGISTRY/REPOSITORY@sha256:<blob digest>) "
                        "or control_plane_artifact_reference")
    if download_url != download_url.strip():
        # Rendered as it is: a trailing newline splits Ignition's ExecStart line, a leading space makes k0smotron
        # read the URL as plain HTTP.
        raise CapiError("control_plane_download_url %r has leading or trailing whitespace (a YAML '|' block adds a "
                        "newline): write it without, e.g. as a quoted string or with '>-'" % download_url)
    check_update_strategy(settings, download_url)
    files, pre = _node_content(settings, names, oras_release_checksums, download_url)
    node = {"download_url": download_url, "files": files, "pre": pre}
    aws = names.infrastructure == "aws"
    objects = []
    if names.creds_given and dockerconfigjson is not None:
        objects.append(_secret(names, dockerconfigjson))
    if aws:
        instance_type = _str(settings, "control_plane_aws_instance_type")
        ami_id = _str(settings, "control_plane_aws_ami_id")
        objects.append(_aws_machine_template(settings, names, names.cluster, instance_type, ami_id))
        if names.workers:
            objects.append(_aws_machine_template(
                settings, names, names.workers_name,
                _str(settings, "control_plane_workers_aws_instance_type") or instance_type,
                _str(settings, "control_plane_workers_aws_ami_id") or ami_id))
        objects.append(_aws_cluster(settings, names))
    objects.append(_k0s_control_plane(settings, names, node))
    if names.workers:
        objects.append(_worker_config_template(settings, names, node))
        objects.append(_machine_deployment(settings, names))
    objects.append(_cluster(settings, names))
    for obj in objects:
        check_no_null(obj, "%s %s" % (obj["kind"], obj["metadata"]["name"]))
    return objects
