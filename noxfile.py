"""The test suite on every Python the package supports: ``nox`` runs them all.

Each session installs the package with its test extra into a fresh virtualenv and runs the
README's test command, ``pytest -n 2``; arguments after ``--`` go to pytest
(``nox -s tests-3.12 -- -x tests/engine``). A Python this machine lacks is skipped, never
downloaded: ``nox`` lists the skipped sessions at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import nox

#: The versions the classifiers in pyproject.toml name: keep the two lists together.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

# The oldest nox checked here. It finds interpreters with python-discovery, which skips a pyenv
# shim it cannot run rather than failing on it, and it can be told never to download a Python.
nox.needs_version = ">=2026.8.17"
# nox makes a missing interpreter an error whenever CI is set; here it means "not on this
# machine", which a CI image without that version should report, not fail on.
nox.options.error_on_missing_interpreters = False
nox.options.download_python = "never"


def _pyenv_versions() -> list[str]:
    """The pyenv versions to activate: the current ones first, then one per PYTHONS entry.

    pyenv's shims run only the versions it has active, usually one, so a machine with every
    Python installed under pyenv would otherwise offer nox just that one. The current versions
    stay first so that ``python3`` keeps meaning what it did.
    """
    if shutil.which("pyenv") is None:
        return []

    def pyenv(*args: str) -> list[str]:
        out = subprocess.run(["pyenv", *args], capture_output=True, text=True, check=False)
        return out.stdout.split() if out.returncode == 0 else []

    current = [v for v in ":".join(pyenv("version-name")).split(":") if v]
    if not current:  # pyenv is broken here (a .python-version naming a missing version...)
        return []
    newest: dict[str, tuple[int, ...]] = {}
    for name in pyenv("versions", "--bare"):
        if m := re.fullmatch(r"(3\.\d+)\.(\d+)", name):
            release = tuple(int(part) for part in name.split("."))
            if m[1] in PYTHONS and release > newest.get(m[1], ()):
                newest[m[1]] = release
    extra = [".".join(map(str, r)) for r in newest.values()]
    return current + [v for v in extra if v not in current]


if versions := _pyenv_versions():
    os.environ["PYENV_VERSION"] = ":".join(versions)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The README's test command on one Python."""
    session.install("-e", ".[test]")
    session.run("pytest", "-n", "2", *session.posargs)
