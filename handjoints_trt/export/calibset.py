"""INT8 calibration sets: a JSON *manifest* of exactly which real inputs calibrate a model, and an ONNX Runtime
CalibrationDataReader that replays it through the runtime's own preprocessing (preprocess.py).

Manifest (format "handjoints-calibration-v1", one JSON object)::

    {"format": ..., "stage": "hand" | "localizer",
     "preprocess": {"function": "preprocess.crop_hands", "crop_size": 128, "scale": 1.5, "normalization": ...}
                 | {"function": "preprocess.letterbox", "input_size": [384, 384], "normalization": ...},
     "source": {"dataset": "hagrid_mp", "root": "/abs/root", "split": "train", "seed": 0, "count": 512,
                "annotations_sha256": ...},
     "entries": [{"file": "images/x.jpg", "sha256": ..., "hand": 0, "box": [x0, y0, x1, y1]}, ...]      (hand)
              | [{"generator": "ComposedFrames", "seed": 0, "index": 17, "hands": 2}, ...]               (localizer)
     "compose": {"config": {...ComposeConfig...}}                                                         (localizer)
    }

Hand entries are files (path relative to source.root, sha256 of the bytes) plus the ground-truth box (frame
pixels) handed to preprocess.crop_hands. Localizer entries are generated frames (data.compose.ComposedFrames
pasting train hands onto backgrounds): no file exists, so the entry is the generator seed + index, and the
manifest pins the paste sources by the annotations file's sha256 and the ComposeConfig. Loading verifies every
hash: a changed file raises :class:`ManifestError` naming it (calibrating on different pixels than the
manifest says would make the INT8 model unreproducible).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .. import preprocess
from ..fileio import atomic_write

MANIFEST_FORMAT = "handjoints-calibration-v1"
STAGES = ("hand", "localizer")
DEFAULT_HAND_COUNT = 512
DEFAULT_FRAME_COUNT = 128


class ManifestError(ValueError):
    """A calibration manifest is malformed or no longer matches the files it names."""


# ------------------------------------------------------------------------------------------------ hashing
def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_hash(manifest: dict) -> str:
    """Stable sha256 (hex, first 16 chars) of a manifest's canonical JSON: recorded in the INT8 model."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ building
def _pick(records: Sequence, count: int, seed: int) -> list[int]:
    """A seeded random subset (indices, sorted) of the records that have a hand."""
    usable = [i for i, r in enumerate(records) if r.hands]
    if not usable:
        raise ValueError("calibration: the records hold no labelled hand")
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(usable, size=min(count, len(usable)), replace=False))


def hand_manifest(records: Sequence, root: str | Path, crop_size: int, count: int = DEFAULT_HAND_COUNT,
                  seed: int = 0, source: dict | None = None) -> dict:
    """Manifest of ``count`` hand crops: a seeded subset of ``records`` (data.sample.Record, e.g.
    load_hagrid_mp(root, "train")), each cropped around its first hand's ground-truth box by
    preprocess.crop_hands at ``crop_size`` (the hand model's input side, pixels)."""
    if crop_size < 8:
        raise ValueError(f"crop_size must be the hand model's input side (>= 8 px), got {crop_size}")
    root = Path(root).resolve()
    entries = []
    for i in _pick(records, count, seed):
        record = records[i]
        path = Path(record.path).resolve()
        try:
            rel = str(path.relative_to(root))
        except ValueError as e:
            raise ValueError(f"calibration: {path} is not under root {root}") from e
        entries.append({"file": rel, "sha256": file_sha256(path), "hand": 0,
                        "box": [round(float(v), 4) for v in record.hands[0].box]})
    return {"format": MANIFEST_FORMAT, "stage": "hand",
            "preprocess": {"function": "preprocess.crop_hands", "crop_size": int(crop_size),
                           "scale": preprocess.CROP_SCALE, "normalization": preprocess.NORMALIZATION},
            "source": {"root": str(root), "seed": int(seed), "count": len(entries), **(source or {})},
            "entries": entries}


