#!/usr/bin/python3
"""A small binary protocol with a CRC-32 in every frame: the protocol of
scenarios/examples/framed-crc.json.

Every message, either way, is

    u16 big-endian LEN | BODY (LEN bytes) | u32 big-endian CRC-32 of BODY (zlib's crc32)

and BODY is  u8 OP | u16 ID | DATA. Requests: OP 1 (echo) is answered with OP 0x81, the
same ID and DATA; OP 2 (upper) with OP 0x82 and DATA upper-cased. A request whose CRC is wrong
is answered with OP 0xFF, its ID and the DATA "bad crc"; an unknown OP with OP 0xFE.

Usage: framed_crc_server.py PORT [--fault bad-crc] [--bind ADDR]
  --fault bad-crc   every reply's CRC has its lowest bit flipped

It listens on loopback (port 0 picks one) and prints "listening tcp ADDR:PORT".
"""
import asyncio
import struct
import zlib

from asyncio_server import arguments, serve_until_signalled


def frame(body, fault):
    crc = zlib.crc32(body)
    if fault == "bad-crc":
        crc ^= 1
    return struct.pack(">H", len(body)) + body + struct.pack(">I", crc)


def answer(body, crc_ok):
    op, ident = body[0], struct.unpack(">H", body[1:3])[0]
    data = body[3:]
    if not crc_ok:
        return bytes([0xFF]) + struct.pack(">H", ident) + b"bad crc"
    if op == 1:
        return bytes([0x81]) + struct.pack(">H", ident) + data
    if op == 2:
        return bytes([0x82]) + struct.pack(">H", ident) + data.upper()
    return bytes([0xFE]) + struct.pack(">H", ident)


async def serve(args):
    async def client(reader, writer):
        try:
            while True:
                (length,) = struct.unpack(">H", await reader.readexactly(2))
                body = await reader.readexactly(length)
                (crc,) = struct.unpack(">I", await reader.readexactly(4))
                if length < 3:
                    break
                writer.write(frame(answer(body, zlib.crc32(body) == crc), args.fault))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    await serve_until_signalled(client, args.bind, args.port)


def main():
    asyncio.run(serve(arguments(__doc__, ["bad-crc"])))


if __name__ == "__main__":
    main()
