"""Benchmark k0smotron.oci.layout_push against ``oras cp --from-oci-layout`` on the same bundle, side by side.

    .venv/bin/python bench/layout.py [--sizes 64,256] [--runs 3] [--json bench/results/layout.json]

For each size, a k0s-like airgap bundle (tests/harness/ocilayout.py: k0s v1.34.1's ten image names, two platforms
each, one shared base layer; the size spread over the images' own layers) is written as a tar, and pushed to a
fresh repository prefix of one local registry (CNCF distribution, plain HTTP on 127.0.0.1) in each run:

- ``layout_push``: one module run (as Ansible runs a module) for the whole tar, read in place;
- ``oras cp -r --from-oci-layout TAR@DIGEST``: one run per image (oras takes one image per call), summed.

Runs alternate between the two tools (A B A B ...) with ``sync`` before each, untimed. Reported: the medians of
wall seconds and CPU seconds (user+sys, children included), the ratio ours/oras of each, and the peak RSS of one
module run and of the largest oras run: the module's must stay flat as the bundle grows.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.harness import tools  # noqa: E402
from tests.harness.modules import ModuleRunner  # noqa: E402
from tests.harness.ocilayout import Bundle  # noqa: E402
from tests.harness.procs import run_measured  # noqa: E402
from tests.harness.registry import Registry  # noqa: E402

MIB = 1 << 20


def measure_ours(runner, tar, target):
    res = runner("layout_push", dict(src=tar, target=target, plain_http=True), expect_fail=False)
    assert res["uploaded_bytes"] > 0, "nothing was uploaded: the run measured nothing"
    return res["_seconds"], res["_cpu_seconds"], res["_maxrss_mib"]


def measure_oras(oras, tar, digests, target, env):
    wall = cpu = rss = 0.0
    for name, digest in digests.items():
        dest = "%s/%s" % (target, name.split("/", 1)[1])
        proc = run_measured([oras, "cp", "-r", "--from-oci-layout", "%s@%s" % (tar, digest), "--to-plain-http", dest],
                            env=env)
        assert proc["rc"] == 0, proc["stderr"]
        wall += proc["seconds"]
        cpu += proc["cpu_seconds"]
        rss = max(rss, proc["maxrss_mib"])
    return wall, cpu, rss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,256", help="bundle sizes in MiB, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", default="")
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="k0smotron-oci-bench-layout.")
    registry = Registry(os.path.join(work, "registry"))
    registry.start()
    try:
        collections = os.path.join(work, "collections")
        tools.collections_path(collections)
        runner = ModuleRunner(collections)
        oras = tools.oras_path()
        env = dict(os.environ, HOME=work, DOCKER_CONFIG=os.path.join(work, "docker"))
        rows = []
        for size in [int(s) for s in args.sizes.split(",")]:
            bundle = Bundle(pad=size * MIB)
            tar = bundle.write_tar(os.path.join(work, "bundle-%d.tar" % size))
            ours, theirs = [], []
            for run in range(args.runs):
                subprocess.run(["sync"], check=True)
                ours.append(measure_ours(runner, tar, "%s/ours-%d-%d" % (registry.host, size, run)))
                subprocess.run(["sync"], check=True)
                theirs.append(measure_oras(oras, tar, bundle.digests(), "%s/oras-%d-%d" % (registry.host, size, run),
                                           env))
            row = dict(size_mib=round(os.path.getsize(tar) / MIB, 1),
                       ours_wall=statistics.median(r[0] for r in ours), ours_cpu=statistics.median(r[1] for r in ours),
                       ours_rss_mib=max(r[2] for r in ours),
                       oras_wall=statistics.median(r[0] for r in theirs),
                       oras_cpu=statistics.median(r[1] for r in theirs), oras_rss_mib=max(r[2] for r in theirs))
            row["wall_ratio"] = row["ours_wall"] / row["oras_wall"]
            row["cpu_ratio"] = row["ours_cpu"] / row["oras_cpu"]
            rows.append(row)
            os.remove(tar)
        print("%-10s %10s %10s %8s %10s %10s %8s %12s %12s" % ("bundle", "ours s", "oras s", "wall x", "ours cpu",
                                                               "oras cpu", "cpu x", "ours RSS", "oras RSS"))
        for r in rows:
            print("%7.1f MiB %10.2f %10.2f %8.2f %10.2f %10.2f %8.2f %8.1f MiB %8.1f MiB" % (
                r["size_mib"], r["ours_wall"], r["oras_wall"], r["wall_ratio"], r["ours_cpu"], r["oras_cpu"],
                r["cpu_ratio"], r["ours_rss_mib"], r["oras_rss_mib"]))
        if args.json:
            os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
            with open(args.json, "w") as f:
                json.dump(dict(rows=rows, runs=args.runs), f, indent=2)
        return rows
    finally:
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
