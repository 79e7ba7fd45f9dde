"""Ctrl-C (SIGINT) and SIGTERM end every command the same way.

While a command runs, both signals raise an exception where the program is (SIGTERM:
:class:`Terminated`, a :class:`KeyboardInterrupt`), so that every ``finally`` and context
manager on the way out runs: staged output folders are removed, worker processes stopped.
The signal is also recorded, because an exception raised inside a compiled kernel can reach
the caller wrapped in another one (numba: ``SystemError: CPUDispatcher(...) returned a result
with an exception set``); whatever ends a command after a signal is that signal. The exit
code is the shell's: 128 + the signal number (130 for SIGINT, 143 for SIGTERM). A second
signal while the first is being handled is recorded but does not interrupt the clean-up.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Signals handled as an interruption.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C."""


def exit_code(signum: int) -> int:
    """The shell's exit code of a process ended by ``signum``."""
    return 128 + signum


@contextmanager
def catching_signals() -> Iterator[list[int]]:
    """Within the block, SIGINT and SIGTERM raise; yields the list of signals received.

    Outside the main thread (where Python cannot install handlers) the block runs with the
    handlers as they are.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

