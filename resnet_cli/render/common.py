"""Helpers shared by the table modules: the stdout console and number formatting."""

from __future__ import annotations

from resnet_cli.report import console, fmt, fmt_bound, rate_text  # noqa: F401  (re-exported: the one console and formatter)

WIDTH = 80  # every table must fit this many columns


def wrap_prose(text: str, width: int = WIDTH, indent: str = "") -> list[str]:
    """`text` in lines of at most `width` columns (continuations start with `indent`), never leaving one
    word alone on the last line: the lines are narrowed until the last one holds at least two words."""
    import textwrap

    words = text.split()
    if not words:
        return []
    for narrower in range(width, max(width // 2, len(indent) + 8), -1):
        lines = textwrap.wrap(text, narrower, subsequent_indent=indent, break_long_words=False,
                              break_on_hyphens=False)
        if len(lines) == 1 or len(lines[-1].split()) > 1:
            return lines
    return textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


def prose(text: str, style: str | None = None, indent: str = "  ") -> None:
    """Print a sentence wrapped to the console (at most WIDTH columns), no one-word last line (wrap_prose)."""
    for line in wrap_prose(text, min(WIDTH, console.width), indent):
        console.print(line, style=style, markup=False, highlight=False)


def tightest(lows: list[float], highs: list[float], m_digits: int = 3) -> str:
    """"tightest m = …‖a*‖², M = …‖a*‖²" of Theorem 1's output (1) over the runs checked, each printed on the
    side its bound lies (`fmt_bound`: M = 1 + 2e-13 is not "1"); "" where there are none."""
    if not (lows and highs):
        return ""
    return f"tightest m = {fmt_bound(min(lows), m_digits, False)}‖a*‖², M = {fmt_bound(max(highs), 3, True)}‖a*‖²"
