"""Reporters for ``stateview check``: text for people, JSON for programs.

The text report is one line per finding, ``WHERE: KIND: MESSAGE (at /pointer)``, where WHERE is
``path:line:column`` (or the leftover's path), so editors and CI annotators can jump to it; then
one summary line. Colour is plain ANSI (importing rich or Textual would cost more than the
whole check of a small file).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from typing import Any, TextIO

from .._check import ERROR, INFO, WARNING, FileReport, Problem
from .._errors import show_pointer
from .._postgres._url import is_store_url

__all__ = ["report_json", "report_text", "use_colour"]

_RED, _YELLOW, _GREEN, _CYAN, _DIM, _BOLD, _RESET = (
    "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[36m", "\x1b[2m", "\x1b[1m", "\x1b[0m")
_SEVERITY_COLOUR = {ERROR: _RED, WARNING: _YELLOW, INFO: _CYAN}
_SEVERITY_LABEL = {ERROR: "", WARNING: " (warning)", INFO: " (note)"}
_POINTER_LIMIT = 80
# Keys and paths come from the checked files: a stray ESC must not drive the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def use_colour(mode: str, out: TextIO) -> bool:
    """``always``/``never``, or ``auto``: a terminal, ``NO_COLOR`` unset, ``TERM`` not dumb."""
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def report_json(reports: Sequence[FileReport], out: TextIO) -> None:
    """The report described by ``schemas/check-report.schema.json``."""
    document: dict[str, Any] = {
        "status": "ok" if all(r.ok for r in reports) else "fail",
        "summary": _summary(reports),
        "files": [r.to_dict() for r in reports],
    }
    utf8 = (getattr(out, "encoding", None) or "").lower().replace("-", "") == "utf8"
    out.write(json.dumps(document, indent=2, ensure_ascii=not utf8) + "\n")


def report_text(reports: Sequence[FileReport], out: TextIO, *, colour: bool, quiet: bool,
                verbose: bool) -> None:
    """Problems, one a line; fine files and notes with ``verbose``; a summary unless ``quiet``."""
    paint = _Paint(colour)
    for report in reports:
        shown = [p for p in report.problems
                 if p.severity != INFO or (verbose and not quiet)]
        if verbose and not quiet and report.ok:
            via = f"schema {report.schema}" if report.schema else "no schema"
            out.write(f"{paint(_GREEN, _clean(report.path))}: ok ({_clean(via)})\n")
        for problem in shown:
            out.write(_line(report.path, problem, paint) + "\n")
    if not quiet:
        out.write(_summary_line(reports, paint) + "\n")


def _line(path: str, p: Problem, paint: _Paint) -> str:
    where = f"{path}:{p.line}:{p.column}" if p.line is not None else p.file or path
    text = f"{paint(_BOLD, _clean(where))}: "
    text += paint(_SEVERITY_COLOUR[p.severity], p.kind + _SEVERITY_LABEL[p.severity])
    text += f": {_clean(p.message)}"
    details = []
    if p.pointer is not None:
        pointer = show_pointer(p.pointer)
        if len(pointer) > _POINTER_LIMIT:
            pointer = pointer[: _POINTER_LIMIT - 3] + "..."
        details.append(f"at {pointer}")
    if p.rule is not None:
        details.append(f"rule {p.rule!r} at {p.schema_path}")
    if details:
        text += paint(_DIM, f" ({_clean('; '.join(details))})")
    return text


def _summary(reports: Sequence[FileReport]) -> dict[str, int]:
    return {
        "files": len(reports),
        "ok": sum(r.ok for r in reports),
        "failed": sum(not r.ok for r in reports),
        "errors": sum(len(r.errors) for r in reports),
        "warnings": sum(len(r.warnings) for r in reports),
    }


def _summary_line(reports: Sequence[FileReport], paint: _Paint) -> str:
    s = _summary(reports)
    # A database document is not a file: "checked 1 document", or "2 targets" when mixed.
    kinds = {"document" if is_store_url(r.path) else "file" for r in reports}
    kind = kinds.pop() if len(kinds) == 1 else "target"
    files = f"{s['files']} {kind}{'' if s['files'] == 1 else 's'}"
    warnings = (f", {s['warnings']} warning{'' if s['warnings'] == 1 else 's'}"
                if s["warnings"] else "")
    if not s["failed"]:
        return paint(_GREEN, f"checked {files}: all ok") + warnings
    errors = f"{s['errors']} problem{'' if s['errors'] == 1 else 's'}"
    return paint(_RED, f"checked {files}: {s['failed']} failed, {s['ok']} ok; {errors}") + warnings


def _clean(text: str) -> str:
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text)


class _Paint:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.on else text
