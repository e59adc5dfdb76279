"""The engine cache: one TensorRT engine per (model, precision, shapes, TensorRT version, GPU, DLA core).

A serialized engine only runs on the TensorRT version and the GPU architecture that built it, and TensorRT's
own error for a mismatch is a terse log line followed by ``None``. So every engine we write gets a JSON
sidecar (``<engine>.json``) recording the key it was built for and the SHA-256 of its bytes, and every engine we
load is checked against it first: a stale, foreign or damaged file is reported field by field instead of
crashing inside TensorRT.

Pure Python (no TensorRT, no CUDA): the key's fields are supplied by the caller (engines.build).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..fileio import atomic_write

SIDECAR_FORMAT = "handjoints-engine/1"
ENGINE_SUFFIX = ".engine"
SIDECAR_SUFFIX = ".json"
PRECISIONS = ("fp32", "fp16", "int8")


class EngineFileError(ValueError):
    """An engine file is missing its sidecar, damaged, or not one of ours."""


class EngineMismatchError(EngineFileError):
    """An engine was built for another key (model, precision, shapes, TensorRT version, GPU or DLA core).

    ``fields``: the names of the key fields that differ."""

    def __init__(self, message: str, fields: tuple[str, ...] = ()):
        super().__init__(message)
        self.fields = fields


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _normalize_shapes(shapes: Mapping[str, Any] | tuple) -> tuple:
    """{"crops": (min, opt, max)} or ((name, min, opt, max), ...) -> a sorted tuple of int tuples."""
    items = shapes.items() if isinstance(shapes, Mapping) else [(s[0], tuple(s[1:])) for s in shapes]
    out = []
    for name, triple in items:
        triple = tuple(triple)
        if len(triple) != 3:
            raise ValueError(f"shapes[{name!r}] must be (min, opt, max), got {triple!r}")
        mn, opt, mx = (tuple(int(d) for d in s) for s in triple)
        if not len(mn) == len(opt) == len(mx):
            raise ValueError(f"shapes[{name!r}]: min/opt/max have different ranks: {mn}, {opt}, {mx}")
        if not all(a <= b <= c for a, b, c in zip(mn, opt, mx)):
            raise ValueError(f"shapes[{name!r}]: need min <= opt <= max on every axis, got {mn}, {opt}, {mx}")
        out.append((str(name), mn, opt, mx))
    return tuple(sorted(out))


def _shapes_dict(shapes: tuple) -> dict:
    """Normalized shapes -> JSON-friendly {name: [[min], [opt], [max]]}."""
    return {name: [list(mn), list(opt), list(mx)] for name, mn, opt, mx in shapes}


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on.

    model_sha256: SHA-256 of the ONNX file parsed; precision: "fp32" | "fp16" | "int8";
    shapes: per input name, the optimisation profile (min, opt, max) shapes;
    trt_version: tensorrt.__version__ (engines are not portable across versions);
    compute_capability: "major.minor" of the GPU (engines are not portable across architectures);
    dla_core: the Jetson DLA core the engine targets, or None for the GPU.
    """

    model_sha256: str
    precision: str
    shapes: tuple = field(default=())
    trt_version: str = ""
    compute_capability: str = ""
    dla_core: int | None = None

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if len(self.model_sha256) != 64 or any(c not in "0123456789abcdef" for c in self.model_sha256):
            raise ValueError(f"model_sha256 must be 64 lower-case hex digits, got {self.model_sha256!r}")
        if self.dla_core is not None and (not isinstance(self.dla_core, int) or self.dla_core < 0):
            raise ValueError(f"dla_core must be None or an int >= 0, got {self.dla_core!r}")
        object.__setattr__(self, "shapes", _normalize_shapes(self.shapes))

    def shapes_digest(self) -> str:
        """8 hex digits standing for the profile shapes (they are too long for a file name)."""
        return hashlib.sha256(json.dumps(self.shapes).encode()).hexdigest()[:8]

    def file_name(self) -> str:
        """Stable, readable and unique per key, e.g. ``3fa1c2d4e5b6a7f8-fp16-sm87-trt10.3.0-gpu-1a2b3c4d.engine``."""
        device = "gpu" if self.dla_core is None else f"dla{self.dla_core}"
        cc = self.compute_capability.replace(".", "") or "any"
        trt = "".join(c if c.isalnum() or c in ".-" else "_" for c in self.trt_version) or "any"
        return f"{self.model_sha256[:16]}-{self.precision}-sm{cc}-trt{trt}-{device}-{self.shapes_digest()}" \
               f"{ENGINE_SUFFIX}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["shapes"] = _shapes_dict(self.shapes)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EngineKey":
        return cls(model_sha256=d["model_sha256"], precision=d["precision"], shapes=d.get("shapes", {}),
                   trt_version=d.get("trt_version", ""), compute_capability=d.get("compute_capability", ""),
                   dla_core=d.get("dla_core"))

    def differences(self, other: Mapping[str, Any] | "EngineKey") -> list[tuple[str, Any, Any]]:
        """(field, ours, theirs) for each field of `other` that differs; a Mapping may name only some fields."""
        theirs = other.to_dict() if isinstance(other, EngineKey) else dict(other)
        if "shapes" in theirs and not isinstance(other, EngineKey):
            theirs["shapes"] = _shapes_dict(_normalize_shapes(theirs["shapes"]))
        ours = self.to_dict()
        return [(k, ours[k], theirs[k]) for k in ours if k in theirs and ours[k] != theirs[k]]


