"""One list of hostile registry behaviours, shared by the tests of the Python client (the modules) and of the
node's shell fetcher (oci_blob_fetch): each scenario sets rules on a ``FakeRegistry`` that holds ``BLOB`` in
``REPOSITORY``; each side's tests assert their own outcome (the two clients have different caps and exit codes).

    @pytest.mark.parametrize("name", sorted(hostile.SCENARIOS))
    def test_x(fake, name):
        hostile.SCENARIOS[name](fake)
        ...
"""
import hashlib

from .fakeregistry import endless, redirect, reply

BLOB = b"k0s" * 4096
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
REPOSITORY = "k0s/k0s"
# Text a hostile server puts into a header: terminal escapes (clear screen, set the window title, colours).
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b[31m"


def endless_blob(fake):
    """The blob's HEAD gives the right size, its GET a body that never ends."""
    fake.on("HEAD", "/blobs/", reply(200, length=len(BLOB)))
    fake.on("GET", "/blobs/", endless(chunk=b"\0" * 65536))


def blob_without_size(fake):
    """The right bytes, but neither the HEAD nor the GET gives a Content-Length."""
    fake.on("HEAD", "/blobs/", reply(200, length=False))
    fake.on("GET", "/blobs/", reply(200, body=BLOB, chunked=True))


def endless_token_answer(fake):
    """A Bearer challenge whose token service answers with a JSON body that never ends."""
    challenge = 'Bearer realm="%s/token",service="fake"' % fake.url
    fake.on(None, "/v2/", reply(401, {"WWW-Authenticate": challenge}))
    fake.on("GET", "/token", endless(chunk=b'{"token":"' + b"a" * 65536))


def escapes_in_location(fake):
    """The blob redirects to a host name full of terminal escape sequences (which does not resolve)."""
    fake.on(None, "/blobs/", redirect("https://cdn%s.invalid/blob" % ESCAPES))


SCENARIOS = {
    "endless-blob": endless_blob,
    "blob-without-size": blob_without_size,
    "endless-token-answer": endless_token_answer,
    "escapes-in-location": escapes_in_location,
}
