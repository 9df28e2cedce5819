# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""What a node needs to run ORAS the way k0smotron calls it: the one architecture map and the one
``oras`` wrapper, shared by the ``oras`` role and the ``install-oras.sh`` script of ``control_plane``.

The wrapper exists because ORAS refuses to start without ``HOME`` ("failed to get user home directory:
$HOME is not defined") and systemd units - such as the one Ignition runs k0smotron's commands in - start
without it. With ``HOME=/root`` ORAS finds ``/root/.docker/config.json`` by itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

# ORAS release assets: oras_<version>_linux_<arch>.tar.gz
ORAS_ARCHES = ("amd64", "arm64", "armv7")
# k0s release assets: k0s-<version>-<arch> (32-bit ARM is "arm", not "armv7")
K0S_ARCHES = ("amd64", "arm64", "arm")

# ``uname -m`` (and Ansible's ansible_architecture) -> ORAS release arch.
MACHINE_TO_ORAS_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "armv7",
    "armv7": "armv7",
    "armhf": "armv7",
}

# A line every wrapper carries, so that an installer can tell its own wrapper from a foreign binary.
WRAPPER_MARKER = "k0smotron.oci oras wrapper"


def oras_arch(machine):
    """ORAS release arch for a machine name; ValueError names the supported ones."""
    try:
        return MACHINE_TO_ORAS_ARCH[machine]
    except KeyError:
        raise ValueError("unsupported machine architecture %r (ORAS release assets: %s)"
                         % (machine, ", ".join(ORAS_ARCHES)))


def machine_arch_case(machine_var="machine", arch_var="arch"):
    """A POSIX ``case`` that sets ``$arch_var`` from ``$machine_var`` with MACHINE_TO_ORAS_ARCH, or fails."""
    by_arch = {}
    for machine, arch in sorted(MACHINE_TO_ORAS_ARCH.items()):
        by_arch.setdefault(arch, []).append(machine)
    lines = ["case $%s in" % machine_var]
    for arch in ORAS_ARCHES:
        lines.append("  %s) %s=%s ;;" % ("|".join(by_arch[arch]), arch_var, arch))
    lines.append('  *) echo "unsupported machine architecture $%s (ORAS release assets: %s)" >&2; exit 1 ;;'
                 % (machine_var, ", ".join(ORAS_ARCHES)))
    lines.append("esac")
    return "\n".join(lines) + "\n"


def oras_wrapper(real_binary, version, home=""):
    """Text of the ``oras`` wrapper that runs ``real_binary`` with HOME set when it is unset.

    ``home`` empty: the invoking user's home from the passwd database, else ``/root``."""
    if home:
        set_home = "  HOME=%s\n" % shlex.quote(home)
    else:
        set_home = ('  HOME=$(getent passwd "$(id -u)" 2>/dev/null | cut -d: -f6)\n'
                    '  [ -n "$HOME" ] || HOME=/root\n')
    return ("#!/bin/sh\n"
            "# %s (ORAS CLI %s), written by k0smotron.oci; do not edit.\n"
            "# ORAS refuses to start without HOME, and systemd units (Ignition runs k0smotron's commands\n"
            "# in one) start without it: set HOME when it is unset, then run the real binary.\n"
            'if [ -z "${HOME:-}" ]; then\n'
            "%s"
            "  export HOME\n"
            "fi\n"
            'exec %s "$@"\n') % (WRAPPER_MARKER, version, set_home, shlex.quote(real_binary))
