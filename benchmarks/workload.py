"""The benchmark's document: a realistic server state, scaled by the number of clients.

Shape (what a game or chat server keeps)::

    {"server": {"name": ..., "version": ..., "started": ..., "motd": ...},
     "clients": {"c00000": {"name": ..., "score": ..., "level": ..., "online": ...,
                            "last_seen": ..., "tags": [...], "address": {...}}, ...}}

A commit changes one value: ``doc["clients"][key]["score"]``. With N threads, thread ``t``
changes only the client ``key_for(t)``, so no two threads touch the same record.
"""

from __future__ import annotations

import json
from typing import Any

# Nominal size label -> target size of the document as written on disk (indent 2).
SIZES: dict[str, int] = {
    "1KB": 1_000,
    "100KB": 100_000,
    "1MB": 1_000_000,
    "10MB": 10_000_000,
}

# Every document has at least this many clients, so each of 8 threads owns one.
MIN_CLIENTS = 8

Doc = dict[str, Any]


def client_key(i: int) -> str:
    return f"c{i:05d}"


def client(i: int, lean: bool = False) -> dict[str, Any]:
    """One client record, about 270 bytes on disk with indent 2 (lean: about 90 bytes)."""
    if lean:
        return {"name": f"Client {i:05d}", "score": i % 1000, "online": i % 3 == 0}
    return {
        "name": f"Client {i:05d}",
        "score": i % 1000,
        "level": 1 + i % 50,
        "online": i % 3 == 0,
        "last_seen": 1764280000.0 + i * 0.25,
        "tags": ["eu", "beta", "vip"][: 1 + i % 3],
        "address": {"city": "Lyon", "zip": f"69{i % 1000:03d}"},
    }


def make_doc(clients: int, lean: bool = False) -> Doc:
    """A document holding ``clients`` client records (lean ones for the 1 KB document)."""
    return {
        "server": {"name": "bench", "version": 3, "started": "2026-11-27T22:00:00Z"},
        "clients": {client_key(i): client(i, lean) for i in range(clients)},
    }


def disk_text(doc: Doc) -> str:
    """The document as stateview writes it (indent 2, UTF-8, trailing newline)."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def clients_for(target_bytes: int, lean: bool = False) -> int:
    """How many clients make a document of about ``target_bytes`` on disk."""
    base = len(disk_text(make_doc(0, lean)))
    per = (len(disk_text(make_doc(100, lean))) - base) / 100
    return max(MIN_CLIENTS, round((target_bytes - base) / per))


def doc_for(label: str) -> Doc:
    """The document of a size label; below 8 full records, 8 lean ones (so 8 threads fit)."""
    target = SIZES[label]
    lean = clients_for(target) <= MIN_CLIENTS
    return make_doc(clients_for(target, lean), lean)


def key_for(thread: int, threads: int, doc: Doc) -> str:
    """The client that thread ``thread`` of ``threads`` changes (spread over the document)."""
    count = len(doc["clients"])
    return client_key((thread * count) // max(threads, 1))
