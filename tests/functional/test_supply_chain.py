"""Signatures both ways with the real cosign CLI: cosign's signatures verify with our actions, ours with
``cosign verify``; each refusal (tampered, swapped, unpinned, wrong key type, unsigned, untrusted, blob
outside the signed manifest, signature for another repository) has its own test."""
import base64
import json
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from tests.harness import tools

COSIGN = tools.cosign_path()
PASSWORD = "c0sign-Key-pa55word"
pytestmark = pytest.mark.skipif(not COSIGN, reason="cosign not installed: run scripts/setup.sh")


def cosign(*args, env=None, check=True):
    run_env = dict(os.environ, COSIGN_PASSWORD=PASSWORD, COSIGN_YES="true", **(env or {}))
    proc = subprocess.run([COSIGN] + list(args), capture_output=True, text=True, env=run_env, check=False)
    if check and proc.returncode:
        raise AssertionError("cosign %s failed: %s" % (" ".join(args), proc.stderr))
    return proc


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    """A cosign key pair (encrypted, as generate-key-pair writes it) and a second, untrusted one."""
    d = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("trusted", "other"):
        sub = d / name
        sub.mkdir()
        subprocess.run([COSIGN, "generate-key-pair"], cwd=str(sub), capture_output=True,
                       env=dict(os.environ, COSIGN_PASSWORD=PASSWORD), check=True)
        out[name] = dict(key=str(sub / "cosign.key"), pub=str(sub / "cosign.pub"))
    return out