def sidecar_path(engine_path: str | Path) -> Path:
    """``x.engine`` -> ``x.engine.json``."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + SIDECAR_SUFFIX)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` through a temp file and a rename (`fileio.atomic_write`): readers see the old engine or the
    whole new one, never a half-written file (builds take minutes; a crash must not leave debris)."""
    return atomic_write(path, bytes(data))


def _read_sidecar(engine_path: Path) -> dict:
    side = sidecar_path(engine_path)
    if not side.is_file():
        raise EngineFileError(
            f"{engine_path}: no sidecar {side.name} beside it, so nothing says which model, TensorRT version and "
            f"GPU built it. Pass the ONNX model instead (the engine is then built and cached), or rebuild it "
            f"with `handjoints build --model MODEL.onnx --output {engine_path}`")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EngineFileError(f"{side}: unreadable sidecar ({e}); delete both files to rebuild") from e
    if not isinstance(meta, dict) or meta.get("format") != SIDECAR_FORMAT or "key" not in meta:
        raise EngineFileError(f"{side}: not a handjoints engine sidecar (expected format {SIDECAR_FORMAT!r}, got "
                              f"{meta.get('format') if isinstance(meta, dict) else type(meta).__name__!r})")
    return meta


def _check_bytes(engine_path: Path, data: bytes, meta: dict) -> None:
    if not data:
        raise EngineFileError(f"{engine_path}: empty file (an interrupted copy?); delete it to rebuild")
    if meta.get("engine_bytes") != len(data) or meta.get("engine_sha256") != hashlib.sha256(data).hexdigest():
        raise EngineFileError(
            f"{engine_path}: damaged or replaced: {len(data)} bytes with SHA-256 "
            f"{hashlib.sha256(data).hexdigest()[:16]}..., the sidecar recorded {meta.get('engine_bytes')} bytes "
            f"with {str(meta.get('engine_sha256'))[:16]}...; delete both files to rebuild")


def _mismatch_message(engine_path: Path, diffs: list[tuple[str, Any, Any]], hint: str) -> str:
    why = {"trt_version": "engines only load on the TensorRT version that built them",
           "compute_capability": "engines only run on the GPU architecture that built them",
           "model_sha256": "the ONNX model changed since the engine was built",
           "precision": "", "shapes": "", "dla_core": ""}
    parts = [f"{name}: engine has {theirs!r}, expected {ours!r}" + (f" ({why[name]})" if why.get(name) else "")
             for name, ours, theirs in diffs]
    return f"{engine_path} was built for another configuration: " + "; ".join(parts) + f". {hint}"


