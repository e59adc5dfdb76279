"""Dataset loaders: one module per annotation format, one interface for all.

Every loader is ``load_<format>(path, ...) -> list[Record]`` with hands in canonical joint order
(skeleton.HandJoint); images are not read at load time (Record.load() reads them). Bad input raises
:class:`AnnotationError` naming the file, the record and the field.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..sample import Record
from ._common import AnnotationError
from .hagrid import load_hagrid_mp

LOADERS: dict[str, Callable[..., list[Record]]] = {
    "hagrid_mp": load_hagrid_mp,
}


def load_dataset(format: str, path: str | Path, **kwargs) -> list[Record]:
    """Load ``path`` with the loader registered for ``format`` (a key of LOADERS)."""
    if format not in LOADERS:
        raise ValueError(f"unknown dataset format {format!r}; known: {sorted(LOADERS)}")
    return LOADERS[format](path, **kwargs)


__all__ = ["LOADERS", "AnnotationError", "load_dataset", "load_hagrid_mp"]
