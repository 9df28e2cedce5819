# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This plugin util is PRIVATE to the collection. It can change at any time without notice.
"""The shape every controller-side action of the collection shares (the signature actions): registry
options from ``module_defaults`` (group ``k0smotron.oci.registry``) and ``K0SMOTRON_OCI_*``, the argument
spec checked as a module's would be, and expected errors turned into one clear failure.

These run on the controller because they need ``cryptography``, which a managed node need not have."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import copy
import hashlib

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.k0smotron.oci.plugins.module_utils._errors import EXPECTED_ERRORS
from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import INDEX_TYPES
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import client_from_params
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import REGISTRY_ARG_SPEC, SIGNING_ARG_SPEC
from ansible_collections.k0smotron.oci.plugins.module_utils._resolve import descriptors
from ansible_collections.k0smotron.oci.plugins.plugin_utils._cosign import (
    CosignError,
    decode_signature,
    load_private_key,
    load_public_key,
    verify_with_any,
)
from ansible_collections.k0smotron.oci.plugins.plugin_utils._signatures import SignatureError, sign_manifest

try:  # ansible-core < 2.19 merges module_defaults only into modules' arguments; 2.19+ into every task's
    from ansible.executor.module_common import get_action_args_with_defaults
except ImportError:
    get_action_args_with_defaults = None


class CollectionAction(ActionBase):
    """Subclasses set ``ARGUMENT_SPEC`` (plus ``REGISTRY`` when they talk to a registry) and ``act``."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC = {}
    VALIDATOR_KWARGS = {}
    REGISTRY = True

    def _task_args(self):
        args = self._task.args
        if get_action_args_with_defaults is not None:
            args = get_action_args_with_defaults(self._task.resolved_action, args, self._task.module_defaults,
                                                 self._templar, action_groups=self._task._parent._play._action_groups)
        return dict(args)

    def _arguments(self, args=None, spec=None):
        if spec is None:
            spec = copy.deepcopy(REGISTRY_ARG_SPEC) if self.REGISTRY else {}
            spec.update(self.ARGUMENT_SPEC)
        validated = ArgumentSpecValidator(spec, **self.VALIDATOR_KWARGS).validate(
            self._task_args() if args is None else args)
        if validated.error_messages:
            raise AnsibleActionFail("%s: %s" % (self._task.resolved_action, "; ".join(validated.error_messages)))
        return validated.validated_parameters

    def run(self, tmp=None, task_vars=None):
        result = super(CollectionAction, self).run(tmp, task_vars)
        params = self._arguments()
        try:
            result.update(self.act(params, check_mode=bool(self._task.check_mode)))
        except EXPECTED_ERRORS + (CosignError, SignatureError) as e:
            result.update(failed=True, msg=str(e))
        except (IOError, OSError) as e:
            result.update(failed=True, msg="%s: %s" % (getattr(e, "filename", None) or "I/O error", e.strerror or e))
        return result

    def act(self, params, check_mode):
        raise NotImplementedError


class SignAfterPushAction(CollectionAction):
    """A module that writes a manifest (artifact_push, index_push), then, when ``signing_key`` is given, a
    cosign signature of that manifest, written on the controller. The module itself stays standard-library
    only; the key never reaches the managed node."""

    def run(self, tmp=None, task_vars=None):
        result = ActionBase.run(self, tmp, task_vars)
        args = self._task_args()
        signing = dict((k, args.pop(k)) for k in list(args) if k in SIGNING_KEY_SPEC)
        result.update(self._execute_module(module_name=self._task.resolved_action, module_args=args,
                                           task_vars=task_vars))
        if result.get("failed") or not signing.get("signing_key"):
            return result
        spec = copy.deepcopy(REGISTRY_ARG_SPEC)
        spec.update(SIGNING_KEY_SPEC)
        params = self._arguments(dict(signing, **dict((k, v) for k, v in args.items() if k in spec)), spec)
        digest = result.get("manifest_digest") or result.get("index_digest")
        ref = Reference.parse(args["reference"], option="reference")
        try:
            client = client_from_params(params, ref, push=not self._task.check_mode)
            try:
                signed = sign_manifest(client, ref.name, digest, signing_key(params), bool(self._task.check_mode))
            finally:
                client.close()
        except EXPECTED_ERRORS + (CosignError, SignatureError) as e:
            return dict(result, failed=True, msg="%s was pushed, but signing it failed: %s" % (digest, e))
        result["signature"] = signed
        result["changed"] = bool(result.get("changed")) or signed["changed"]
        return result


