"""Atomic file writes: the one way this package writes models, engines, caches, reports and checkpoints.

A reader (another process, or a user after a crash) sees either the old file or the whole new one, never half a
file: the data goes to a temporary file in the same folder (same filesystem, so the rename is atomic), is flushed
to disk, and is renamed over the target. ``tempfile.mkstemp`` creates files readable by their owner only; the
file is given the mode any new file gets under the process umask (usually 0644) before the rename, so an engine
cache or a model written by one user stays readable by the service account that runs the detector.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "atomic_write", "default_file_mode"]


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0o666 less the process umask."""
    umask = os.umask(0o022)  # os.umask only reads by writing; restored on the next line
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `path` for a writer that wants a file name (``onnx.save``, ``torch.save``).

    On a clean exit the temporary file is fsynced, given the default mode and renamed over `path`; on any
    exception it is removed and `path` is left as it was. `suffix` keeps tools that sniff extensions happy.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="." + path.name + ".", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write `data` (bytes, or text written as UTF-8) to `path` atomically; returns `path`."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)


def _fsync(path: Path) -> None:
    # the rename is atomic, but without this a power cut can leave the new name pointing at empty blocks
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
