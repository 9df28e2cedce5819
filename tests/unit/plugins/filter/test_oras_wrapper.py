# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.filter.oras_wrapper import FilterModule
from ansible_collections.k0smotron.oci.plugins.plugin_utils._node_scripts import WRAPPER_MARKER

oras_wrapper = FilterModule().filters()["oras_wrapper"]


def passwd_home():
    """What the wrapper's fallback finds: the passwd entry's home, else /root."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir or "/root"
    except KeyError:
        return "/root"


def run(script_path, env):
    return subprocess.run(["sh", script_path], capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize("home, env_home, expected", [
    ("", None, passwd_home()),
    ("/srv/oras home", None, "/srv/oras home"),
    ("/srv/oras", "/already/set", "/already/set"),
    (None, "/already/set", "/already/set"),
])
def test_wrapper_sets_home_only_when_unset(tmp_path, home, env_home, expected):
    real = tmp_path / "real dir" / "oras"
    real.parent.mkdir()
    real.write_text('#!/bin/sh\nprintf "%s|%s" "$HOME" "$*"\n')
    real.chmod(0o755)
    wrapper = tmp_path / "oras"
    wrapper.write_text(oras_wrapper(str(real), "1.3.0", home))
    env = {"PATH": os.environ["PATH"]}
    if env_home is not None:
        env["HOME"] = env_home
    proc = run(str(wrapper), env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected + "|"
    text = wrapper.read_text()
    assert text.startswith("#!/bin/sh\n") and WRAPPER_MARKER in text and "1.3.0" in text


@pytest.mark.parametrize("args, needle", [
    (("", "1.3.0"), "real binary path must be a non-empty string"),
    (("oras", "1.3.0"), "must be absolute"),
    (("/opt/oras", ""), "version must be a non-empty string"),
    (("/opt/oras", "1.3.0\nrm -rf /"), "version must be one line"),
    (("/opt/oras", "1.3.0", 5), "home must be a string"),
])
def test_wrapper_errors(args, needle):
    with pytest.raises(AnsibleFilterError, match=needle):
        oras_wrapper(*args)
