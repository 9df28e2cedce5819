"""ansible-galaxy collection build -> install the tarball into an empty collections path ->
ansible-playbook k0smotron.oci.site (render mode, local TLS registry) runs from there, not from the source tree.
The install is offline and without --no-deps (no hard dependency); kubernetes.core is needed only to apply."""
import glob
import json
import os
import subprocess
import sys

import pytest
from conftest import AUTH_PASSWORD, AUTH_USER

from tests.harness import mirror as mirror_mod
from tests.harness import schemas, tools

VERSION = "v1.34.1+k0s.0"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy")
    src = work / "src"
    src.mkdir()
    # A copy of the working tree (tracked and new files, not ignored ones), as scripts/test.sh makes it.
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=tools.ROOT,
                           capture_output=True, check=True).stdout.split(b"\0")
    existing = b"\0".join(f for f in files if f and os.path.exists(os.path.join(tools.ROOT, f.decode())))
    tar = subprocess.Popen(["tar", "--null", "-T", "-", "-cf", "-"], cwd=tools.ROOT, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
    untar = subprocess.Popen(["tar", "-xf", "-", "-C", str(src)], stdin=tar.stdout)
    tar.stdin.write(existing)
    tar.stdin.close()
    tar.stdout.close()
    assert untar.wait() == 0 and tar.wait() == 0
    out, inst = work / "dist", work / "collections"
    galaxy = tools.venv_bin("ansible-galaxy")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    b = subprocess.run([galaxy, "collection", "build", "--output-path", str(out)], cwd=str(src),
                       capture_output=True, text=True, env=clean, check=False)
    assert b.returncode == 0, b.stdout + b.stderr
    (tarball,) = glob.glob(str(out / "k0smotron-oci-*.tar.gz"))
    # --force: ansible-galaxy skips the install when it sees the same k0smotron.oci version on another configured path.
    # No --no-deps: a user without Galaxy access runs exactly this.
    i = subprocess.run([galaxy, "collection", "install", "--offline", "--force", "-p", str(inst), tarball],
                       cwd=str(work), capture_output=True, text=True, env=clean, check=False)
    assert i.returncode == 0, i.stdout + i.stderr
    coll = inst / "ansible_collections" / "k0smotron" / "oci"
    assert (coll / "playbooks" / "site.yml").is_file() and not os.path.islink(str(coll)), i.stdout
    # Nothing of the development tree ships.
    assert not (coll / ".venv").exists() and not (coll / ".tools").exists()
    return {"work": work, "path": str(inst), "tarball": tarball}


def installed_env(installed, work):
    """Only the installed k0smotron.oci: no kubernetes.core on the collections path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "K0SMOTRON_OCI_"))}
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": installed["path"],
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(work / "tmp-local"),
        "ANSIBLE_REMOTE_TMP": str(work / "tmp-remote"),
        # cryptography >= 51 warns about DSA when ansible-core imports its ssh-agent support, naming the venv's path;
        # the assertion below is about where the collection is loaded from, not about that warning.
        "PYTHONWARNINGS": "ignore::UserWarning:ansible._internal._ssh._ssh_agent",
        "XDG_CACHE_HOME": str(work / "cache"),
    })
    return env


def test_apply_without_kubernetes_core_says_how_to_install_it(installed, tmp_path):
    p = subprocess.run(
        [tools.venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", "k0smotron.oci.control_plane",
         "-e", "control_plane_state=present",
         "-e", "control_plane_download_url=oci://registry.example.com/k0s@sha256:" + "a" * 64],
        cwd=str(tmp_path), env=installed_env(installed, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, check=False)
    assert p.returncode != 0
    assert "kubernetes.core is not installed" in p.stdout, p.stdout[-3000:]
    assert "ansible-galaxy collection install kubernetes.core" in p.stdout
    assert "control_plane_state=rendered" in p.stdout


def test_site_runs_from_the_installed_collection(installed, auth_registry, oras_mirror, tmp_path):
    work = tmp_path
    files = {"amd64": mirror_mod.stand_in_k0s(str(work / "k0s-src"), VERSION)}
    mirror_mod.build_k0s_mirror(str(work / "k0s-mirror"), VERSION, files)
    manifests = work / "manifests"
    env = installed_env(installed, work)
    env.update({"K0SMOTRON_OCI_USERNAME": AUTH_USER, "K0SMOTRON_OCI_PASSWORD": AUTH_PASSWORD})
    # Which copy does Ansible see? The installed one only.
    listing = subprocess.run([tools.venv_bin("ansible-galaxy"), "collection", "list", "k0smotron.oci"],
                             capture_output=True, text=True, env=env, cwd=str(work), check=False)
    assert installed["path"] in listing.stdout and tools.ROOT not in listing.stdout, listing.stdout
    with mirror_mod.Mirror(str(work / "k0s-mirror")) as k0s_mirror:
        p = subprocess.run(
            [tools.venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", "k0smotron.oci.site",
             "-e", "k0s_publish_repository=%s/galaxy/k0s" % auth_registry.host,
             "-e", "k0s_publish_base_url=%s" % k0s_mirror.url,
             "-e", "k0s_publish_registry_ca_path=%s" % auth_registry.ca["ca"],
             "-e", json.dumps({"k0s_publish_trusted_keys": [mirror_mod.RELEASE_KEY.public_pem]}),
             "-e", "control_plane_output_dir=%s" % manifests,
             "-e", "control_plane_oras_base_url=%s" % oras_mirror.url,
             "-e", "control_plane_oras_version=%s" % oras_mirror.version],
            cwd=str(work), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert p.returncode == 0, p.stdout[-5000:]
    assert AUTH_PASSWORD not in p.stdout
    assert tools.ROOT not in p.stdout
    assert "is not a variable of this role" not in p.stdout
    url = "oci://%s/galaxy/k0s@sha256:%s" % (auth_registry.host, mirror_mod.sha256_file(files["amd64"]))
    rendered = sorted(manifests.iterdir())
    cp = [d for f in rendered for d in schemas.load_file(str(f)) if d["kind"] == "K0sControlPlane"]
    assert cp and cp[0]["spec"]["k0sConfigSpec"]["downloadURL"] == url
    for f in rendered:
        assert schemas.validate_file(str(f)) == [], f
