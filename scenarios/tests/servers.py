#!/usr/bin/python3
"""Small servers the suites are judged against, each written the way people write them, none
written to pass: correct ones the suites must never fail, and broken ones that each carry one
fault a case must name.

    servers.py KIND PORT     (binds 127.0.0.1:PORT; PORT 0 picks one; runs until killed)

correct:
  threaded-echo-backlog-2   a thread per client, listen(2): bursts overflow its queue
  socketserver-echo         Python's socketserver.ThreadingTCPServer with its defaults
  daytime-two-lines         a TCP daytime server whose answer is two lines (RFC 867 fixes no
                            syntax), then closes, leaving what it was sent unread (so RST)
broken:
  time-udp-drops-queued     answers one datagram, then throws away every datagram that
                            queued meanwhile (a super-server that re-arms too late)
  echo-tcp-doubles          sends every byte back twice
  chargen-udp-1024          answers with 1024 characters; RFC 864 allows 0 to 512
  selectors-echo-send       the selectors echo of Python's documentation: non-blocking, and
                            `conn.send(data)` where `sendall` was meant, so the rest of a
                            partial write is lost (the most common bug of a first server)
"""
import select
import selectors
import socket
import socketserver
import struct
import sys
import threading
import time


def serve_until_eof(conn, reply):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return  # the client's FIN: everything read was answered; close
            conn.sendall(reply(data))


def thread_per_client(port, backlog, reply):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(backlog)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve_until_eof, args=(c, reply), daemon=True).start()


def threaded_echo_backlog_2(port):
    thread_per_client(port, 2, lambda data: data)


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


def socketserver_echo(port):
    # Defaults as the documentation shows them; allow_reuse_address only so a restart works.
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", port), EchoHandler) as srv:
        srv.serve_forever()


def time_udp_drops_queued(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    while True:
        _, peer = s.recvfrom(65536)
        time.sleep(0.02)  # the work of answering (a fork, a lookup): requests queue meanwhile
        s.setblocking(False)
        try:
            while True:
                s.recvfrom(65536)  # the fault: requests that queued meanwhile are never answered
        except BlockingIOError:
            pass
        s.setblocking(True)
        s.sendto(struct.pack("!I", int(time.time()) + 2208988800), peer)


def echo_tcp_doubles(port):
    thread_per_client(port, 128, lambda data: bytes(b for x in data for b in (x, x)))


def chargen_udp_1024(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    line = bytes(range(33, 33 + 72)) + b"\r\n"
    while True:
        _, peer = s.recvfrom(65536)
        s.sendto((line * 15)[:1024], peer)


def daytime_two_lines(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        with c:
            # Wait a moment for input and leave it unread, as a server that ignores input does:
            # closing with it unread sends RST after the answer (RFC 1122 4.2.2.13), every time.
            select.select([c], [], [], 0.2)
            c.sendall(time.strftime("%A, %B %d, %Y\r\n%H:%M:%S-UTC\r\n", time.gmtime()).encode())


def selectors_echo_send(port):
    sel = selectors.DefaultSelector()

    def accept(sock):
        conn, _ = sock.accept()
        conn.setblocking(False)
        sel.register(conn, selectors.EVENT_READ, read)

    def read(conn):
        try:
            data = conn.recv(1000)
        except ConnectionError:
            data = b""
        if data:
            conn.send(data)  # Hope it won't block
        else:
            sel.unregister(conn)
            conn.close()

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(100)
    sock.setblocking(False)
    sel.register(sock, selectors.EVENT_READ, accept)
    while True:
        for key, _ in sel.select():
            try:
                key.data(key.fileobj)
            except (BlockingIOError, ConnectionError):
                pass  # the documentation's server dies here; a first server often catches it


KINDS = {
    "daytime-two-lines": daytime_two_lines,
    "selectors-echo-send": selectors_echo_send,
    "threaded-echo-backlog-2": threaded_echo_backlog_2,
    "socketserver-echo": socketserver_echo,
    "time-udp-drops-queued": time_udp_drops_queued,
    "echo-tcp-doubles": echo_tcp_doubles,
    "chargen-udp-1024": chargen_udp_1024,
}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in KINDS:
        sys.exit(__doc__)
    KINDS[sys.argv[1]](int(sys.argv[2]))
