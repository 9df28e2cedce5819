# -*- coding: utf-8 -*-
"""The publish pipeline (plugin_utils/_release_files.py) against a real HTTP server on 127.0.0.1 that serves a
release layout and can be told to fail: what is downloaded, kept, retried and refused, and what the errors say."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.k0smotron.oci.plugins.plugin_utils._release_files import (
    Fetcher,
    Names,
    ReleaseFilesError,
    release_files,
)

AMD64 = b"amd64 binary\n" * 1000
ARM64 = b"arm64 binary\n" * 1000


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Server:
    """``files``: path -> bytes; ``fail``: path -> statuses to answer first, one per request; ``log``: paths asked."""

    def __init__(self):
        self.files, self.fail, self.log = {}, {}, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.log.append(self.path)
                pending = server.fail.get(self.path) or []
                if pending:
                    self.send_response(pending.pop(0))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = server.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    s.files["/v1/app-amd64"] = AMD64
    s.files["/v1/app-arm64"] = ARM64
    s.files["/v1/sums.txt"] = ("%s *app-amd64\n%s *app-arm64\n" % (sha(AMD64), sha(ARM64))).encode()
    yield s
    s.stop()


def files(server, *arches):
    return [{"arch": a, "name": "app", "asset": "app-" + a, "url": "%s/v1/app-%s" % (server.url, a)} for a in arches]


def fetcher(prefix="demo", retries=2):
    return Fetcher(Names(prefix), timeout=5, retries=retries, delay=0, sleep=lambda s: None)


def run(server, tmp_path, arches=("amd64",), local=None, checksums=None, sums="/v1/sums.txt", **kwargs):
    return release_files(files(server, *arches), local or {}, checksums or {}, server.url + sums if sums else "",
                         str(tmp_path / "cache"), kwargs.pop("fetch", None) or fetcher(), **kwargs)


def test_download_is_verified_then_cached(server, tmp_path):
    changed, out = run(server, tmp_path, arches=("amd64", "arm64"))
    assert changed
    assert [(f["arch"], f["sha256"], f["source"]) for f in out] == [
        ("amd64", sha(AMD64), "download"), ("arm64", sha(ARM64), "download")]
    assert out[0]["path"] == str(tmp_path / "cache" / "amd64" / "app")
    assert out[0]["checksum_from"] == server.url + "/v1/sums.txt" and out[0]["size"] == len(AMD64)
    with open(out[1]["path"], "rb") as f:
        assert f.read() == ARM64
    server.log[:] = []
    changed, again = run(server, tmp_path, arches=("amd64", "arm64"))
    assert not changed and [f["source"] for f in again] == ["cache", "cache"]
    assert server.log == ["/v1/sums.txt"]


def test_given_checksums_need_no_list(server, tmp_path):
    changed, out = run(server, tmp_path, checksums={"amd64": "SHA256:" + sha(AMD64).upper()}, sums=None)
    assert changed and out[0]["checksum_from"] == "demo_checksums"
    assert server.log == ["/v1/app-amd64"]


def test_tampered_download_is_not_kept(server, tmp_path):
    server.files["/v1/app-amd64"] = AMD64 + b"tampered"
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path)
    assert "/v1/app-amd64 has sha256 %s, expected %s" % (sha(AMD64 + b"tampered"), sha(AMD64)) in str(e.value)
    assert "did not match" in str(e.value)
    assert os.listdir(str(tmp_path / "cache" / "amd64")) == []


def test_a_stale_cached_file_is_replaced(server, tmp_path):
    os.makedirs(str(tmp_path / "cache" / "amd64"))
    (tmp_path / "cache" / "amd64" / "app").write_bytes(b"old")
    changed, out = run(server, tmp_path)
    assert changed and out[0]["source"] == "download"
    assert (tmp_path / "cache" / "amd64" / "app").read_bytes() == AMD64


def test_transient_answers_are_retried(server, tmp_path):
    server.fail["/v1/sums.txt"] = [503, 429]
    server.fail["/v1/app-amd64"] = [502]
    changed, out = run(server, tmp_path)
    assert out[0]["sha256"] == sha(AMD64)
    assert server.log == ["/v1/sums.txt"] * 3 + ["/v1/app-amd64"] * 2


def test_retries_run_out_with_one_clear_message(server, tmp_path):
    server.fail["/v1/sums.txt"] = [503] * 10
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path, fetch=fetcher(retries=2))
    assert "answered 503" in str(e.value) and "(3 attempts, demo_download_retries: 2)" in str(e.value)
    assert "point demo_base_url (or demo_checksums_url) at a mirror" in str(e.value)
    assert len(server.log) == 3


def test_not_found_fails_at_once_naming_the_version(server, tmp_path):
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path, sums="/v2/sums.txt")
    assert "/v2/sums.txt answered 404" in str(e.value) and "Check demo_version and demo_base_url" in str(e.value)
    assert server.log == ["/v2/sums.txt"]


def test_an_unknown_host_fails_at_once_with_the_offline_advice(tmp_path):
    with pytest.raises(ReleaseFilesError) as e:
        release_files([{"arch": "amd64", "name": "app", "url": "http://release.invalid/app"}], {}, {},
                      "http://release.invalid/sums.txt", str(tmp_path), Fetcher(Names("k0s_publish"), delay=0))
    assert str(e.value).startswith("cannot reach http://release.invalid/sums.txt")
    assert ("give k0s_publish_files (a file for each of k0s_publish_architectures) with k0s_publish_checksums"
            in str(e.value))
    assert "attempts" not in str(e.value)


@pytest.mark.parametrize("sums, message", [
    (b"<html>502 Bad Gateway</html>\n", "k0smotron.oci.parse_checksums: line 1 is not"),
    (("%s *other\n" % sha(AMD64)).encode(), "lists no checksum for app-amd64. Check demo_version and demo_base_url"),
])
def test_unusable_checksum_lists(server, tmp_path, sums, message):
    server.files["/v1/sums.txt"] = sums
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path)
    assert message in str(e.value)
    assert server.log == ["/v1/sums.txt"]


def test_local_files_are_linked_verified_and_need_no_network(server, tmp_path):
    local = tmp_path / "my-app"
    local.write_bytes(ARM64)
    changed, out = run(server, tmp_path, arches=("arm64",), local={"arm64": str(local)}, sums="/closed")
    assert changed and out[0]["source"] == "local" and out[0]["checksum_from"] is None
    assert out[0]["path"] == str(tmp_path / "cache" / "local-arm64" / "app")
    assert os.readlink(out[0]["path"]) == str(local) and out[0]["sha256"] == sha(ARM64)
    assert server.log == []
    changed, out = run(server, tmp_path, arches=("arm64",), local={"arm64": str(local)},
                       checksums={"arm64": sha(ARM64)})
    assert not changed and out[0]["checksum_from"] == "demo_checksums"
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path, arches=("arm64",), local={"arm64": str(local)}, checksums={"arm64": "0" * 64})
    assert "(demo_files.arm64) has sha256 %s, expected %s" % (sha(ARM64), "0" * 64) in str(e.value)
    assert "Nothing was pushed" in str(e.value)


@pytest.mark.parametrize("kwargs, message", [
    ({"local": {"arm64": "/x"}, "supported": ["amd64", "arm64"]}, "demo_files gives a file for arm64, which demo_architectures does not list (amd64)"),
    ({"local": {"amd64": "/nonexistent/app"}}, "demo_files.amd64: /nonexistent/app is not a file on the controller"),
    ({"checksums": {"amd64": "a" * 64 + "\n"}}, "demo_checksums an arch to 64 hex digits"),
    ({"checksums": {"riscv64": "a" * 64}, "supported": ["amd64", "arm64"]}, "got files for [], checksums for ['riscv64']"),
    ({"checksums": {"arm64": "a" * 64}, "supported": ["amd64", "arm64"], "sums": None}, "no checksum for amd64"),
])
def test_bad_inputs_fail_before_any_request(server, tmp_path, kwargs, message):
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path, **kwargs)
    assert message in str(e.value)
    assert server.log == []


def test_without_a_prefix_messages_name_the_options(server, tmp_path):
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path, checksums={"amd64": "abc"}, fetch=fetcher(prefix=""))
    assert str(e.value).startswith("local maps an arch (amd64) to a file on the controller, checksums an arch")


def test_single_names_can_be_overridden(server, tmp_path):
    """A second kind of file of one role (k0s_publish's airgap bundles) names its own variables for the files and
    checksums, and shares the others."""
    names = Names("k0s_publish", {"files": "k0s_publish_images_files", "checksums": "k0s_publish_images_checksums"})
    with pytest.raises(ReleaseFilesError) as e:
        run(server, tmp_path, checksums={"amd64": "abc"},
            fetch=Fetcher(names, timeout=5, retries=0, delay=0, sleep=lambda s: None))
    assert str(e.value).startswith("k0s_publish_images_files maps an arch (amd64) to a file on the controller, "
                                   "k0s_publish_images_checksums an arch")
    assert names.base_url == "k0s_publish_base_url"
    with pytest.raises(ReleaseFilesError) as e:
        Names("k0s_publish", {"file": "x"})
    assert "variable_names: unknown keys file" in str(e.value)
