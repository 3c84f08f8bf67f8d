"""The scaffolding the example servers of the tests share: listen on a loopback port, print
`listening tcp HOST:PORT` (as `sockspec serve` does, so a test reads the port back), serve each
connection with `client(reader, writer)` until SIGINT or SIGTERM."""
import argparse
import asyncio
import signal


async def serve_until_signalled(client, bind, port):
    server = await asyncio.start_server(client, bind, port)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening tcp {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def arguments(description, faults):
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("port", type=int)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--fault", choices=faults)
    return p.parse_args()
