# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.k0smotron.oci.plugins.filter.unknown_role_variables import FilterModule

unknown = FilterModule().filters()["unknown_role_variables"]
ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "roles")
ROLE_NAMES = ["control_plane", "k0s_binary", "k0s_publish", "oras", "oras_publish"]


def defaults(role):
    with open(os.path.join(ROLES, role, "defaults", "main.yml")) as f:
        return list(yaml.safe_load(f))


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_default_is_known(role):
    assert unknown(defaults(role), os.path.join(ROLES, role), role + "_") == []


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_one_letter_off_is_named_with_the_right_name(role):
    name = sorted(defaults(role), key=len)[-1]
    typo = name[:-1]
    (message,) = unknown([typo, name], os.path.join(ROLES, role), role + "_")
    assert message.startswith(typo + " is not a variable of this role") and message.endswith("did you mean %s?" % name)


def test_no_close_name_points_at_the_specs_and_other_prefixes_are_skipped():
    path = os.path.join(ROLES, "oras")
    assert unknown(["oras_zzz"], path, "oras_") == [
        "oras_zzz is not a variable of this role and is ignored; see the role's meta/argument_specs.yml for its variables"]
    assert unknown(["oras_publish_version", "other", "_oras_x"], path, "oras_", other_prefixes=["oras_publish_"]) == []
    assert unknown(["k0s_publish_download_url"], os.path.join(ROLES, "k0s_publish"), "k0s_publish_",
                   results=["k0s_publish_download_url"]) == []


def test_missing_specs_is_an_error(tmp_path):
    with pytest.raises(AnsibleFilterError, match="cannot read"):
        unknown(["x_y"], str(tmp_path), "x_")
