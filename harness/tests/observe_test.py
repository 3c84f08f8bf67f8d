#!/usr/bin/python3
"""Watching a load run (docs/observe.md) with the tools people watch load with: a real Prometheus
(Debian's, on loopback, scraping every second) reads `load --metrics`; a real Pushgateway gets
`--push`; the live dashboard is opened in headless Chromium while the run goes; four shards are
summed by one Prometheus. Figures are checked against the run's own JSON report (rate within 5%,
p99 within one histogram bucket), never against a clock."""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCREENSHOTS = os.path.join(os.environ.get("SOCKSPEC_SCREENSHOTS", tempfile.gettempdir()), "sockspec-observe")
PROMETHEUS = shutil.which("prometheus")
PUSHGATEWAY = shutil.which("prometheus-pushgateway")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_until(what, check, seconds=60):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            v = check()
            if v:
                return v
        except (OSError, ValueError, KeyError, IndexError, http.client.HTTPException) as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds} s (last error: {last})")


def bucket_index(seconds):
    """The index of the Prometheus bucket (bounds 2^k and 1.5 * 2^k ns) holding a value."""
    bounds = []
    for k in range(10, 37):
        bounds += [2 ** k, 3 * 2 ** (k - 1)]
    ns = seconds * 1e9
    return next((i for i, b in enumerate(bounds) if ns <= b * (1 + 1e-9)), len(bounds))


def profile(rate, duration, warmup=3, connections=4):
    return {"format": 1, "profile": "watched", "transport": "tcp", "defaults": {"timeout_ms": 2000},
            "executor": {"type": "constant-rate", "rate": rate, "connections": connections},
            "duration_s": duration, "warmup_s": warmup,
            "setup": [{"op": "connect", "conn": "c"}],
            "iteration": [{"op": "send", "conn": "c", "text": "ping ${client}\n"},
                          {"op": "expect", "conn": "c", "echo": True}],
            "thresholds": ["errors == 0", "p99 < 10s"]}


class Prometheus:
    """Prometheus on a loopback port, scraping every second; targets come from a file (file-based
    service discovery, as docs/observe.md recommends for shards)."""

    def __init__(self, workdir, honor_labels=False):
        self.dir = workdir
        self.targets = os.path.join(workdir, "targets.json")
        self.set_targets([])
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
                  "scrape_configs": [{"job_name": "sockspec", "honor_labels": honor_labels,
                                      "file_sd_configs": [{"files": [self.targets], "refresh_interval": "1s"}]}]}
        path = os.path.join(workdir, "prometheus.yml")
        with open(path, "w") as f:
            json.dump(config, f)  # JSON is YAML
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(workdir, "prometheus.log"), "w")
        self.proc = subprocess.Popen([PROMETHEUS, f"--config.file={path}", f"--storage.tsdb.path={workdir}/tsdb",
                                      f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                                     stdout=self.log, stderr=self.log)
        wait_until("Prometheus ready", lambda: get(f"{self.url}/-/ready"))

    def set_targets(self, hostports):
        tmp = self.targets + ".tmp"
        with open(tmp, "w") as f:
            json.dump([{"targets": hostports}], f)
        os.replace(tmp, self.targets)

    def query(self, q, at=None):
        params = {"query": q}
        if at is not None:
            params["time"] = f"{at:.3f}"
        r = json.loads(get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode(params)))
        assert r["status"] == "success", r
        return r["data"]["result"]

    def value(self, q, at=None):
        res = self.query(q, at)
        return float(res[0]["value"][1]) if res else None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def start_load(prof, workdir, name, *args):
    path = os.path.join(workdir, f"{name}.json")
    with open(path, "w") as f:
        json.dump(prof, f)
    err = open(os.path.join(workdir, f"{name}.err"), "w+")
    p = subprocess.Popen([SOCKSPEC, "load", path, "--report-json", os.path.join(workdir, f"{name}-report.json"),
                          *args], stdout=subprocess.PIPE, stderr=err, text=True)
    p.err = err
    p.report_path = os.path.join(workdir, f"{name}-report.json")
    return p


