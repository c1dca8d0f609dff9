"""Reading, parsing and diffing new versions in a child process.

Parsing a 10 MB document takes a third of a second of CPU, and Python's parser holds the GIL
all that time: in the UI's process it would freeze key presses and painting at every commit.
So a child process (``python -m stateview.tui._childreader``, given a FILE or, for a database
document, a URL it reads with a :class:`~stateview.tui._store_source.StoreReader`) runs the
:class:`~stateview.tui._load.Reader` and sends back only what changed; this process rebuilds
the new version from the one on screen (:func:`~stateview.tui._diff.patched`, which copies only
the containers on the way to a change). The whole document crosses the pipe only for the first
version, and when a diff is too large to list.

Protocol: the parent writes one line per read request; the child answers each with an 8-byte
big-endian length and a pickle of a ``Loaded`` (``document`` is ``None`` when the changes say
it all), a ``Broken`` or ``None``. Both ends are this package, in the same Python.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import subprocess
import sys
import threading
from typing import IO, Any

from .._paths import StatePaths
from ._diff import diff, patched
from ._load import DIFF_LIMIT, Broken, Loaded, Reader, VersionReader

__all__ = ["ChildReader"]

log = logging.getLogger("stateview")

_TARGET = "STATEVIEW_READER_TARGET"
"""The environment variable that hands the child its file path or URL."""


class ChildReader:
    """:class:`Reader`'s ``read()``, done by a child process; thread-safe, one read at a time.

    If the child dies, another is started at the next read; its first version is diffed here
    against the one on screen, so the view patches rather than rebuilds. If no child can be
    started at all, reading goes on in this process (slower to the keys, but never blind).
    """

    def __init__(self, target: StatePaths | str, executable: str = sys.executable) -> None:
        """Read ``target``: a state file's paths, or a store URL."""
        self.target = target.given if isinstance(target, StatePaths) else target
        self.executable = executable
        self.document: Any = None
        """The last good version handed out (the one the UI shows or is about to)."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._local: VersionReader | None = None
        """The in-process reader, once the child has failed twice in a row."""
        self._lock = threading.Lock()

    def read(self) -> Loaded | Broken | None:
        """The file's new state, or ``None`` when its bytes did not change."""
        with self._lock:
            if self._local is not None:
                outcome = self._local.read()
            else:
                try:
                    outcome = self._ask()
                except (OSError, EOFError, pickle.UnpicklingError) as e:
                    log.warning("the reader process stopped (%s); starting another", e)
                    self._kill()
                    try:
                        outcome = self._ask()
                    except (OSError, EOFError, pickle.UnpicklingError) as again:
                        log.warning("no reader process (%s); reading in this one", again)
                        self._kill()
                        self._local = reader_for(self.target)
                        outcome = self._local.read()
            if isinstance(outcome, Loaded):
                outcome = self._complete(outcome)
                self.document = outcome.document
            return outcome

    def close(self) -> None:
        with self._lock:
            self._kill()

    def _complete(self, outcome: Loaded) -> Loaded:
        if outcome.document is None:
            return dataclasses.replace(outcome, document=patched(self.document,
                                                                 outcome.changes))
        if outcome.first and self.document is not None:
            # A new child: its first version is not the first one shown here.
            changes = diff(self.document, outcome.document, DIFF_LIMIT)
            return dataclasses.replace(outcome, changes=changes, first=False,
                                       complete=len(changes) < DIFF_LIMIT)
        return outcome

    def _ask(self) -> Loaded | Broken | None:
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"read\n")
        proc.stdin.flush()
        header = _read_exactly(proc.stdout, 8)
        result: Loaded | Broken | None = pickle.loads(
            _read_exactly(proc.stdout, int.from_bytes(header, "big")))
        return result

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is not None:
            self._kill()  # it died: close our ends of its pipes before the next one
        if self._proc is None:
            # The child imports the very package this process runs, wherever it came from.
            package_root = os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__))))
            path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH"))
                                   if p)
            # The target goes through the environment, not argv: a URL may hold a password,
            # and any user can read another's command line (ps), not its environment.
            self._proc = subprocess.Popen(
                [self.executable, "-m", "stateview.tui._childreader"],
                env={**os.environ, "PYTHONPATH": path, _TARGET: self.target},
                # Its stderr would scribble over the UI's screen; failures show up here as
                # a closed pipe instead.
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return self._proc

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        try:
            proc.wait(2)  # closing its stdin ends it
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the reader process closed its output")
    return data


def reader_for(target: str) -> VersionReader:
    """The reader of a state file's path or of a store URL."""
    from .._postgres import is_store_url

    if is_store_url(target):
        from ._store_source import StoreReader

        return StoreReader(target)
    return Reader(StatePaths.of(target))


def serve(target: str, requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child's loop: one read per request line, until the parent closes the pipe."""
    reader = reader_for(target)
    for _ in requests:
        outcome = reader.read()
        if isinstance(outcome, Loaded) and not outcome.first and outcome.complete:
            outcome = dataclasses.replace(outcome, document=None)
        data = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
        answers.write(len(data).to_bytes(8, "big") + data)
        answers.flush()


if __name__ == "__main__":
    serve(sys.argv[1] if len(sys.argv) > 1 else os.environ[_TARGET], sys.stdin.buffer,
          sys.stdout.buffer)
