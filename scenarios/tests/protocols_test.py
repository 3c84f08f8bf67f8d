#!/usr/bin/python3
"""The protocol suites (scenarios/protocols/), proven: each passes its real Debian server started
exactly as docs/protocols.md says (real_servers.py), and each fails, on the case named for the
fault, against a faulty variant (protocol_faults.py: a rewriting proxy in front of the real
server, or a TFTP server of ours).

Reports land in $SOCKSPEC_PROTOCOLS_OUT (a temporary folder if unset).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol_faults as faults  # noqa: E402
import real_servers  # noqa: E402

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC", os.path.join(real_servers.SRC, "scenarios"))
PROTOCOLS = os.path.join(SCENARIOS, "protocols")
OUT = os.environ.get("SOCKSPEC_PROTOCOLS_OUT") or tempfile.mkdtemp(prefix="sockspec-protocols-")
SUITES = ["redis", "memcached", "dns", "tftp", "mqtt", "http"]


def run_suite(suite, port, label):
    """`sockspec run FILE --target 127.0.0.1:PORT`: (exit code, output, {case id: verdict})."""
    out = os.path.join(OUT, suite, label)
    os.makedirs(out, exist_ok=True)
    r = subprocess.run([SOCKSPEC, "run", os.path.join(PROTOCOLS, suite + ".json"),
                        "--target", f"127.0.0.1:{port}", "--out", out],
                       capture_output=True, text=True, timeout=300)
    path = os.path.join(out, "report.json")
    if not os.path.exists(path):
        raise AssertionError(f"{suite} ({label}): no report, exit {r.returncode}\n{r.stdout}{r.stderr}")
    with open(path) as f:
        report = json.load(f)
    verdicts = {c["id"]: c["verdict"] for s in report["suites"] for c in s["cases"]}
    return r.returncode, r.stdout + r.stderr, report["counts"], verdicts


def case_ids(suite):
    with open(os.path.join(PROTOCOLS, suite + ".json")) as f:
        return [c["id"] for c in json.load(f)["cases"]]


def unavailable(name):
    prog = real_servers.missing_program(name)
    if prog:
        return f"{prog} is not installed (scripts/install-deps.sh test installs it)"
    if name == "tftp" and os.geteuid() != 0:
        return "in.tftpd -s chroots into its folder, which needs root"
    return None


class RealServers(unittest.TestCase):
    def test_each_suite_passes_its_real_server_in_its_default_configuration(self):
        for name in SUITES:
            with self.subTest(server=name):
                why = unavailable(name)
                if why:
                    self.skipTest(why)
                with real_servers.Server(name) as srv:
                    code, output, counts, verdicts = run_suite(name, srv.port, "real")
                what = f"{name} against `{srv.cmd}`:\n{output}"
                self.assertEqual(code, 0, what)
                self.assertEqual((counts["fail"], counts["error"]), (0, 0), what)
                self.assertEqual(verdicts, {c: "pass" for c in case_ids(name)}, what)


class FaultyVariants(unittest.TestCase):
    def assert_caught(self, suite, port, label, failing, passing):
        code, output, _, verdicts = run_suite(suite, port, label)
        self.assertEqual(code, 1, f"{suite} ({label}) did not fail:\n{output}")
        for case in failing:
            self.assertEqual(verdicts[case], "fail", f"{suite}/{case} should catch {label}:\n{output}")
        for case in passing:
            self.assertEqual(verdicts[case], "pass", f"{suite}/{case} has nothing to do with {label}:\n{output}")

    def behind_proxy(self, name, label, failing, passing, **proxy):
        why = unavailable(name)
        if why:
            self.skipTest(why)
        with real_servers.Server(name) as srv, faults.Proxy(srv.port, **proxy) as p:
            self.assert_caught(name, p.port, label, failing, passing)

    def test_dns_reply_with_another_id_fails_id_echoed(self):
        # UDP replies rewritten; TCP passes through untouched, so its case still passes.
        self.behind_proxy("dns", "reply-id-changed", ["id-echoed", "udp-query-answered"],
                          ["tcp-length-prefixed"], udp_reply=faults.id_changed)

    def test_memcached_udp_reply_with_another_request_id_fails_udp_request_ids(self):
        self.behind_proxy("memcached", "request-id-changed", ["udp-request-ids", "udp-frame-header"],
                          ["tcp-set-get", "tcp-get-missing", "tcp-flags-and-incr"], udp_reply=faults.id_changed)

    def test_redis_bulk_length_off_by_one_fails_bulk_string_with_crlf(self):
        self.behind_proxy("redis", "bulk-length-plus-one", ["bulk-string-with-crlf"], ["ping", "error-reply"],
                          protocols=("tcp",), tcp_reply=lambda: faults.redis_bulk_length_plus_one)

    def test_mqtt_connack_with_a_wrong_remaining_length_fails_connect_connack(self):
        self.behind_proxy("mqtt", "connack-length-minus-one", ["connect-connack"], [],
                          protocols=("tcp",), tcp_reply=faults.MqttConnackLengthMinusOne)

    TFTP_ROOT = os.path.join(real_servers.SRC, real_servers.FIXTURES, "tftp")

    def test_our_tftp_server_passes_when_it_has_no_fault(self):
        # The faults below are then the only reason the suite fails against it.
        with faults.FakeTftp(self.TFTP_ROOT) as srv:
            code, output, counts, verdicts = run_suite("tftp", srv.port, "correct")
        self.assertEqual((code, counts["fail"], counts["error"]), (0, 0, 0), output)
        self.assertEqual(set(verdicts.values()), {"pass"}, output)

    def test_tftp_blocks_numbered_from_0_fail_multi_block_read(self):
        with faults.FakeTftp(self.TFTP_ROOT, "blocks-from-0") as srv:
            self.assert_caught("tftp", srv.port, "blocks-from-0", ["multi-block-read", "short-file"],
                               ["file-not-found"])

    def test_tftp_missing_empty_final_block_fails_empty_final_block(self):
        with faults.FakeTftp(self.TFTP_ROOT, "no-empty-final-block") as srv:
            self.assert_caught("tftp", srv.port, "no-empty-final-block", ["empty-final-block"],
                               ["short-file", "multi-block-read", "file-not-found"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
