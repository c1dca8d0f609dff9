"""``stateview get``, ``set`` and ``delete``: scriptable reads and edits through the engine.

``get`` reads the file without the lock (an atomic rename means it always sees a whole
version), or a URL's row as it was last committed. ``set`` and ``delete`` make one commit
through ``stateview.open``: the same lock (on a URL, the document's row lock), value rules,
schema and durable protocol as a server's own commits. With ``--expect JSON_VALUE`` the
commit is a compare-and-set: it writes only if the value at POINTER is still what the script
read (checked inside the transaction, under the lock), so a script's read-modify-write never
writes over another writer's commit.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from typing import Any

from .._errors import CorruptFile, StateError, StateFileMissing
from .._jsontext import loads
from .._paths import StatePaths
from .._pointer import delete_at, get_at, parse_pointer, set_at
from ._targets import check_url, is_url, read_url


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    get = sub.add_parser("get", help="print the JSON at a pointer",
                         description="Print the value at POINTER (default: the whole document).")
    get.add_argument("file", metavar="FILE", help="a state file or a postgresql://...#DOC URL")
    get.add_argument("pointer", metavar="POINTER", nargs="?", default="",
                     help="RFC 6901 JSON Pointer, e.g. /clients/alice (default: whole document)")
    get.add_argument("--compact", action="store_true", help="one line instead of indented")
    get.set_defaults(func=run_get)

    for name, helptext in (("set", "set the value at a pointer (one commit)"),
                           ("delete", "delete the value at a pointer (one commit)")):
        p = sub.add_parser(name, help=helptext, description=helptext.capitalize() + ", through "
                           "the same lock, schema and durable commit as the library.")
        p.add_argument("file", metavar="FILE", help="a state file or a postgresql://...#DOC URL")
        p.add_argument("pointer", metavar="POINTER", help="RFC 6901 JSON Pointer")
        if name == "set":
            p.add_argument("value", metavar="JSON_VALUE",
                           help="a JSON value: 42, true, null, '\"text\"', '{\"a\": 1}'")
        p.add_argument("--schema", metavar="S", help="JSON Schema (default: STEM.schema.json "
                       "beside the file, if any; a URL has none unless given)")
        p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                       help="how long to wait for another writer's lock (default 5)")
        p.add_argument("--expect", metavar="JSON_VALUE",
                       help="compare-and-set: write only if the value at POINTER is this JSON "
                       "now (1, 1.0 and true differ); otherwise exit 1 and write nothing")
        p.set_defaults(func=run_set if name == "set" else run_delete)


def read_document(path: str) -> Any:
    """The document at a path or URL, parsed strictly (no lock taken)."""
    if is_url(path):
        return read_url(path)[1]
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            # A FIFO would block the read for ever; a device is no state file either.
            raise CorruptFile(path, "is not a regular file (a pipe, socket or device)")
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise StateFileMissing(path) from None
    except IsADirectoryError:
        raise CorruptFile(path, "is a directory, not a state file") from None
    except OSError as e:
        raise CorruptFile(path, f"cannot read it: {e.strerror}") from None
    try:
        return loads(data, path)
    except CorruptFile as e:
        raise CorruptFile(path, f"{e.reason}; run `stateview check {path}` for every problem, "
                          f"or `stateview recover {path}`", e.line, e.column, e.pointer) from None


def _unicode(name: str, text: str) -> str:
    """``text`` as given on the command line, refused if it holds bytes that are not UTF-8.

    Python keeps such bytes as lone surrogates, which no JSON document can hold.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        shown = os.fsencode(text).decode("utf-8", "backslashreplace")
        raise StateError(f"{name} {shown!r} holds a byte that is not UTF-8 (at character "
                         f"{e.start + 1}); JSON Pointers and values are Unicode text; "
                         "nothing was written") from None
    return text


def run_get(args: argparse.Namespace) -> int:
    parts = parse_pointer(_unicode("POINTER", args.pointer))
    value = get_at(read_document(args.file), parts, args.pointer)
    indent = None if args.compact else 2
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    try:
        text.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):  # an ASCII-only stdout: JSON's \u escapes
        text = json.dumps(value, indent=indent, ensure_ascii=True)
    sys.stdout.write(text + "\n")
    return 0


def _schema_for(args: argparse.Namespace) -> str | None:
    if args.schema:
        return str(args.schema)
    if is_url(args.file):
        return None
    return StatePaths.of(args.file).schema_beside()


def _edit(args: argparse.Namespace, change: Any) -> int:
    import stateview

    parts = parse_pointer(_unicode("POINTER", args.pointer))
    if is_url(args.file):
        check_url(args.file)
    expected = _json_arg("--expect", args.expect) if args.expect is not None else _ANY
    state = stateview.open(args.file, schema=_schema_for(args), lock_timeout=args.timeout)
    with state, state.transaction() as root:
        if expected is not _ANY:
            _compare(root, parts, args.pointer, expected)
        change(root, parts)
    return 0


def _compare(root: Any, parts: list[str], pointer: str, expected: Any) -> None:
    """Inside the transaction: refuse unless the value at ``pointer`` is ``expected``."""
    from .._document import plain
    from .._errors import PointerError, show_pointer
    from ..tui._merge import same  # JSON sameness, shared with the UI's compare-and-set

    try:
        now = plain(get_at(root, parts, pointer))
    except PointerError as e:
        raise StateError(f"--expect: {e}; nothing was written") from None
    if not same(now, expected):
        shown = json.dumps(now, ensure_ascii=False)
        shown = shown if len(shown) <= 200 else shown[:197] + "..."
        raise StateError(f"{show_pointer(pointer)} is {shown} now, not the value --expect "
                         "gave (another writer changed it); nothing was written")


def _json_arg(name: str, text: str) -> Any:
    """A JSON value given on the command line, strictly parsed."""
    try:
        return loads(_unicode(name, text).encode("utf-8"), name)
    except CorruptFile as e:
        hint = ""
        if e.line == 1 and e.column == 1 and not text.lstrip().startswith(("{", "[", '"')):
            hint = f"; a string needs JSON quotes: '\"{text}\"'"
        raise StateError(f"{name} is not JSON: {e.reason} (column {e.column}){hint}; "
                         "nothing was written") from None


_ANY: Any = object()


def run_set(args: argparse.Namespace) -> int:
    _unicode("POINTER", args.pointer)
    value = _json_arg("JSON_VALUE", args.value)
    return _edit(args, lambda root, parts: set_at(root, parts, value))


def run_delete(args: argparse.Namespace) -> int:
    return _edit(args, delete_at)
