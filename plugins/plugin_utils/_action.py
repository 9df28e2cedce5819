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

import copy

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.k0smotron.oci.plugins.module_utils._common import MESSAGE_ARG_SPEC, name_options
from ansible_collections.k0smotron.oci.plugins.module_utils._errors import EXPECTED_ERRORS
from ansible_collections.k0smotron.oci.plugins.module_utils._media_types import INDEX_TYPES
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference
from ansible_collections.k0smotron.oci.plugins.module_utils._registry import client_from_params
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_options import REGISTRY_ARG_SPEC, SIGNING_ARG_SPEC
from ansible_collections.k0smotron.oci.plugins.module_utils._resolve import descriptors
from ansible_collections.k0smotron.oci.plugins.plugin_utils._cosign import CosignError, load_private_key, pem_or_file, trusted_keys_from
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
            # There the defaults are templated here, so a "default(omit)" in them is still the omit token, which
            # the executor removes only from the task's own arguments.
            omit = self._templar.available_variables.get("omit")
            args = dict((k, v) for k, v in args.items() if omit is None or v != omit)
        return dict(args)

    def _arguments(self, args=None, spec=None):
        if spec is None:
            spec = copy.deepcopy(REGISTRY_ARG_SPEC) if self.REGISTRY else {}
            if self.REGISTRY:
                spec.update(copy.deepcopy(MESSAGE_ARG_SPEC))
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
            result.update(failed=True, msg=name_options(str(e), params.get("option_names")))
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
        signing = dict((k, args.pop(k)) for k in list(args) if k in SIGNING_ARG_SPEC)
        result.update(self._execute_module(module_name=self._task.resolved_action, module_args=args,
                                           task_vars=task_vars))
        if result.get("failed"):
            return result
        spec = copy.deepcopy(REGISTRY_ARG_SPEC)
        spec.update(SIGNING_ARG_SPEC)
        params = self._arguments(dict(signing, **dict((k, v) for k, v in args.items() if k in spec)), spec)
        if not params.get("signing_key"):
            return result
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


def trusted_keys(params, option="trusted_keys"):
    """The pinned public keys of ``option`` (rotation: several), each named by where it came from in errors."""
    return trusted_keys_from(params.get(option) or [], option)


def signing_key(params, option="signing_key"):
    pem, name = pem_or_file(params[option], option)
    return load_private_key(pem, params.get("%s_password" % option), name)
