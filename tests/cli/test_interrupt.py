"""A signal that lands in a C callback (numba compiling) still ends the command."""

from __future__ import annotations

import os
import signal
import time

import pytest

from alliance.cli.interrupt import Terminated, catching_signals

# a function whose code claims to live in llvmlite, as numba's compile callbacks do; an
# exception raised by a signal handler while it runs would be dropped by ctypes
_CALLBACK_SOURCE = '''
def callback(seconds):
    import os, signal, time
    os.kill(os.getpid(), signal.SIGTERM)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "finished"
'''


def _fake_callback():
    namespace: dict[str, object] = {}
    filename = os.path.join(os.sep, "site-packages", "llvmlite", "binding", "executionengine.py")
    exec(compile(_CALLBACK_SOURCE, filename, "exec"), namespace)
    return namespace["callback"]


def test_a_signal_inside_a_c_callback_is_raised_after_it():
    callback = _fake_callback()
    outcome = []
    with pytest.raises(Terminated), catching_signals() as received:
        outcome.append(callback(0.3))  # the signal arrives here but must not be raised here
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:  # the re-sent signal is raised in ordinary code
            time.sleep(0.01)
    assert outcome == ["finished"]
    assert received == [signal.SIGTERM]  # re-sending is not counted as a second signal


def test_a_signal_in_ordinary_code_is_raised_where_it_lands():
    with pytest.raises(KeyboardInterrupt), catching_signals() as received:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5.0)
    assert received == [signal.SIGINT]
