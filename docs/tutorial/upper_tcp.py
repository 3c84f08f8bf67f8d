# A first TCP server: read what the client sends, send it back in upper case.
import socket
import sys

port = int(sys.argv[1])
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", port))
server.listen(128)
while True:
    conn, addr = server.accept()
    data = conn.recv(1024)
    conn.send(data.upper())
    conn.close()
