# -*- coding: utf-8 -*-
"""blob_fetch's decisions (plan -> current digest -> remote size -> download -> attributes) with a fake client."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.k0smotron.oci.plugins.modules import blob_fetch


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


BLOB = b"k0s" * 1000
URL = "oci://fake.example.com/k0s/k0s@" + sha256(BLOB)


def test_download_is_bounded_by_the_head_size(fake_client, run_main, tmp_path):
    fake_client.blobs[sha256(BLOB)] = BLOB
    result = run_main(blob_fetch, dict(reference=URL, dest=str(tmp_path / "k0s")))
    assert result["changed"] is True and result["size"] == len(BLOB) and result["state"] == "file"
    assert fake_client.asked("GET-blob") == [("GET-blob", sha256(BLOB), len(BLOB))]


def test_matching_file_is_not_fetched(fake_client, run_main, tmp_path):
    (tmp_path / "k0s").write_bytes(BLOB)
    result = run_main(blob_fetch, dict(reference=URL, dest=str(tmp_path / "k0s")))
    assert result["changed"] is False and result["downloaded"] is False and fake_client.calls == []


def test_manifest_digest_is_named(fake_client, run_main, tmp_path):
    fake_client.manifests[sha256(BLOB)] = (b"{}", "application/json")
    result = run_main(blob_fetch, dict(reference=URL, dest=str(tmp_path / "k0s")), check=True)
    assert result["failed"] and "is a manifest digest, not a blob digest" in result["msg"]


def test_symlinked_dest_writes_the_target_and_keeps_the_link(fake_client, run_main, tmp_path):
    fake_client.blobs[sha256(BLOB)] = BLOB
    (tmp_path / "k0s").symlink_to("k0s-v1")
    result = run_main(blob_fetch, dict(reference=URL, dest=str(tmp_path / "k0s"), mode="0750"))
    assert os.path.islink(str(tmp_path / "k0s")) and (tmp_path / "k0s-v1").read_bytes() == BLOB
    assert result["state"] == "file" and result["mode"] == "0750" and result["size"] == len(BLOB)


def test_sha512_file_is_recognised(fake_client, run_main, tmp_path):
    (tmp_path / "k0s").write_bytes(BLOB)
    url = "oci://fake.example.com/k0s/k0s@sha512:" + hashlib.sha512(BLOB).hexdigest()
    result = run_main(blob_fetch, dict(reference=url, dest=str(tmp_path / "k0s")))
    assert result["changed"] is False and fake_client.calls == []


def test_http_stack_loads_only_to_fetch(modules_loaded_by):
    # A node whose file already matches (the common re-run) needs no registry client, http.client or ssl.
    loaded = modules_loaded_by("ansible_collections.k0smotron.oci.plugins.modules.blob_fetch")
    assert not loaded & {"http.client", "ssl", "ansible_collections.k0smotron.oci.plugins.module_utils._registry"}
