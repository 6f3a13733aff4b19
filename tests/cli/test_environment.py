"""What the process inherits: a COLUMNS that is not a positive whole number is ignored (COLUMNS=0 made rich
print nothing and text wrapping raise), and a deleted current folder is a user error (it was an internal error
from multiprocessing's spawn or from resolving output paths)."""

from __future__ import annotations

import os
import subprocess
import sys


def _run(args, cwd, **env_extra):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **env_extra}
    env.pop("RESNET_CLI_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "resnet_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_columns_zero_or_garbage_is_ignored(tmp_path):
    wide = _run(["success-rate", "--trials", "20", "--k", "4", "--steps", "200", "--quiet"], tmp_path)
    for value in ("0", "-5", "abc"):
        r = _run(["success-rate", "--trials", "20", "--k", "4", "--steps", "200", "--quiet"], tmp_path, COLUMNS=value)
        assert r.returncode == 0 and r.stderr == "", (value, r.stderr)
        assert r.stdout == wide.stdout  # the width of no COLUMNS at all
    r = _run(["hessian", "--quiet"], tmp_path, COLUMNS="0")
    assert r.returncode == 0 and "cond10" in r.stdout  # (printed nothing before)


def test_a_deleted_current_folder_is_one_line_exit_2(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    # a child whose current folder is removed after it starts: start it there, remove, then let it run
    script = ("import os, sys, subprocess; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); "
              "sys.exit(subprocess.run([sys.executable, '-m', 'resnet_cli', 'depth-sweep', '--depth', '2,4', "
              "'--trials', '2']).returncode)")
    r = subprocess.run([sys.executable, "-c", script, str(gone)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == ["error: the current folder no longer exists: cd to one that does and run again"]


def test_a_huge_columns_is_cut_to_a_thousand(tmp_path):
    """COLUMNS=100000000 made --help pad every line to that width (a hang; 1e6 wrote 1 GB)."""
    r = _run(["--help"], tmp_path, COLUMNS="100000000")
    assert r.returncode == 0 and max(len(line) for line in r.stdout.splitlines()) <= 1000


def test_a_columns_of_non_ascii_digits_is_ignored(tmp_path):
    """'²'.isdigit() is True and int('²') raises: COLUMNS=² was an internal error."""
    r = _run(["--help"], tmp_path, COLUMNS="²")
    assert r.returncode == 0 and r.stderr == ""