def metrics_url(p):
    """The endpoint's URL, from the line `load --metrics` prints on stderr."""
    def look():
        with open(p.err.name) as f:
            m = re.search(r"^metrics: (http://\S+/)metrics", f.read(), re.M)
        if p.poll() is not None and not m:
            raise AssertionError(f"sockspec exited with {p.returncode}: {open(p.err.name).read()}")
        return m.group(1) if m else None
    return wait_until("the metrics URL on stderr", look, 30)


def finish(p):
    out, _ = p.communicate(timeout=120)
    with open(p.err.name) as f:
        err = f.read()
    assert p.returncode == 0, f"exit {p.returncode}\n{out}\n{err}"
    with open(p.report_path) as f:
        return json.load(f)["load"], err


@unittest.skipUnless(PROMETHEUS and PUSHGATEWAY, "prometheus and prometheus-pushgateway are not installed")
class Observe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = subprocess.Popen([SOCKSPEC, "serve", "echo", "--transport", "tcp", "--port", "0"],
                                      stdout=subprocess.PIPE, text=True)
        cls.target = cls.server.stdout.readline().split()[-1]

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(timeout=10)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sockspec-observe-")
        self.stops = []

    def tearDown(self):
        for stop in reversed(self.stops):
            stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def prometheus(self, **kw):
        prom = Prometheus(self.dir, **kw)
        self.stops.append(prom.stop)
        return prom

    def check_rate_and_p99(self, prom, report, selector, final_at):
        """Prometheus's rate over most of the measured window, and its histogram_quantile(0.99) of
        the final buckets (as scraped at `final_at`, once the run had finished), against the
        report."""
        origin = report["series_origin_unix_ms"] / 1000
        at = origin + report["duration_s"] - 0.5
        # The window starts once every series has been scraped (service discovery by file takes
        # a moment): rate() over a window its samples only partly cover would read low.
        firsts = [float(r["values"][0][0]) for r in prom.query(f"sockspec_iterations_total{{{selector}}}[120s]", at)]
        self.assertTrue(firsts, "Prometheus has no samples of the run")
        window = int(at - max([origin + 0.5] + firsts))
        self.assertGreaterEqual(window, 3, f"Prometheus scraped the run only {window} s before its end")
        rate = prom.value(f"sum(rate(sockspec_iterations_total{{{selector}}}[{window}s]))", at)
        self.assertIsNotNone(rate, "Prometheus has no samples in the measured window")
        self.assertLess(abs(rate / report["achieved_rate"] - 1), 0.05,
                        f"Prometheus says {rate:.1f}/s, the report {report['achieved_rate']:.1f}/s")
        p99 = prom.value(f"histogram_quantile(0.99, sum by (le) (sockspec_latency_seconds_bucket{{{selector}}}))",
                         final_at)
        report_p99 = report["latency"]["percentiles"]["p99"] / 1e9
        self.assertLessEqual(abs(bucket_index(p99) - bucket_index(report_p99)), 1,
                             f"Prometheus p99 {p99 * 1e3:.3f} ms, the report's {report_p99 * 1e3:.3f} ms")
        return rate, p99

    def test_prometheus_scrapes_a_rate_and_p99_that_agree_with_the_report(self):
        prom = self.prometheus()
        p = start_load(profile(400, 10), self.dir, "one", "--target", self.target,
                       "--metrics", "127.0.0.1:0", "--metrics-linger", "5")
        url = metrics_url(p)
        prom.set_targets([urllib.parse.urlparse(url).netloc])
        wait_until("the finished run scraped", lambda: prom.value("max(sockspec_finished)") == 1, 90)
        final_at = time.time()
        report, err = finish(p)
        self.assertIn("stay at", err)
        rate, p99 = self.check_rate_and_p99(prom, report, 'job="sockspec"', final_at)
        print(f"\n  --metrics: Prometheus rate {rate:.1f}/s vs report {report['achieved_rate']:.1f}/s; "
              f"p99 {p99 * 1e3:.3f} ms vs {report['latency']['percentiles']['p99'] / 1e6:.3f} ms")
        # The final scrape holds the report's own counts.
        self.assertEqual(prom.value("sum(sockspec_iterations_total)", final_at), report["iterations"])
        self.assertEqual(prom.value('sum(sockspec_errors_total)', final_at), 0)
        self.assertEqual(prom.value('sum(sockspec_threshold_passing{threshold="errors == 0"})', final_at), 1)
        labels = prom.query("sockspec_run_info", final_at)[0]["metric"]
        self.assertEqual((labels["run_id"], labels["shard"], labels["shards"]), (report["shard"]["run_id"], "0", "1"))
        # Every query of docs/observe.md's table, as written, answers for this run.
        doc = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "observe.md")).read()
        table = doc[doc.index("| chart | PromQL |"):]
        table = table[:table.index("\n\n")]
        queries = [q for row in table.splitlines()[2:] for q in re.findall(r"`([^`]+)`", row.split("|")[2])]
        self.assertGreaterEqual(len(queries), 9)
        during = report["series_origin_unix_ms"] / 1000 + report["duration_s"] - 0.5
        for q in queries:
            self.assertTrue(prom.query(q, during), f"docs/observe.md's query {q!r} gave no result")

    def test_pushgateway_gets_the_run_every_interval_and_its_end(self):
        gw_port = free_port()
        log = open(os.path.join(self.dir, "pushgateway.log"), "w")
        # Its own persistence file: Debian's default keeps groups across runs in /var/lib.
        gw = subprocess.Popen([PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{gw_port}",
                               f"--persistence.file={self.dir}/pushgateway.data"], stdout=log, stderr=log)
        self.stops.append(lambda: (gw.terminate(), gw.wait(timeout=30), log.close()))
        wait_until("Pushgateway ready", lambda: get(f"http://127.0.0.1:{gw_port}/-/ready"))
        prom = self.prometheus(honor_labels=True)
        prom.set_targets([f"127.0.0.1:{gw_port}"])
        p = start_load(profile(400, 14), self.dir, "pushed", "--target", self.target,
                       "--push", f"http://127.0.0.1:{gw_port}", "--push-interval", "0.2")
        report, err = finish(p)
        self.assertNotIn("push: http", err.replace(f"push: http://127.0.0.1:{gw_port} every", ""))
        # The last push is the report's: the Pushgateway holds it after the job has gone.
        pushed = get(f"http://127.0.0.1:{gw_port}/metrics")
        m = re.search(r'^sockspec_iterations_total\{[^}]*run_id="([^"]+)"[^}]*\} (\S+)$', pushed, re.M)
        self.assertIsNotNone(m, pushed[:2000])
        self.assertEqual((m.group(1), float(m.group(2))), (report["shard"]["run_id"], report["iterations"]))
        wait_until("the final push scraped", lambda: prom.value("max(sockspec_finished)") == 1, 60)
        rate, p99 = self.check_rate_and_p99(prom, report, 'job="sockspec"', time.time())
        print(f"\n  --push: Prometheus rate {rate:.1f}/s vs report {report['achieved_rate']:.1f}/s; "
              f"p99 {p99 * 1e3:.3f} ms vs {report['latency']['percentiles']['p99'] / 1e6:.3f} ms")

    def test_four_shards_summed_by_one_prometheus_give_the_merged_rate(self):
        prom = self.prometheus()
        start = str(int(time.time()) + 4)
        procs = [start_load(profile(800, 10, warmup=1), self.dir, f"shard{i}", "--target", self.target,
                            "--shard", f"{i}/4", "--start-at", start, "--run-id", "observe-four",
                            "--metrics", "127.0.0.1:0", "--metrics-linger", "5", "--threads", "1")
                 for i in range(4)]
        prom.set_targets([urllib.parse.urlparse(metrics_url(p)).netloc for p in procs])
        wait_until("four finished shards scraped",
                   lambda: prom.value('count(sockspec_finished{run_id="observe-four"} == 1)') == 4, 90)
        final_at = time.time()
        reports = [finish(p)[0] for p in procs]
        merged_path = os.path.join(self.dir, "merged.json")
        r = subprocess.run([SOCKSPEC, "merge", *[p.report_path for p in procs], "-o", merged_path],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(merged_path) as f:
            merged = json.load(f)["load"]
        self.assertEqual(sorted(x["metric"]["shard"] for x in prom.query('sockspec_run_info{run_id="observe-four"}', final_at)),
                         ["0", "1", "2", "3"])
        self.assertEqual(prom.value('sum(sockspec_iterations_total{run_id="observe-four"})', final_at),
                         merged["iterations"])
        rate, p99 = self.check_rate_and_p99(prom, merged, 'run_id="observe-four"', final_at)
        print(f"\n  4 shards: Prometheus summed rate {rate:.1f}/s vs merged {merged['achieved_rate']:.1f}/s "
              f"(shards {[round(x['achieved_rate'], 1) for x in reports]})")

    def test_the_dashboard_changes_while_the_run_goes_and_ends_as_the_report(self):
        chromium = shutil.which("chromium")
        if not chromium:
            self.skipTest("chromium is not installed")
        p = start_load(profile(300, 8, warmup=1), self.dir, "dash", "--target", self.target,
                       "--metrics", "127.0.0.1:0", "--metrics-linger", "20")
        url = metrics_url(p)
        chrome_dir = tempfile.mkdtemp(prefix="sockspec-chromium-")
        self.stops.append(lambda: shutil.rmtree(chrome_dir, ignore_errors=True))
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={chrome_dir}", "--enable-logging=stderr", "--v=0"]
        os.makedirs(SCREENSHOTS, exist_ok=True)

        def read(n):
            # Virtual time lets the page's own script fetch /live at least once before the dump.
            dom = subprocess.run([chromium, *flags, "--virtual-time-budget=2500", "--dump-dom", url],
                                 capture_output=True, text=True, timeout=120)
            subprocess.run([chromium, *flags, "--window-size=1280,1600",
                            f"--screenshot={os.path.join(SCREENSHOTS, f'dashboard-{n}.png')}", url],
                           capture_output=True, text=True, timeout=120)
            errors = [l for l in dom.stderr.splitlines() if "CONSOLE" in l and ("Uncaught" in l or "Error" in l)]
            self.assertEqual(errors, [], "the page logged errors")
            return dom.stdout

        def iterations(dom):
            m = re.search(r'data-iterations="(\d+)"', dom)
            self.assertIsNotNone(m, dom[:2000])
            return int(m.group(1))

        wait_until("the measured window under way", lambda: iterations(get(url + "live")) > 0, 30)
        first = read(1)
        self.assertRegex(first, r'data-updates="[1-9]', "the page's script never refreshed it")
        self.assertIn('id="rate-chart"', first)
        time.sleep(1.5)
        second = read(2)
        self.assertGreater(iterations(second), iterations(first), "the numbers on the page did not change")
        report, _ = finish_after_final(p, url)
        final = read(3)
        self.assertIn("sockspec load run", final)
        self.assertIn(f"<td>{report['iterations']}</td>", final)
        self.assertNotIn("data-updates", final)  # the final report, no longer the live page
        p.terminate()
        p.wait(timeout=30)
        print(f"\n  dashboard: iterations {iterations(first)} -> {iterations(second)}; screenshots in {SCREENSHOTS}")


class RunCases(unittest.TestCase):
    """`sockspec run --metrics`: cases finished so far by verdict, then the final report."""

    def test_cases_are_counted_by_verdict_while_the_run_goes_and_end_as_the_report(self):
        d = tempfile.mkdtemp(prefix="sockspec-observe-")
        self.addCleanup(shutil.rmtree, d, True)
        err = open(os.path.join(d, "err"), "w+")
        self.addCleanup(err.close)
        p = subprocess.Popen([SOCKSPEC, "run", "--target", "builtin:echo", "--jobs", "2", "--metrics", "127.0.0.1:0",
                              "--metrics-linger", "60", "--report-json", os.path.join(d, "r.json")],
                             stdout=subprocess.PIPE, stderr=err, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        p.err = err
        url = metrics_url(p)
        seen = set()

        def counts():
            text = get(url + "metrics")
            by = {m.group(1): int(float(m.group(2)))
                  for m in re.finditer(r'^sockspec_cases_total\{[^}]*verdict="(\w+)"\} (\S+)$', text, re.M)}
            seen.add(sum(by.values()))
            finished = re.search(r"^sockspec_finished\{[^}]*\} 1$", text, re.M)
            return by if finished else None

        final = wait_until("the run finished", counts, 120)
        def report():
            with open(os.path.join(d, "r.json")) as f:
                return json.load(f)["suites"]  # ValueError while it is being written: read again
        suites = wait_until("the report", report, 30)
        verdicts = {}
        for s in suites:
            for c in s["cases"]:
                verdicts[c["verdict"]] = verdicts.get(c["verdict"], 0) + 1
        self.assertEqual({k: v for k, v in final.items() if v}, verdicts)
        self.assertGreater(len(seen), 2, f"the counts never moved while the run went: {sorted(seen)}")
        self.assertIn('id="case-table"', get(url))  # the final report
        p.send_signal(2)  # Ctrl-C ends the linger
        self.assertEqual(p.wait(timeout=30), 0)


class Usage(unittest.TestCase):
    """Bad addresses and unreachable gateways: a clear message, never a hang."""

    def run_load(self, *args, timeout=120):
        d = tempfile.mkdtemp(prefix="sockspec-observe-")
        path = os.path.join(d, "p.json")
        with open(path, "w") as f:
            json.dump(profile(100, 1, warmup=0, connections=1), f)
        r = subprocess.run([SOCKSPEC, "load", path, "--target", "builtin:echo", "--report-json",
                            os.path.join(d, "r.json"), *args], capture_output=True, text=True, timeout=timeout)
        shutil.rmtree(d, ignore_errors=True)
        return r

    def test_bad_listen_addresses_and_push_urls_are_usage_errors(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            for args, said in [(["--metrics", "9464"], "expected ADDR:PORT"),
                               (["--metrics", "127.0.0.1:99999"], "expected ADDR:PORT"),
                               (["--metrics", f"127.0.0.1:{port}"], "EADDRINUSE"),
                               (["--push", "https://127.0.0.1:9091"], "https is not supported"),
                               (["--push", "http://127.0.0.1:9091/metrics/job/x"], "no path"),
                               (["--push-interval", "0"], "--push-interval")]:
                r = self.run_load(*args)
                self.assertEqual(r.returncode, 2, f"{args}: {r.stdout}{r.stderr}")
                self.assertIn(said, r.stderr, args)

    def test_a_pushgateway_that_never_answers_costs_the_run_nothing_but_a_warning(self):
        with socket.socket() as silent:  # accepts connections, never answers
            silent.bind(("127.0.0.1", 0))
            silent.listen(64)
            port = silent.getsockname()[1]
            r = self.run_load("--push", f"http://127.0.0.1:{port}", "--push-interval", "0.2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("did not answer within 15 s", r.stderr)
        self.assertIn("PASS errors == 0", r.stdout)  # the run itself went on as usual

    def test_an_absent_pushgateway_is_named_with_the_error(self):
        port = free_port()  # nobody listens there
        r = self.run_load("--push", f"http://127.0.0.1:{port}")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stderr, rf"push: http://127.0.0.1:{port}: could not reach it \(curl error \d+\)")


def finish_after_final(p, url):
    """Waits for the run to end (the endpoint stays up, lingering) and reads its report."""
    wait_until("the final report at /", lambda: 'data-finished="1"' in get(url + "live"), 60)

    def report():
        with open(p.report_path) as f:
            return json.load(f)["load"]  # ValueError while it is being written: read again
    return wait_until("the report file", report, 30), None


if __name__ == "__main__":
    unittest.main(verbosity=2)
