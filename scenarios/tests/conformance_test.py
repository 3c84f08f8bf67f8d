#!/usr/bin/python3
"""The built-in suites, proven: they pass every reference server, catch every faulty variant,
and pass real third-party servers except for the deviations recorded in scenarios/expected/.

Every report is also written to $SOCKSPEC_CONFORMANCE_OUT (when set), from which
scripts/compat-table.py builds docs/compatibility.md.
"""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
SUITES = os.path.join(SCENARIOS, "suites")
EXPECTED = os.path.join(SCENARIOS, "expected")
OUT = os.environ.get("SOCKSPEC_CONFORMANCE_OUT") or tempfile.mkdtemp(prefix="sockspec-conformance-")

SERVICES = ["echo", "discard", "chargen", "daytime", "time", "upper", "chat"]


def run(args, timeout=300):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=timeout)


def load(path):
    with open(path) as f:
        return json.load(f)


def report_path(server, label):
    d = os.path.join(OUT, server, label)
    os.makedirs(d, exist_ok=True)
    return d


def verdicts(report):
    return {s["name"] + "/" + c["id"]: (c["verdict"], c["level"]) for s in report["suites"] for c in s["cases"]}


def suite_filters(service, transports=("tcp", "udp")):
    return [f"{service}-{t}" for t in transports if os.path.exists(os.path.join(SUITES, f"{service}-{t}.json"))]


def filter_args(filters):
    return [a for f in filters for a in ("--filter", f)]


class ReferenceServers(unittest.TestCase):
    def check_clean(self, r, out, what):
        self.assertEqual(r.returncode, 0, f"{what}:\n{r.stdout}{r.stderr}")
        counts = load(os.path.join(out, "report.json"))["counts"]
        self.assertEqual((counts["fail"], counts["error"], counts["xpass"]), (0, 0, 0), what)
        self.assertGreater(counts["pass"], 0, what)

    def test_every_service_passes_its_suites_over_ipv4(self):
        for svc in SERVICES:
            with self.subTest(service=svc):
                out = report_path(f"sockspec-{svc}", "ipv4")
                r = run(["run", "--target", f"builtin:{svc}", "--out", out])
                self.check_clean(r, out, f"builtin:{svc} over IPv4")

    def test_every_service_passes_its_suites_over_ipv6(self):
        for svc in SERVICES:
            with self.subTest(service=svc):
                out = report_path(f"sockspec-{svc}", "ipv6")
                filters = suite_filters(svc) + ["sockets"] + ([f"lifecycle-{svc}"] if svc == "echo" else [])
                r = run(["run", SUITES, *filter_args(filters), "--target", "[::1]:0", "--out", out,
                         "--server-cmd", f"{SOCKSPEC} serve {svc} --bind ::1 --port {{port}}"])
                self.check_clean(r, out, f"{svc} over IPv6")


class FaultyServers(unittest.TestCase):
    # fault -> (service, the MUST cases that catch its bug); docs/compatibility.md lists them all.
    CATCHES = {
        "truncate-1024": ("echo", ["echo-tcp/just-past-1024", "echo-udp/size-1025"]),
        "iterative": ("echo", ["echo-tcp/second-client"]),
        "drop-after-fin": ("echo", ["echo-tcp/data-with-fin"]),
        "close-after-first": ("echo", ["echo-tcp/many-messages"]),
        "ignore-partial-send": ("echo", ["echo-tcp/mib-before-reading"]),
        "crlf": ("echo", ["echo-tcp/short-line", "echo-udp/short"]),
        "reply-wrong-port": ("echo", ["echo-udp/reply-from-the-same-port"]),
        "no-reuseaddr": ("echo", ["lifecycle-echo/restart-accepts-at-once"]),
        "slow": ("echo", ["echo-tcp/prompt-reply", "echo-udp/prompt-reply"]),
        "reset-midstream": ("echo", ["echo-tcp/just-past-1024"]),
        "no-close-on-fin": ("echo", ["echo-tcp/half-close"]),
        "chat-echo-sender": ("chat", ["chat-tcp/relays-to-the-other-client", "chat-udp/relays-to-the-other-peer"]),
        # Every reply twice: an exact match never sees the copy, only the "nothing more" checks do.
        "duplicate-reply": ("echo", ["echo-tcp/one-byte", "echo-tcp/short-line", "echo-tcp/10-clients",
                                     "echo-udp/short", "echo-udp/back-to-back-datagrams"]),
    }

    # A server that answers every request, late, breaks no rule of RFC 862: the only case that
    # may name that is a SHOULD on promptness (a warning). Its run is limited to those cases
    # and one MUST that proves a late answer still passes (each of the 200 exchanges of
    # many-messages would take the whole delay).
    WARNS = {"slow": ["echo-tcp/prompt-reply", "echo-udp/prompt-reply"]}
    PASSES = {"slow": ["echo-tcp/one-byte", "echo-udp/short"]}

    def test_every_fault_fails_a_must_case_of_its_service(self):
        listed = subprocess.run([SOCKSPEC, "serve", "--help"], capture_output=True, text=True).stdout
        for fault in self.CATCHES:
            self.assertIn(f"  {fault}\n", listed, "a fault the test names is not offered by serve")
        for fault, (svc, catching) in self.CATCHES.items():
            with self.subTest(fault=fault):
                out = report_path(f"sockspec-{svc}-fault-{fault}", "ipv4")
                filters = suite_filters(svc) + ([f"lifecycle-{svc}"] if svc == "echo" else [])
                if fault in self.WARNS:
                    filters = self.WARNS[fault] + self.PASSES[fault]
                r = run(["run", SUITES, *filter_args(filters), "--out", out,
                         "--server-cmd", f"{SOCKSPEC} serve {svc} --fault {fault} --port {{port}}"])
                v = verdicts(load(os.path.join(out, "report.json")))
                if fault in self.WARNS:
                    self.assertEqual(r.returncode, 0, f"{fault}: a late answer is no MUST failure\n{r.stdout}")
                    for case in catching:
                        self.assertEqual(v[case], ("warn", "should"), f"{fault} should warn on {case}")
                    for case in self.PASSES[fault]:
                        self.assertEqual(v[case][0], "pass", f"{fault}: {case} judges content, not time")
                    continue
                self.assertEqual(r.returncode, 1, f"{fault}: the suites did not fail\n{r.stdout}")
                for case in catching:
                    self.assertEqual(v[case], ("fail", "must"), f"{fault} should fail {case}")


