# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import subprocess

import pytest

from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_fetch import (
    FETCH_FUNCTION,
    fetch_library,
    NodeFetchError,
    check_no_jinja,
    fetch_command,
    fetch_script,
    validate,
)

DIGEST = "sha256:" + "ab" * 32
GOOD = dict(registry="registry.example.com:5000", repository="k0smotron/oras", digest=DIGEST,
            dest="/usr/local/lib/k0smotron-oci/oras.tar.gz")


def test_library_has_no_jinja_delimiters():
    for delimiter in ("{{", "{%", "{#"):
        assert delimiter not in fetch_library()
    assert "${#" not in fetch_library()


def test_library_avoids_bashisms():
    # No [[ ]], no arrays, no ${var//}, no echo -e, no "function" keyword, no <<< here-strings, no jq, no curl -L.
    code = "\n".join(line for line in fetch_library().splitlines() if not line.lstrip().startswith("#"))
    for pattern in (r"\[\[ ", r"\$\{\w+//", r"echo -e", r"^\s*function\s+\w+\s*(\(\))?\s*\{", r"<<<", r"\bjq\b", r"\$\{\w+\[", r"\bcurl\b.*\s-L\b"):
        assert not re.search(pattern, code, re.M), pattern


def test_script_renders_and_parses_in_sh():
    text = fetch_script(**GOOD)
    assert text.startswith("#!/bin/sh\n")
    check_no_jinja(text)
    assert subprocess.run(["sh", "-n"], input=text, text=True, check=False).returncode == 0


@pytest.mark.parametrize("field, value", [
    ("registry", "https://registry.example.com"),
    ("registry", "registry.example.com/path"),
    ("registry", "registry.example.com:99999"),
    ("registry", "-oops"),
    ("registry", "reg;rm -rf /"),
    ("registry", ""),
    ("repository", "K0smotron/oras"),
    ("repository", "/oras"),
    ("repository", "oras/"),
    ("repository", "oras$(id)"),
    ("digest", "sha256:" + "AB" * 32),
    ("digest", "sha256:" + "ab" * 31),
    ("digest", "sha512:" + "ab" * 64),
    ("digest", DIGEST + "\n"),
    ("digest", "ab" * 32),
    ("dest", "relative/oras.tar.gz"),
    ("dest", "/usr/local/lib/"),
    ("dest", "/tmp/a\nb"),
    ("config_path", "config.json"),
    ("ca_file", "ca.pem"),
    ("retries", -1),
    ("retries", 11),
    ("retries", True),
    ("retries", "3"),
    ("mode", "644x"),
    ("mode", 420),
])
def test_validation_rejects(field, value):
    kw = dict(GOOD)
    kw[field] = value
    with pytest.raises(NodeFetchError, match=field.split("_")[0]):
        validate(**kw)
    with pytest.raises(NodeFetchError):
        fetch_script(**kw)


@pytest.mark.parametrize("registry", ["registry.example.com", "127.0.0.1:5000", "[::1]:5000", "localhost"])
def test_validation_accepts_registries(registry):
    kw = dict(GOOD)
    kw["registry"] = registry
    validate(**kw)


def test_command_quotes_every_value():
    dest = "/srv/it's $(touch pwned) `x` \"q\" *.tgz"
    kw = dict(GOOD)
    kw.update(dest=dest, config_path="/etc/my docker/config.json", ca_file="/etc/ca's.pem", plain_http=True, retries=0,
              mode="0755")
    cmd = fetch_command(**kw)
    assert cmd.startswith(FETCH_FUNCTION + " ")
    # The shell sees exactly the values: a stub function prints its arguments one per line.
    stub = "oci_blob_fetch() { for a in \"$@\"; do printf '%s\\n' \"$a\"; done; }\n" + cmd + "\n"
    out = subprocess.run(["sh", "-c", stub], capture_output=True, text=True, check=True).stdout.split("\n")[:-1]
    assert out == ["-c", "/etc/my docker/config.json", "-a", "/etc/ca's.pem", "-p", "-r", "0", "-m", "0755", "--",
                   GOOD["registry"], GOOD["repository"], DIGEST, dest]


def test_command_defaults():
    cmd = fetch_command(**GOOD)
    assert cmd == ("oci_blob_fetch -c /root/.docker/config.json -r 3 -m 0644 -- registry.example.com:5000 "
                   "k0smotron/oras %s /usr/local/lib/k0smotron-oci/oras.tar.gz" % DIGEST)


def test_jinja_in_a_value_is_refused():
    with pytest.raises(NodeFetchError, match="Jinja"):
        fetch_script(registry=GOOD["registry"], repository=GOOD["repository"], digest=DIGEST, dest="/srv/{{ x }}")
    with pytest.raises(NodeFetchError, match="Jinja"):
        check_no_jinja("a=${#b}")


def test_jinja_rendering_leaves_the_script_unchanged():
    """What cloud-init does to write_files contents under '## template: jinja'."""
    jinja2 = pytest.importorskip("jinja2")
    text = fetch_script(**GOOD)
    assert jinja2.Environment(keep_trailing_newline=True).from_string(text).render() == text
