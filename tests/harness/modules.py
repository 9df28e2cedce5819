"""Run a collection module in a child Python exactly like AnsiballZ does after unpacking it."""
import json
import os
import sys
import tempfile

from .procs import run_measured


# expect_fail=EITHER: the caller checks both outcomes itself (e.g. a registry killed mid-upload may or may not
# be survived); it must still say so, so that a test that forgets to check the outcome cannot pass silently.
EITHER = "either"


class ModuleRunner:
    """``runner(module, args, expect_fail=True|False|EITHER, check=, diff=, env=)`` -> the module's JSON result
    plus ``_stdout``, ``_stderr``, ``_seconds``, ``_cpu_seconds`` and ``_maxrss_mib`` (peak RSS of the module
    process). ``expect_fail`` has no default: every call says whether the module must fail."""

    def __init__(self, collections_dir, python=None):
        self.collections_dir = collections_dir
        self.python = python or sys.executable

    def __call__(self, module, args, check=False, diff=False, env=None, *, expect_fail):
        if expect_fail not in (True, False, EITHER):
            raise TypeError("expect_fail must be True, False or modules.EITHER, not %r" % (expect_fail,))
        params = dict(args)
        params["_ansible_check_mode"] = check
        params["_ansible_diff"] = diff
        params["_ansible_tmpdir"] = tempfile.mkdtemp(prefix="k0smotron-oci-")
        params["_ansible_remote_tmp"] = params["_ansible_tmpdir"]
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"ANSIBLE_MODULE_ARGS": params}, f)
        run_env = dict(os.environ)
        run_env["PYTHONPATH"] = self.collections_dir
        run_env.update(env or {})
        try:
            proc = run_measured([self.python, "-m", "ansible_collections.k0smotron.oci.plugins.modules." + module, f.name],
                                env=run_env)
        finally:
            os.unlink(f.name)
        try:
            result = json.loads(proc["stdout"].strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise AssertionError("module %s printed no JSON: rc=%s\nstdout=%s\nstderr=%s"
                                 % (module, proc["rc"], proc["stdout"], proc["stderr"]))
        result["_stdout"] = proc["stdout"]
        result["_stderr"] = proc["stderr"]
        result["_seconds"] = proc["seconds"]
        result["_cpu_seconds"] = proc["cpu_seconds"]
        result["_maxrss_mib"] = proc["maxrss_mib"]
        if expect_fail is not EITHER:
            assert bool(result.get("failed")) == expect_fail, result
        return result
