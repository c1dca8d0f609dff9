"""Helpers shared by the ``stateview check`` tests: run the real command, read its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
REPORT_SCHEMA = json.loads((ROOT / "schemas" / "check-report.schema.json").read_text("utf-8"))
_validator = jsonschema.Draft202012Validator(
    REPORT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def run_check(*args: str, cwd: Path, stdin: bytes | None = None,
              env: dict[str, str] | None = None, timeout: float = 120
              ) -> subprocess.CompletedProcess[str]:
    """``python -m stateview check ARGS`` in ``cwd``; no output may hold a traceback."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "stateview", "check", *args], cwd=cwd, input=stdin,
        capture_output=True, env=full_env, timeout=timeout, check=False)
    result = subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"))
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def json_report(*args: str, cwd: Path, stdin: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """Run with ``-o json``; the report is checked against its published schema."""
    result = run_check(*args, "-o", "json", cwd=cwd, stdin=stdin)
    report = json.loads(result.stdout)
    _validator.validate(report)
    assert report["status"] == ("ok" if result.returncode == 0 else "fail")
    return result.returncode, report


def by_path(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in report["files"]}


def kinds(entry: dict[str, Any], key: str = "errors") -> list[str]:
    return [e["kind"] for e in entry[key]]