SERVERS_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "servers.py")
# How many times the verdict tests below repeat each run (scripts/stability.sh raises it).
RUNS = int(os.environ.get("SOCKSPEC_CONFORMANCE_RUNS", "1"))


def listed_cases(suite, level=None):
    cases = []
    for line in run(["list", os.path.join(SUITES, suite + ".json")]).stdout.split("\n"):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("must", "should", "may") and (level is None or parts[0] == level):
            cases.append(parts[1])
    return cases


class HandWrittenServers(unittest.TestCase):
    """Servers written the way people write them (scenarios/tests/servers.py): the correct
    ones must never fail a MUST case, whatever --jobs; each broken one fails the case whose
    title names its fault, and only there."""

    def run_kind(self, kind, filters, jobs, label):
        out = report_path(f"handwritten-{kind}", label)
        r = run(["run", SUITES, *filter_args(filters), "--target", "127.0.0.1:0", "--out", out, "-j", str(jobs),
                 "--server-cmd", f"/usr/bin/python3 {SERVERS_PY} {kind} {{port}}"])
        return r, verdicts(load(os.path.join(out, "report.json")))

    def test_small_backlog_and_socketserver_echo_pass_every_must_case_at_any_jobs(self):
        must = listed_cases("echo-tcp", "must")
        self.assertIn("echo-tcp/10-clients", must)
        for kind in ("threaded-echo-backlog-2", "socketserver-echo"):
            for jobs in (1, 2):
                for n in range(RUNS):
                    with self.subTest(server=kind, jobs=jobs, run=n):
                        r, v = self.run_kind(kind, must, jobs, f"j{jobs}-run{n}")
                        self.assertEqual(r.returncode, 0, f"{kind} -j{jobs}:\n{r.stdout}")
                        self.assertEqual({c: v[c][0] for c in must}, {c: "pass" for c in must})

    def test_time_server_dropping_queued_requests_fails_the_case_that_names_it(self):
        for n in range(RUNS):
            with self.subTest(run=n):
                r, v = self.run_kind("time-udp-drops-queued", ["time-udp"], 1, f"run{n}")
                self.assertEqual(r.returncode, 1, r.stdout)
                failed = sorted(c for c, (verdict, _) in v.items() if verdict == "fail")
                self.assertEqual(failed, ["time-udp/back-to-back-datagrams", "time-udp/several-clients"])

    def test_doubled_bytes_fail_every_echo_case_even_a_one_byte_echo(self):
        # One byte doubled is the expected byte plus one: only the case's trailing "nothing
        # more" check sees it. Every other MUST case exchanges more and fails too.
        must = listed_cases("echo-tcp", "must")
        r, v = self.run_kind("echo-tcp-doubles", must, 2, "must")
        self.assertEqual(v["echo-tcp/one-byte"], ("fail", "must"))
        self.assertIn("(nothing more than the echo comes back; closing after our FIN is allowed): "
                      '1 byte more than expected (unread data already buffered): "x"', r.stdout)
        self.assertEqual([c for c in must if v[c][0] != "fail"], [])

    def test_a_daytime_server_answering_two_lines_passes_every_must_case(self):
        # Issue 22: RFC 867 fixes no syntax; "one line" is only a SHOULD. Two lines then the
        # close failed three MUST cases (an EOF or silence was expected after one line).
        must = listed_cases("daytime-tcp", "must")
        r, v = self.run_kind("daytime-two-lines", ["daytime-tcp"], 2, "all")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual({c: v[c][0] for c in must}, {c: "pass" for c in must}, r.stdout)
        self.assertEqual(v["daytime-tcp/one-line"], ("warn", "should"), r.stdout)

    def test_the_documentation_selectors_echo_fails_the_slow_reader_case_only(self):
        # Issue 22: `conn.send(data)` on a non-blocking socket drops the rest of a partial write;
        # on loopback the kernel's buffers swallowed every other case's bytes whole.
        must = listed_cases("echo-tcp", "must")
        self.assertIn("echo-tcp/slow-reader", must)
        r, v = self.run_kind("selectors-echo-send", must, 2, "must")
        self.assertEqual(r.returncode, 1, r.stdout)
        failed = sorted(c for c in must if v[c][0] != "pass")
        self.assertEqual(failed, ["echo-tcp/slow-reader"], r.stdout)

    def test_an_oversize_chargen_reply_fails_the_size_case_only_in_the_rfc_terms(self):
        r, v = self.run_kind("chargen-udp-1024", ["chargen-udp"], 2, "all")
        failed = sorted(c for c, (verdict, _) in v.items() if verdict in ("fail", "warn"))
        self.assertEqual(failed, ["chargen-udp/answers-0-to-512"])
        self.assertIn("RFC 864: a reply holds 0 to 512 characters", r.stdout)
        self.assertIn("1024", r.stdout)


