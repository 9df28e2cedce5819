"""Where the tools installed by scripts/setup.sh live."""
import os
import platform
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, ".tools")
VENV = os.path.join(ROOT, ".venv")
# This machine's architecture in release-asset terms (ORAS: amd64/arm64/armv7), i.e. the simulated node's.
HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "armv7"}.get(platform.machine(), "amd64")


def oras_path():
    """The ORAS CLI unpacked by setup.sh (Debian trixie package), else one on PATH."""
    local = os.path.join(TOOLS, "oras", "usr", "bin", "oras")
    if os.path.exists(local):
        return local
    found = shutil.which("oras")
    if not found:
        raise RuntimeError("ORAS CLI not found: run scripts/setup.sh")
    return found


def cosign_path():
    """The cosign CLI unpacked by setup.sh (Debian trixie package), else one on PATH; None if neither."""
    local = os.path.join(TOOLS, "cosign", "usr", "bin", "cosign")
    return local if os.path.exists(local) else shutil.which("cosign")


def oras_version(oras=None):
    out = subprocess.run([oras or oras_path(), "version"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.lower().startswith("version:"):
            return line.split(":", 1)[1].strip().split("+")[0]
    raise RuntimeError("cannot parse 'oras version' output: %r" % out)


def venv_bin(name):
    path = os.path.join(VENV, "bin", name)
    return path if os.path.exists(path) else (shutil.which(name) or name)


def collections_path(build_dir):
    """An ANSIBLE_COLLECTIONS_PATH with this repository as k0smotron.oci plus kubernetes.core."""
    ns = os.path.join(build_dir, "ansible_collections", "k0smotron")
    os.makedirs(ns, exist_ok=True)
    link = os.path.join(ns, "oci")
    if not os.path.lexists(link):
        os.symlink(ROOT, link)
    return os.pathsep.join([build_dir, os.path.join(TOOLS, "collections")])


def module_util(name):
    """A module util of this working tree (``ansible_collections.k0smotron.oci.plugins.module_utils.<name>``),
    importable from plain Python: a link ``.tools/self/ansible_collections/k0smotron/oci`` -> the tree."""
    return _collection_module("module_utils." + name)


def plugin_util(name):
    """A plugin util (controller side) of this working tree, as ``module_util`` does it."""
    return _collection_module("plugin_utils." + name)


def _collection_module(name):
    import importlib
    import sys
    qualified = "ansible_collections.k0smotron.oci.plugins." + name
    try:
        return importlib.import_module(qualified)
    except ImportError:
        base = os.path.join(TOOLS, "self")
        collections_path(base)
        sys.path.insert(0, base)
        return importlib.import_module(qualified)