def localizer_manifest(input_size: tuple[int, int], annotations: str | Path, root: str | Path,
                       count: int = DEFAULT_FRAME_COUNT, seed: int = 0, compose_config=None,
                       source: dict | None = None, frames=None) -> dict:
    """Manifest of ``count`` composed frames (generator seed + index) letterboxed to ``input_size``
    (width, height). ``annotations`` is the file the paste sources were read from (its sha256 pins them);
    ``frames`` (optional) is the ComposedFrames, used only to record how many hands each frame holds."""
    from ..data.compose import ComposeConfig

    w, h = (int(v) for v in input_size)
    if w % 32 or h % 32 or w < 32 or h < 32:
        raise ValueError(f"input_size must be (width, height), multiples of 32, got {input_size!r}")
    cfg = compose_config or ComposeConfig()
    entries = [{"generator": "ComposedFrames", "seed": int(seed), "index": i,
                **({"hands": len(frames.frame(i).hands)} if frames is not None else {})} for i in range(count)]
    return {"format": MANIFEST_FORMAT, "stage": "localizer",
            "preprocess": {"function": "preprocess.letterbox", "input_size": [w, h],
                           "normalization": preprocess.NORMALIZATION},
            "source": {"root": str(Path(root).resolve()), "seed": int(seed), "count": count,
                       "annotations": str(Path(annotations).resolve()),
                       "annotations_sha256": file_sha256(annotations), **(source or {})},
            "compose": {"config": json.loads(json.dumps(asdict(cfg)))},
            "entries": entries}


def hagrid_manifest(stage: str, root: str | Path, input_size, count: int | None = None, seed: int = 0,
                    split: str = "train") -> dict:
    """The standard calibration set from hagrid_mp ``split``: ``input_size`` is the crop side (hand) or
    (width, height) (localizer)."""
    from ..data.loaders import load_hagrid_mp

    records = load_hagrid_mp(root, split)
    info = {"dataset": "hagrid_mp", "split": split}
    if stage == "hand":
        info["annotations_sha256"] = file_sha256(Path(root) / "annotations.json")
        return hand_manifest(records, root, int(input_size), count or DEFAULT_HAND_COUNT, seed, info)
    if stage == "localizer":
        from ..data.compose import ComposedFrames

        frames = ComposedFrames(records, seed=seed)
        return localizer_manifest(tuple(input_size), Path(root) / "annotations.json", root,
                                  count or DEFAULT_FRAME_COUNT, seed, source=info, frames=frames)
    raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")


def write_manifest(manifest: dict, path: str | Path) -> Path:
    """Write JSON atomically (temp file + rename: a crash never leaves half a manifest)."""
    return atomic_write(path, json.dumps(manifest, indent=1))


# ------------------------------------------------------------------------------------------------ loading
def _require(cond: bool, path, what: str) -> None:
    if not cond:
        raise ManifestError(f"{path}: {what}")


def load_manifest(path: str | Path, verify: bool = True, root: str | Path | None = None) -> dict:
    """Read and check a manifest; with ``verify`` re-hash every file it names (ManifestError on a change).
    ``root`` overrides source.root (the data moved). Returns the manifest dict."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ManifestError(f"{path}: cannot read calibration manifest ({e})") from e
    _require(isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT, path,
             f"not a calibration manifest (format must be {MANIFEST_FORMAT!r}; make one with "
             "calibration/make_calibration_set.py)")
    _require(manifest.get("stage") in STAGES, path, f"stage must be one of {STAGES}, got {manifest.get('stage')!r}")
    _require(isinstance(manifest.get("entries"), list) and manifest["entries"], path, "entries missing or empty")
    if root is not None:
        manifest["source"]["root"] = str(Path(root).resolve())
    if verify:
        verify_manifest(manifest, path)
    return manifest


def verify_manifest(manifest: dict, where: str | Path = "manifest") -> None:
    """Re-hash every file the manifest names; ManifestError naming the first that changed or vanished."""
    root = Path(manifest["source"]["root"])
    if manifest["stage"] == "localizer":
        ann = Path(manifest["source"]["annotations"])
        _check_hash(ann, manifest["source"]["annotations_sha256"], where, "annotations (paste sources)")
        return
    for i, entry in enumerate(manifest["entries"]):
        _check_hash(root / entry["file"], entry["sha256"], where, f"entries[{i}]")


def _check_hash(file: Path, expected: str, where, what: str) -> None:
    if not file.is_file():
        raise ManifestError(f"{where}: {what}: file {file} is missing")
    got = file_sha256(file)
    if got != expected:
        raise ManifestError(f"{where}: {what}: file {file} has changed since the manifest was made (sha256 "
                            f"{got[:12]}..., manifest says {expected[:12]}...); rebuild the manifest")


# ------------------------------------------------------------------------------------------------ inputs
def hand_inputs(manifest: dict) -> Iterator[np.ndarray]:
    """(1, 3, S, S) float32 model input per hand entry, made by preprocess.crop_hands (the runtime's path)."""
    import cv2

    p = manifest["preprocess"]
    root = Path(manifest["source"]["root"])
    for entry in manifest["entries"]:
        image = cv2.imread(str(root / entry["file"]), cv2.IMREAD_COLOR)
        if image is None:
            raise ManifestError(f"cannot read calibration image {root / entry['file']}")
        crops, _ = preprocess.crop_hands(image, np.asarray([entry["box"]]), int(p["crop_size"]), float(p["scale"]))
        yield crops


def compose_frames(manifest: dict):
    """The ComposedFrames generator a localizer manifest was made with."""
    from ..data.compose import ComposeConfig, ComposedFrames
    from ..data.loaders import load_hagrid_mp

    src = manifest["source"]
    cfg = dict(manifest["compose"]["config"])
    # JSON turned tuples into lists; ComposeConfig is frozen and expects tuples.
    cfg = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
           for k, v in cfg.items()}
    records = load_hagrid_mp(src["root"], src.get("split", "train"))
    return ComposedFrames(records, ComposeConfig(**cfg), seed=int(src["seed"]))


