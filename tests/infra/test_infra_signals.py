"""signals.handle_signals: SIGTERM → Terminated (143), SIGINT → KeyboardInterrupt (130), handlers restored."""

from __future__ import annotations

import signal
import threading

import pytest

from resnet_cli.signals import Terminated, exit_code_for, handle_signals


def test_sigterm_raises_terminated_with_exit_code_143():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as exc:
        with handle_signals():
            signal.raise_signal(signal.SIGTERM)
    assert exc.value.exit_code == 143 and exit_code_for(exc.value) == 143
    assert not isinstance(exc.value, Exception)  # `except Exception` clean-up cannot swallow it
    assert signal.getsignal(signal.SIGTERM) == before


def test_sigint_raises_keyboard_interrupt_even_over_another_handler():
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with pytest.raises(KeyboardInterrupt) as exc:
            with handle_signals():
                signal.raise_signal(signal.SIGINT)
        assert exit_code_for(exc.value) == 130
        assert seen == []
        signal.raise_signal(signal.SIGINT)  # the previous handler is back
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with handle_signals():
            signal.raise_signal(signal.SIGINT)  # `cmd &` from a script: Ctrl-C is not for us
    finally:
        signal.signal(signal.SIGINT, previous)


def test_other_exceptions_have_no_exit_code_and_threads_are_left_alone():
    assert exit_code_for(ValueError()) is None
    errors = []

    def worker():
        try:
            with handle_signals():
                pass
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert errors == []
