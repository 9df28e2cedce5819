"""Run a command and measure its wall time and peak RSS (os.wait4 on that very child)."""
import os
import subprocess
import tempfile
import time


def run_measured(cmd, env=None, cwd=None):
    """-> dict(rc, stdout, stderr, seconds, maxrss_mib)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "rc": proc.returncode,
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
            "seconds": seconds,
            "maxrss_mib": usage.ru_maxrss / 1024.0,
        }
