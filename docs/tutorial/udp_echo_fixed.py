# A UDP echo server: send every datagram back to whoever sent it.
import socket
import sys

port = int(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", port))
while True:
    data, addr = sock.recvfrom(65535)  # the largest datagram there is
    sock.sendto(data, addr)
