"""Benchmark the k0smotron.oci modules against the ORAS CLI on one machine, one registry, one run.

    .venv/bin/python bench/run.py [--sizes 16,256,1024] [--runs 3] [--json bench/results/latest.json]

Starts its own registry (CNCF distribution, plain HTTP on 127.0.0.1, storage in a temporary
directory), writes one random file per size, and measures for every size:

- push (fresh): ``artifact_push`` run as Ansible runs a module (ModuleRunner, no controller) in
  the default ``upload_mode: monolithic`` (hash, HEAD, PUT), with the digest known in advance
  (``digests``, as k0s_publish passes it from sha256sums.txt: HEAD, PUT, no hashing pass), in
  ``upload_mode: stream`` (one pass: PATCH while hashing, PUT ?digest=), the default through
  ``ansible-playbook`` (controller start-up included), and ``oras push``.
  Every run pushes to a new repository, so every run really uploads (the registry answers
  a blob HEAD in a new repository with 404); ``uploaded_bytes`` is checked.
  The digest cache is off here (``digest_cache: false``), so the module hashes the file like oras.
- re-push of unchanged content to the same tag: the module with the digest cache off (hashes
  the file again) and on (primed once, not timed), and ``oras push`` again.
- resolve: ``artifact_info`` vs ``oras manifest fetch``.
- fetch: ``blob_fetch`` (into a new file) vs ``oras blob fetch --output``.

Each number is the median of ``--runs`` runs (runs are interleaved between the tools, so
noise from other load hits both sides alike; ``sync`` before every push and fetch, untimed, so
that no run pays for the previous run's disk writeback). Reported: wall seconds, CPU seconds (user+sys
of the process and its children, from ``wait4``), the registry's CPU seconds during the run (from
``/proc``: on a shared 2-core machine the registry's work is the floor of every push), MiB/s, the
ratio to oras (wall), and the peak RSS of the module process (``wait4``), of oras for reference,
and of the whole ansible-playbook tree.
Writes a table to stdout and everything to ``--json``. Temporary files are removed at the end.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.harness import tools  # noqa: E402
from tests.harness.modules import EITHER, ModuleRunner  # noqa: E402
from tests.harness.procs import run_measured  # noqa: E402
from tests.harness.registry import Registry  # noqa: E402

MIB = 1 << 20
TITLE = "k0s"

PLAYBOOK = """\
- name: Benchmark artifact_push through ansible-playbook
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Push
      k0smotron.oci.artifact_push:
        reference: "{{ bench_reference }}"
        files: ["{{ bench_file }}"]
        plain_http: true
        digest_cache: false
      register: bench_pushed
    - name: Report
      ansible.builtin.debug:
        msg: "UPLOADED={{ bench_pushed.uploaded_bytes }}"
