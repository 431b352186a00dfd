"""Exclusive locks on files (``fcntl.flock``): one writer per study folder, per results file, per runs folder.

The kernel releases a lock when its holder dies, however it dies, so a killed process never leaves a stale
lock; the holder's pid, start time and command are written into the lock file for the message others see.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator


class Locked(RuntimeError):
    """Another process holds the lock; the message names it (pid, since when, command)."""


@contextlib.contextmanager
def exclusive(path: str | os.PathLike, wait: bool = True, what: str = "") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` for the block. ``wait=False`` raises ``Locked`` naming the holder
    instead of waiting; ``what`` says in that message what the lock guards."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise Locked(f"{what or path} is in use by {_holder(path)}; wait for it to finish (or pass --wait "
                         "to queue behind it)") from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                                     "command": " ".join(sys.argv)[:300]}))
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"pid {info['pid']} (since {info['since']}: {info['command']})"
    except (OSError, ValueError, KeyError):
        return "another process"
