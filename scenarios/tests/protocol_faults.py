#!/usr/bin/python3
"""Faulty variants of the real servers, each with one fault a protocol suite must name:

- Proxy: sits on a loopback port in front of a real server (TCP and UDP on the same number)
  and passes everything through, except that a transform may rewrite what the server sends.
  The transforms below each break one rule: a DNS or memcached reply id changed, a Redis bulk
  length off by one, an MQTT CONNACK with a wrong remaining length.
- FakeTftp: a small TFTP server of ours (RFC 1350 read requests, each transfer from a new
  port), correct, or with a classic fault: blocks numbered from 0, or no empty final block
  when the file is a multiple of 512 bytes.

Every thread polls a stop flag with a socket timeout, so stop() returns within a second.
"""
import os
import re
import socket
import struct
import threading

from real_servers import free_port

POLL = 0.2  # seconds: how often a blocked thread looks at the stop flag


class Proxy:
    """127.0.0.1:port -> 127.0.0.1:upstream, rewriting what the server sends. udp_reply maps a
    datagram to a datagram. tcp_reply makes one transform per connection (they may keep
    state); a transform sees the stream as it arrives and returns (out, keep): the bytes to
    pass now and the bytes it keeps for the next read (a message split in two)."""

    def __init__(self, upstream, tcp_reply=None, udp_reply=None, protocols=("tcp", "udp")):
        self.upstream = ("127.0.0.1", upstream)
        self.tcp_reply = tcp_reply
        self.udp_reply = udp_reply
        self.protocols = protocols
        self.port = None
        self.stopping = threading.Event()
        self.threads = []
        self.socks = []

    def __enter__(self):
        for _ in range(20):  # the number is free for both a moment ago: bind both, or retry
            try:
                self.port = free_port(self.protocols)
                self.socks = []
                if "tcp" in self.protocols:
                    ls = socket.socket()
                    self.socks.append(ls)
                    ls.bind(("127.0.0.1", self.port))
                    ls.listen(16)
                    ls.settimeout(POLL)
                if "udp" in self.protocols:
                    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    self.socks.append(us)
                    us.bind(("127.0.0.1", self.port))
                    us.settimeout(POLL)
                break
            except OSError:
                for s in self.socks:
                    s.close()
        else:
            raise RuntimeError("the proxy found no port free for TCP and UDP")
        if "tcp" in self.protocols:
            self.spawn(self.accept_loop, ls)
        if "udp" in self.protocols:
            self.spawn(self.udp_loop, us)
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5)
        for s in self.socks:
            s.close()

    def spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def accept_loop(self, ls):
        while not self.stopping.is_set():
            try:
                client, _ = ls.accept()
            except socket.timeout:
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.settimeout(POLL)
            self.spawn(self.pipe, client, server, None)
            self.socks += [client, server]
            self.spawn(self.pipe, server, client, self.tcp_reply() if self.tcp_reply else None)

    def pipe(self, src, dst, transform):
        kept = b""
        try:
            while not self.stopping.is_set():
                try:
                    data = src.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    if kept:
                        dst.sendall(kept)
                    dst.shutdown(socket.SHUT_WR)
                    return
                if transform:
                    data, kept = transform(kept + data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            # The other direction's thread closes its own receive side when it sees this.
            try:
                src.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    def udp_loop(self, us):
        # One upstream socket per client address, so replies find their way back.
        peers = {}
        while not self.stopping.is_set():
            try:
                data, client = us.recvfrom(65536)
            except socket.timeout:
                continue
            up = peers.get(client)
            if up is None:
                up = peers[client] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                up.connect(self.upstream)
                up.settimeout(POLL)
                self.spawn(self.udp_back, up, us, client)
            up.send(data)
        for up in peers.values():
            up.close()

    def udp_back(self, up, us, client):
        while not self.stopping.is_set():
            try:
                reply = up.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            us.sendto(self.udp_reply(reply) if self.udp_reply else reply, client)


# --- the faults -------------------------------------------------------------------------------

def id_changed(datagram):
    """DNS / memcached over UDP: the first two bytes (the id) are not the request's."""
    return struct.pack(">H", struct.unpack(">H", datagram[:2])[0] ^ 0x5555) + datagram[2:]


RESP_BULK = re.compile(rb"\$(\d+)\r\n")


def redis_bulk_length_plus_one(stream):
    """Redis: every bulk string's $<length> announces one byte more than it holds. Replies are
    re-framed one at a time; an incomplete one waits for the rest."""
    out = b""
    while stream:
        if stream[:1] in (b"+", b"-", b":"):
            end = stream.find(b"\r\n")
            if end < 0:
                break
            out, stream = out + stream[:end + 2], stream[end + 2:]
        elif stream[:1] == b"$":
            m = RESP_BULK.match(stream)
            if not m:
                break
            n = int(m.group(1))
            whole = m.end() + n + 2
            if len(stream) < whole:
                break
            out += b"$%d\r\n" % (n + 1) + stream[m.end():whole]
            stream = stream[whole:]
        else:  # anything else (arrays) passes as it is
            out, stream = out + stream, b""
    return out, stream


class MqttConnackLengthMinusOne:
    """MQTT: the first packet of a connection (the CONNACK, remaining length 2) says 1."""

    def __init__(self):
        self.seen = False

    def __call__(self, stream):
        if self.seen:
            return stream, b""
        if len(stream) < 2:
            return b"", stream
        self.seen = True
        return stream[:1] + bytes([stream[1] - 1]) + stream[2:], b""



# --- a TFTP server of ours ----------------------------------------------------------------------

class FakeTftp:
    """RFC 1350 read requests from ROOT, octet mode, each transfer from a new port.
    fault: None, "blocks-from-0" (the first DATA is block 0), or "no-empty-final-block" (a file
    of 512*N bytes ends after block N: the transfer never ends for the client)."""

    def __init__(self, root, fault=None):
        self.root = root
        self.fault = fault
        self.stopping = threading.Event()
        self.threads = []

    def __enter__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(POLL)
        self.port = self.sock.getsockname()[1]
        self.spawn(self.serve)
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=5)
        self.sock.close()

    def spawn(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def serve(self):
        while not self.stopping.is_set():
            try:
                req, client = self.sock.recvfrom(600)
            except socket.timeout:
                continue
            if req[:2] == b"\x00\x01":
                self.spawn(self.transfer, req[2:].split(b"\x00")[0].decode("latin-1"), client)

    def transfer(self, name, client):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))  # the transfer id: a new port
            s.settimeout(POLL)
            path = os.path.join(self.root, os.path.basename(name))
            if not os.path.isfile(path):
                s.sendto(b"\x00\x05\x00\x01File not found\x00", client)
                return
            with open(path, "rb") as f:
                data = f.read()
            blocks = [data[i:i + 512] for i in range(0, len(data), 512)]
            if len(data) % 512 == 0 and self.fault != "no-empty-final-block":
                blocks.append(b"")
            first = 0 if self.fault == "blocks-from-0" else 1
            for n, block in enumerate(blocks, start=first):
                packet = struct.pack(">HH", 3, n & 0xFFFF) + block
                for _ in range(5):  # send, and resend until its ACK (bounded)
                    s.sendto(packet, client)
                    if self.await_ack(s, n):
                        break
                else:
                    return

    def await_ack(self, s, n):
        for _ in range(5):
            if self.stopping.is_set():
                return False
            try:
                ack, _ = s.recvfrom(600)
            except socket.timeout:
                continue
            if ack[:4] == struct.pack(">HH", 4, n & 0xFFFF):
                return True
        return False