def pem_private(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def pem_public(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture()
def artifact(registry, run_module, tmp_path):
    """A k0s-like artifact pushed with artifact_push: (reference, blob download URL, manifest digest)."""
    def push(repo="sc/k0s", content=b"k0s binary " * 100, tag="v1.34.1-k0s.0"):
        f = tmp_path / "k0s"
        f.write_bytes(content)
        ref = "%s/%s:%s" % (registry.host, repo, tag)
        res = run_module("artifact_push", dict(reference=ref, files=[str(f)], plain_http=True), expect_fail=False)
        return ref, res["download_url"], res["manifest_digest"]
    return push


def sign(ansible_playbook, ref, key, password=PASSWORD, check=False, extra=None):
    args = dict(reference=ref, signing_key=key, signing_key_password=password, plain_http=True)
    args.update(extra or {})
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - k0smotron.oci.artifact_sign: "{{ sign_args }}"
      register: signed
    - ansible.builtin.debug:
        msg: "RESULT={{ signed | to_json }}"
"""
    return ansible_playbook(play, extra_vars=dict(sign_args=args), check=check)


def verify(ansible_playbook, url, ref, trusted):
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - k0smotron.oci.artifact_verify:
        download_url: "{{ url }}"
        reference: "{{ ref }}"
        trusted_keys: "{{ trusted }}"
        plain_http: true
      register: verified
    - ansible.builtin.debug:
        msg: "RESULT={{ verified | to_json }}"
"""
    return ansible_playbook(play, extra_vars=dict(url=url, ref=ref, trusted=trusted))


def result_of(proc):
    assert proc.returncode == 0, proc.stdout
    line = [x for x in proc.stdout.splitlines() if '"msg": "RESULT=' in x][0]
    return json.loads(json.loads("{" + line.strip().rstrip(",") + "}")["msg"][len("RESULT="):])


# ------------------------------------------------------------------ our signatures, cosign verifies
def test_our_signature_verifies_with_cosign_and_resigning_is_idempotent(registry, artifact, ansible_playbook, keys):
    ref, url, digest = artifact()
    first = result_of(sign(ansible_playbook, ref, keys["trusted"]["key"]))
    assert first["changed"] is True and first["signatures"][0]["manifest_digest"] == digest
    proc = cosign("verify", "--key", keys["trusted"]["pub"], "--insecure-ignore-tlog", "--allow-http-registry",
                  "%s@%s" % (ref.rsplit(":", 1)[0], digest), check=False)
    assert proc.returncode == 0, proc.stderr
    claims = json.loads(proc.stdout)
    assert claims[0]["critical"]["image"]["docker-manifest-digest"] == digest

    again = sign(ansible_playbook, ref, keys["trusted"]["key"])
    assert result_of(again)["changed"] is False
    tag = "sha256-%s.sig" % digest.split(":")[1]
    manifest = json.loads(subprocess.run([tools.oras_path(), "manifest", "fetch", "--plain-http",
                                          "%s:%s" % (ref.rsplit(":", 1)[0], tag)],
                                         capture_output=True, text=True, check=True).stdout)
    assert len(manifest["layers"]) == 1, "a second run must not add a duplicate signature"
    assert PASSWORD not in first and PASSWORD not in again.stdout


def test_check_mode_signs_nothing(registry, artifact, ansible_playbook, keys):
    ref, _url, digest = artifact(repo="sc/check")
    res = result_of(sign(ansible_playbook, ref, keys["trusted"]["key"], check=True))
    assert res["changed"] is True
    proc = cosign("verify", "--key", keys["trusted"]["pub"], "--insecure-ignore-tlog", "--allow-http-registry",
                  "%s@%s" % (ref.rsplit(":", 1)[0], digest), check=False)
    assert proc.returncode != 0, "check mode wrote a signature"


@pytest.mark.parametrize("kind", ["ecdsa-p384", "rsa", "ed25519"])
def test_plain_pem_keys_sign_in_a_form_cosign_verifies(registry, artifact, ansible_playbook, tmp_path, kind):
    private = {"ecdsa-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
               "rsa": lambda: rsa.generate_private_key(65537, 2048),
               "ed25519": ed25519.Ed25519PrivateKey.generate}[kind]()
    pub = tmp_path / "pub.pem"
    pub.write_text(pem_public(private))
    ref, _url, digest = artifact(repo="sc/pem-" + kind)
    result_of(sign(ansible_playbook, ref, pem_private(private), password=""))
    proc = cosign("verify", "--key", str(pub), "--insecure-ignore-tlog", "--allow-http-registry",
                  "%s@%s" % (ref.rsplit(":", 1)[0], digest), check=False)
    assert proc.returncode == 0, proc.stderr


def test_wrong_key_password_fails_without_showing_it(registry, artifact, ansible_playbook, keys):
    ref, _url, _digest = artifact(repo="sc/wrongpw")
    proc = sign(ansible_playbook, ref, keys["trusted"]["key"], password="not-the-Password-42")
    assert proc.returncode != 0
    assert "wrong password" in proc.stdout
    assert "not-the-Password-42" not in proc.stdout
    assert "PRIVATE KEY" not in proc.stdout


# ------------------------------------------------------------------ cosign's signatures, we verify
def test_cosign_signed_artifact_verifies_and_names_key_and_manifest(registry, artifact, ansible_playbook, keys):
    ref, url, digest = artifact(repo="sc/by-cosign")
    cosign("sign", "--key", keys["trusted"]["key"], "--tlog-upload=false", "--allow-http-registry",
           "%s@%s" % (ref.rsplit(":", 1)[0], digest))
    res = result_of(verify(ansible_playbook, url, ref, [keys["trusted"]["pub"]]))
    assert res["verified"]["manifest_digest"] == digest
    fingerprint = res["verified"]["key_fingerprint"]
    assert fingerprint.startswith("sha256:") and fingerprint in res["msg"]
    assert "transparency log" in res["transparency_log"]


def test_key_rotation_any_pinned_key_verifies(registry, artifact, ansible_playbook, keys):
    ref, url, _digest = artifact(repo="sc/rotation")
    result_of(sign(ansible_playbook, ref, keys["other"]["key"]))
    with open(keys["trusted"]["pub"]) as f:
        trusted_pem = f.read()
    res = result_of(verify(ansible_playbook, url, ref, [trusted_pem, keys["other"]["pub"]]))
    assert res["verified"]["key_fingerprint"] in res["msg"]


# ------------------------------------------------------------------ refusals at render time
def test_unsigned_artifact_is_refused(registry, artifact, ansible_playbook, keys):
    ref, url, digest = artifact(repo="sc/unsigned")
    proc = verify(ansible_playbook, url, ref, [keys["trusted"]["pub"]])
    assert proc.returncode != 0
    assert "has no cosign signature" in proc.stdout and digest in proc.stdout


def test_artifact_signed_with_an_untrusted_key_is_refused(registry, artifact, ansible_playbook, keys):
    ref, url, _digest = artifact(repo="sc/untrusted")
    cosign("sign", "--key", keys["other"]["key"], "--tlog-upload=false", "--allow-http-registry",
           "%s@%s" % (ref.rsplit(":", 1)[0], _digest))
    proc = verify(ansible_playbook, url, ref, [keys["trusted"]["pub"]])
    assert proc.returncode != 0
    assert "none by a trusted key" in proc.stdout


def test_blob_that_is_not_a_layer_of_the_signed_manifest_is_refused(registry, artifact, ansible_playbook, keys):
    ref, _url, _digest = artifact(repo="sc/not-a-layer")
    result_of(sign(ansible_playbook, ref, keys["trusted"]["key"]))
    _ref2, other_url, _d2 = artifact(repo="sc/not-a-layer", content=b"another binary", tag="other")
    proc = verify(ansible_playbook, other_url, ref, [keys["trusted"]["pub"]])
    assert proc.returncode != 0
    assert "is not a layer of" in proc.stdout


def test_signature_made_for_another_repository_is_refused(registry, artifact, ansible_playbook, keys, oras_env):
    ref_a, url_a, digest = artifact(repo="sc/repo-a")
    result_of(sign(ansible_playbook, ref_a, keys["trusted"]["key"]))
    repo_a, repo_b = ref_a.rsplit(":", 1)[0], "%s/sc/repo-b" % registry.host
    tag = "sha256-%s.sig" % digest.split(":")[1]
    for source, target in ((ref_a, repo_b + ":v1.34.1-k0s.0"), ("%s:%s" % (repo_a, tag), "%s:%s" % (repo_b, tag))):
        subprocess.run([tools.oras_path(), "cp", "--from-plain-http", "--to-plain-http", source, target],
                       capture_output=True, text=True, env=oras_env, check=True)
    ref_b, url_b = repo_b + ":v1.34.1-k0s.0", url_a.replace(repo_a, repo_b)
    proc = verify(ansible_playbook, url_b, ref_b, [keys["trusted"]["pub"]])
    assert proc.returncode != 0
    assert "was made for repository %s" % ref_a.rsplit(":", 1)[0] in proc.stdout


# ------------------------------------------------------------------ release files (cosign sign-blob)
@pytest.fixture()
def release(tmp_path, keys):
    """A fake k0s release: binary, its cosign sign-blob signature, and the release's cosign.pub."""
    binary = tmp_path / "k0s-v1.34.1+k0s.0-amd64"
    binary.write_bytes(b"\x7fELF fake k0s " * 1000)
    sig = tmp_path / (binary.name + ".sig")
    sig.write_text(cosign("sign-blob", "--key", keys["trusted"]["key"], "--tlog-upload=false", str(binary)).stdout)
    pub = tmp_path / "cosign.pub"
    with open(keys["trusted"]["pub"]) as f:
        pub.write_text(f.read())
    return dict(binary=str(binary), sig=str(sig), pub=str(pub))


def verify_file(ansible_playbook, release, trusted, **over):
    args = dict(path=release["binary"], signature_path=release["sig"], release_key_path=release["pub"],
                trusted_keys=trusted)
    args.update(over)
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - k0smotron.oci.file_signature_verify: "{{ verify_args }}"
      register: verified
    - ansible.builtin.debug:
        msg: "RESULT={{ verified | to_json }}"
"""
    return ansible_playbook(play, extra_vars=dict(verify_args=args))


def test_release_signed_with_cosign_sign_blob_verifies(ansible_playbook, release, keys):
    res = result_of(verify_file(ansible_playbook, release, [keys["trusted"]["pub"]]))
    assert res["key_fingerprint"] in res["msg"] and res["changed"] is False
    assert cosign("verify-blob", "--key", release["pub"], "--signature", release["sig"], "--insecure-ignore-tlog",
                  release["binary"], check=False).returncode == 0


def test_tampered_release_binary_is_refused(ansible_playbook, release, keys):
    with open(release["binary"], "ab") as f:
        f.write(b"x")
    proc = verify_file(ansible_playbook, release, [keys["trusted"]["pub"]])
    assert proc.returncode != 0 and "does not verify with any pinned key" in proc.stdout


def test_swapped_signature_is_refused(ansible_playbook, release, keys, tmp_path):
    other = tmp_path / "other"
    other.write_bytes(b"another file")
    swapped = tmp_path / "swapped.sig"
    swapped.write_text(cosign("sign-blob", "--key", keys["trusted"]["key"], "--tlog-upload=false", str(other)).stdout)
    proc = verify_file(ansible_playbook, release, [keys["trusted"]["pub"]], signature_path=str(swapped))
    assert proc.returncode != 0 and "does not verify with any pinned key" in proc.stdout


def test_unpinned_release_key_is_refused_with_its_fingerprint(ansible_playbook, release, keys):
    with open(keys["other"]["pub"]) as f:
        other = f.read()
    proc = verify_file(ansible_playbook, release, [other])
    assert proc.returncode != 0
    assert "is not one of the pinned keys" in proc.stdout and "fingerprint sha256:" in proc.stdout


def test_wrong_key_type_is_refused(ansible_playbook, release, tmp_path):
    x25519_pub = pem_public(x25519.X25519PrivateKey.generate())
    proc = verify_file(ansible_playbook, release, [x25519_pub], release_key_path=None)
    assert proc.returncode != 0
    assert "not one cosign verifies" in proc.stdout


def test_signature_file_that_is_not_base64_is_refused(ansible_playbook, release, keys, tmp_path):
    bad = tmp_path / "bad.sig"
    bad.write_text("<html>not found</html>")
    proc = verify_file(ansible_playbook, release, [keys["trusted"]["pub"]], signature_path=str(bad))
    assert proc.returncode != 0 and "is not base64 signature text" in proc.stdout


def test_secretbox_rejects_a_flipped_byte(keys):
    """The encrypted key's tag check is real: one flipped ciphertext byte and the key does not open."""
    cosign_mod = tools.plugin_util("_cosign")
    with open(keys["trusted"]["key"]) as f:
        text = f.read()
    body = "".join(text.strip().splitlines()[1:-1])
    doc = json.loads(base64.b64decode(body))
    raw = bytearray(base64.b64decode(doc["ciphertext"]))
    raw[20] ^= 1
    doc["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    tampered = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n%s\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n" % (
        base64.b64encode(json.dumps(doc).encode()).decode())
    with pytest.raises(cosign_mod.CosignError, match="wrong password"):
        cosign_mod.load_private_key(tampered, PASSWORD)
    assert cosign_mod.load_private_key(text, PASSWORD).public.kind == "ecdsa"


# ------------------------------------------------------------------ signing as part of the push modules
def test_artifact_push_and_index_push_sign_what_they_push(registry, ansible_playbook, keys, tmp_path):
    binary = tmp_path / "k0s"
    binary.write_bytes(b"k0s for signing " * 64)
    repo = "%s/sc/push-signed" % registry.host
    play = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/k0smotron.oci.registry:
      plain_http: true
  tasks:
    - k0smotron.oci.artifact_push:
        reference: "{{ repo }}:amd64"
        files: ["{{ binary }}"]
        signing_key: "{{ key }}"
      register: pushed
    - k0smotron.oci.index_push:
        reference: "{{ repo }}:v1"
        manifests: [{digest: "{{ pushed.manifest_digest }}", platform: linux/amd64}]
        signing_key: "{{ key }}"
      register: indexed
    - ansible.builtin.debug:
        msg: "RESULT={{ {'pushed': pushed, 'indexed': indexed} | to_json }}"
"""
    extra = dict(repo=repo, binary=str(binary), key=keys["trusted"]["key"])
    env = dict(COSIGN_PASSWORD=PASSWORD)
    first = result_of(ansible_playbook(play, extra_vars=extra, env=env))
    assert first["pushed"]["signature"]["changed"] is True and first["indexed"]["signature"]["changed"] is True
    for digest in (first["pushed"]["manifest_digest"], first["indexed"]["index_digest"]):
        proc = cosign("verify", "--key", keys["trusted"]["pub"], "--insecure-ignore-tlog", "--allow-http-registry",
                      "%s@%s" % (repo, digest), check=False)
        assert proc.returncode == 0, proc.stderr
    again = result_of(ansible_playbook(play, extra_vars=extra, env=env))
    assert again["pushed"]["changed"] is False and again["indexed"]["changed"] is False
    assert again["pushed"]["signature"]["changed"] is False


# ------------------------------------------------------------------ control_plane: verify before rendering
def render_verified(ansible_playbook, oras_mirror, out, ref, trusted, download_url="", **over):
    extra = {"control_plane_output_dir": str(out), "control_plane_oras_base_url": oras_mirror.url,
             "control_plane_oras_version": oras_mirror.version, "control_plane_artifact_reference": ref,
             "control_plane_registry_plain_http": True, "control_plane_trusted_keys": trusted,
             "control_plane_download_url": download_url}
    extra.update(over)
    return ansible_playbook(os.path.join(tools.ROOT, "playbooks", "control_plane.yml"), extra_vars=extra)


def test_control_plane_renders_a_signed_artifact_and_names_the_key(registry, artifact, ansible_playbook, keys,
                                                                   oras_mirror, tmp_path):
    ref, url, digest = artifact(repo="sc/cp-signed")
    signed = result_of(sign(ansible_playbook, ref, keys["trusted"]["key"]))
    proc = render_verified(ansible_playbook, oras_mirror, tmp_path, ref, [keys["trusted"]["pub"]])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "signed by key %s" % signed["key_fingerprint"] in proc.stdout and digest in proc.stdout
    assert any(url in p.read_text() for p in tmp_path.glob("*.yaml"))


@pytest.mark.parametrize("case", ["unsigned", "untrusted"])
def test_control_plane_refuses_to_render_what_no_trusted_key_signed(
        registry, artifact, ansible_playbook, keys, oras_mirror, tmp_path, case):
    ref, url, _digest = artifact(repo="sc/cp-" + case)
    if case == "untrusted":
        result_of(sign(ansible_playbook, ref, keys["other"]["key"]))
    proc = render_verified(ansible_playbook, oras_mirror, tmp_path, ref, [keys["trusted"]["pub"]], download_url=url)
    assert proc.returncode != 0
    needle = {"unsigned": "has no cosign signature", "untrusted": "none by a trusted key"}[case]
    assert needle in proc.stdout
    assert not list(tmp_path.glob("*.yaml")), "nothing may be rendered"


# ------------------------------------------------------------------ k0s_binary: verify before fetching
K0S_BINARY_PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: k0smotron.oci.k0s_binary
"""


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_k0s_binary_installs_only_a_signed_binary(registry, artifact, ansible_playbook, keys, tmp_path, signed):
    ref, _url, digest = artifact(repo="sc/node-%s" % ("signed" if signed else "unsigned"))
    if signed:
        result_of(sign(ansible_playbook, ref, keys["trusted"]["key"]))
    dest = tmp_path / "bin" / "k0s"
    extra = {"k0s_binary_artifact_reference": ref, "k0s_binary_artifact_title": "k0s",
             "k0s_binary_fetch_method": "module", "k0s_binary_install_path": str(dest),
             "k0s_binary_docker_config_path": str(tmp_path / "docker" / "config.json"),
             "k0s_binary_registry_plain_http": True, "k0s_binary_trusted_keys": [keys["trusted"]["pub"]]}
    proc = ansible_playbook(K0S_BINARY_PLAY, extra_vars=extra)
    if signed:
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert dest.read_bytes() == b"k0s binary " * 100 and digest in proc.stdout
    else:
        assert proc.returncode != 0 and "has no cosign signature" in proc.stdout
        assert not dest.exists()


# ------------------------------------------------------------------ k0s_publish: release signatures on the way in
@pytest.fixture()
def signed_release(tmp_path, keys):
    """A fake k0s release on a loopback mirror, signed with the real ``cosign sign-blob`` as k0s signs its
    releases (each binary's .sig, and cosign.pub); ``tamper(how)`` changes it after signing."""
    from tests.harness import mirror as mirror_mod
    src = {a: mirror_mod.stand_in_k0s(str(tmp_path / ("src-" + a)), "v1.34.1+k0s.0", pad_bytes=50 + i)
           for i, a in enumerate(("amd64", "arm64"))}
    root = tmp_path / "mirror"
    release = mirror_mod.build_k0s_mirror(str(root), "v1.34.1+k0s.0", src, key=None)
    for arch in src:
        asset = os.path.join(release, "k0s-v1.34.1+k0s.0-%s" % arch)
        with open(asset + ".sig", "w") as f:
            f.write(cosign("sign-blob", "--key", keys["trusted"]["key"], "--tlog-upload=false", asset).stdout)
    with open(keys["trusted"]["pub"]) as f, open(os.path.join(release, "cosign.pub"), "w") as out:
        out.write(f.read())
    m = mirror_mod.Mirror(str(root)).start()
    m.release = release
    yield m
    m.stop()


def publish(ansible_playbook, registry, mirror, tmp_path, **extra):
    extra_vars = {"k0s_publish_repository": "%s/sc/published" % registry.host, "k0s_publish_base_url": mirror.url,
                  "k0s_publish_architectures": ["amd64", "arm64"], "k0s_publish_registry_plain_http": True,
                  "k0s_publish_cache_dir": str(tmp_path / "cache")}
    extra_vars.update(extra)
    return ansible_playbook("k0smotron.oci.publish", extra_vars=extra_vars)


def test_publish_verifies_the_release_signs_the_artifact_and_control_plane_renders_it(
        registry, ansible_playbook, keys, signed_release, oras_mirror, tmp_path):
    proc = publish(ansible_playbook, registry, signed_release, tmp_path, k0s_publish_trusted_keys=[keys["trusted"]["pub"]],
                   k0s_publish_signing_key=keys["other"]["key"], k0s_publish_signing_key_password=PASSWORD)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert PASSWORD not in proc.stdout
    repo = "%s/sc/published" % registry.host
    verified = cosign("verify", "--key", keys["other"]["pub"], "--insecure-ignore-tlog", "--allow-http-registry",
                      "%s:v1.34.1-k0s.0-arm64" % repo, check=False)
    assert verified.returncode == 0, verified.stderr
    out = tmp_path / "rendered"
    rendered = render_verified(ansible_playbook, oras_mirror, out, repo + ":v1.34.1-k0s.0", [keys["other"]["pub"]],
                               control_plane_artifact_platform="linux/arm64")
    assert rendered.returncode == 0, rendered.stdout[-4000:]
    assert "signed by key sha256:" in rendered.stdout


@pytest.mark.parametrize("case", ["tampered-binary", "swapped-sig", "unpinned-key", "wrong-key-type", "no-key"])
def test_publish_refuses_a_release_whose_signature_does_not_hold(registry, ansible_playbook, keys, signed_release,
                                                                 tmp_path, case):
    from tests.harness import mirror as mirror_mod
    trusted = [keys["trusted"]["pub"]]
    amd64 = os.path.join(signed_release.release, "k0s-v1.34.1+k0s.0-amd64")
    if case == "tampered-binary":  # the mirror's owner swaps the binary and fixes sha256sums.txt to match
        mirror_mod.stand_in_k0s(amd64, "v1.34.1+k0s.0", pad_bytes=999)
        sums = os.path.join(signed_release.release, "sha256sums.txt")
        with open(sums) as f:
            lines = [line for line in f.read().splitlines() if not line.endswith("-amd64")]
        with open(sums, "w") as f:
            f.write("\n".join(lines + ["%s *k0s-v1.34.1+k0s.0-amd64" % mirror_mod.sha256_file(amd64)]) + "\n")
    elif case == "swapped-sig":
        shutil.copyfile(amd64.replace("amd64", "arm64") + ".sig", amd64 + ".sig")
    elif case == "unpinned-key":
        trusted = [keys["other"]["pub"]]
    elif case == "wrong-key-type":
        trusted = [pem_public(x25519.X25519PrivateKey.generate())]
    else:
        trusted = []
    proc = publish(ansible_playbook, registry, signed_release, tmp_path, k0s_publish_trusted_keys=trusted,
                   k0s_publish_repository="%s/sc/refused-%s" % (registry.host, case))
    assert proc.returncode != 0
    needle = {"tampered-binary": "does not verify with any pinned key", "swapped-sig": "does not verify with any pinned key",
              "unpinned-key": "is not one of the pinned keys", "wrong-key-type": "not one cosign verifies",
              "no-key": "set k0s_publish_trusted_keys to the release's cosign public key"}[case]
    assert needle in proc.stdout, proc.stdout[-3000:]
    if case in ("unpinned-key", "no-key"):
        assert "fingerprint sha256:" in proc.stdout
    assert "Nothing was pushed" in proc.stdout or case in ("no-key",)


def test_publish_without_signature_check_when_switched_off(registry, ansible_playbook, signed_release, tmp_path):
    os.remove(os.path.join(signed_release.release, "k0s-v1.34.1+k0s.0-amd64.sig"))
    proc = publish(ansible_playbook, registry, signed_release, tmp_path, k0s_publish_verify_signatures=False,
                   k0s_publish_repository="%s/sc/unchecked" % registry.host)
    assert proc.returncode == 0, proc.stdout[-3000:]
