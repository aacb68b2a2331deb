"""SIGINT/SIGTERM as an exception, so that a command's `finally` stops the servers it started."""

from __future__ import annotations

import signal


class Stop(Exception):
    """The command was asked to stop (Ctrl-C or SIGTERM)."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop()


def stop_on_signals(*signals: signal.Signals) -> None:
    """Turn the given signals (default SIGTERM) into `Stop`."""
    for sig in signals or (signal.SIGTERM,):
        signal.signal(sig, _raise_stop)


def ignore_signals() -> None:
    """While stopping: a second Ctrl-C must not interrupt the clean-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
