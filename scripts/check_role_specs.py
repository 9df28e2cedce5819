"""Fail when a role's defaults/main.yml and meta/argument_specs.yml (entry point main) name different variables.

Every public variable must be documented and validated, and every documented one must have a default,
so a role validates its inputs and ansible-doc tells the whole truth (prometheus.prometheus does the same).
Usage: python scripts/check_role_specs.py [ROLES_DIR]
"""
import os
import sys

import yaml


def role_mismatches(role_dir):
    """Messages naming the variables found in only one of the two files (empty when they agree)."""
    defaults_path = os.path.join(role_dir, "defaults", "main.yml")
    specs_path = os.path.join(role_dir, "meta", "argument_specs.yml")
    with open(defaults_path, encoding="utf-8") as f:
        defaults = set((yaml.safe_load(f) or {}).keys())
    with open(specs_path, encoding="utf-8") as f:
        options = set(((yaml.safe_load(f) or {}).get("argument_specs", {}).get("main", {}).get("options") or {}).keys())
    role = os.path.basename(role_dir)
    messages = []
    for name in sorted(defaults - options):
        messages.append("%s: %s is in defaults/main.yml but not in meta/argument_specs.yml" % (role, name))
    for name in sorted(options - defaults):
        messages.append("%s: %s is in meta/argument_specs.yml but has no default in defaults/main.yml" % (role, name))
    return messages


def main(argv):
    roles_dir = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "roles")
    messages = []
    checked = 0
    for name in sorted(os.listdir(roles_dir)):
        role_dir = os.path.join(roles_dir, name)
        if os.path.isfile(os.path.join(role_dir, "defaults", "main.yml")):
            checked += 1
            messages.extend(role_mismatches(role_dir))
    for message in messages:
        print(message)
    print("%d roles checked, %d mismatches" % (checked, len(messages)))
    return 1 if messages or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
