"""The PostgreSQL tests' own helpers keep their deadlines."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from .helpers import read_until


def test_read_until_kills_a_child_that_stalls_without_a_word_and_fails():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('{\"n\": 1}', flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    try:
        with pytest.raises(AssertionError, match=r"did not get there in 0.5s: \[\{'n': 1\}\]"):
            read_until(child, lambda line: False, 0.5)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        child.kill()
        child.communicate()