def localizer_inputs(manifest: dict, frames=None) -> Iterator[np.ndarray]:
    """(1, 3, H, W) float32 model input per localizer entry: the generated frame through preprocess.letterbox."""
    frames = frames if frames is not None else compose_frames(manifest)
    size = tuple(manifest["preprocess"]["input_size"])
    for entry in manifest["entries"]:
        x, _ = preprocess.letterbox(frames.frame(int(entry["index"])).image, size)
        yield x


def manifest_inputs(manifest: dict, frames=None) -> Iterator[np.ndarray]:
    """Model inputs of either stage, one (1, 3, H, W) array per entry, in manifest order."""
    return hand_inputs(manifest) if manifest["stage"] == "hand" else localizer_inputs(manifest, frames)


def check_manifest_matches(manifest: dict, metadata: dict, where: str = "model") -> None:
    """ManifestError when the manifest was made for another stage or input size than the model's metadata
    (handjoints.* props, prefix stripped: export.onnx_export.read_metadata)."""
    kind = metadata.get("kind")
    if kind and kind != manifest["stage"]:
        raise ManifestError(f"{where} is a {kind!r} model but the manifest calibrates the {manifest['stage']!r} "
                            "stage; make a manifest for this stage")
    size = metadata.get("input_size")
    if not size:
        return
    p = manifest["preprocess"]
    want = str(p["crop_size"]) if manifest["stage"] == "hand" else "x".join(str(v) for v in p["input_size"])
    if size != want:
        raise ManifestError(f"{where} takes input size {size} but the manifest's inputs are {want}; make the "
                            "manifest at the model's input size")


# ------------------------------------------------------------------------------------------------ reader
def _reader_base():
    from onnxruntime.quantization import CalibrationDataReader

    return CalibrationDataReader


class ManifestDataReader(_reader_base()):
    """onnxruntime.quantization CalibrationDataReader over a manifest: get_next() -> {input_name: batch}.

    batch_size: crops per batch (hand stage, B axis dynamic); the localizer's batch is fixed at 1.
    Inputs are made lazily (one batch in memory: calibrating on 512 crops must not hold 512 crops' activations).
    rewind() starts over; set_range() restricts to batches [start, end).
    """

    def __init__(self, manifest: dict, input_name: str, batch_size: int = 16, limit: int | None = None,
                 progress: bool = False) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.manifest = dict(manifest)
        if limit is not None:
            self.manifest["entries"] = manifest["entries"][:limit]
        self.input_name = input_name
        self.batch_size = 1 if manifest["stage"] == "localizer" else int(batch_size)
        self.progress = progress
        self._frames = compose_frames(self.manifest) if manifest["stage"] == "localizer" else None
        self.start, self.end = 0, len(self)
        self._iter: Iterator[dict] | None = None

    def __len__(self) -> int:
        """Number of batches."""
        return -(-len(self.manifest["entries"]) // self.batch_size)

    def batches(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
        """Batches [start, end) (b, 3, H, W) float32, in manifest order."""
        b = self.batch_size
        sub = dict(self.manifest, entries=self.manifest["entries"][start * b:None if end is None else end * b])
        buf = []
        for x in manifest_inputs(sub, self._frames):
            buf.append(x)
            if len(buf) == self.batch_size:
                yield np.concatenate(buf)
                buf = []
        if buf:
            yield np.concatenate(buf)

    def _generate(self) -> Iterator[dict]:
        batches = self.batches(self.start, self.end)
        if self.progress:
            from tqdm import tqdm

            batches = tqdm(batches, total=self.end - self.start, desc=f"calibrating ({self.manifest['stage']})",
                           unit="batch", leave=False)
        for x in batches:
            yield {self.input_name: x}

    def get_next(self) -> dict | None:
        if self._iter is None:
            self._iter = self._generate()
        return next(self._iter, None)

    def rewind(self) -> None:
        self._iter = None

    def set_range(self, start_index: int, end_index: int) -> None:
        """Restrict to batches [start_index, end_index) (ORT's CalibStridedMinMax protocol)."""
        self.start, self.end = int(start_index), min(int(end_index), len(self))
        self._iter = None
