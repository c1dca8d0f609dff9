"""The PostgreSQL store: a document as a row, for programs that outgrow one machine.

Needs the ``postgres`` extra (psycopg 3): ``pip install 'stateview[postgres]'``. Importing this
package does not import psycopg; :class:`PostgresStore` says what to install when it is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._url import StoreURL, is_store_url, parse_url

if TYPE_CHECKING:
    from ._pgstore import DurabilityWarning, PostgresStore

__all__ = ["DurabilityWarning", "PostgresStore", "StoreURL", "is_store_url", "parse_url"]


def __getattr__(name: str) -> Any:
    # psycopg costs a good part of a second to import cold: a CLI run on a file must not pay it.
    if name in ("PostgresStore", "DurabilityWarning"):
        from . import _pgstore
        return getattr(_pgstore, name)
    raise AttributeError(name)
