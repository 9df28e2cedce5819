"""Every role documents exactly the variables it defaults (scripts/check_role_specs.py), and the check can fail."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check_role_specs.py"


def run_check(roles_dir):
    return subprocess.run([sys.executable, str(CHECK), str(roles_dir)], capture_output=True, text=True, check=False)


def test_every_role_defaults_match_argument_specs():
    proc = run_check(ROOT / "roles")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 mismatches" in proc.stdout


def test_check_names_a_variable_missing_from_either_file(tmp_path):
    roles = tmp_path / "roles"
    shutil.copytree(ROOT / "roles" / "oras", roles / "oras")
    defaults = roles / "oras" / "defaults" / "main.yml"
    defaults.write_text(defaults.read_text() + "oras_undocumented: 1\n")
    specs = roles / "oras" / "meta" / "argument_specs.yml"
    text = specs.read_text()
    specs.write_text(text.replace("      oras_version:", "      oras_no_default:\n        type: str\n"
                                  "        description: x\n      oras_version:", 1))
    proc = run_check(roles)
    assert proc.returncode == 1
    assert "oras: oras_undocumented is in defaults/main.yml but not in meta/argument_specs.yml" in proc.stdout
    assert "oras: oras_no_default is in meta/argument_specs.yml but has no default" in proc.stdout


def test_every_password_option_is_no_log():
    import yaml
    missing = []
    for specs in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        for entry in (yaml.safe_load(specs.read_text()).get("argument_specs") or {}).values():
            for name, option in (entry.get("options") or {}).items():
                if name.endswith("_password") and option.get("no_log") is not True:
                    missing.append("%s: %s" % (specs.parent.parent.name, name))
    assert missing == []
