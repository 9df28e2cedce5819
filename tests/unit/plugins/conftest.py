# -*- coding: utf-8 -*-
"""Shared by the plugin unit tests."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture()
def modules_loaded_by():
    """``modules_loaded_by(name)`` -> the set of module names a fresh interpreter has after importing ``name``
    (this test process has long imported everything the other tests need)."""
    def loaded(name):
        code = "import json, sys\nimport %s\nprint(json.dumps(sorted(sys.modules)))\n" % name
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        return set(json.loads(out))
    return loaded
