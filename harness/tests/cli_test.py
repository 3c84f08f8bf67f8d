#!/usr/bin/python3
"""End-to-end tests of the sockspec command line: exit codes, reports, managed servers.

Run by ctest with the binary and the scenarios folder as arguments. Every server these
tests start listens on loopback, on a port the kernel picks.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", "scenarios")
TOUR = os.path.join(SCENARIOS, "examples", "format-tour.json")


def run(*args, timeout=120, **kw):
    return subprocess.run([SOCKSPEC, *args], capture_output=True, text=True, timeout=timeout, **kw)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def read_text(path):
    with open(path) as f:
        return f.read()


def serve_cmd(fault):
    return f"{SOCKSPEC} serve echo --fault {fault} --port {{port}}"


class RunAgainstBuiltinEcho(unittest.TestCase):
    def test_the_format_tour_passes_and_writes_json_and_junit(self):
        with tempfile.TemporaryDirectory() as out:
            r = run("run", TOUR, "--target", "builtin:echo", "--out", out, "--seed", "7")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            report = load_json(os.path.join(out, "report.json"))
            self.assertEqual(report["schema_version"], 1)
            self.assertEqual(report["run"]["seed"], 7)
            self.assertEqual(report["run"]["target"], "builtin:echo")
            self.assertEqual(report["counts"]["fail"], 0)
            self.assertEqual(report["counts"]["pass"], report["counts"]["total"])
            self.assertIn("listening tcp 127.0.0.1:", report["server"]["stdout"])
            junit = ET.parse(os.path.join(out, "junit.xml")).getroot()
            cases = junit.findall("./testsuite/testcase")
            self.assertEqual(len(cases), report["counts"]["total"])
            self.assertTrue(all(c.get("classname") == "format-tour" for c in cases))

    def test_no_paths_picks_the_suites_written_for_the_service(self):
        r = run("run", "--target", "builtin:echo", "--filter", "format-tour/second-client")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("PASS  format-tour/second-client", r.stdout)

    def test_output_has_no_colour_when_not_a_terminal(self):
        r = run("run", TOUR, "--target", "builtin:echo", "--filter", "format-tour/udp-datagrams")
        self.assertNotIn("\033[", r.stdout)


class FaultyServersAreCaught(unittest.TestCase):
    # fault -> a case of the tour that must fail against it
    CATCHES = {
        "truncate-1024": "format-tour/payloads-and-matchers",
        "iterative": "format-tour/second-client",
        "drop-after-fin": "format-tour/half-close-and-reset",
        "close-after-first": "format-tour/payloads-and-matchers",
        "ignore-partial-send": "format-tour/big-transfer",
        "crlf": "format-tour/payloads-and-matchers",
        "reply-wrong-port": "format-tour/udp-datagrams",
        "no-reuseaddr": "format-tour/server-restart",
        "slow": "format-tour/second-client",
        "reset-midstream": "format-tour/payloads-and-matchers",
        "no-close-on-fin": "format-tour/payloads-and-matchers",
        "duplicate-reply": "format-tour/second-client",
    }

    def test_each_fault_fails_the_case_that_checks_its_bug(self):
        for fault, case in self.CATCHES.items():
            with self.subTest(fault=fault), tempfile.TemporaryDirectory() as out:
                r = run("run", TOUR, "--server-cmd", serve_cmd(fault), "--filter", case, "--out", out)
                self.assertEqual(r.returncode, 1, f"{fault}: {r.stdout}{r.stderr}")
                report = load_json(os.path.join(out, "report.json"))
                verdicts = {s["name"] + "/" + c["id"]: c["verdict"] for s in report["suites"] for c in s["cases"]}
                self.assertEqual(verdicts[case], "fail", f"{fault}: {r.stdout}")
                self.assertIn("rerun: ", r.stdout)

    def test_a_mismatch_prints_both_sides_in_hex(self):
        r = run("run", TOUR, "--server-cmd", serve_cmd("crlf"), "--filter", "format-tour/payloads-and-matchers")
        self.assertIn('expected @0: "hello\\n"', r.stdout)
        self.assertIn('actual   @0: "hello\\r\\n"', r.stdout)
        self.assertIn("actual   hex: 68656c6c6f0d0a", r.stdout)


class ExpectedFailures(unittest.TestCase):
    def write(self, text):
        f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        f.write(text)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_a_listed_failure_is_xfail_and_the_run_passes(self):
        ef = self.write("format-tour/payloads-and-matchers  server rewrites newlines\nformat-tour/gone  old entry\n")
        r = run("run", TOUR, "--server-cmd", serve_cmd("crlf"), "--filter", "format-tour/payloads-and-matchers",
                "--expect-fail", ef)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("XFAIL format-tour/payloads-and-matchers  (server rewrites newlines)", r.stdout)
        self.assertIn("stale expected-failure entry 'format-tour/gone'", r.stdout)

    def test_a_listed_case_that_passes_is_xpass_and_fails_the_run(self):
        ef = self.write("format-tour/second-client  was broken\n")
        r = run("run", TOUR, "--target", "builtin:echo", "--filter", "format-tour/second-client", "--expect-fail", ef)
        self.assertEqual(r.returncode, 1)
        self.assertIn("XPASS format-tour/second-client", r.stdout)


class ExitCodes(unittest.TestCase):
    def test_invalid_scenarios_exit_2_listing_every_problem(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                json.dump({"format": 1, "suite": "bad", "cases": [
                    {"id": "a", "steps": [{"op": "send", "conn": "c", "text": "x", "timeout_ms": -5}]}]}, f)
            for cmd in (["validate", bad], ["run", bad, "--target", "builtin:echo"]):
                r = run(*cmd)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(bad + ":/cases/0/steps/0/conn: conn 'c' is not open", r.stderr)
                self.assertIn(bad + ":/cases/0/steps/0/timeout_ms: must be >= 1, got -5", r.stderr)

    def test_validate_checks_load_profiles_as_profiles_and_run_refuses_them(self):
        profiles = os.path.join(SCENARIOS, "load")
        r = run("validate", *sorted(os.path.join(profiles, f) for f in os.listdir(profiles)))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{len(os.listdir(profiles))} load profile(s): valid", r.stdout)
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                json.dump({"format": 1, "profile": "bad", "executor": {"type": "closed", "vus": 1.5, "vsu": 3},
                           "iteration": [{"op": "send", "conn": "c", "text": "x"}]}, f)
            r = run("validate", bad)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(bad + ":/executor/vus: must be a whole number, got 1.5", r.stderr)
            self.assertIn(bad + ":/executor/vsu: unknown key 'vsu' in executor closed (allowed: type, vus;", r.stderr)
            self.assertIn(bad + ":/iteration/0/conn: conn 'c' is not open", r.stderr)
            self.assertNotIn("/suite", r.stderr)
        for cmd in (["run", os.path.join(profiles, "echo-tcp-rr.json"), "--target", "builtin:echo"],
                    ["list", os.path.join(profiles, "echo-tcp-rr.json")]):
            r = run(*cmd)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("is a load profile: run it with `sockspec load", r.stderr)

    def test_an_unreachable_target_exits_3(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        r = run("run", TOUR, "--target", f"127.0.0.1:{port}")
        s.close()
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("ECONNREFUSED", r.stderr)

    def test_a_plain_target_sees_only_the_cases_connections(self):
        # Issue 22: a probe connection before the cases was logged by real servers as a client
        # that came and left (mosquitto: "Client <unknown> closed its connection") and counted
        # by servers that count clients. Two cases with one connect each: two connections.
        import socket
        import threading
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(30)
        port = listener.getsockname()[1]
        accepted = []

        def serve():
            try:
                while len(accepted) < 10:
                    conn, _ = listener.accept()
                    accepted.append(conn)
                    data = conn.recv(100)
                    conn.sendall(data)
                    conn.close()
            except OSError:
                pass

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        case = lambda n: {"id": f"c{n}", "steps": [
            {"op": "connect", "conn": "c"}, {"op": "send", "conn": "c", "text": "hi\n"},
            {"op": "expect", "conn": "c", "text": "hi\n"}]}
        with tempfile.TemporaryDirectory() as d:
            suite = os.path.join(d, "two.json")
            with open(suite, "w") as f:
                json.dump({"format": 1, "suite": "two", "transport": "tcp", "cases": [case(1), case(2)]}, f)
            r = run("run", suite, "--target", f"127.0.0.1:{port}", "-j", "1")
        listener.close()
        t.join(timeout=10)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(accepted), 2, "one connection per connect step, no probe")

    def test_a_server_that_does_not_start_exits_3_with_its_output(self):
        r = run("run", TOUR, "--server-cmd", "echo 'cannot bind, sorry' >&2; exit 4")
        self.assertEqual(r.returncode, 3)
        self.assertIn("exit status 4", r.stderr)
        self.assertIn("cannot bind, sorry", r.stderr)

    def test_bad_usage_exits_2(self):
        self.assertEqual(run("run", TOUR).returncode, 2)
        self.assertEqual(run("run", TOUR, "--target", "builtin:nosuch").returncode, 2)
        self.assertEqual(run("run", TOUR, "--target", "builtin:echo", "--filter", "no/such").returncode, 2)
        self.assertEqual(run("frobnicate").returncode, 2)

    def test_server_cases_are_skipped_against_a_plain_target(self):
        srv = subprocess.Popen([SOCKSPEC, "serve", "echo", "--port", "0"], stdout=subprocess.PIPE, text=True)
        try:
            lines = [srv.stdout.readline(), srv.stdout.readline()]
            tcp = [l for l in lines if l.startswith("listening tcp")][0].split()[-1]
            r = run("run", TOUR, "--target", tcp, "--filter", "format-tour/server-restart")
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertIn("SKIP  format-tour/server-restart  (needs a managed server", r.stdout)
        finally:
            srv.terminate()
            srv.wait(timeout=10)


class Lifecycle(unittest.TestCase):
    def test_serve_prints_its_sockets_and_stops_on_sigterm(self):
        srv = subprocess.Popen([SOCKSPEC, "serve", "upper", "--port", "0", "--bind", "::1"],
                               stdout=subprocess.PIPE, text=True)
        lines = [srv.stdout.readline().strip(), srv.stdout.readline().strip()]
        self.assertRegex(lines[0], r"^listening tcp \[::1\]:\d+$")
        self.assertRegex(lines[1], r"^listening udp \[::1\]:\d+$")
        srv.send_signal(signal.SIGTERM)
        self.assertEqual(srv.wait(timeout=10), 0)

    def test_interrupting_a_run_stops_its_managed_server(self):
        with tempfile.TemporaryDirectory() as d:
            slow = os.path.join(d, "slow.json")
            with open(slow, "w") as f:
                json.dump({"format": 1, "suite": "slow", "cases": [{"id": "wait", "steps": [
                    {"op": "connect", "conn": "c"}, {"op": "sleep", "ms": 60000}]}]}, f)
            pidfile = os.path.join(d, "server.pid")
            cmd = f"sh -c 'echo $$ > {pidfile}; exec {SOCKSPEC} serve echo --port {{port}}'"
            p = subprocess.Popen([SOCKSPEC, "run", slow, "--server-cmd", cmd], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            for _ in range(200):  # the server writes its pid when it starts
                if os.path.exists(pidfile) and read_text(pidfile).strip():
                    break
                time.sleep(0.05)
            time.sleep(0.3)  # let the case reach its sleep
            server_pid = int(read_text(pidfile))
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=20)
            self.assertEqual(p.returncode, 1, out + err)
            self.assertIn("interrupted", out)
            gone = False
            for _ in range(100):
                try:
                    os.kill(server_pid, 0)
                except ProcessLookupError:
                    gone = True
                    break
                time.sleep(0.05)
            self.assertTrue(gone, "the managed server outlived the interrupted run")


class Listing(unittest.TestCase):
    def test_list_shows_each_case_with_level_and_spec_reference(self):
        r = run("list", TOUR)
        self.assertEqual(r.returncode, 0)
        self.assertIn("must   format-tour/payloads-and-matchers  [RFC 862, TCP Based Echo Service]", r.stdout)
        self.assertIn("should format-tour/repeat-and-parallel", r.stdout)
        self.assertIn("requires: managed-server", r.stdout)

    def test_validate_of_a_folder_passes_over_the_reports_written_into_it(self):
        # Issue 22: `validate DIR` read the reports `--out DIR/out` wrote and failed on them.
        import shutil
        with tempfile.TemporaryDirectory() as d:
            shutil.copy(TOUR, d)
            r = run("run", os.path.join(d, "format-tour.json"), "--target", "builtin:echo",
                    "--filter", "format-tour/payloads-and-matchers", "--out", os.path.join(d, "out"))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(os.path.exists(os.path.join(d, "out", "report.json")))
            with open(os.path.join(d, "notes.json"), "w") as f:
                json.dump({"anything": "else"}, f)
            r = run("validate", d)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("1 suite(s)", r.stdout)
            self.assertRegex(r.stdout, r"skipped .*report\.json: a sockspec report, not a scenario")
            self.assertIn('notes.json: no "format", "suite" or "profile" key, not a scenario', r.stdout)
            # Named explicitly, a file is always read: its mistakes are the user's to see.
            r = run("validate", os.path.join(d, "notes.json"))
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