def per_case_run(server, label, suite_filters_, command, target="127.0.0.1:0", expect_file=None):
    """Runs each case against a fresh server: some third-party servers keep state between
    clients (forked children that linger), which would make results depend on case order."""
    listed = run(["list", SUITES]).stdout.split("\n")
    cases = []
    for line in listed:
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("must", "should", "may"):
            if any(parts[1].startswith(f + "/") for f in suite_filters_):
                cases.append(parts[1])
    results = []
    for case in cases:
        out = report_path(server, os.path.join(label, case.replace("/", "__")))
        args = ["run", SUITES, "--filter", case, "--target", target, "--server-cmd", command, "--out", out, "-j1"]
        if expect_file:
            args += ["--expect-fail", expect_file]
        results.append((case, run(args)))
    return results


def wait_for_tcp(host, port, tries=100):
    import socket
    for _ in range(tries):  # bounded: 100 tries, 50 ms apart
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def netns_available():
    if shutil.which("ip") is None or os.geteuid() != 0:
        return "needs root and iproute2 to create a network namespace"
    name = "sockspec-check-" + uuid.uuid4().hex[:6]
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return "cannot create a network namespace here: " + r.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ""


class ThirdPartyServers(unittest.TestCase):
    def assert_all_clean(self, results, what):
        for case, r in results:
            self.assertIn(r.returncode, (0,), f"{what} {case}:\n{r.stdout}{r.stderr}")

    def test_socat_as_tcp_echo(self):
        if not shutil.which("socat"):
            self.skipTest("socat is not installed")
        cmd = "socat TCP-LISTEN:{port},bind=127.0.0.1,fork PIPE"
        self.assert_all_clean(per_case_run("socat-tcp-echo", "ipv4", ["echo-tcp"], cmd,
                                           expect_file=os.path.join(EXPECTED, "socat-tcp-echo.txt")), "socat")

    def test_socat_as_udp_echo(self):
        if not shutil.which("socat"):
            self.skipTest("socat is not installed")
        cmd = "socat UDP-RECVFROM:{port},bind=127.0.0.1,fork PIPE"
        self.assert_all_clean(per_case_run("socat-udp-echo", "ipv4", ["echo-udp"], cmd,
                                           expect_file=os.path.join(EXPECTED, "socat-udp-echo.txt")), "socat")

    def test_ncat_as_tcp_echo(self):
        if not shutil.which("ncat"):
            self.skipTest("ncat is not installed")
        cmd = "ncat -l 127.0.0.1 {port} --keep-open --exec /bin/cat"
        self.assert_all_clean(per_case_run("ncat-tcp-echo", "ipv4", ["echo-tcp"], cmd,
                                           expect_file=os.path.join(EXPECTED, "ncat-tcp-echo.txt")), "ncat")

    def test_ncat_as_udp_echo(self):
        if not shutil.which("ncat"):
            self.skipTest("ncat is not installed")
        cmd = "ncat -u -l 127.0.0.1 {port} --keep-open --exec /bin/cat"
        self.assert_all_clean(per_case_run("ncat-udp-echo", "ipv4", ["echo-udp"], cmd,
                                           expect_file=os.path.join(EXPECTED, "ncat-udp-echo.txt")), "ncat")

    def test_tcpserver_as_tcp_echo(self):
        if not shutil.which("tcpserver"):
            self.skipTest("ucspi-tcp is not installed")
        cmd = "tcpserver 127.0.0.1 {port} cat"
        self.assert_all_clean(per_case_run("tcpserver-tcp-echo", "ipv4", ["echo-tcp"], cmd,
                                           expect_file=os.path.join(EXPECTED, "tcpserver-tcp-echo.txt")), "tcpserver")

    def test_systemd_socket_activate_as_tcp_echo(self):
        if not shutil.which("systemd-socket-activate"):
            self.skipTest("systemd-socket-activate is not installed")
        cmd = "systemd-socket-activate -l 127.0.0.1:{port} --inetd -a cat"
        self.assert_all_clean(
            per_case_run("systemd-socket-activate-tcp-echo", "ipv4", ["echo-tcp"], cmd,
                         expect_file=os.path.join(EXPECTED, "systemd-socket-activate-tcp-echo.txt")),
            "systemd-socket-activate")

    def test_inetd_internal_services_in_a_test_namespace(self):
        """openbsd-inetd's internal UDP services ignore loopback senders, and its internal
        services only run on their official ports: so inetd runs in a namespace of ours,
        reached over a veth pair with addresses we choose (a random /30 in 198.19.0.0/16, in
        the benchmarking range), where ports 7, 9, 13, 19 and 37 are free."""
        if not os.path.exists("/usr/sbin/inetd"):
            self.skipTest("openbsd-inetd is not installed")
        why = netns_available()
        if why:
            self.skipTest(why)
        tag = uuid.uuid4().hex[:6]
        ns, veth, peer = f"sockspec-inetd-{tag}", f"ssv{tag}", f"ssp{tag}"
        # A /30 of its own in 198.19.0.0/16 (packet links take theirs in 198.18.0.0/16), so
        # runs side by side on one machine do not route to each other's inetd.
        third, fourth = int(tag[:2], 16), int(tag[2:4], 16) // 4 * 4
        host, guest = f"198.19.{third}.{fourth + 1}", f"198.19.{third}.{fourth + 2}"
        setup = [["ip", "netns", "add", ns], ["ip", "-n", ns, "link", "set", "lo", "up"],
                 ["ip", "link", "add", veth, "type", "veth", "peer", "name", peer],
                 ["ip", "link", "set", peer, "netns", ns], ["ip", "addr", "add", f"{host}/30", "dev", veth],
                 ["ip", "link", "set", veth, "up"], ["ip", "-n", ns, "addr", "add", f"{guest}/30", "dev", peer],
                 ["ip", "-n", ns, "link", "set", peer, "up"]]
        conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
        for svc in ("echo", "discard", "chargen", "daytime", "time"):
            for kind, proto, wait in (("stream", "tcp", "nowait"), ("dgram", "udp", "wait")):
                conf.write(f"{guest}:{svc} {kind} {proto} {wait} root internal\n")
        conf.close()
        try:
            for cmd in setup:
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    self.skipTest(f"cannot build the test network ({' '.join(cmd)}): {r.stderr.strip()}")
            # Started here, not as a managed server: its sockets live in the test namespace,
            # where the harness's UDP readiness check (our own /proc/net/udp) cannot see them.
            inetd = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/sbin/inetd", "-d", conf.name],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                self.assertTrue(wait_for_tcp(guest, 7), "inetd did not start listening")
                ports = {"echo": 7, "discard": 9, "chargen": 19, "daytime": 13, "time": 37}
                for svc, port in ports.items():
                    with self.subTest(service=svc):
                        out = report_path(f"inetd-{svc}", "ipv4")
                        r = run(["run", SUITES, *filter_args(suite_filters(svc)), "--target", f"{guest}:{port}",
                                 "--out", out, "-j1", "--expect-fail", os.path.join(EXPECTED, "openbsd-inetd.txt")])
                        self.assertEqual(r.returncode, 0, f"inetd {svc}:\n{r.stdout}{r.stderr}")
            finally:
                inetd.terminate()
                inetd.wait(timeout=10)
        finally:
            subprocess.run(["ip", "link", "del", veth], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            os.unlink(conf.name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
