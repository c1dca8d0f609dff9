"""``postgresql://USER@HOST:PORT/DB?PARAMS#DOCUMENT``: what a store URL names.

Everything before ``#`` is a libpq connection URI, handed to libpq as it is, so that its
parameters (``sslmode``, ``host=/socket/dir``, ``options=-csearch_path=...``, ``PG*``
environment variables, ``~/.pgpass``) work as they do for psql. The fragment names the
document: one row of the documents table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["SCHEMES", "StoreURL", "is_store_url", "parse_url"]

SCHEMES = ("postgresql://", "postgres://")
_MAX_NAME = 1000  # documents are rows, named by people: a long name is a mistake


@dataclass(frozen=True)
class StoreURL:
    """A parsed store URL.

    Attributes:
        conninfo: the libpq URI (no fragment), password included.
        document: the document's name (the fragment, percent-decoded).
        shown: the URL for messages: no password anywhere.
    """

    conninfo: str
    document: str
    shown: str


def is_store_url(target: str) -> bool:
    """Whether ``target`` (a CLI argument, ``stateview.open``'s path) is a store URL."""
    return target.lower().startswith(SCHEMES)


def parse_url(url: str) -> StoreURL:
    """Split a store URL into the connection and the document.

    Raises:
        ValueError: not a postgresql:// URL, no ``#DOCUMENT``, or a name that cannot be one.
    """
    if not is_store_url(url):
        raise ValueError(f"{url!r}: not a postgresql:// or postgres:// URL")
    conninfo, hash_, fragment = url.partition("#")
    shown = hide_password(url)
    if not hash_ or not fragment:
        raise ValueError(f"{shown}: name the document after '#', as in "
                         "postgresql://USER@HOST/DB#state")
    document = unquote(fragment)
    if len(document) > _MAX_NAME or any(ord(c) < 32 for c in document):
        raise ValueError(f"{shown}: a document name is at most {_MAX_NAME} characters, "
                         "without control characters")
    return StoreURL(conninfo=conninfo, document=document, shown=shown)


def hide_password(url: str) -> str:
    """``url`` with any password (in the authority or as a parameter) replaced by ``***``."""
    url = re.sub(r"^([a-zA-Z]+://[^/@?#:]*):[^/@?#]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url)
