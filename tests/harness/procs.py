"""Run a command and measure its wall time, CPU time and peak RSS.

The peak RSS comes from ``wait4`` on the command's own process. Linux starts a new process's
peak-RSS record (``ru_maxrss``) from the RSS of the process that spawned it (the record survives
``fork``/``vfork`` and ``exec``), so measuring a child of a big process (pytest, a benchmark
holding buffers) reports that process's size instead of the command's. The command is therefore
started by a tiny launcher (``python -I -S``, ~8-10 MiB) that waits for it and reports its usage:
the figure is max(launcher floor, the command's true peak), independent of the caller's size.
"""
import os
import subprocess
import sys
import tempfile
import time

_LAUNCHER = r"""
import os, sys, time
fd, cmd = int(sys.argv[1]), sys.argv[2:]
start = time.perf_counter()
try:
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
except OSError as e:
    os.write(2, ("cannot run %s: %s\n" % (cmd[0], e.strerror)).encode())
    os.write(fd, b"127 0 0 0 0")
    os._exit(127)
_, status, ru = os.wait4(pid, 0)
seconds = time.perf_counter() - start
rc = os.waitstatus_to_exitcode(status)
os.write(fd, ("%d %d %r %r %r" % (rc, ru.ru_maxrss, seconds, ru.ru_utime, ru.ru_stime)).encode())
os._exit(rc & 0xff)
"""


def launcher_floor_mib():
    """Peak RSS reported for a command that uses (almost) no memory: the launcher's own size."""
    return run_measured(["true"])["maxrss_mib"]


def run_measured(cmd, env=None, cwd=None):
    """-> dict(rc, stdout, stderr, seconds, cpu_seconds, maxrss_mib) of ``cmd`` itself (and its children)."""
    read_fd, write_fd = os.pipe()
    try:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(write_fd)] + list(cmd),
                                    stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                    pass_fds=(write_fd,))
            os.close(write_fd)
            write_fd = None
            with os.fdopen(read_fd, "rb") as r:
                read_fd = None
                report = r.read().decode()
            proc.wait()
            outer = time.perf_counter() - start
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
    finally:
        for fd in (read_fd, write_fd):
            if fd is not None:
                os.close(fd)
    try:
        rc, maxrss, seconds, utime, stime = report.split()
        rc, maxrss, seconds, cpu = int(rc), int(maxrss), float(seconds), float(utime) + float(stime)
    except ValueError:  # the launcher itself failed
        rc, maxrss, seconds, cpu = proc.returncode or 1, 0, outer, 0.0
    return {
        "rc": rc,
        "stdout": stdout,
        "stderr": stderr,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "maxrss_mib": maxrss / 1024.0,
    }
