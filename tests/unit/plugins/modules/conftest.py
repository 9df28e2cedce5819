# -*- coding: utf-8 -*-
"""Module unit tests: run a module's main() with arguments, against a fake registry client."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (scripts/test.sh stage versions): what it does there, by hand
    import contextlib
    from unittest import mock

    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))):
            yield

from ansible_collections.k0smotron.oci.plugins.module_utils._registry import (
    RegistryClient,
    RegistryNotFoundError,
    RegistryStreamRefused,
    load_json_object,
)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeClient:
    """The RegistryClient operations the modules use, on dicts; ``calls`` records what was asked."""

    where = "registry fake.example.com, repository k0s/k0s"

    def __init__(self):
        self.blobs = {}        # digest -> bytes
        self.manifests = {}    # tag or digest -> (bytes, media type)
        self.calls = []
        self.stream_refused = False

    def blob_size(self, digest):
        self.calls.append(("HEAD", digest))
        return len(self.blobs[digest]) if digest in self.blobs else None

    def upload_bytes(self, digest, data):
        self.calls.append(("upload", digest))
        assert sha256(data) == digest, "the registry would refuse the digest"
        self.blobs[digest] = data

    def upload_file(self, digest, path, size):
        with open(path, "rb") as f:
            data = f.read()
        assert len(data) == size
        self.upload_bytes(digest, data)

    def upload_blob_stream(self, path, size):
        self.calls.append(("stream", path))
        if self.stream_refused:
            raise RegistryStreamRefused("fake refuses a streamed PATCH (413)")
        data = open(path, "rb").read()
        self.blobs[sha256(data)] = data
        return sha256(data)

    def get_manifest(self, ref):
        self.calls.append(("GET", ref))
        if ref not in self.manifests:
            raise RegistryNotFoundError("tag %s not found" % ref)
        data, media_type = self.manifests[ref]
        return data, media_type, sha256(data)

    def get_manifest_json(self, ref):
        data, media_type, digest = self.get_manifest(ref)
        return load_json_object(data, ref), media_type, digest, data

    def manifest_exists(self, ref):
        return ref in self.manifests

    # The real decision (blob, manifest digest or nothing) on top of the fake's blob_size / manifest_exists.
    require_blob = RegistryClient.require_blob

    def put_manifest(self, ref, data, media_type):
        self.calls.append(("PUT", ref))
        self.manifests[ref] = (data, media_type)
        self.manifests[sha256(data)] = (data, media_type)
        return sha256(data)

    def download_blob(self, digest, out, expected_size=None):
        self.calls.append(("GET-blob", digest, expected_size))
        out.write(self.blobs[digest])
        return len(self.blobs[digest])

    def close(self):
        pass

    def asked(self, kind):
        return [c for c in self.calls if c[0] == kind]


@pytest.fixture()
def fake_client(monkeypatch, tmp_path):
    """Patch ``client_from_params`` wherever a module under test builds its client to hand out one FakeClient."""
    client = FakeClient()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    from ansible_collections.k0smotron.oci.plugins.module_utils import _push, _registry
    from ansible_collections.k0smotron.oci.plugins.modules import index_push
    # _push and index_push bind the name when imported; blob_fetch imports it from _registry when it fetches.
    for mod in (_push, _registry, index_push):
        monkeypatch.setattr(mod, "client_from_params", lambda params, ref, push=False: client)
    return client


@pytest.fixture()
def run_main(capsys):
    """``run_main(module, args, check=False, diff=False)`` -> the module's result dict (failed or not)."""
    def run(module, args, check=False, diff=False):
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff, _ansible_remote_tmp="/tmp",
                    _ansible_keep_remote_files=False)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        return json.loads(capsys.readouterr().out)
    return run