# Keys: each entry is PEM text or the path of a PEM file on the controller (cosign.pub, cosign.key).
TRUSTED_KEYS_SPEC = dict(trusted_keys=dict(type="list", elements="str", required=True))
SIGNING_KEY_SPEC = SIGNING_ARG_SPEC


def _pem_or_file(entry, option):
    if entry.lstrip().startswith("-----BEGIN"):
        return entry, "%s (PEM text)" % option
    try:
        with open(entry, "rb") as f:
            return f.read(), "%s %s" % (option, entry)
    except (IOError, OSError) as e:
        raise CosignError("option %s: %s is neither PEM text nor a readable file on the controller (%s)"
                          % (option, entry, e.strerror or e))


def trusted_keys(params, option="trusted_keys"):
    """The pinned public keys (rotation: several), each named by where it came from in errors."""
    keys, seen = [], set()
    for entry in params.get(option) or []:
        pem, name = _pem_or_file(entry, option)
        key = load_public_key(pem, name)
        if key.fingerprint not in seen:
            seen.add(key.fingerprint)
            keys.append(key)
    if not keys:
        raise CosignError("option %s: empty; give at least one PEM public key (text or file)" % option)
    return keys


def signing_key(params, option="signing_key"):
    pem, name = _pem_or_file(params[option], option)
    return load_private_key(pem, params.get("%s_password" % option), name)


NO_TLOG = "not checked: verification is offline, with pinned keys only (no Rekor transparency log, no Fulcio)"


def sign_artifact(params, reference, key, recursive, check_mode):
    """Sign the manifest ``reference`` names (and, for an index with ``recursive``, each manifest in it)."""
    ref = Reference.parse(reference, option="reference", require_tag=True)
    client = client_from_params(params, ref, push=not check_mode)
    try:
        doc, media_type, digest, _data = client.get_manifest_json(ref.digest or ref.tag)
        digests = [digest]
        if recursive and (media_type in INDEX_TYPES or doc.get("mediaType") in INDEX_TYPES):
            digests += [entry["digest"] for entry in descriptors(doc, "manifests", "index %s of %s" % (digest, client.where))]
        signed = [sign_manifest(client, ref.name, d, key, check_mode) for d in digests]
    finally:
        client.close()
    return dict(changed=any(s["changed"] for s in signed), signatures=signed, key_fingerprint=key.public.fingerprint,
                manifest_digest=digest)


def _sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.digest()


def verify_file(path, signature_path, keys, release_key_path=None):
    """Check a detached ``cosign sign-blob`` signature of a file on the controller with the pinned keys.
    A release's own ``cosign.pub`` (``release_key_path``) must be one of them: a new key is shown by its
    fingerprint, never trusted by itself."""
    if release_key_path:
        with open(release_key_path, "rb") as f:
            release_key = load_public_key(f.read(), "the release's key %s" % release_key_path)
        if release_key.fingerprint not in [k.fingerprint for k in keys]:
            raise CosignError(
                "the release's key %s (fingerprint %s) is not one of the pinned keys (%s): it changed, or the "
                "download was tampered with. If you trust it, check it out of band and add the file's PEM text to "
                "the trusted keys" % (release_key_path, release_key.fingerprint, ", ".join(k.fingerprint for k in keys)))
    with open(signature_path, "rb") as f:
        signature = decode_signature(f.read(), "signature %s" % signature_path)
    data = None
    if any(k.kind == "ed25519" for k in keys):  # Ed25519 signs the whole message, not a digest
        with open(path, "rb") as f:
            data = f.read()
    digest = hashlib.sha256(data).digest() if data is not None else _sha256_of(path)
    key = verify_with_any(keys, signature, data=data, sha256=digest)
    if key is None:
        pinned = ", ".join(k.fingerprint for k in keys)
        raise CosignError("%s: signature %s does not verify with any pinned key (%s): the file or the signature was "
                          "changed, or it was signed with another key" % (path, signature_path, pinned))
    return dict(path=path, sha256=binascii.hexlify(digest).decode("ascii"), key_fingerprint=key.fingerprint,
                msg="%s: signature verified with key %s" % (path, key.fingerprint))
