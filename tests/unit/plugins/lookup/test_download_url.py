# -*- coding: utf-8 -*-
"""The download_url lookup runs on the controller: it must not load what only modules need."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys


def test_lookup_does_not_import_ansible_module():
    # A fresh interpreter: this test process has long imported ansible.module_utils.basic for other tests.
    code = ("import sys\n"
            "import ansible_collections.k0smotron.oci.plugins.lookup.download_url\n"
            "print('ansible.module_utils.basic' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
