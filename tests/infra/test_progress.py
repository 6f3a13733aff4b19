"""The progress display labels its times: "elapsed" and "left", on a terminal (rich bar) and in logs."""

import io

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from resnet_cli.report import plain_progress, progress_times, times_column


def test_plain_lines_label_both_times():
    lines, now = [], [0.0]
    update = plain_progress("success rate", every=10.0, write=lines.append, clock=lambda: now[0])
    update(0, 4)  # the start, and during the first 10 s: nothing
    now[0] = 30.0
    update(1, 4)  # a quarter done after 30 s: 90 s left
    assert lines == ["success rate: 25% (30 s elapsed, ~1 min 30 s left)"]


def test_work_done_before_the_start_does_not_shorten_the_time_left():
    """A run resumed from --cache starts at 50 %: that half took no time here ("57% (2 s elapsed, ~1 s left)"
    for a run that went on for 15 s)."""
    lines, now = [], [0.0]
    update = plain_progress("success rate", every=10.0, write=lines.append, clock=lambda: now[0])
    update(2, 4)
    now[0] = 30.0
    update(3, 4)  # a quarter in 30 s: 30 s left, not 10 s
    assert lines == ["success rate: 75% (30 s elapsed, ~30 s left)"]


def test_the_rich_bar_labels_both_times():
    console = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    clock = [100.0]
    with Progress(TextColumn("{task.description}"), BarColumn(), times_column(), console=console,
                  auto_refresh=False, get_time=lambda: clock[0]) as progress:
        task = progress.add_task("hessian", total=1.0)
        for t, done in ((100.0, 0.0), (110.0, 0.25), (120.0, 0.5)):
            clock[0] = t
            progress.update(task, completed=done)
        rendered = Console(file=io.StringIO(), width=100, color_system=None)
        rendered.print(progress.get_renderable())
        text = rendered.file.getvalue()
    assert "20 s elapsed, ~20 s left" in text, text  # half done in 20 s at a steady rate
    assert progress_times(5, None) == "5 s elapsed"
