#!/usr/bin/python3
"""TLS end to end (issue 27): the suites over TLS against real TLS servers from Debian in their
usual configuration on loopback (openssl s_server, stunnel in front of the reference echo, redis
with tls-port, which asks for client certificates by default, mosquitto with a TLS listener), the
reference servers' TLS and its certificate faults, STARTTLS against a small server of Python's
ssl module, and load over TLS (handshakes counted, full and resumed apart).

Every certificate is made here by `openssl` into a temporary folder. Ports come from binding
port 0; every server is stopped at the end.
"""
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SOCKSPEC = os.environ.get("SOCKSPEC", "sockspec")
SCENARIOS = os.environ.get("SOCKSPEC_SCENARIOS_SRC",
                           os.path.join(os.path.dirname(__file__), "..", "..", "scenarios"))
TMP = tempfile.mkdtemp(prefix="sockspec-tls-test-")
# Servers that drop root for their own user (mosquitto) must read the test's throw-away keys.
os.chmod(TMP, 0o755)
READY_SECONDS = 20


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def make_pki():
    """A CA, a server certificate for localhost and 127.0.0.1, and a client certificate."""
    p = {k: os.path.join(TMP, k) for k in
         ("ca.pem", "ca.key", "server.pem", "server.key", "client.pem", "client.key", "ext")}
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", p["ca.key"], "-out", p["ca.pem"], "-days", "2", "-subj", "/CN=sockspec test CA")
    with open(p["ext"], "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for who in ("server", "client"):
        csr = os.path.join(TMP, who + ".csr")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", p[who + ".key"], "-out", csr, "-subj", f"/CN=sockspec {who}")
        openssl("x509", "-req", "-in", csr, "-CA", p["ca.pem"], "-CAkey", p["ca.key"],
                "-CAcreateserial", "-out", p[who + ".pem"], "-days", "2", "-extfile", p["ext"])
    for f in p.values():
        os.chmod(f, 0o644)
    return p


PKI = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_tls(port, server):
    """Until a TLS handshake works on the port (or the server died)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"the server exited with {server.proc.returncode}: "
                                 f"{server.log_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                with ctx.wrap_socket(s, server_hostname="localhost"):
                    return
        except (OSError, ssl.SSLError):
            time.sleep(0.05)
    raise AssertionError(f"nothing spoke TLS on port {port} within {READY_SECONDS} s")


class Proc:
    """A server process in its own group, stopped (group and all) on exit."""

    def __init__(self, argv, read_stdout=False):
        # Logs go to a file, never to an unread pipe: a chatty server (stunnel logs every
        # connection) would block once the pipe filled.
        self.log_path = os.path.join(TMP, f"{os.path.basename(argv[0])}-{time.monotonic_ns()}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE if read_stdout else self.log,
                                     stderr=self.log, text=True, start_new_session=True)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        if self.proc.stdout:
            self.proc.stdout.close()


def serve(service, *extra):
    """`sockspec serve SERVICE ...` and the port and certificate it printed."""
    p = Proc([SOCKSPEC, "serve", service, "--port", "0", *extra], read_stdout=True)
    cert, port = None, None
    deadline = time.monotonic() + READY_SECONDS
    while port is None and time.monotonic() < deadline:
        line = p.proc.stdout.readline()
        if not line:
            break
        if line.startswith("tls certificate "):
            cert = line.split(" ", 2)[2].strip()
        m = re.match(r"listening tcp 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
    if port is None:
        p.__exit__(None, None, None)
        raise AssertionError(f"sockspec serve {service} did not say where it listens")
    return p, port, cert


def run(args, label, expect_report=True):
    """`sockspec run ARGS --out DIR`: (exit code, output, {suite/id: (verdict, messages)})."""
    out = os.path.join(TMP, label)
    r = subprocess.run([SOCKSPEC, "run", *args, "--out", out], capture_output=True, text=True,
                       timeout=300)
    cases = {}
    path = os.path.join(out, "report.json")
    if expect_report:
        if not os.path.exists(path):
            raise AssertionError(f"{label}: no report, exit {r.returncode}\n{r.stdout}{r.stderr}")
        with open(path) as f:
            report = json.load(f)
        for s in report["suites"]:
            for c in s["cases"]:
                msgs = " | ".join(st.get("message", "") for st in c.get("steps", []))
                cases[s["name"] + "/" + c["id"]] = (c["verdict"], msgs)
    return r.returncode, r.stdout + r.stderr, cases


def suite(name, folder="suites"):
    return os.path.join(SCENARIOS, folder, name + ".json")


class ReferenceServers(unittest.TestCase):
    def test_every_builtin_suite_passes_over_tls_and_udp_cases_say_why_they_skip(self):
        for service in ("echo", "upper", "chat", "discard", "chargen", "daytime"):
            rc, out, cases = run(["--target", f"tls:builtin:{service}"], f"builtin-{service}")
            self.assertEqual(rc, 0, out)
            passed = [k for k, (v, _) in cases.items() if v == "pass"]
            self.assertGreater(len(passed), 3, out)
            # Every TLS connect said how it went.
            msgs = " ".join(m for v, m in cases.values())
            self.assertIn("TLS 1.3", msgs)
            self.assertIn("certificate verified", msgs)
            for k, (v, m) in cases.items():
                if k.startswith(f"{service}-udp/"):
                    self.assertEqual(v, "skip", k)

    def test_each_certificate_fault_fails_the_case_named_for_it(self):
        expect = {
            "tls-expired-cert": ("tls-basics/handshake", "fail", "certificate has expired"),
            "tls-wrong-name": ("tls-basics/handshake", "fail", "hostname mismatch"),
            "tls-no-close-notify": ("tls-basics/close-notify-answered", "warn",
                                    "without close_notify"),
            "tls-renegotiation-reset": ("tls-basics/renegotiation-done-or-declined", "warn",
                                        "neither done nor declined"),
        }
        for fault, (case, verdict, words) in expect.items():
            cert = os.path.join(TMP, fault + ".pem")
            cmd = f"{SOCKSPEC} serve echo --tls --fault {fault} --cert-out {cert} --port {{port}}"
            rc, out, cases = run([suite("tls-basics"), "--target", "tls:localhost:0",
                                  "--tls-ca", cert, "--server-cmd", cmd], fault)
            self.assertEqual(cases[case][0], verdict, out)
            self.assertIn(words, cases[case][1], out)
            self.assertEqual(rc, 1 if verdict == "fail" else 0, out)
        # A case that expects the failure by OpenSSL's reason passes on it.
        cert = os.path.join(TMP, "expired-again.pem")
        path = os.path.join(TMP, "expect-expired.json")
        with open(path, "w") as f:
            json.dump({"format": 1, "suite": "expired", "transport": "tcp", "cases": [
                {"id": "refused", "steps": [{"op": "connect", "conn": "c",
                                             "expect_error": "tls:certificate has expired"}]},
                {"id": "wrong-reason", "steps": [{"op": "connect", "conn": "c",
                                                  "expect_error": "tls:hostname mismatch"}]}]}, f)
        cmd = f"{SOCKSPEC} serve echo --tls --fault tls-expired-cert --cert-out {cert} --port {{port}}"
        rc, out, cases = run([path, "--target", "tls:localhost:0", "--tls-ca", cert,
                              "--server-cmd", cmd], "expect-expired")
        self.assertEqual(cases["expired/refused"][0], "pass", out)
        self.assertIn("as expected", cases["expired/refused"][1])
        self.assertEqual(cases["expired/wrong-reason"][0], "fail", out)
        rc, out, cases = run([suite("tls-basics"), "--target", "tls:builtin:echo"], "no-fault")
        self.assertEqual(rc, 0, out)
        self.assertTrue(all(v == "pass" for v, _ in cases.values()), out)

    def test_an_unknown_certificate_fails_with_openssls_reason_and_insecure_says_so(self):
        with serve("echo", "--tls")[0] as p:
            pass  # only to prove serve --tls starts and stops cleanly
        p, port, cert = serve("echo", "--tls")
        with p:
            rc, out, cases = run([suite("echo-tcp"), "--target", f"tls:localhost:{port}",
                                  "--filter", "echo-tcp/one-byte"], "unknown-ca")
            self.assertEqual(rc, 1, out)
            self.assertIn("self-signed certificate", cases["echo-tcp/one-byte"][1])
            rc, out, cases = run([suite("echo-tcp"), "--target", f"tls:localhost:{port}",
                                  "--tls-insecure", "--filter", "echo-tcp/one-byte"], "insecure")
            self.assertEqual(rc, 0, out)
            self.assertIn("certificate NOT verified", cases["echo-tcp/one-byte"][1])


class RealServers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        global PKI
        PKI = PKI or make_pki()

    def tls_args(self, port, client_cert=False):
        args = ["--target", f"tls:localhost:{port}", "--tls-ca", PKI["ca.pem"]]
        if client_cert:
            args += ["--tls-cert", PKI["client.pem"], "--tls-key", PKI["client.key"]]
        return args

    def test_openssl_s_server_passes_tls_basics(self):
        port = free_port()
        with Proc(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", PKI["server.pem"],
                   "-key", PKI["server.key"], "-www", "-quiet"]) as p:
            wait_tls(port, p)
            # s_server serves one connection at a time.
            rc, out, cases = run([suite("tls-basics"), *self.tls_args(port), "--jobs", "1"],
                                 "s_server")
            self.assertEqual(rc, 0, out)
            self.assertEqual({v for v, _ in cases.values()}, {"pass"}, out)
            # OpenSSL 3 declines a client's renegotiation, politely.
            self.assertIn("declined renegotiation with a no_renegotiation alert",
                          cases["tls-basics/renegotiation-done-or-declined"][1])

    def test_alpn_is_negotiated_and_a_version_the_server_lacks_fails_with_its_reason(self):
        port = free_port()
        with Proc(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", PKI["server.pem"],
                   "-key", PKI["server.key"], "-www", "-quiet", "-tls1_3",
                   "-alpn", "h2,http/1.1"]) as p:
            wait_tls(port, p)
            rc, out, cases = run([suite("tls-basics"), *self.tls_args(port), "--jobs", "1",
                                  "--tls-alpn", "http/1.1"], "s_server-alpn")
            self.assertIn("ALPN http/1.1", cases["tls-basics/handshake"][1])
            self.assertIn("ALPN h2", cases["tls-basics/alpn-offered"][1])  # the step's own offer
            # TLS 1.3 only: the may-cases that need TLS 1.2 warn, saying why; the run passes.
            self.assertEqual(cases["tls-basics/tls-1.2"][0], "warn", out)
            self.assertIn("protocol version", cases["tls-basics/tls-1.2"][1])
            self.assertEqual(rc, 0, out)

    def test_stunnel_in_front_of_the_reference_echo_passes_the_echo_suite(self):
        echo, echo_port, _ = serve("echo", "--transport", "tcp")
        with echo:
            port = free_port()
            conf = os.path.join(TMP, "stunnel.conf")
            with open(conf, "w") as f:
                f.write(f"foreground = yes\npid =\n[echo]\naccept = 127.0.0.1:{port}\n"
                        f"connect = 127.0.0.1:{echo_port}\ncert = {PKI['server.pem']}\n"
                        f"key = {PKI['server.key']}\n")
            with Proc(["stunnel4", conf]) as st:
                wait_tls(port, st)
                rc, out, cases = run([suite("echo-tcp"), *self.tls_args(port)], "stunnel-echo")
                # The burst case is a `should`: a relay that connects onwards per client may be
                # slower to accept than the bare server; every must-case passes.
                self.assertIn(rc, (0,), out)
                self.assertEqual(cases["echo-tcp/half-close"][0], "pass", out)
                self.assertEqual(cases["echo-tcp/one-mib"][0], "pass", out)
                rc, out, cases = run([suite("tls-basics"), *self.tls_args(port)], "stunnel-basics")
                self.assertEqual(cases["tls-basics/handshake"][0], "pass", out)
                self.assertEqual(cases["tls-basics/refused-for-a-name-it-lacks"][0], "pass", out)

    def test_redis_over_tls_needs_the_client_certificate_and_passes_with_it(self):
        port = free_port()
        with Proc(["redis-server", "--bind", "127.0.0.1", "--port", "0", "--tls-port", str(port),
                   "--tls-cert-file", PKI["server.pem"], "--tls-key-file", PKI["server.key"],
                   "--tls-ca-cert-file", PKI["ca.pem"], "--save", ""]) as p:
            deadline = time.monotonic() + READY_SECONDS
            while time.monotonic() < deadline:  # redis asks for a client certificate: no probe
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.05)
            rc, out, cases = run([suite("redis", "protocols"), *self.tls_args(port, True)],
                                 "redis-mtls")
            self.assertEqual(rc, 0, out)
            self.assertEqual({v for v, _ in cases.values()}, {"pass"}, out)
            rc, out, cases = run([suite("redis", "protocols"), *self.tls_args(port)],
                                 "redis-no-client-cert")
            self.assertEqual(rc, 1, out)
            self.assertEqual({v for v, _ in cases.values()}, {"fail"}, out)
            # TLS 1.3 finishes the client's handshake before the server has checked the
            # client's (missing) certificate: the refusal reaches the first read as the alert,
            # or the first write as the reset that followed it.
            self.assertRegex(out, r"certificate required|ECONNRESET")
            # A case that listens first hears the refusal itself, as RFC 8446's alert.
            path = os.path.join(TMP, "mtls-refused.json")
            with open(path, "w") as f:
                json.dump({"format": 1, "suite": "mtls", "transport": "tcp", "cases": [
                    {"id": "no-client-certificate", "steps": [
                        {"op": "connect", "conn": "c"},
                        {"op": "expect_tls_alert", "conn": "c", "alert": "certificate_required"}]},
                    {"id": "wrong-alert-named", "steps": [
                        {"op": "connect", "conn": "c"},
                        {"op": "expect_tls_alert", "conn": "c", "alert": "unknown_ca"}]}]}, f)
            rc, out, cases = run([path, *self.tls_args(port)], "redis-alert")
            self.assertEqual(cases["mtls/no-client-certificate"][0], "pass", out)
            self.assertIn("TLS alert: certificate required", cases["mtls/no-client-certificate"][1])
            self.assertEqual(cases["mtls/wrong-alert-named"][0], "fail", out)
            self.assertIn("not unknown_ca", cases["mtls/wrong-alert-named"][1])

    def test_mosquitto_with_a_tls_listener_passes_the_mqtt_suite(self):
        port = free_port()
        conf = os.path.join(TMP, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    f"certfile {PKI['server.pem']}\nkeyfile {PKI['server.key']}\n")
        with Proc(["mosquitto", "-c", conf]) as p:
            wait_tls(port, p)
            rc, out, cases = run([suite("mqtt", "protocols"), *self.tls_args(port)], "mosquitto")
            self.assertEqual(rc, 0, out)
            self.assertEqual({v for v, _ in cases.values()}, {"pass"}, out)


def starttls_server(listener, ctx, stop):
    """SMTP's shape: a greeting, STARTTLS answered 220, then TLS; lines echoed after it."""
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        with conn:
            conn.settimeout(10)
            conn.sendall(b"220 sockspec-test ESMTP\r\n")
            line = conn.recv(100)
            if line != b"STARTTLS\r\n":
                conn.sendall(b"530 Must issue a STARTTLS command first\r\n")
                continue
            conn.sendall(b"220 2.0.0 Ready to start TLS\r\n")
            try:
                with ctx.wrap_socket(conn, server_side=True) as t:
                    while data := t.recv(4096):
                        t.sendall(data)
                    t.unwrap()
            except (ssl.SSLError, OSError):
                continue


class StartTls(unittest.TestCase):
    def test_a_case_upgrades_a_plaintext_conversation_in_mid_case(self):
        global PKI
        PKI = PKI or make_pki()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(PKI["server.pem"], PKI["server.key"])
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        stop = threading.Event()
        t = threading.Thread(target=starttls_server, args=(listener, ctx, stop), daemon=True)
        t.start()
        port = listener.getsockname()[1]
        case = {
            "format": 1, "suite": "starttls", "transport": "tcp", "defaults": {"timeout_ms": 5000},
            "cases": [{"id": "upgrade", "title": "greeting, STARTTLS, then TLS", "steps": [
                {"op": "connect", "conn": "c"},
                {"op": "expect", "conn": "c", "regex": "220 [^\\r]*", "until": "\r\n"},
                {"op": "send", "conn": "c", "text": "STARTTLS\r\n"},
                {"op": "expect", "conn": "c", "regex": "220 [^\\r]*", "until": "\r\n"},
                {"op": "starttls", "conn": "c"},
                {"op": "send", "conn": "c", "text": "EHLO sockspec\r\n"},
                {"op": "expect", "conn": "c", "text": "EHLO sockspec\r\n"},
                {"op": "shutdown", "conn": "c", "how": "write"},
                {"op": "expect_eof", "conn": "c", "close_notify": True}]},
                {"id": "plaintext-refused", "title": "no STARTTLS: refused", "steps": [
                    {"op": "connect", "conn": "c"},
                    {"op": "expect", "conn": "c", "regex": "220 [^\\r]*", "until": "\r\n"},
                    {"op": "send", "conn": "c", "text": "MAIL FROM:<a@b>\r\n"},
                    {"op": "expect", "conn": "c", "regex": "530 [^\\r]*", "until": "\r\n"}]}]}
        path = os.path.join(TMP, "starttls.json")
        with open(path, "w") as f:
            json.dump(case, f)
        try:
            rc, out, cases = run([path, "--target", f"localhost:{port}", "--tls-ca", PKI["ca.pem"],
                                  "--jobs", "1"], "starttls")
            self.assertEqual(rc, 0, out)
            self.assertIn("TLS 1.3", cases["starttls/upgrade"][1])
            self.assertIn("certificate verified", cases["starttls/upgrade"][1])
            self.assertIn("close_notify", cases["starttls/upgrade"][1])
        finally:
            stop.set()
            t.join(5)
            listener.close()


class RecordThroughTls(unittest.TestCase):
    def test_a_tls_session_is_recorded_readable_and_replays_over_tls(self):
        global PKI
        PKI = PKI or make_pki()
        echo, port, _ = serve("echo", "--tls", "--cert", PKI["server.pem"], "--key", PKI["server.key"])
        out = os.path.join(TMP, "recorded.json")
        with echo:
            with Proc([SOCKSPEC, "record", "--listen", "127.0.0.1:0", "--upstream",
                       f"localhost:{port}", "--tls", "--tls-server-cert", PKI["server.pem"],
                       "--tls-server-key", PKI["server.key"], "--tls-ca", PKI["ca.pem"],
                       "-o", out, "--sessions", "1"], read_stdout=True) as rec:
                # Its "listening" line, not a probe: a probe would be a recorded session too.
                m = re.match(r"listening tcp 127\.0\.0\.1:(\d+)", rec.proc.stdout.readline())
                self.assertTrue(m, rec.log_text())
                listen = int(m.group(1))
                ctx = ssl.create_default_context(cafile=PKI["ca.pem"])
                with socket.create_connection(("127.0.0.1", listen), timeout=10) as s:
                    with ctx.wrap_socket(s, server_hostname="localhost") as t:
                        for line in (b"first line\n", b"second line\n"):
                            t.sendall(line)
                            got = b""
                            while len(got) < len(line):
                                got += t.recv(100)
                            self.assertEqual(got, line)
                        t.unwrap()
                rec.proc.wait(timeout=30)
            with open(out) as f:
                suite_json = json.load(f)
            steps = [st for c in suite_json["cases"] for st in c["steps"]]
            self.assertTrue(all(st.get("tls") is True for st in steps if st["op"] == "connect"))
            texts = [st.get("text") for st in steps if st["op"] == "send"]
            self.assertIn("second line\n", texts)  # readable: the plaintext, not records
            rc, output, cases = run([out, "--target", f"localhost:{port}", "--tls-ca",
                                     PKI["ca.pem"]], "replay")
            self.assertEqual(rc, 0, output)
            self.assertTrue(cases and all(v == "pass" for v, _ in cases.values()), output)
        r = subprocess.run([SOCKSPEC, "record", "--listen", "127.0.0.1:0", "--upstream",
                            "127.0.0.1:1", "-o", out, "--tls"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tls-server-cert", r.stderr)


class Validation(unittest.TestCase):
    def test_bad_tls_settings_are_refused_with_the_pointer(self):
        bad = {"format": 1, "suite": "bad", "transport": "tcp", "cases": [{"id": "x", "steps": [
            {"op": "connect", "conn": "c", "tls": {"min_version": "1.1", "alpn": []}},
            {"op": "connect", "conn": "u", "transport": "udp", "tls": True},
            {"op": "starttls", "conn": "u"}]}]}
        path = os.path.join(TMP, "bad.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        r = subprocess.run([SOCKSPEC, "validate", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        for words in ("/cases/0/steps/0/tls/min_version", "/cases/0/steps/0/tls/alpn",
                      "/cases/0/steps/1/tls", "/cases/0/steps/2/conn"):
            self.assertIn(words, r.stdout + r.stderr)

    def test_bad_tls_options_are_bad_usage(self):
        for args, words in ((["--tls-key", "k.pem"], "--tls-key goes with --tls-cert"),
                            (["--tls-min-version", "1.1"], "must be 1.2 or 1.3"),
                            (["--tls-resume", "2"], "--tls-resume")):
            r = subprocess.run([SOCKSPEC, "run", suite("tls-basics"), "--target",
                                "tls:builtin:echo", *args], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn(words, r.stderr)


class LoadOverTls(unittest.TestCase):
    def load(self, profile, label, *extra):
        out = os.path.join(TMP, label + ".json")
        r = subprocess.run([SOCKSPEC, "load", profile, "--target", "tls:builtin:echo",
                            "--duration", "2", "--warmup", "0", "--report-json", out, *extra],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(out) as f:
            return json.load(f)["load"], r.stdout

    def test_new_connection_per_iteration_counts_handshakes_and_resumes_the_share_asked(self):
        profile = os.path.join(TMP, "handshakes.json")
        with open(profile, "w") as f:
            json.dump({"format": 1, "profile": "tls-handshakes", "transport": "tcp",
                       "executor": {"type": "closed", "vus": 4}, "duration_s": 2, "iteration": [
                           {"op": "connect", "conn": "c"},
                           {"op": "send", "conn": "c", "text": "ping\n"},
                           {"op": "expect", "conn": "c", "text": "ping\n"},
                           {"op": "close", "conn": "c"}]}, f)
        shares = {}
        for resume in ("0", "0.5", "1"):
            l, out = self.load(profile, "resume-" + resume, "--tls-resume", resume)
            full, resumed = l["tls"]["full"]["count"], l["tls"]["resumed"]["count"]
            self.assertGreater(full + resumed, 20, out)
            self.assertEqual(l["tls"]["failed"], 0, out)
            self.assertEqual(l["errors"], 0, out)
            self.assertIn("handshakes/s", out)
            shares[resume] = resumed / (full + resumed)
        self.assertEqual(shares["0"], 0.0)
        self.assertGreater(shares["1"], 0.9)
        self.assertGreater(shares["0.5"], 0.35)
        self.assertLess(shares["0.5"], 0.65)

    def test_a_kept_connection_makes_one_handshake_per_user(self):
        l, out = self.load(os.path.join(SCENARIOS, "load", "echo-tcp-rr.json"), "kept",
                           "--connections", "3")
        self.assertGreater(l["iterations"], 100, out)
        self.assertEqual(l["errors"], 0, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
