#!/usr/bin/python3
"""The six real Debian servers the protocol suites (scenarios/protocols/) are proven against,
each started EXACTLY with the command of docs/protocols.md on a loopback port, in its default
configuration: nothing here is tuned for the suites.

    real_servers.py NAME     starts one in the foreground and prints its port (Ctrl-C stops it)

Each server is started in its own process group, so stopping it also stops the children it
forks (in.tftpd forks one per transfer, nginx its worker).
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join("scenarios", "protocols", "fixtures")

# The commands of docs/protocols.md: PORT, CONF and TMP are filled in by start().
COMMANDS = {
    "redis": "redis-server --bind 127.0.0.1 --port PORT --save ''",
    "memcached": "memcached -u nobody -l 127.0.0.1 -p PORT -U PORT",
    "dns": "dnsmasq -k -C /dev/null --no-resolv --no-hosts --port PORT --listen-address 127.0.0.1 "
           "--bind-interfaces --address=/example.test/192.0.2.1",
    "tftp": "in.tftpd -L -a 127.0.0.1:PORT -s scenarios/protocols/fixtures/tftp",
    "mqtt": "mosquitto -c CONF",
    "http": "nginx -p TMP -c CONF",
}
PROGRAMS = {"redis": "redis-server", "memcached": "memcached", "dns": "dnsmasq", "tftp": "in.tftpd",
            "mqtt": "mosquitto", "http": "nginx"}
# What each needs on its port: memcached serves TCP and UDP on the same number.
PROTOCOLS = {"redis": ("tcp",), "memcached": ("tcp", "udp"), "dns": ("tcp", "udp"), "tftp": ("udp",),
             "mqtt": ("tcp",), "http": ("tcp",)}

READY_SECONDS = 15


def missing_program(name):
    """The server's program if it is not installed (sbin is not on every user's PATH)."""
    prog = PROGRAMS[name]
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return None if shutil.which(prog, path=path) else prog


def free_port(protocols, tries=200):
    """A port number free for every protocol asked (bound to port 0 by the first, then the
    others on the same number), released just before the server binds it."""
    kinds = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}
    for _ in range(tries):
        socks = []
        try:
            first = socket.socket(socket.AF_INET, kinds[protocols[0]])
            socks.append(first)
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            for p in protocols[1:]:
                s = socket.socket(socket.AF_INET, kinds[p])
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no port free for {protocols} in {tries} tries")


def command(name, port, tmp):
    """The issue's command with its placeholders filled; writes CONF files into tmp."""
    cmd = COMMANDS[name].replace("PORT", str(port))
    if name == "mqtt":
        conf = os.path.join(tmp, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        cmd = cmd.replace("CONF", conf)
    elif name == "http":
        with open(os.path.join(SRC, FIXTURES, "nginx.conf.in")) as f:
            text = f.read()
        text = (text.replace("@PORT@", str(port)).replace("@TMP@", tmp)
                .replace("@ROOT@", os.path.join(SRC, FIXTURES, "http")))
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(text)
        cmd = cmd.replace("TMP", tmp).replace("CONF", conf)
    return cmd


def probe(name, port):
    """True once the server answers on its port (a request it must answer, never a change)."""
    try:
        if name == "tftp":
            # A read of a missing file: an ERROR comes back, and no transfer is left open.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.3)
                s.sendto(b"\x00\x01sockspec-probe-no-such-file\x00octet\x00", ("127.0.0.1", port))
                return s.recvfrom(600)[0][:2] == b"\x00\x05"
        if name == "dns":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.3)
                q = struct.pack(">6H", 0x0bee, 0x0100, 1, 0, 0, 0) + b"\x07example\x04test\x00\x00\x01\x00\x01"
                s.sendto(q, ("127.0.0.1", port))
                ok = s.recvfrom(600)[0][:2] == b"\x0b\xee"
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return ok
        if name == "memcached":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.3)
                s.sendto(b"\x00\x01\x00\x00\x00\x01\x00\x00version\r\n", ("127.0.0.1", port))
                ok = s.recvfrom(600)[0].startswith(b"\x00\x01\x00\x00\x00\x01\x00\x00VERSION")
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return ok
        socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
        return True
    except OSError:
        return False


class Server:
    """One real server on a free loopback port: `with Server("redis") as s: s.port`."""

    def __init__(self, name, port=None):
        self.name = name
        self.port = port
        self.proc = None
        self.tmp = None
        self.cmd = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, attempts=3):
        last = ""
        for _ in range(attempts):  # the port picked may be taken in between: try another
            self.tmp = tempfile.mkdtemp(prefix=f"sockspec-{self.name}-")
            os.chmod(self.tmp, 0o755)  # servers that drop privileges still read their CONF
            port = self.port or free_port(PROTOCOLS[self.name])
            self.cmd = command(self.name, port, self.tmp)
            log = open(os.path.join(self.tmp, "server.log"), "w")
            self.proc = subprocess.Popen(["/bin/sh", "-c", "exec " + self.cmd], cwd=SRC, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
            log.close()
            deadline = time.monotonic() + READY_SECONDS
            while time.monotonic() < deadline and self.proc.poll() is None:
                if probe(self.name, port):
                    self.port = port
                    return self
                time.sleep(0.05)  # a foreign process's readiness has no event to wait on
            with open(os.path.join(self.tmp, "server.log")) as f:
                last = f.read()[-2000:]
            self.stop()
        raise RuntimeError(f"{self.name} did not become ready ({self.cmd}):\n{last}")

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
                except ProcessLookupError:
                    pass
            # Children forked before the stop (a TFTP transfer) are in the same group.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    with Server(sys.argv[1]) as srv:
        print(f"{srv.name} on 127.0.0.1:{srv.port}: {srv.cmd}", flush=True)
        try:
            srv.proc.wait()
        except KeyboardInterrupt:
            pass
