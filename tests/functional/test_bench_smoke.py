"""bench/run.py still runs end to end (1 MiB, one run): the benchmark itself is not part of the suite."""
import json
import os
import subprocess
import sys

from tests.harness.tools import ROOT


def test_bench_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--sizes", "1", "--runs", "1",
                           "--json", str(out), "--workdir", str(tmp_path)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "| 1 MiB" in proc.stdout and "oras" in proc.stdout
    report = json.loads(out.read_text())
    results = report["results"]["1"]
    assert set(results) == {"push", "re-push", "resolve", "fetch"}
    assert set(results["push"]) == {"module", "module-digest", "module-stream", "playbook", "oras"}
    assert set(results["re-push"]) == {"module", "module-cached", "oras"}
    for op in results.values():
        for entry in op.values():
            assert entry["median_seconds"] > 0 and entry["peak_rss_mib"] > 0
            assert entry["median_registry_cpu_seconds"] is not None
    assert report["targets"]
    assert os.listdir(str(tmp_path)) == ["bench.json"], "the benchmark removed its temporary files"
