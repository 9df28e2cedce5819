# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.k0smotron.oci.plugins.module_utils._files import DigestCache, sha256_file


def test_sha256_file(tmp_path):
    p = tmp_path / "f"
    data = os.urandom(3 * 1024 * 1024 + 1)
    p.write_bytes(data)
    assert sha256_file(str(p)) == "sha256:" + hashlib.sha256(data).hexdigest()


def test_cache_hits_and_misses_on_rewrite(tmp_path):
    p = tmp_path / "k0s"
    p.write_bytes(b"one")
    cache_path = str(tmp_path / "cache" / "digests.json")
    cache = DigestCache(cache_path)
    first = cache.digest(str(p))
    cache.save()
    assert os.path.exists(cache_path)
    # A forged cache entry proves the second lookup does not read the file.
    again = DigestCache(cache_path)
    key = next(iter(again._load()))
    again._load()[key]["digest"] = "sha256:" + "f" * 64
    assert again.digest(str(p)) == "sha256:" + "f" * 64
    # Rewriting the file (same size) changes ctime/mtime: the cache misses and re-hashes.
    p.write_bytes(b"two")
    assert again.digest(str(p)) == "sha256:" + hashlib.sha256(b"two").hexdigest() != first


def test_disabled_and_unwritable_cache(tmp_path):
    p = tmp_path / "k0s"
    p.write_bytes(b"x")
    DigestCache(str(tmp_path / "c.json"), enabled=False).digest(str(p))
    assert not (tmp_path / "c.json").exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = DigestCache(str(blocker / "sub" / "digests.json"))
    cache.digest(str(p))
    cache.save()  # must not raise
