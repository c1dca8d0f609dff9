"""An asyncio TCP server whose counters survive `kill -9`, and that listens to its operator.

    python examples/counter_server.py --state counters.json --port 8766
    printf 'INCR alice\\n' | nc localhost 8766          # OK alice 1
    stateview set counters.json /settings/banner '"back at 5"'   # connected clients get
                                                           # NOTICE banner back at 5
    stateview set counters.json /settings/paused true      # INCR now answers PAUSED

One request per line: ``INCR NAME`` answers ``OK NAME N`` only once the new count is durable
on disk, so a client that got an answer can rely on it whatever happens to the server next;
``GET NAME`` answers ``VALUE NAME N``. Every connection starts with ``HELLO BANNER``. The
event loop never waits for the disk: commits are awaited (``atransaction``), and many
clients' commits share writes. The operator's edits (``stateview set`` or the terminal UI)
arrive through ``state.changes()`` and are pushed to every connected client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import stateview

SCHEMA = {
    "type": "object",
    "required": ["counters", "settings"],
    "properties": {
        "counters": {"type": "object", "additionalProperties": {"type": "integer",
                                                                "minimum": 0}},
        "settings": {
            "type": "object",
            "properties": {"banner": {"type": "string"}, "paused": {"type": "boolean"}},
        },
    },
}
DEFAULT = {"counters": {}, "settings": {"banner": "welcome", "paused": False}}


class CounterServer:
    def __init__(self, state: stateview.StateFile) -> None:
        self.state = state
        self.clients: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.add(writer)
        try:
            writer.write(f"HELLO {self.state['settings'].get('banner', '')}\n".encode())
            while line := await reader.readline():
                writer.write((await self.answer(line.decode(errors="replace").split())).encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.clients.discard(writer)
            writer.close()

    async def answer(self, words: list[str]) -> str:
        if len(words) != 2 or words[0] not in ("INCR", "GET"):
            return "ERROR expected INCR NAME or GET NAME\n"
        command, name = words
        if command == "GET":
            return f"VALUE {name} {self.state['counters'].get(name, 0)}\n"
        if self.state["settings"].get("paused"):
            return "PAUSED\n"
        try:
            # Read-modify-write in a transaction: `stateview set` may change the counter
            # between our read and our write. The block returns once the commit is durable.
            async with self.state.atransaction() as root:
                count = root["counters"].get(name, 0) + 1
                root["counters"][name] = count
        except stateview.StateError as e:
            return f"ERROR {e}\n"
        return f"OK {name} {count}\n"

    async def follow_operator(self) -> None:
        """Push the operator's banner to every client as soon as it is committed."""
        banner = self.state["settings"].get("banner")
        async for event in self.state.changes():
            if not any(p == "/" or p.startswith("/settings") for p in event.pointers):
                continue
            new = self.state["settings"].get("banner")
            if new != banner:
                banner = new
                for writer in list(self.clients):
                    with contextlib.suppress(ConnectionError):
                        writer.write(f"NOTICE banner {banner}\n".encode())


async def serve(path: str, port: int) -> None:
    state = await stateview.aopen(path, default=DEFAULT, schema=SCHEMA)
    app = CounterServer(state)
    follower = asyncio.create_task(app.follow_operator())
    server = await asyncio.start_server(app.handle, "127.0.0.1", port)
    print(f"serving {path} on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    try:
        async with server:
            await server.serve_forever()
    finally:
        await state.aclose()  # waits for the blocks and commits in flight; ends `changes()`
        await follower


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", default="counters.json")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.state, args.port))


if __name__ == "__main__":
    main()
