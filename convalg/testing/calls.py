"""Calling the target: a per-call timeout, and the user's own line when it raises.

>>> call_with_timeout(lambda: 1 + 1, 5.0)
2
>>> def broken():
...     return 1 / 0
>>> try:
...     call_with_timeout(broken, 5.0)
... except ZeroDivisionError as e:
...     "in broken: return 1 / 0" in user_frame(e)
True
"""

from __future__ import annotations

import queue
import sysconfig
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["TargetTimeout", "call_with_timeout", "user_frame"]

_HERE = str(Path(__file__).resolve().parent)
_LIBRARY_DIRS = tuple({str(Path(p).resolve()) for p in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                                                        sysconfig.get_paths()["platlib"])})


class TargetTimeout(Exception):
    """The target did not return within the per-call limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the target did not return within {seconds:g} s (the per-call timeout; "
                         f"--timeout / timeout= to change it)")
        self.seconds = seconds


class _Worker:
    """One long-lived daemon thread that runs the calls (starting a thread per call costs milliseconds)."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="convalg-check-target", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            fn, box, done = self.jobs.get()
            try:
                box["value"] = fn()
            except BaseException as e:  # noqa: BLE001 - handed back to the caller's thread
                box["error"] = e
            done.set()


_worker: _Worker | None = None
_lock = threading.Lock()


def call_with_timeout(fn: Callable[[], Any], seconds: float | None) -> Any:
    """``fn()`` run on the worker thread; :class:`TargetTimeout` if it has not returned after ``seconds``.

    A call that hangs keeps its (daemon) thread: Python cannot stop it, so the
    next call gets a fresh worker, and the harness reports the hang and ends
    the run instead of calling the target again.
    """
    global _worker
    if seconds is None:
        return fn()
    with _lock:
        if _worker is None:
            _worker = _Worker()
        worker = _worker
    box: dict[str, Any] = {}
    done = threading.Event()
    worker.jobs.put((fn, box, done))
    if not done.wait(seconds):
        with _lock:
            if _worker is worker:
                _worker = None  # abandoned with the hung call
        raise TargetTimeout(seconds)
    if "error" in box:
        raise box["error"]
    return box["value"]


def _ours(filename: str) -> bool:
    path = str(Path(filename).resolve()) if not filename.startswith("<") else filename
    return path.startswith(_HERE) or "threading.py" in path


def user_frame(error: BaseException) -> str:
    """``File "...", line N, in f: <source>`` for the innermost frame of the user's code in ``error``'s traceback.

    Frames of the harness, the standard library and installed packages are
    skipped (the user's file comes first); the innermost frame is the fallback.
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not _ours(f.filename)]
    if not frames:
        return ""
    own = [f for f in frames if f.filename.startswith("<") or not str(Path(f.filename).resolve()).startswith(
        _LIBRARY_DIRS)]
    f = (own or frames)[-1]
    line = (f.line or "").strip()
    return f'File "{f.filename}", line {f.lineno}, in {f.name}' + (f": {line}" if line else "")
