"""resources: the up-front memory check (both numbers in one line), availability sources, formatting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from resnet_cli.errors import UserError
from resnet_cli.resources import available_memory_bytes, check_memory, format_bytes, format_duration


def test_the_refusal_gives_the_estimate_and_the_available_memory_in_one_line():
    with pytest.raises(UserError) as exc:
        check_memory(8 * 10**10, "--trials 10000000000", available=21 * 10**9)
    assert str(exc.value) == "--trials 10000000000: the arrays would need ~80 GB, this machine has 21 GB available"


def test_against_this_machine():
    available = available_memory_bytes()
    assert available is None or available > 0
    check_memory(1024, "--trials 1")  # fits anywhere
    if available is None:
        pytest.skip("this machine does not say how much memory it has")
    with pytest.raises(UserError) as exc:
        check_memory(available * 4, "--trials 1e12")
    text = str(exc.value)
    assert "\n" not in text and text.startswith("--trials 1e12: the arrays would need ~")
    assert text.endswith(f"this machine has {format_bytes(available)} available")


def test_an_address_space_limit_counts():
    """`ulimit -v 3000000` (kB): available memory is at most ~3 GB whatever the machine has."""
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 * 10**9, resource.RLIM_INFINITY))\n"
        "from resnet_cli.resources import available_memory_bytes\n"
        "print(available_memory_bytes())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert 0 <= int(out.stdout) <= 3 * 10**9


@pytest.mark.parametrize("n, text", [(0, "0 B"), (999, "999 B"), (1000, "1 kB"), (1500, "1.5 kB"),
                                     (80 * 10**9, "80 GB"), (21.4e9, "21 GB"), (999.7e6, "1 GB"),
                                     (2.25e12, "2.2 TB"), (12345678, "12 MB")])
def test_format_bytes(n, text):
    assert format_bytes(n) == text


@pytest.mark.parametrize("s, text", [(0.2, "<1 s"), (45, "45 s"), (60, "1 min"), (200, "3 min 20 s"),
                                     (3600 * 2 + 300, "2 h 05 min"), (86400 * 3 + 3600 * 4, "3 d 4 h"),
                                     (float("nan"), "unknown")])
def test_format_duration(s, text):
    assert format_duration(s) == text
