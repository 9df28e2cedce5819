# -*- coding: utf-8 -*-
"""artifact_push's decisions (read tag state -> plan layers -> upload -> write manifest) with a fake client."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.k0smotron.oci.plugins.module_utils import _push
from ansible_collections.k0smotron.oci.plugins.module_utils._oras import EMPTY_DIGEST
from ansible_collections.k0smotron.oci.plugins.modules import artifact_push


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


REF = "fake.example.com/k0s/k0s:v1"


@pytest.fixture()
def files(tmp_path):
    k0s = tmp_path / "k0s"
    k0s.write_bytes(b"k0s binary" * 100)
    sums = tmp_path / "sha256sums.txt"
    sums.write_bytes(b"sums")
    return [str(k0s), str(sums)]


def test_first_push_uploads_every_blob_and_the_manifest(fake_client, run_main, files):
    result = run_main(artifact_push, dict(reference=REF, files=files))
    assert result["changed"] is True and not result.get("failed")
    assert [c[1] for c in fake_client.asked("upload")] == [r["digest"] for r in result["layers"]] + [EMPTY_DIGEST]
    assert fake_client.asked("PUT") == [("PUT", "v1")]
    assert result["uploaded_bytes"] == 1000 + 4
    assert [r["uploaded"] for r in result["layers"]] == [True, True]
    assert result["download_urls"]["k0s"] == "oci://fake.example.com/k0s/k0s@" + sha256(b"k0s binary" * 100)


def test_unchanged_push_sends_nothing_and_keeps_created(fake_client, run_main, files):
    first = run_main(artifact_push, dict(reference=REF, files=files))
    fake_client.calls = []
    again = run_main(artifact_push, dict(reference=REF, files=files), diff=True)
    assert again["changed"] is False and again["uploaded_bytes"] == 0
    assert not fake_client.asked("upload") and not fake_client.asked("PUT")
    assert again["manifest_digest"] == first["manifest_digest"]
    assert again["diff"]["before"] == again["diff"]["after"]


def test_check_mode_predicts_without_writing(fake_client, run_main, files):
    result = run_main(artifact_push, dict(reference=REF, files=files), check=True)
    assert result["changed"] is True and result["uploaded_bytes"] == 0
    assert [r["uploaded"] for r in result["layers"]] == [True, True]
    assert not fake_client.asked("upload") and not fake_client.asked("PUT")


def test_promised_digest_is_checked_when_the_blob_exists(fake_client, run_main, files):
    wrong = sha256(b"other")
    fake_client.blobs[wrong] = b"other"
    result = run_main(artifact_push, dict(reference=REF, files=files[:1], digests={"k0s": wrong}))
    assert result["failed"] and "does not match the given digest" in result["msg"]
    assert not fake_client.asked("PUT")


def test_stream_refused_falls_back_to_monolithic_with_a_warning(fake_client, run_main, files, monkeypatch):
    warned = []
    monkeypatch.setattr(AnsibleModule, "warn", lambda self, msg: warned.append(msg))
    fake_client.stream_refused = True
    result = run_main(artifact_push, dict(reference=REF, files=files[:1], upload_mode="stream", digest_cache=False))
    assert not result.get("failed") and result["layers"][0]["uploaded"] is True
    assert "fell back to upload_mode=monolithic" in warned[0]
    assert fake_client.asked("upload")[0][1] == result["layers"][0]["digest"]


def test_stream_skips_files_the_tag_already_has(fake_client, run_main, files):
    run_main(artifact_push, dict(reference=REF, files=files[:1]))
    fake_client.calls = []
    result = run_main(artifact_push, dict(reference=REF, files=files[:1], upload_mode="stream", digest_cache=False))
    assert result["changed"] is False and not fake_client.asked("stream")


@pytest.mark.parametrize("args,needle", [
    (dict(reference=REF + "@sha256:" + "a" * 64), "carries a digest"),
    (dict(reference=REF, digests={"nope": "sha256:" + "a" * 64}), "not the base name"),
    (dict(reference=REF, annotations={"nope": {"a": "b"}}), "neither a pushed file"),
])
def test_inputs_fail_before_any_network_call(fake_client, run_main, files, args, needle):
    result = run_main(artifact_push, dict(args, files=files))
    assert result["failed"] and needle in result["msg"]
    assert fake_client.calls == []


def test_layer_result_is_the_one_builder():
    layer = _push.Layer("k0s", "/x/k0s", 3, {"org.opencontainers.image.title": "k0s"}, None, False)
    pushed = _push.layer_result("application/x", layer, "sha256:" + "a" * 64, True, 3)
    assert pushed.descriptor["annotations"] is pushed.result["annotations"]
    assert pushed.result == {"title": "k0s", "digest": "sha256:" + "a" * 64, "size": 3, "media_type": "application/x",
                             "annotations": {"org.opencontainers.image.title": "k0s"}, "uploaded": True}
