"""Fixtures for the functional suites: real registry, real ORAS CLI, modules run for real.

Modules are executed as Ansible executes them on a managed node (a Python process reading
ANSIBLE_MODULE_ARGS), or through ansible-playbook where the controller matters.
"""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from tests.harness import mirror as mirror_mod  # noqa: E402
from tests.harness import tools  # noqa: E402
from tests.harness.faultproxy import FaultProxy  # noqa: E402
from tests.harness.modules import ModuleRunner  # noqa: E402
from tests.harness.registry import Registry  # noqa: E402

AUTH_USER = "k0s-ci"
AUTH_PASSWORD = "Sup3r-s3cret-pa55"

# The bin directory of another ansible-core install (scripts/test.sh stage "versions" runs some suites once
# per supported ansible-core line): ansible-playbook, and the Python that runs modules, come from there.
OTHER_ANSIBLE = os.environ.get("K0SMOTRON_OCI_TEST_ANSIBLE_BIN", "")
ANSIBLE_PYTHON = os.path.join(OTHER_ANSIBLE, "python") if OTHER_ANSIBLE else sys.executable


def ansible_bin(name):
    """An ansible command of the ansible-core under test."""
    return os.path.join(OTHER_ANSIBLE, name) if OTHER_ANSIBLE else tools.venv_bin(name)


@pytest.fixture(scope="session")
def collections_dir(tmp_path_factory):
    """A directory holding ansible_collections/k0smotron/oci -> this repository."""
    d = str(tmp_path_factory.mktemp("collections"))
    tools.collections_path(d)
    return d


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """Plain-HTTP registry, no auth."""
    reg = Registry(str(tmp_path_factory.mktemp("registry-plain")))
    reg.start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory):
    """TLS (private CA) + htpasswd registry. ``auth_registry.ca['ca']`` is the CA file."""
    reg = Registry(str(tmp_path_factory.mktemp("registry-tls")), tls=True, users={AUTH_USER: AUTH_PASSWORD})
    reg.start()
    yield reg
    reg.stop()


@pytest.fixture()
def proxy(registry):
    """A fault-injecting proxy in front of the plain registry (rules: proxy.add(...))."""
    with FaultProxy(registry.host) as p:
        yield p


@pytest.fixture(scope="session")
def oras():
    return tools.oras_path()


@pytest.fixture()
def oras_env(tmp_path):
    """Environment for the ORAS CLI with its own (empty) docker config dir."""
    env = dict(os.environ)
    env["DOCKER_CONFIG"] = str(tmp_path / "oras-docker-config")
    env["HOME"] = str(tmp_path)
    os.makedirs(env["DOCKER_CONFIG"], exist_ok=True)
    return env


@pytest.fixture(scope="session")
def oras_mirror(tmp_path_factory, oras):
    """Loopback HTTP mirror with the real ORAS binary in upstream's release layout."""
    root = str(tmp_path_factory.mktemp("oras-mirror"))
    version = tools.oras_version(oras)
    mirror_mod.build_oras_mirror(root, oras, version)
    m = mirror_mod.Mirror(root).start()
    m.version = version
    yield m
    m.stop()


@pytest.fixture(scope="session")
def tampered_mirror(tmp_path_factory, oras, oras_mirror):
    """An ORAS mirror whose tarball for this machine's arch was swapped, after the checksums were written,
    for a valid tarball holding another program: only a checksum check catches it."""
    root = str(tmp_path_factory.mktemp("oras-mirror-tampered"))
    mirror_mod.build_oras_mirror(root, oras, oras_mirror.version, tamper=tools.HOST_ARCH)
    m = mirror_mod.Mirror(root).start()
    yield m
    m.stop()


@pytest.fixture(scope="session")
def run_module(collections_dir):
    return ModuleRunner(collections_dir, python=ANSIBLE_PYTHON)


@pytest.fixture(scope="session")
def ansible_env(collections_dir, tmp_path_factory):
    """Environment for ansible-playbook against this source tree (localhost, venv python)."""
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = tools.collections_path(collections_dir)
    env["ANSIBLE_PYTHON_INTERPRETER"] = ANSIBLE_PYTHON
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_LOCAL_TEMP"] = str(tmp_path_factory.mktemp("ansible-local"))
    env["ANSIBLE_REMOTE_TMP"] = str(tmp_path_factory.mktemp("ansible-remote"))
    env["PATH"] = os.path.dirname(ANSIBLE_PYTHON) + os.pathsep + env.get("PATH", "")
    return env


@pytest.fixture(scope="session")
def ansible_playbook(ansible_env, tmp_path_factory):
    """Run a playbook (text or path) on localhost; returns CompletedProcess (stdout+stderr merged)."""
    work = tmp_path_factory.mktemp("playbooks")
    counter = [0]

    def run(playbook, extra_vars=None, check=False, diff=False, verbosity=0, env=None, inventory=None):
        if "\n" in playbook:
            counter[0] += 1
            path = work / ("play%d.yml" % counter[0])
            path.write_text(playbook)
            playbook = str(path)
        cmd = [ansible_bin("ansible-playbook"), "-i", inventory or "localhost,", "-c", "local", playbook]
        if extra_vars:
            xv = work / ("vars%d.json" % (counter[0] + 1000))
            counter[0] += 1
            xv.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@%s" % xv]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        run_env = dict(ansible_env)
        run_env.update(env or {})
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=run_env, check=False)

    return run
