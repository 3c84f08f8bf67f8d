#!/usr/bin/python3
"""A deliberately hostile server for the robustness tests: `hostile_server.py MODE PORT`.

It listens on 127.0.0.1:PORT over TCP and UDP and misbehaves as MODE says:
  hang      accepts and reads nothing, answers nothing, and ignores SIGTERM
  flood     sends as fast as the client takes (TCP), 64 datagrams per datagram (UDP)
  reset     resets every connection as soon as it is accepted; answers no datagram
  garbage   answers everything with random bytes
  drip      echoes one byte every 50 ms (TCP); echoes each datagram 500 ms late (UDP)
  die       exits (status 1) at the first bytes or datagram it receives: a crash mid-run
  hugeline  sends one 30,000-byte line on connect, then echoes (TCP); answers each datagram
            with a 65,507-byte one (UDP)
  amplify   answers each datagram with 50 of 1,400 bytes; echoes TCP a thousandfold
Only loopback; it runs until killed (every test stops it), and stops by itself after 10 minutes.
"""
import os
import selectors
import signal
import socket
import sys
import time

MODE, PORT = sys.argv[1], int(sys.argv[2])
DEADLINE = time.monotonic() + 600
sel = selectors.DefaultSelector()
conns = {}  # socket -> bytes waiting to be sent
drips = {}  # socket -> bytes to drip, one per tick
late = []  # (due, addr, data) for UDP drip


def listen():
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", PORT))
    tcp.listen(128)
    tcp.setblocking(False)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", PORT))
    udp.setblocking(False)
    sel.register(tcp, selectors.EVENT_READ, "accept")
    sel.register(udp, selectors.EVENT_READ, "udp")
    print(f"listening tcp 127.0.0.1:{PORT}", flush=True)
    return udp


def close(s):
    sel.unregister(s)
    conns.pop(s, None)
    drips.pop(s, None)
    s.close()


def send_some(s):
    try:
        n = s.send(conns[s][:65536])
        conns[s] = conns[s][n:]
        if MODE == "flood":
            conns[s] += b"x" * n
    except BlockingIOError:
        pass
    except OSError:
        close(s)
        return
    sel.modify(s, selectors.EVENT_READ | (selectors.EVENT_WRITE if conns[s] else 0), "conn")


def on_accept(listener):
    c, _ = listener.accept()
    c.setblocking(False)
    if MODE == "reset":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
        return
    conns[c] = b""
    if MODE == "flood":
        conns[c] = b"x" * 65536
    elif MODE == "hugeline":
        conns[c] = b"a" * 30000 + b"\r\n"
    sel.register(c, selectors.EVENT_READ, "conn")
    if conns[c]:
        send_some(c)


def on_data(c):
    if MODE == "hang":
        return  # never read: the client's sends fill the buffers
    try:
        data = c.recv(65536)
    except OSError:
        close(c)
        return
    if not data:
        close(c)
        return
    if MODE == "die":
        os._exit(1)
    if MODE == "drip":
        drips[c] = drips.get(c, b"") + data
        return
    reply = {"garbage": os.urandom(len(data) + 7), "amplify": data * 1000}.get(MODE, data)
    conns[c] += reply
    send_some(c)


def on_datagram(udp):
    try:
        data, addr = udp.recvfrom(65536)
    except OSError:
        return
    replies = {
        "hang": [], "reset": [], "flood": [b"y" * 1024] * 64, "garbage": [os.urandom(len(data) + 7)],
        "hugeline": [b"b" * 65507], "amplify": [b"z" * 1400] * 50,
    }
    if MODE == "die":
        os._exit(1)
    if MODE == "drip":
        late.append((time.monotonic() + 0.5, addr, data))
        return
    for r in replies.get(MODE, [data]):
        try:
            udp.sendto(r, addr)
        except OSError:
            pass


def main():
    if MODE == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    udp = listen()
    while time.monotonic() < DEADLINE:
        for key, events in sel.select(timeout=0.05):
            if key.data == "accept":
                on_accept(key.fileobj)
            elif key.data == "udp":
                on_datagram(key.fileobj)
            elif events & selectors.EVENT_READ:
                on_data(key.fileobj)
            if key.data == "conn" and events & selectors.EVENT_WRITE and key.fileobj in conns:
                send_some(key.fileobj)
        for c in list(drips):
            if drips[c]:
                conns[c] += drips[c][:1]
                drips[c] = drips[c][1:]
                send_some(c)
        now = time.monotonic()
        for item in [x for x in late if x[0] <= now]:
            late.remove(item)
            try:
                udp.sendto(item[2], item[1])
            except OSError:
                pass


main()
