#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: blob_fetch
short_description: Download a blob by digest from an OCI registry to a file, verified and atomically
version_added: 0.1.0
description:
  - Downloads the blob named by an C(oci://REGISTRY/REPO@sha256:...) download URL (what k0smotron's
    bootstrap does with C(oras blob fetch --output)) without needing the ORAS CLI.
  - Streams into a temporary file in the destination's directory while hashing, checks the digest,
    then renames it over O(dest). A failed, interrupted or corrupt download never replaces O(dest).
  - When O(dest) already has the digest, nothing is downloaded and no registry is contacted.
  - An interrupted download resumes with an HTTP range request where the registry allows it,
    else restarts. Redirects (object stores, CDNs) never receive the registry credentials, and a
    redirect from https to http is refused unless O(plain_http=true).
  - Never writes more than the blob's size, which comes from the registry's HEAD answer (or the
    download's C(Content-Length)); an answer without a usable size is refused.
  - A full disk (or quota) fails at once with the operating system's error; it is not retried.
author:
  - k0smotron.oci maintainers (@k0sproject)
extends_documentation_fragment:
  - k0smotron.oci.registry
  - k0smotron.oci.attributes
  - k0smotron.oci.attributes.actiongroup_registry
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details:
      - Checks that the blob exists (HEAD) when O(dest) does not already match; writes nothing.
  diff_mode:
    support: full
    details:
      - Shows the digest of O(dest) before and after.
  idempotent:
    support: full
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
options:
  reference:
    description:
      - The blob, as a download URL C(oci://REGISTRY/REPOSITORY@sha256:<64 hex>) or as
        C(REGISTRY/REPOSITORY@sha256:<64 hex>).
      - Must be a blob (layer) digest. A manifest digest is detected and reported.
    type: str
    required: true
  dest:
    description:
      - File to write, for example C(/usr/local/bin/k0s). Its directory must exist.
      - Set O(mode) (for example C("0755") for a binary); a new file otherwise gets the default
        permissions for the umask.
      - If O(dest) is a symbolic link, the file it points to is checked, written and given O(mode),
        O(owner) and O(group); the link stays as it is (what C(cp) and C(curl -o) do).
    type: path
    required: true
seealso:
  - module: k0smotron.oci.artifact_info
  - name: The k0smotron.oci.k0s_binary role
    description: Installs k0s on a node with this module or the ORAS CLI.
    link: https://github.com/k0smotron/ansible-collection-oci/blob/main/docs/node.md
"""

EXAMPLES = r"""
- name: Install k0s from the download URL a K0sControlPlane uses
  k0smotron.oci.blob_fetch:
    reference: oci://registry.example.com/my-repo/k0s@sha256:2f1d5c8e0b2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e
    dest: /usr/local/bin/k0s
    mode: "0755"
    config_path: /root/.docker/config.json
  register: k0s_fetch
  notify: Restart k0s
"""

RETURN = r"""
dest:
  description: The file written (or already matching).
  returned: success
  type: str
digest:
  description: The verified digest of O(dest).
  returned: success
  type: str
size:
  description: Size of the blob in bytes (also when O(dest) is a symbolic link to it).
  returned: success
  type: int
state:
  description: C(file). When O(dest) is a symbolic link, the file it points to is what was checked and
    written, and the returned C(mode), C(owner) and C(group) describe that file.
  returned: success and O(dest) exists
  type: str
  version_added: 0.2.0
download_url:
  description: The blob as an C(oci://) URL.
  returned: success
  type: str
downloaded:
  description: Whether blob bytes were transferred in this run.
  returned: success
  type: bool
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.k0smotron.oci.plugins.module_utils._common import registry_module, run
from ansible_collections.k0smotron.oci.plugins.module_utils._errors import ModuleInputError
from ansible_collections.k0smotron.oci.plugins.module_utils._files import WritebackFile, file_digest
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import Reference


PATH_INFO = ("uid", "gid", "owner", "group", "mode", "state", "secontext")


def plan(params):
    """(reference, target): the blob, and the file to check and write (a symlinked dest's target)."""
    ref = Reference.parse(params["reference"], require_digest=True, allow_scheme=True)
    if ref.tag:
        raise ModuleInputError("option reference: %r carries a tag and a digest; name the blob only: %s"
                               % (params["reference"], ref.download_url()))
    dest = params["dest"]
    if os.path.isdir(dest):
        raise ModuleInputError("option dest: %s is a directory; give the path of the file to write, e.g. %s"
                               % (dest, os.path.join(dest, "k0s")))
    target = os.path.realpath(dest) if os.path.islink(dest) else dest
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise ModuleInputError("option dest: directory %s does not exist; create it first" % directory)
    return ref, target


def current_digest(path, digest):
    """The digest of ``path`` with ``digest``'s algorithm; None if there is no such file."""
    return file_digest(path, digest.split(":", 1)[0]) if os.path.isfile(path) else None


def remote_size(client, digest, check_mode):
    """The blob's size from HEAD (-1: the registry gives none; None: missing). In check mode a missing blob
    or a manifest digest fails here; otherwise the download says what the registry answers."""
    return client.require_blob(digest) if check_mode else client.blob_size(digest)


def download(module, client, digest, target, size):
    """Stream the blob into a temp file next to ``target`` (at most ``size`` bytes), fsync, rename over it."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(target)),
                               prefix=".%s." % os.path.basename(target), suffix=".part")
    module.add_cleanup_file(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            size = client.download_blob(digest, WritebackFile(out), expected_size=size)
            out.flush()
            os.fsync(out.fileno())
        module.atomic_move(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return size


def path_info(module, target, size):
    """Ansible's file facts of the file written (not of a symlink to it), with ``size`` the blob's size."""
    info = AnsibleModule.add_path_info(module, {"path": target})
    facts = dict((key, info[key]) for key in PATH_INFO if key in info)
    facts["size"] = size
    return facts


def fetch(module):
    p = module.params
    ref, target = plan(p)
    before = current_digest(target, ref.digest)
    changed = before != ref.digest
    size = os.path.getsize(target) if not changed else None
    if changed:
        # The HTTP stack (the client, http.client, ssl, email) is loaded only when there is something to fetch:
        # a node whose file already matches, the common re-run, pays for none of it.
        from ansible_collections.k0smotron.oci.plugins.module_utils._registry import client_from_params

        client = client_from_params(p, ref)
        try:
            size = remote_size(client, ref.digest, module.check_mode)
            if not module.check_mode:
                size = download(module, client, ref.digest, target, size)
        finally:
            client.close()
    if os.path.exists(target):
        changed = module.set_fs_attributes_if_different(module.load_file_common_arguments(p, path=target), changed)
    result = dict(changed=changed, dest=p["dest"], digest=ref.digest, download_url=ref.download_url(),
                  downloaded=before != ref.digest and not module.check_mode)
    result.update(path_info(module, target, size))
    if module._diff:
        result["diff"] = {"before": {"path": p["dest"], "digest": before}, "after": {"path": p["dest"], "digest": ref.digest}}
    return result


def main():
    module = registry_module(
        dict(
            reference=dict(type="str", required=True),
            dest=dict(type="path", required=True),
        ),
        add_file_common_args=True,
    )
    # exit_json would overwrite size/state/mode with an lstat of dest (a symlink's own); fetch reports them.
    module.add_path_info = lambda kwargs: kwargs
    run(module, fetch)


if __name__ == "__main__":
    main()
