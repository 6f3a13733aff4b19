"""Run the CLI in-process and capture its streams (tests only)."""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, application=None) -> CliResult:
    """Invoke `resnet-cli ARGS...` in this process; returns exit code, stdout and stderr."""
    from resnet_cli.cli import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args], application=application)
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_one_line_error(result: CliResult) -> None:
    """Bad input: exit 2, exactly one line on stderr, no traceback, nothing on stdout."""
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error:"), lines[0]
