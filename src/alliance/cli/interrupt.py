"""Ctrl-C (SIGINT) and SIGTERM end every command the same way.

While a command runs, both signals raise an exception where the program is (SIGTERM:
:class:`Terminated`, a :class:`KeyboardInterrupt`), so that every ``finally`` and context
manager on the way out runs: staged output folders are removed, worker processes stopped.
The signal is also recorded, because an exception raised inside a compiled kernel can reach
the caller wrapped in another one (numba: ``SystemError: CPUDispatcher(...) returned a result
with an exception set``); whatever ends a command after a signal is that signal. The exit
code is the shell's: 128 + the signal number (130 for SIGINT, 143 for SIGTERM). A second
signal while the first is being handled is recorded but does not interrupt the clean-up.

An exception raised in Python code that C calls back (a ctypes callback) is printed and
dropped, not propagated: a signal arriving while numba compiles, inside llvmlite's callbacks,
would be lost and the command would run to its end. There the signal is not raised but sent
again a moment later, when the program is back in ordinary Python code.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: Signals handled as an interruption.
SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Delay before a signal that arrived inside a C callback is sent again.
REDELIVERY_SECONDS = 0.1
#: Python code that C calls back while numba compiles; an exception raised there is dropped.
_CALLBACK_PACKAGES = ("llvmlite",)


def _inside_c_callback(frame: FrameType | None) -> bool:
    """Whether the interrupted Python code is a callback from C (see the module docstring)."""
    if frame is None:
        return False
    parts = os.path.normpath(frame.f_code.co_filename).split(os.sep)
    return any(package in parts for package in _CALLBACK_PACKAGES)


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
    redelivering = [False]

    def handler(signum: int, frame: FrameType | None) -> None:
        if redelivering[0]:
            redelivering[0] = False  # the first signal, sent again: not a second one
        else:
            received.append(signum)
            if len(received) > 1:
                return
        if _inside_c_callback(frame):
            redelivering[0] = True
            timer = threading.Timer(REDELIVERY_SECONDS, os.kill, (os.getpid(), signum))
            timer.daemon = True
            timer.start()
            return
        raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()

    previous = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)

