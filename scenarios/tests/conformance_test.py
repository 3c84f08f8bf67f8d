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
        "slow": ("echo", ["echo-tcp/one-byte", "echo-udp/short"]),
        "reset-midstream": ("echo", ["echo-tcp/just-past-1024"]),
        "no-close-on-fin": ("echo", ["echo-tcp/half-close"]),
        "chat-echo-sender": ("chat", ["chat-tcp/relays-to-the-other-client", "chat-udp/relays-to-the-other-peer"]),
    }

    def test_every_fault_fails_a_must_case_of_its_service(self):
        listed = subprocess.run([SOCKSPEC, "serve", "--help"], capture_output=True, text=True).stdout
        for fault in self.CATCHES:
            self.assertIn(f"  {fault}\n", listed, "a fault the test names is not offered by serve")
        for fault, (svc, catching) in self.CATCHES.items():
            with self.subTest(fault=fault):
                out = report_path(f"sockspec-{svc}-fault-{fault}", "ipv4")
                filters = suite_filters(svc) + ([f"lifecycle-{svc}"] if svc == "echo" else [])
                r = run(["run", SUITES, *filter_args(filters), "--out", out,
                         "--server-cmd", f"{SOCKSPEC} serve {svc} --fault {fault} --port {{port}}"])
                self.assertEqual(r.returncode, 1, f"{fault}: the suites did not fail\n{r.stdout}")
                v = verdicts(load(os.path.join(out, "report.json")))
                for case in catching:
                    self.assertEqual(v[case], ("fail", "must"), f"{fault} should fail {case}")


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
        cmd = "socat TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=128 PIPE"
        self.assert_all_clean(per_case_run("socat-tcp-echo", "ipv4", ["echo-tcp"], cmd,
                                           expect_file=os.path.join(EXPECTED, "socat-tcp-echo.txt")), "socat")

    def test_socat_as_udp_echo(self):
        if not shutil.which("socat"):
            self.skipTest("socat is not installed")
        cmd = "socat -b 65536 UDP-RECVFROM:{port},bind=127.0.0.1,fork PIPE"
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

    def test_inetd_internal_services_in_a_test_namespace(self):
        """openbsd-inetd's internal UDP services ignore loopback senders, and its internal
        services only run on their official ports: so inetd runs in a namespace of ours,
        reached over a veth pair with addresses we choose (198.18.0.0/30, the benchmarking
        range), where ports 7, 9, 13, 19 and 37 are free."""
        if not os.path.exists("/usr/sbin/inetd"):
            self.skipTest("openbsd-inetd is not installed")
        why = netns_available()
        if why:
            self.skipTest(why)
        tag = uuid.uuid4().hex[:6]
        ns, veth, peer = f"sockspec-inetd-{tag}", f"ssv{tag}", f"ssp{tag}"
        host, guest = "198.18.0.1", "198.18.0.2"
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