def validate_engine_file(path: str | Path, expected: EngineKey | Mapping[str, Any] | None = None) -> dict:
    """Check a user-supplied engine file before TensorRT sees it; returns its sidecar (a dict).

    expected: an EngineKey (every field checked) or a mapping of the fields to check, typically
    {"trt_version": ..., "compute_capability": ...} when only the engine is at hand.
    Raises FileNotFoundError, EngineFileError (no sidecar, damaged, foreign) or EngineMismatchError."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"engine file {path} does not exist")
    meta = _read_sidecar(path)
    _check_bytes(path, path.read_bytes(), meta)
    if expected is not None:
        try:
            recorded = EngineKey.from_dict(meta["key"])
        except (KeyError, TypeError, ValueError) as e:
            raise EngineFileError(f"{sidecar_path(path)}: malformed key ({e}); delete both files to rebuild") from e
        wanted = expected.to_dict() if isinstance(expected, EngineKey) else {k: v for k, v in expected.items()
                                                                             if v is not None or k == "dla_core"}
        diffs = [(name, theirs, ours) for name, ours, theirs in recorded.differences(wanted)]
        if diffs:
            raise EngineMismatchError(_mismatch_message(
                path, diffs, "Rebuild it on this machine: `handjoints build --model MODEL.onnx` (or pass the ONNX "
                             "model to the detector, which builds and caches the engine)"),
                tuple(d[0] for d in diffs))
    return meta


def default_cache_dir() -> Path:
    """$HANDJOINTS_ENGINE_CACHE, else $XDG_CACHE_HOME/handjoints_trt/engines, else ~/.cache/handjoints_trt/engines."""
    env = os.environ.get("HANDJOINTS_ENGINE_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "handjoints_trt" / "engines"


class EngineCache:
    """A folder of engines named by :meth:`EngineKey.file_name`, each with a JSON sidecar."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder).expanduser() if folder is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"EngineCache({str(self.folder)!r})"

    def path_for(self, key: EngineKey) -> Path:
        return self.folder / key.file_name()

    def contains(self, key: EngineKey) -> bool:
        path = self.path_for(key)
        return path.is_file() and sidecar_path(path).is_file()

    def write(self, key: EngineKey, engine_bytes: bytes, metadata: Mapping[str, Any] | None = None) -> Path:
        """Store an engine and its sidecar; returns the engine's path.

        metadata: extra facts for the sidecar (builder options, build seconds, GPU name...). The engine is
        renamed into place before the sidecar, so a sidecar never vouches for bytes that are not there yet."""
        from .. import __version__

        if not engine_bytes:
            raise ValueError("refusing to cache an empty engine")
        path = self.path_for(key)
        meta = {
            "format": SIDECAR_FORMAT,
            "key": key.to_dict(),
            "engine_file": path.name,
            "engine_bytes": len(engine_bytes),
            "engine_sha256": hashlib.sha256(engine_bytes).hexdigest(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "handjoints_version": __version__,
        }
        meta.update({k: v for k, v in (metadata or {}).items() if k not in meta})
        atomic_write_bytes(path, bytes(engine_bytes))
        atomic_write_bytes(sidecar_path(path), (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode())
        return path

    def load(self, key: EngineKey) -> bytes:
        """The cached engine's bytes. Raises FileNotFoundError when absent, EngineFileError when damaged and
        EngineMismatchError when the sidecar records another key (callers rebuild on either)."""
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(f"no cached engine {path}")
        meta = _read_sidecar(path)
        data = path.read_bytes()
        _check_bytes(path, data, meta)
        recorded = meta["key"]
        diffs = key.differences(recorded) if isinstance(recorded, Mapping) else [("key", key.to_dict(), recorded)]
        if diffs:
            raise EngineMismatchError(_mismatch_message(
                path, [(n, ours, theirs) for n, ours, theirs in diffs],
                "It will be rebuilt (or delete it, or run `handjoints build` with the same options)"),
                tuple(d[0] for d in diffs))
        return data

    def remove(self, key: EngineKey) -> None:
        path = self.path_for(key)
        path.unlink(missing_ok=True)
        sidecar_path(path).unlink(missing_ok=True)

    def entries(self) -> list[dict]:
        """The sidecars of every cached engine (for `handjoints build --list` style tools)."""
        out = []
        for side in sorted(self.folder.glob("*" + ENGINE_SUFFIX + SIDECAR_SUFFIX)):
            try:
                out.append(json.loads(side.read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):
                continue
        return out