"""


class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.oras = tools.oras_path()
        self.collections = os.path.join(workdir, "collections")
        tools.collections_path(self.collections)
        self.runner = ModuleRunner(self.collections)
        self.cache_home = os.path.join(workdir, "xdg-cache")
        self.env = dict(os.environ)
        # The module's digest cache goes to a private place; it is only used where asked for.
        self.env["XDG_CACHE_HOME"] = self.cache_home
        self.oras_env = dict(self.env)
        self.oras_env["HOME"] = os.path.join(workdir, "oras-home")
        self.oras_env["DOCKER_CONFIG"] = os.path.join(workdir, "oras-home", ".docker")
        os.makedirs(self.oras_env["DOCKER_CONFIG"])
        self.ansible_env = dict(self.env)
        self.ansible_env.update({
            "ANSIBLE_COLLECTIONS_PATH": tools.collections_path(self.collections),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-local"),
            "ANSIBLE_REMOTE_TMP": os.path.join(workdir, "ansible-remote"),
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        })
        self.playbook = os.path.join(workdir, "push.yml")
        with open(self.playbook, "w") as f:
            f.write(PLAYBOOK)
        self.registry = None
        self.results = {}

    # ------------------------------------------------------------------ runners
    def registry_cpu(self):
        """CPU seconds (user + system) the registry process has used so far; None where /proc is missing."""
        try:
            with open("/proc/%d/stat" % self.registry.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, AttributeError):
            return None
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def measured(self, run):
        """``run()`` returns (result, its launcher's measurement) -> (result, measurement + the registry's CPU)."""
        before = self.registry_cpu()
        result, proc = run()
        after = self.registry_cpu()
        return result, {"seconds": proc["seconds"], "cpu_seconds": proc["cpu_seconds"], "maxrss_mib": proc["maxrss_mib"],
                        "registry_cpu_seconds": None if before is None or after is None else round(after - before, 3)}

    def module(self, name, args):
        def run():
            result = self.runner(name, dict(args, plain_http=True), env=self.env, expect_fail=EITHER)
            return result, {"seconds": result["_seconds"], "cpu_seconds": result["_cpu_seconds"],
                            "maxrss_mib": result["_maxrss_mib"]}
        result, m = self.measured(run)
        if result.get("failed"):
            raise RuntimeError("%s failed: %s\n%s" % (name, result.get("msg"), result["_stderr"][-2000:]))
        return result, m

    def command(self, cmd, env, cwd=None):
        def run():
            proc = run_measured(cmd, env=env, cwd=cwd)
            return proc, proc
        proc, m = self.measured(run)
        if proc["rc"] != 0:
            raise RuntimeError("%s failed (rc %s):\n%s\n%s"
                               % (" ".join(cmd), proc["rc"], proc["stdout"][-2000:], proc["stderr"][-2000:]))
        return proc, m

    def oras_cmd(self, *args, **kwargs):
        return self.command([self.oras] + list(args), self.oras_env, **kwargs)

    # ------------------------------------------------------------------ one size
    def make_file(self, size_mib):
        d = os.path.join(self.workdir, "data-%d" % size_mib)
        os.makedirs(d)
        path = os.path.join(d, TITLE)
        with open(path, "wb") as f:
            left = size_mib * MIB
            while left:
                n = min(left, 16 * MIB)
                f.write(os.urandom(n))
                left -= n
        return path

    def record(self, size, op, tool, sample):
        self.results.setdefault(size, {}).setdefault(op, {}).setdefault(tool, []).append(sample)

    def bench_size(self, size_mib):
        host = self.registry.host
        path = self.make_file(size_mib)
        size = size_mib * MIB
        cwd = os.path.dirname(path)
        repo = "%s/bench/s%d" % (host, size_mib)
        fetch_dir = os.path.join(self.workdir, "fetch-%d" % size_mib)
        os.makedirs(fetch_dir)
        runs = self.args.runs
        blob_digest = None
        file_digest = sha256_of(path)  # what sha256sums.txt would say (not timed)

        def push_module(i):
            nonlocal blob_digest
            result, m = self.module("artifact_push", dict(reference="%s/module-%d:v1" % (repo, i), files=[path],
                                                          digest_cache=False))
            if result["uploaded_bytes"] != size:
                raise RuntimeError("fresh push uploaded %s bytes, expected %d" % (result["uploaded_bytes"], size))
            blob_digest = result["layers"][0]["digest"]
            self.record(size_mib, "push", "module", m)

        def push_module_digest(i):
            result, m = self.module("artifact_push", dict(reference="%s/digest-%d:v1" % (repo, i), files=[path],
                                                          digest_cache=False, digests={TITLE: file_digest}))
            if result["uploaded_bytes"] != size:
                raise RuntimeError("push with a known digest uploaded %s bytes" % result["uploaded_bytes"])
            self.record(size_mib, "push", "module-digest", m)

        def push_module_stream(i):
            result, m = self.module("artifact_push", dict(reference="%s/stream-%d:v1" % (repo, i), files=[path],
                                                          digest_cache=False, upload_mode="stream"))
            if result["uploaded_bytes"] != size or result.get("warnings"):
                raise RuntimeError("streamed push uploaded %s bytes (warnings: %s)"
                                   % (result["uploaded_bytes"], result.get("warnings")))
            self.record(size_mib, "push", "module-stream", m)

        def push_playbook(i):
            cmd = [tools.venv_bin("ansible-playbook"), "-i", "localhost,", "-c", "local", self.playbook,
                   "-e", "bench_reference=%s/play-%d:v1" % (repo, i), "-e", "bench_file=%s" % path]
            proc, m = self.command(cmd, self.ansible_env)
            if "UPLOADED=%d" % size not in proc["stdout"]:
                raise RuntimeError("ansible-playbook push did not upload %d bytes:\n%s" % (size, proc["stdout"][-3000:]))
            self.record(size_mib, "push", "playbook", m)

        def push_oras(i):
            _proc, m = self.oras_cmd("push", "--plain-http", "%s/oras-%d:v1" % (repo, i), TITLE, cwd=cwd)
            self.record(size_mib, "push", "oras", m)

        fresh = [push_module, push_oras, push_module_digest, push_module_stream, push_playbook]
        for i in range(runs):
            for fn in fresh[i % len(fresh):] + fresh[:i % len(fresh)]:  # rotate the order from run to run
                # Start every push with no dirty pages from the previous one (the registry writes each
                # upload to disk; its writeback would otherwise throttle whoever comes next).
                os.sync()
                fn(i)

        # Unchanged re-push (same file, same tag). Prime the digest cache once (not timed).
        self.module("artifact_push", dict(reference="%s/module-0:v1" % repo, files=[path], digest_cache=True))
        for i in range(runs):
            for cached in (False, True):
                result, m = self.module("artifact_push", dict(reference="%s/module-0:v1" % repo, files=[path],
                                                              digest_cache=cached))
                if result["uploaded_bytes"] != 0 or result["changed"]:
                    raise RuntimeError("unchanged re-push uploaded %s bytes (changed=%s)"
                                       % (result["uploaded_bytes"], result["changed"]))
                self.record(size_mib, "re-push", "module-cached" if cached else "module", m)
            _proc, m = self.oras_cmd("push", "--plain-http", "%s/oras-0:v1" % repo, TITLE, cwd=cwd)
            self.record(size_mib, "re-push", "oras", m)

        # Resolve: tag -> manifest -> blob digest.
        for i in range(runs):
            result, m = self.module("artifact_info", dict(reference="%s/module-0:v1" % repo, title=TITLE))
            if result["blob_digest"] != blob_digest:
                raise RuntimeError("artifact_info resolved %s, expected %s" % (result["blob_digest"], blob_digest))
            self.record(size_mib, "resolve", "module", m)
            _proc, m = self.oras_cmd("manifest", "fetch", "--plain-http", "%s/module-0:v1" % repo)
            self.record(size_mib, "resolve", "oras", m)

        # Fetch the blob by digest into a new file.
        name = "%s/module-0@%s" % (repo, blob_digest)
        for i in range(runs):
            pair = [("module", os.path.join(fetch_dir, "k0s-module-%d" % i)),
                    ("oras", os.path.join(fetch_dir, "k0s-oras-%d" % i))]
            if i % 2:
                pair.reverse()
            for tool, dest in pair:
                os.sync()
                if tool == "module":
                    result, m = self.module("blob_fetch", dict(reference="oci://" + name, dest=dest, mode="0755"))
                    if not result["downloaded"]:
                        raise RuntimeError("blob_fetch did not download")
                else:
                    _proc, m = self.oras_cmd("blob", "fetch", "--plain-http", "--output", dest, name)
                if os.path.getsize(dest) != size:
                    raise RuntimeError("%s fetched %d bytes, expected %d" % (tool, os.path.getsize(dest), size))
                os.unlink(dest)
                self.record(size_mib, "fetch", tool, m)
        shutil.rmtree(fetch_dir)
        shutil.rmtree(os.path.dirname(path))

    # ------------------------------------------------------------------ report
    def summary(self):
        out = {}
        for size, ops in self.results.items():
            out[size] = {}
            for op, by_tool in ops.items():
                out[size][op] = {}
                oras_median = statistics.median(s["seconds"] for s in by_tool["oras"])
                for tool, samples in by_tool.items():
                    wall = statistics.median(s["seconds"] for s in samples)
                    entry = {
                        "runs": samples,
                        "median_seconds": round(wall, 4),
                        "median_cpu_seconds": round(statistics.median(s["cpu_seconds"] for s in samples), 4),
                        "median_registry_cpu_seconds": _median_or_none(s.get("registry_cpu_seconds") for s in samples),
                        "peak_rss_mib": round(max(s["maxrss_mib"] for s in samples), 1),
                        "ratio_to_oras": round(wall / oras_median, 3) if oras_median else None,
                    }
                    if op in ("push", "fetch"):
                        entry["mib_per_second"] = round(size / wall, 1) if wall else None
                    out[size][op][tool] = entry
        return out

    def targets(self, summary):
        checks = []
        sizes = sorted(summary)
        for size in sizes:
            for op, tool, limit in (("push", "module", 1.0), ("push", "module-digest", 0.9),
                                    ("push", "module-stream", 1.0), ("fetch", "module", 1.0)):
                ratio = summary[size][op][tool]["ratio_to_oras"]
                checks.append(("%s %d MiB (%s): module/oras <= %.1f" % (op, size, tool, limit), ratio <= limit,
                               "%.2f" % ratio))
            rep = summary[size]["re-push"]
            for tool in ("module", "module-cached"):
                ratio = rep[tool]["ratio_to_oras"]
                checks.append(("re-push %d MiB (%s): 0 bytes, faster than oras" % (size, tool), ratio < 1.0,
                               "%.2f" % ratio))
        for op in ("push", "fetch", "resolve"):
            values = [max(e["peak_rss_mib"] for t, e in summary[s][op].items() if t.startswith("module"))
                      for s in sizes]
            checks.append(("%s peak RSS < 64 MiB" % op, max(values) < 64, "%.1f MiB" % max(values)))
            if len(values) > 1:
                spread = max(values) - min(values)
                checks.append(("%s peak RSS flat across sizes (spread < 4 MiB)" % op, spread < 4.0,
                               "spread %.1f MiB" % spread))
        return [{"target": t, "met": bool(ok), "value": v} for t, ok, v in checks]

    def table(self, summary):
        head = ("size", "operation", "tool", "median s", "cpu s", "registry cpu s", "ratio", "MiB/s", "peak RSS MiB")
        rows = []
        for size in sorted(summary):
            for op in ("push", "re-push", "resolve", "fetch"):
                for tool in ("module", "module-digest", "module-stream", "module-cached", "playbook", "oras"):
                    e = summary[size][op].get(tool)
                    if not e:
                        continue
                    label = {"module": "k0smotron.oci module", "module-cached": "module (digest cache)",
                             "module-digest": "module (digests known)",
                             "module-stream": "module upload_mode=stream",
                             "playbook": "ansible-playbook", "oras": "oras"}[tool]
                    registry_cpu = e["median_registry_cpu_seconds"]
                    rows.append(("%d MiB" % size, op, label, "%.3f" % e["median_seconds"],
                                 "%.3f" % e["median_cpu_seconds"], "-" if registry_cpu is None else "%.2f" % registry_cpu,
                                 "%.2f" % e["ratio_to_oras"],
                                 "%.0f" % e["mib_per_second"] if e.get("mib_per_second") else "-",
                                 "%.1f" % e["peak_rss_mib"]))
        widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
        lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(head, widths)) + " |",
                 "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        for r in rows:
            lines.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
        return "\n".join(lines)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def _median_or_none(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def machine():
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["oras"] = tools.oras_version()
    try:
        info["registry"] = subprocess.run(["docker-registry", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        pass
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="16,256,1024", help="blob sizes in MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement (the median is reported)")
    parser.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "latest.json"),
                        help="where to write all samples and medians")
    parser.add_argument("--workdir", default=None, help="parent directory for the temporary files (default: TMPDIR)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.runs < 1 or not sizes or min(sizes) < 1:
        parser.error("--runs and every size must be >= 1")

    workdir = tempfile.mkdtemp(prefix="k0smotron-oci-bench-", dir=args.workdir)
    # Disk: the random file, its copy in the registry's storage, one fetched copy at a time, upload slack.
    need = sum(sizes) * 3 * MIB + 512 * MIB
    free = shutil.disk_usage(workdir).free
    if free < need:
        shutil.rmtree(workdir)
        sys.exit("not enough free disk in %s: need about %d MiB, have %d MiB" % (workdir, need // MIB, free // MIB))
    bench = Bench(args, workdir)
    started = time.time()
    load_at_start = os.getloadavg()
    try:
        bench.registry = Registry(os.path.join(workdir, "registry")).start()
        for size in sizes:
            print("benchmarking %d MiB ..." % size, file=sys.stderr, flush=True)
            bench.bench_size(size)
    finally:
        if bench.registry:
            bench.registry.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    summary = bench.summary()
    targets = bench.targets(summary)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([os.path.relpath(sys.executable, ROOT), "bench/run.py"] + (argv if argv is not None
                                                                                       else sys.argv[1:])),
        "machine": machine(),
        "elapsed_seconds": round(time.time() - started, 1),
        "sizes_mib": sizes,
        "runs": args.runs,
        "results": dict((str(k), v) for k, v in summary.items()),
        "targets": targets,
    }
    report["machine"]["loadavg_at_start"] = load_at_start
    report["machine"]["loadavg_at_end"] = os.getloadavg()
    print(bench.table(summary))
    print()
    for t in targets:
        print("%-4s %s (%s)" % ("ok" if t["met"] else "MISS", t["target"], t["value"]))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print("\nwrote %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
