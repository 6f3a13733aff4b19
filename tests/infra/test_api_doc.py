"""docs/api.md runs: its examples of the Python API (one per paper), pasted into a script run by a fresh
interpreter (no `if __name__ == "__main__":` guard), print what the page shows (whitespace aside, as a doctest
with NORMALIZE_WHITESPACE compares) and raise the exceptions it shows."""

import doctest
import subprocess
import sys
import textwrap
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"

# The script a user would get by pasting the examples: each example runs as the REPL would run it (an
# expression's value echoed), its output compared with the one docs/api.md shows.
RUNNER = '''
import contextlib, io, sys
namespace = {}
def example(source, want, exc_msg):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            sys.displayhook = lambda value: value is None or print(repr(value))
            exec(compile(source, "docs/api.md", "single"), namespace)
    except Exception as exc:
        got = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
        assert exc_msg is not None and got.strip() == exc_msg.strip(), (source, got)
        return
    assert exc_msg is None, (source, "no exception")
    assert out.getvalue().split() == want.split(), (source, out.getvalue(), want)
'''


def _script(examples) -> str:
    calls = [f"example({e.source!r}, {e.want!r}, {e.exc_msg!r})" for e in examples]
    return textwrap.dedent(RUNNER) + "\n".join(calls) + "\nprint('all', len(%r), 'examples ran')\n" % calls


def test_api_examples_run_as_a_script_without_a_main_guard(tmp_path):
    examples = doctest.DocTestParser().get_examples(DOC.read_text(encoding="utf-8"))
    assert len(examples) >= 10
    script = tmp_path / "pasted.py"
    script.write_text(_script(examples), encoding="utf-8")
    assert "__main__" not in script.read_text()  # as pasted: no guard
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"all {len(examples)} examples ran"


def test_workers_from_an_unguarded_script_are_refused_with_a_clear_message(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text("from resnet_cli.api import run, SuccessSettings\n"
                      "run(SuccessSettings(k=[4], trials=2, jobs=2))\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError:") and 'if __name__ == "__main__":' in last and "jobs unset" in last
    assert "BrokenProcessPool" not in result.stderr and "bootstrapping" not in result.stderr
