"""Shared fixtures of the test suite, organised by layer: tests/basic (data, spectra, eigensolvers),
tests/models (engines against oracles), tests/experiments (runs, seeds, batching), tests/plots (figures),
tests/cli (commands, flags, outputs, errors), tests/infra (spine, executor, outputs, layout rules).

`cli(*args)` runs `resnet-cli ARGS` in this process and returns (code, stdout, stderr);
`one_line_error(result)` asserts the shape of every user error: exit 2, one stderr line, no traceback.
"""

import contextlib
import io
import os
from dataclasses import dataclass

import pytest

# One BLAS thread: the tests run small matrices on a shared 2-core machine, where two threads only contend.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def _run_cli(*args, application=None) -> CliResult:
    from resnet_cli.cli import run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in args], application=application)
    return CliResult(code, out.getvalue(), err.getvalue())


def _one_line_error(result: CliResult, code: int = 2) -> str:
    assert result.code == code, (result.code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error:") or lines[0].startswith("internal error:"), lines[0]
    return lines[0]


@pytest.fixture
def cli():
    """`cli(*args)` -> CliResult(code, stdout, stderr) of `resnet-cli ARGS` run in-process."""
    return _run_cli


def _help_text(*command, application=None) -> str:
    """`resnet-cli COMMAND --help` on one wide line: panel borders dropped, whitespace collapsed, choices as
    click spells them (`[a|b]`), so a test can look for phrases that wrap at 80 columns."""
    import re

    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "400"
    try:
        result = _run_cli(*command, "--help", application=application)
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    assert result.code == 0, result.stderr
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stdout).split()).replace(" | ", "|")


@pytest.fixture
def help_text():
    """`help_text(*command)` -> the help of `resnet-cli COMMAND` flattened to one line (see `_help_text`)."""
    return _help_text


@pytest.fixture
def one_line_error():
    """`one_line_error(result)` asserts exit 2, exactly one stderr line, no traceback; returns the line."""
    return _one_line_error



@pytest.fixture(autouse=True)
def _no_outputs_of_earlier_tests():
    """Each test starts as a run does: no completed output yet (`outputs.written`, which a stop's line reports;
    `cli.run` forgets them when it begins, a test calling `edge.outcome` directly does not)."""
    from resnet_cli import outputs

    outputs.forget_written()
