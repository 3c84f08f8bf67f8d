#!/usr/bin/python3
"""Sharded `sockspec load` end to end: four shards on this machine against one server, merged;
the shard from Kubernetes' and Slurm's environment; merge refusing mixed and missing shards.
These assert counts, verdicts and exit codes, never how fast anything was."""
import json
import os
import subprocess
import tempfile
import time
import unittest

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")

PROFILE = {"format": 1, "profile": "sharded", "transport": "tcp", "defaults": {"timeout_ms": 2000},
           "executor": {"type": "constant-rate", "rate": 400, "connections": 8},
           "duration_s": 2, "warmup_s": 0,
           "setup": [{"op": "connect", "conn": "c"}],
           "iteration": [{"op": "send", "conn": "c", "text": "ping ${client}\n"},
                         {"op": "expect", "conn": "c", "echo": True}],
           "thresholds": ["rate >= 300/s", "errors == 0"]}


def percentile_by_hand(buckets, bits, p):
    """The value of rank ceil(p * n) in summed buckets, as the highest value of its bucket."""
    total = sum(buckets.values())
    rank = max(1, -(-p * total // 100))
    seen = 0
    for value in sorted(buckets):
        seen += buckets[value]
        if seen >= rank:
            if value < (1 << bits):
                return value
            width = 1 << (value.bit_length() - bits)
            return value + width - 1
    return 0


class Sharding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp()
        cls.profile = os.path.join(cls.dir, "sharded.json")
        with open(cls.profile, "w") as f:
            json.dump(PROFILE, f)
        cls.server = subprocess.Popen([SOCKSPEC, "serve", "echo", "--transport", "tcp", "--port", "0"],
                                      stdout=subprocess.PIPE, text=True)
        line = cls.server.stdout.readline()
        cls.target = line.split()[-1]
        # Four shards, four processes, one common start.
        start = str(int(time.time()) + 3)
        procs = [subprocess.Popen([SOCKSPEC, "load", cls.profile, "--target", cls.target, "--shard", f"{i}/4",
                                   "--start-at", start, "--threads", "1",
                                   "--report-json", os.path.join(cls.dir, f"shard-{i}.json")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(4)]
        cls.outs = [p.communicate(timeout=120) + (p.returncode,) for p in procs]

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)

    def shard(self, i):
        with open(os.path.join(self.dir, f"shard-{i}.json")) as f:
            return json.load(f)

    def merge(self, *args):
        return subprocess.run([SOCKSPEC, "merge", *args], capture_output=True, text=True, timeout=60)

    def test_four_shards_merged_give_the_asked_rate_and_the_percentiles_of_the_summed_buckets(self):
        for out, err, rc in self.outs:
            self.assertEqual(rc, 0, out + err)
        shards = [self.shard(i)["load"] for i in range(4)]
        self.assertEqual([s["shard"]["index"] for s in shards], [0, 1, 2, 3])
        self.assertEqual({s["shard"]["run_id"] for s in shards}, {shards[0]["shard"]["run_id"]})
        self.assertEqual([s["connections"] for s in shards], [2, 2, 2, 2])
        self.assertEqual(sum(s["target_rate"] for s in shards), 400)
        merged_path = os.path.join(self.dir, "merged.json")
        r = self.merge(*[os.path.join(self.dir, f"shard-{i}.json") for i in range(4)], "-o", merged_path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(merged_path) as f:
            m = json.load(f)["load"]
        self.assertEqual(m["target_rate"], 400)
        self.assertEqual(m["connections"], 8)
        self.assertEqual(m["shard"]["merged"], [0, 1, 2, 3])
        self.assertFalse(m["shard"]["partial"])
        self.assertEqual(m["iterations"], sum(s["iterations"] for s in shards))
        self.assertEqual(m["scheduled"], sum(s["scheduled"] for s in shards))
        # 400/s for 2 s: each shard schedules 100/s; rounding at the window's edges only.
        self.assertLessEqual(abs(m["scheduled"] - 800), 4)
        self.assertTrue(all(t["passed"] for t in m["thresholds"]), m["thresholds"])
        summed = {}
        for s in shards:
            for value, count in s["latency"]["buckets"]:
                summed[value] = summed.get(value, 0) + count
        self.assertEqual({v: n for v, n in m["latency"]["buckets"]}, summed)
        bits = m["latency"]["sub_bucket_bits"]
        for p, key in ((50, "p50"), (90, "p90"), (99, "p99"), (99.9, "p99.9")):
            self.assertEqual(m["latency"]["percentiles"][key], percentile_by_hand(summed, bits, p), key)
        # The per-second series line up by wall clock: the same seconds, their counts summed.
        self.assertEqual(sum(i["iterations"] for i in m["series"]), m["iterations"])
        self.assertLessEqual(len(m["series"]), max(len(s["series"]) for s in shards) + 1)

    def test_merge_names_missing_shards_and_marks_an_allowed_partial_merge(self):
        parts = [os.path.join(self.dir, f"shard-{i}.json") for i in (0, 1, 3)]
        out = os.path.join(self.dir, "partial.json")
        r = self.merge(*parts, "-o", out)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("missing shard(s) 2 of 4", r.stderr)
        r = self.merge(*parts, "-o", out, "--allow-partial")
        self.assertIn(r.returncode, (0, 1), r.stderr)
        with open(out) as f:
            m = json.load(f)
        self.assertTrue(m["load"]["shard"]["partial"])
        self.assertTrue(any("partial" in n for n in m["notes"]), m["notes"])

    def test_merge_refuses_shards_of_different_runs_and_a_shard_twice(self):
        other = self.shard(1)
        other["load"]["shard"]["run_id"] = "another-run"
        other_path = os.path.join(self.dir, "other.json")
        with open(other_path, "w") as f:
            json.dump(other, f)
        s0 = os.path.join(self.dir, "shard-0.json")
        r = self.merge(s0, other_path, "-o", os.path.join(self.dir, "x.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("different runs", r.stderr)
        self.assertIn("another-run", r.stderr)
        r = self.merge(s0, s0, "-o", os.path.join(self.dir, "x.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("shard 0/4 is given twice", r.stderr)

    def run_env(self, env, *args):
        d = tempfile.mkdtemp()
        p = dict(PROFILE, executor={"type": "closed", "vus": 4}, iterations=1, thresholds=[])
        path = os.path.join(d, "p.json")
        with open(path, "w") as f:
            json.dump(p, f)
        full = dict(os.environ, **env)
        r = subprocess.run([SOCKSPEC, "load", path, "--target", self.target, "--run-id", "env-test",
                            "--report-json", os.path.join(d, "r.json"), *args],
                           capture_output=True, text=True, timeout=60, env=full)
        rep = None
        if os.path.exists(os.path.join(d, "r.json")):
            with open(os.path.join(d, "r.json")) as f:
                rep = json.load(f)
        return r, rep

    def test_the_shard_comes_from_a_kubernetes_indexed_job_or_a_slurm_array(self):
        r, rep = self.run_env({"JOB_COMPLETION_INDEX": "1"}, "--shards", "4")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual((rep["load"]["shard"]["index"], rep["load"]["shard"]["count"]), (1, 4))
        self.assertEqual(rep["load"]["connections"], 1)
        r, rep = self.run_env({"JOB_COMPLETION_INDEX": "2", "SOCKSPEC_SHARDS": "4"})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(rep["load"]["shard"]["index"], 2)
        r, rep = self.run_env({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, "--seed", "100")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual((rep["load"]["shard"]["index"], rep["load"]["shard"]["count"]), (3, 4))
        self.assertEqual(rep["run"]["seed"], 103)  # each shard its own seed
        r, rep = self.run_env({"JOB_COMPLETION_INDEX": "1"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("SOCKSPEC_SHARDS", r.stderr)

    def test_a_sharded_run_without_a_common_start_or_run_id_is_refused(self):
        r = subprocess.run([SOCKSPEC, "load", self.profile, "--target", self.target, "--shard", "0/2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--start-at", r.stderr)

    def test_a_shard_that_starts_after_start_at_says_so_and_the_report_carries_it(self):
        d = tempfile.mkdtemp()
        p = dict(PROFILE, executor={"type": "closed", "vus": 2}, iterations=1, thresholds=[])
        path = os.path.join(d, "p.json")
        with open(path, "w") as f:
            json.dump(p, f)
        r = subprocess.run([SOCKSPEC, "load", path, "--target", self.target, "--shard", "0/2",
                            "--start-at", str(int(time.time()) - 5), "--report-json", os.path.join(d, "r.json")],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("late", r.stderr)
        with open(os.path.join(d, "r.json")) as f:
            self.assertGreater(json.load(f)["load"]["shard"]["late_start_s"], 4)


if __name__ == "__main__":
    unittest.main()
