#!/usr/bin/python3
"""A login-with-token server: the protocol of scenarios/examples/login-token.json.

Lines end in CR LF. Each login gets a fresh random token, valid on any connection until
logout:

    LOGIN <name>            -> OK TOKEN <16 hex digits> SESSION <n>
    WHOAMI <token>          -> USER <name>         (or ERR bad token)
    LOGOUT <token>          -> BYE <name>          (or ERR bad token)
    anything else           -> ERR unknown command

Usage: login_server.py PORT [--fault forgetful] [--bind ADDR]
  --fault forgetful   tokens are never remembered: every WHOAMI is "ERR bad token"

It listens on loopback (port 0 picks one) and prints "listening tcp ADDR:PORT".
"""
import asyncio
import itertools
import secrets

from asyncio_server import arguments, serve_until_signalled


class Logins:
    def __init__(self, forgetful):
        self.forgetful = forgetful
        self.users = {}  # token -> name
        self.sessions = itertools.count(1)

    def answer(self, line):
        cmd, _, arg = line.partition(" ")
        if cmd == "LOGIN" and arg:
            token = secrets.token_hex(8)
            if not self.forgetful:
                self.users[token] = arg
            return f"OK TOKEN {token} SESSION {next(self.sessions)}"
        if cmd in ("WHOAMI", "LOGOUT"):
            name = self.users.get(arg)
            if name is None:
                return "ERR bad token"
            if cmd == "LOGOUT":
                del self.users[arg]
                return f"BYE {name}"
            return f"USER {name}"
        return "ERR unknown command"


async def serve(args):
    logins = Logins(args.fault == "forgetful")

    async def client(reader, writer):
        try:
            while True:
                line = await reader.readuntil(b"\r\n")
                reply = logins.answer(line[:-2].decode("utf-8", "replace"))
                writer.write(reply.encode() + b"\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    await serve_until_signalled(client, args.bind, args.port)


def main():
    asyncio.run(serve(arguments(__doc__, ["forgetful"])))


if __name__ == "__main__":
    main()
