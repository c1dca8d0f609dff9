"""A small HTTP scoreboard whose state survives `kill -9` and power loss.

    python examples/scoreboard_server.py --state scores.json --port 8765
    curl -X POST localhost:8765/clients/alice/score     # {"alice": 1}
    curl localhost:8765/clients                          # the whole board
    curl -X PUT -d '{"team": "red"}' localhost:8765/clients/alice/profile
    curl -X DELETE localhost:8765/clients/alice

Every response is sent only after the change is durable on disk, so a client that got an
answer can rely on it whatever happens to the server next. Many requests at once share
commits (group commit), and the board can be watched live with `stateview scores.json`.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stateview

SCHEMA = {
    "type": "object",
    "required": ["clients"],
    "properties": {
        "clients": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "score": {"type": "integer", "minimum": 0},
                    "profile": {"type": "object"},
                },
            },
        }
    },
}


class Handler(BaseHTTPRequestHandler):
    state: stateview.StateFile  # set by main()

    def _reply(self, status: int, body: Any) -> None:
        data = (json.dumps(body, ensure_ascii=False) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _parts(self) -> list[str]:
        return [p for p in self.path.split("?")[0].split("/") if p]

    def do_GET(self) -> None:
        parts = self._parts()
        if parts == ["clients"]:
            self._reply(200, self.state.snapshot()["clients"])
        elif len(parts) == 2 and parts[0] == "clients" and parts[1] in self.state["clients"]:
            self._reply(200, self.state["clients"][parts[1]].copy())
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        parts = self._parts()
        if len(parts) != 3 or parts[0] != "clients" or parts[2] != "score":
            return self._reply(404, {"error": "POST /clients/NAME/score"})
        name = parts[1]
        # Read-modify-write belongs in a transaction: another process (or `stateview set`)
        # may change the board between our read and our write.
        with self.state.transaction() as root:
            client = root["clients"].setdefault(name, {"score": 0})
            client["score"] += 1
            score = client["score"]
        self._reply(200, {name: score})

    def do_PUT(self) -> None:
        parts = self._parts()
        if len(parts) != 3 or parts[0] != "clients" or parts[2] != "profile":
            return self._reply(404, {"error": "PUT /clients/NAME/profile"})
        try:
            profile = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with self.state.transaction() as root:
                root["clients"].setdefault(parts[1], {"score": 0})["profile"] = profile
        except (ValueError, stateview.StateError) as e:
            return self._reply(400, {"error": str(e)})
        self._reply(200, {"ok": True})

    def do_DELETE(self) -> None:
        parts = self._parts()
        if len(parts) == 2 and parts[0] == "clients":
            removed = self.state["clients"].pop(parts[1], None)
            return self._reply(200 if removed is not None else 404, {"removed": parts[1]})
        self._reply(404, {"error": "DELETE /clients/NAME"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", default="scores.json")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    Handler.state = stateview.open(args.state, default={"clients": {}}, schema=SCHEMA)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"serving {args.state} on http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        Handler.state.close()


if __name__ == "__main__":
    main()
