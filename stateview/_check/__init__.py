"""``stateview check``'s model: every problem of a state file, as data.

    report = check_file("state.json")            # schema: --schema, else state.schema.json
    report.ok, report.errors, report.warnings, report.notes

Used by the ``check`` command, and by anything that wants "the problems of this file" (the TUI,
``recover``). Never imports Textual.
"""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Mapping
from typing import Any

from .._errors import SchemaError
from .._paths import StatePaths
from .._schema import Schema, load_schema
from ._content import check_content
from ._leftovers import leftover_problems, recover_command, recoverable_note
from ._result import ERROR, INFO, WARNING, FileReport, Problem

__all__ = [
    "ERROR", "INFO", "STDIN", "WARNING", "Checker", "FileReport", "Problem", "check_file",
    "recover_command",
]

SchemaSource = str | os.PathLike[str] | Mapping[str, Any] | Schema | None
STDIN = "<stdin>"

# Problems of the file's bytes that make the engine refuse (or heal) it; schema problems do not.
_CONTENT_OK_KINDS = frozenset({"schema", "schema-invalid", "schema-skipped"})


def check_file(path: str | os.PathLike[str], schema: SchemaSource = None) -> FileReport:
    """Check one state file: readable, strict JSON, its schema, its crash leftovers.

    Args:
        path: the state file.
        schema: a schema path, dict or :class:`Schema`; ``None`` takes ``STEM.schema.json``
            beside the file when it exists.
    """
    return Checker(schema).check(path)


class Checker:
    """Checks many files, loading each schema once and listing each directory once.

    Args:
        schema: the schema for every file (``--schema``), or ``None`` for each file's sibling.
    """

    def __init__(self, schema: SchemaSource = None) -> None:
        self._explicit = schema
        self._schemas: dict[str, Schema | SchemaError] = {}
        self._listings: dict[str, list[str]] = {}

    def check(self, path: str | os.PathLike[str]) -> FileReport:
        """Everything wrong with the file at ``path``."""
        shown = os.fspath(path)
        paths = StatePaths.of(shown)
        report = FileReport(shown)
        data, problem = _read(shown)
        schema = self._schema_for(paths, report)
        if problem is not None:
            report.problems.append(problem)
        else:
            assert data is not None
            report.problems += check_content(data, schema)
        if self._may_have_leftovers(paths):
            found = leftover_problems(shown, paths)
            damaged = any(p.severity == ERROR and p.kind not in _CONTENT_OK_KINDS
                          and p.file is None for p in report.problems)
            note = recoverable_note(shown, found) if damaged else None
            report.problems += found + ([note] if note else [])
        return report

    def check_bytes(self, data: bytes, label: str = STDIN) -> FileReport:
        """Check a document that is not a file (standard input): no sibling schema, no leftovers."""
        report = FileReport(label)
        schema = self._load(self._explicit, report) if self._explicit is not None else None
        report.problems += check_content(data, schema)
        return report

    # -- internals ---------------------------------------------------------------------------

    def _schema_for(self, paths: StatePaths, report: FileReport) -> Schema | None:
        if self._explicit is not None:
            return self._load(self._explicit, report)
        sibling = paths.schema_beside()
        if sibling is None:
            return None
        return self._load(_display(sibling), report)

    def _load(self, source: SchemaSource, report: FileReport) -> Schema | None:
        key = os.path.abspath(source) if isinstance(source, (str, os.PathLike)) else "<dict>"
        cached = self._schemas.get(key)
        if cached is None:
            try:
                loaded = load_schema(source)
                assert loaded is not None  # source is never None here
                cached = loaded
            except SchemaError as e:
                cached = e
            self._schemas[key] = cached
        if isinstance(cached, SchemaError):
            report.schema = cached.source
            report.problems.append(Problem(
                "schema-invalid", f"the schema cannot be used: {cached.reason}",
                file=cached.source))
            return None
        report.schema = cached.source if key == "<dict>" else os.fspath(source)  # type: ignore[arg-type]
        return cached

    def _may_have_leftovers(self, paths: StatePaths) -> bool:
        """Whether anything named ``NAME.*`` or ``.NAME.*`` is beside the file.

        ``StatePaths.leftovers`` lists the directory; over a thousand files in one directory
        that is a million names matched, so each directory is listed once here and most files
        are cleared by two binary searches.
        """
        names = self._listings.get(paths.directory)
        if names is None:
            try:
                names = sorted(os.listdir(paths.directory))
            except OSError:
                return True  # let leftovers() meet the same error and report nothing
            self._listings[paths.directory] = names
        for prefix in (paths.name + ".", "." + paths.name + "."):
            i = bisect.bisect_left(names, prefix)
            if i < len(names) and names[i].startswith(prefix):
                return True
        return False


def _display(path: str) -> str:
    """``path`` relative to the working directory when it is below it (shorter to read)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith(os.pardir) else rel


def _read(path: str) -> tuple[bytes | None, Problem | None]:
    """The file's bytes, or the reason there are none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return None, Problem("unreadable", f"a symbolic link to {os.readlink(path)!r}, "
                                 "which does not exist")
        return None, Problem("missing", "no such file")
    except OSError as e:
        return None, Problem("unreadable", f"cannot reach it: {e.strerror or e}")
    if stat.S_ISDIR(st.st_mode):
        return None, Problem("not-a-file", "a directory, not a state file")
    if not stat.S_ISREG(st.st_mode):
        # Never open a FIFO or a device: reading one blocks or never ends.
        return None, Problem("not-a-file", "not a regular file (a pipe, socket or device)")
    try:
        with open(path, "rb") as f:
            return f.read(), None
    except OSError as e:
        return None, Problem("unreadable", f"cannot read it: {e.strerror or e}")

