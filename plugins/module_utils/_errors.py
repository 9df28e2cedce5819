# -*- coding: utf-8 -*-
# Copyright (c) k0smotron.oci contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
#
# This module util is PRIVATE to the collection. It can change at any time without notice.
"""The errors a module or a lookup reports as a plain failure message (no traceback).

Kept apart from ``_common`` so that controller-side plugins (the ``download_url`` lookup) can catch them
without importing ``AnsibleModule``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.k0smotron.oci.plugins.module_utils._docker_config import DockerConfigError
from ansible_collections.k0smotron.oci.plugins.module_utils._reference import ReferenceError
from ansible_collections.k0smotron.oci.plugins.module_utils._registry_errors import RegistryError


class ModuleInputError(ValueError):
    """A module option is unusable; the message names it and says what to do."""


EXPECTED_ERRORS = (ReferenceError, RegistryError, DockerConfigError, ModuleInputError)
