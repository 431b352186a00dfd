"""Atomic file writes: write to a temporary file in the target folder, then ``os.replace`` it; and safe reads.

A crash or an exception mid-write leaves the previous file (or nothing) in place, never half a file.
The file gets the mode an ordinary ``open`` would give it (0666 less the umask, e.g. 0644), not
``mkstemp``'s private 0600, so reports and kits stay readable once copied to a web server or shared folder.
``.npz`` files carry fixed zip timestamps, so the same arrays always give the same bytes (and SHA-256).
``torch_load`` reads tensors and plain values only (``weights_only=True``): no file ever runs code.
A write that fails because the disk or quota is full raises ``NoSpaceError`` naming the folder and the file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success it replaces ``path``."""
    if "r" in mode or "a" in mode:
        raise ValueError(f"atomic_open writes whole files; mode {mode!r} is not supported")
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if not isinstance(err, NoSpaceError) and _disk_full(err):  # a nested write's NoSpaceError names its file
            raise NoSpaceError(errno.ENOSPC, f"no space left on the device holding {path.parent} while writing "
                                             f"{path}") from err
        raise


class NoSpaceError(OSError):
    """A write failed because the disk (or the user's quota) is full; the message names the folder and the file."""


def _disk_full(err: BaseException) -> bool:
    """Whether ``err`` (or an error it arose from) is ENOSPC/EDQUOT, or torch's "unexpected pos" failed write."""
    if isinstance(err, RuntimeError) and "unexpected pos" in str(err):
        return True
    seen = err
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, racing other threads' writes)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numpy scalars and paths are converted)."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


class ArtefactError(ValueError):
    """A file the study reads (checkpoint, sample shard, cache) is damaged, unsafe to load, or not what its
    metadata says; the message names the file and what was expected."""


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Save arrays to an uncompressed ``.npz`` atomically (fast to read back, no pickles, byte-reproducible)."""
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(member, "w", force_zip64=True) as out:
                np.lib.format.write_array(out, np.asanyarray(array), allow_pickle=False)
    return Path(path)


class HashingWriter:
    """A write-only file wrapper that keeps the size and SHA-256 of the bytes written through it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.size, self._digest = handle, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        self.size += len(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def torch_save(path: str | os.PathLike, obj: Any) -> Path:
    import torch

    with atomic_open(path, "wb") as handle:
        torch.save(obj, handle)
    return Path(path)


def torch_load(path: str | os.PathLike, what: str, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """The dict saved at ``path`` read with ``weights_only=True`` (tensors and plain values, never code), checked
    to hold ``keys``; ``what`` names the file's kind in errors."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = next((line.strip() for line in str(err).splitlines() if "unsupported" in line.lower()), "")
        raise ArtefactError(f"{what} {path} is refused: it holds more than tensors and plain values (or is damaged), "
                            f"and unpickling it could run code{f' ({found})' if found else ''}") from None
    except (RuntimeError, OSError, EOFError, ValueError) as err:
        raise ArtefactError(f"{what} {path} cannot be read: it is truncated or damaged ({err})") from None
    missing = [key for key in keys if not isinstance(obj, dict) or key not in obj]
    if missing:
        raise ArtefactError(f"{what} {path} is not one: it lacks {', '.join(missing)}")
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
