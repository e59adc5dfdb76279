"""FP32 ONNX -> Q/DQ INT8 ONNX (ONNX Runtime static quantization), a TensorRT 8.x calibration cache, and the
accuracy gate that refuses an INT8 model that lost accuracy.

Choices (measured on the 2-core AVX2 CPU this SDK is developed on):
- QuantFormat.QDQ, weights int8 per output channel, activations uint8 (asymmetric): with uint8 activations the
  CPU's u8s8 kernels ran ~1.9x faster than FP32; int8 activations barely gained.
- Only the convolutions and their neighbours are quantized (OP_TYPES). The output head (the last conv before
  each output, and everything after it: AOMR add, slices, sigmoids) stays float: quantizing it rounds the
  heatmaps onto 256 levels and moves the sub-pixel peaks (and the box sizes, which are exp(log size)).
- quant_pre_process(skip_symbolic_shape=True) first: the symbolic shape pass fails on these dynamic graphs.
- Calibration runs in chunks of batches (histograms merge across chunks) so 512 crops never hold all their
  activations in memory; the ranges it computes are kept to write the TensorRT cache from.

The TensorRT cache (:func:`write_trt_cache`) is for TensorRT 8.5's *implicit* quantization path only (an
IInt8EntropyCalibrator2 that reads the cache and never calibrates): TensorRT >= 10 builds the Q/DQ ONNX
explicitly and needs no cache.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import statistics
import struct
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..fileio import atomic_path, atomic_write
from .calibset import ManifestDataReader, check_manifest_matches, load_manifest, manifest_hash
from .gate_limits import HAND_FREE_COUNT, MAX_DROP_POINTS, MAX_HAND_FREE_RISE
from .onnx_export import META_PREFIX, read_metadata

OP_TYPES = ("Conv", "Add", "Mul", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Resize", "Concat")
METHODS = ("entropy", "percentile")
ON_FAIL = ("raise", "warn")
TRT_CACHE_VERSION = "8503"  # TensorRT 8.5.3, the implicit-quantization path this cache is for
TRT_CACHE_HEADER = "TRT-{version}-EntropyCalibration2"
CALIBRATION_CHUNK = 8   # batches per collect pass (bounds calibration memory)
DEFAULT_PERCENTILE = 99.999   # ORT's; the hand network needs a tighter one (see search_mixed_precision)
PERCENTILE_SWEEP = (99.0, 99.5, 99.8, 99.9, 99.99, 99.999)
# The gate: INT8 may lose at most MAX_DROP_POINTS points (x 0.01) of PCK@0.2 / recall (and of the localizer's
# precision), and raise stage II's mean joint confidence on hand-free crops by at most MAX_HAND_FREE_RISE (absolute,
# 0..1). A range too wide for the near-zero maps of a hand-free crop lifts every peak: session 34's aligned network at
# percentile 99.999 read drawn faces at 0.080 against FP32's 0.012, and detect() took 23 of 56 drawn faces for hands
# (FP32: 3), while its PCK on hands rose. PCK alone cannot see it.
HAND_FREE_SEEDS = {"search": 900, "gate": 910}   # hand-free crop seeds no training recipe uses
HAND_FREE_CHECK = "hand-free crops' confidence"
PRECISION_CHECK = "precision@0.5"


class Int8AccuracyError(RuntimeError):
    """The INT8 model lost more accuracy than the gate allows."""


class Int8AccuracyWarning(UserWarning):
    """Like Int8AccuracyError, for on_fail='warn'."""


@dataclass
class QuantizeResult:
    """What :func:`quantize_int8` wrote. ranges: {activation tensor: (min, max)} ORT calibrated;
    excluded: nodes kept in float; manifest_hash: of the calibration manifest."""

    path: Path
    ranges: dict
    excluded: list
    manifest_hash: str
    method: str
    trt_cache: Path | None = None
    calibration: object = None   # ORT TensorsData: pass back as quantize_int8(calibration=) to skip calibrating


# ------------------------------------------------------------------------------------------- graph helpers
def input_convs(model) -> list[str]:
    """The convolutions that read a graph input directly (the image): kept float by default, because
    quantizing the raw pixels to 8 bits before the first 5x5 conv cost the most accuracy of any single layer
    (hand lite: 2.4 points of PCK@0.2 with it quantized vs 1.1 without, same calibration)."""
    import onnx

    graph = (model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))).graph
    inputs = {i.name for i in graph.input}
    return [n.name for n in graph.node if n.op_type == "Conv" and n.input and n.input[0] in inputs]


def default_float_nodes(model) -> list[str]:
    """Nodes kept in float unless told otherwise: the output head and the convs that read the image."""
    return head_nodes(model) + [n for n in input_convs(model) if n not in head_nodes(model)]


def head_nodes(model) -> list[str]:
    """Names of the output head's nodes: walking back from every graph output, each node up to and including
    the first Conv on every path (the last head conv and the float decoding after it)."""
    import onnx

    graph = (model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))).graph
    producer = {o: n for n in graph.node for o in n.output}
    heads, seen = [], set()
    stack = [(o.name, True) for o in graph.output]   # (tensor, stop at a Conv)
    while stack:
        name, stop = stack.pop()
        node = producer.get(name)
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        heads.append(node.name)
        if node.op_type == "Conv" and stop:
            # A head conv's weights may be computed in the graph (AOMR: L times a learnt scale): those nodes
            # stay float too, all the way back, or the head's weights get quantized as activations.
            stack.extend((i, False) for i in node.input[1:] if i)
        else:
            stack.extend((i, stop) for i in node.input if i)
    return heads


def module_of_nodes(model) -> dict[str, str]:
    """{node name: PyTorch module path} for every node of an exported graph: a Conv belongs to the module of
    its weight ("msff.1.branches.0.0.0.0.conv1.0.weight" -> "msff.1.branches.0"); any other node to the module
    of its inputs' producers (a ReLU, Add or Resize to the conv before it), or, when they join several modules,
    to "<their common parent>.fusion" (the MSFF concat and attention product: "msff.1.fusion"). Lets a group of
    modules be kept float as a whole (:func:`quantize_int8` nodes_to_exclude)."""
    import onnx

    graph = (model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))).graph
    inits = {i.name for i in graph.initializer}
    producer_module: dict[str, str] = {}
    modules = {}
    for n in graph.node:   # ONNX graphs are topologically sorted
        module = ""
        if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in inits and "." in n.input[1]:
            module = _module_path(n.input[1])   # (a folded weight, like AOMR's L x scale, has no module name)
        if not module:
            module = _joining_module([producer_module[i] for i in n.input if i in producer_module])
        modules[n.name] = module
        for o in n.output:
            producer_module[o] = module
    return modules


def _joining_module(modules: list[str]) -> str:
    """The module of a node whose inputs come from ``modules`` (see :func:`module_of_nodes`)."""
    distinct = sorted(set(m for m in modules if m))
    if len(distinct) <= 1:
        return distinct[0] if distinct else ""
    split = [m.split(".") for m in distinct]
    common = []
    for parts in zip(*split):
        if len(set(parts)) > 1:
            break
        common.append(parts[0])
    return ".".join(common + ["fusion"])


def _module_path(weight: str) -> str:
    """'msff.1.branches.0.0.0.0.conv1.0.weight' -> 'msff.1.branches.0'; 'sshfr.3.0.weight' -> 'sshfr.3';
    'handoff.0.features_conv.weight' -> 'handoff.0'; 'msff.0.attention.f.0.weight' -> 'msff.0.attention'."""
    parts = weight.split(".")
    if parts[0] == "msff" and len(parts) > 3 and parts[2] == "branches":
        return ".".join(parts[:4])
    if parts[0] == "msff" and len(parts) > 2:
        return ".".join(parts[:3])
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def unshare_head_weights(model, heads: Sequence[str]) -> int:
    """Give the head nodes private copies of initializers they share with quantized nodes (the AOMR
    Laplacian is one buffer used by every MSFF): ORT quantizes a shared weight for all its consumers, which
    would quantize the excluded head too. Edits ``model`` in place; returns the number of copies made."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    head_set = set(heads)
    users: dict[str, set] = {}
    for n in graph.node:
        for i in n.input:
            if i in inits:
                users.setdefault(i, set()).add(n.name in head_set)
    shared = {name for name, kinds in users.items() if kinds == {True, False}}
    for name in shared:
        copy = graph.initializer.add()
        copy.CopyFrom(inits[name])
        copy.name = f"{name}__float_head"
    for n in graph.node:
        if n.name in head_set:
            for k, i in enumerate(n.input):
                if i in shared:
                    n.input[k] = f"{i}__float_head"
    return len(shared)


def _atomic_save(model, path: Path) -> None:
    """onnx.save to a temp file in the same folder, then rename: a crash never leaves a half model."""
    import onnx

    with atomic_path(path, ".onnx") as tmp:
        onnx.save(model, str(tmp))


def _set_metadata(model, metadata: dict) -> None:
    """Replace the model's metadata_props by ``metadata`` (full keys)."""
    del model.metadata_props[:]
    for k, v in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, str(v)


def quantized_activations(model) -> list[str]:
    """Tensors a Q/DQ model quantizes that are activations (QuantizeLinear inputs that are not weights)."""
    import onnx

    graph = (model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))).graph
    weights = {i.name for i in graph.initializer}
    names = []
    for n in graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] not in weights and n.input[0] not in names:
            names.append(n.input[0])
    return names


# ------------------------------------------------------------------------------------------- calibration
def _method(name: str):
    from onnxruntime.quantization import CalibrationMethod

    if name not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {name!r}")
    return CalibrationMethod.Entropy if name == "entropy" else CalibrationMethod.Percentile


def _collect(model_path: Path, reader: ManifestDataReader, method: str, op_types: Sequence[str], workdir: Path,
             progress: bool = True, chunk: int = CALIBRATION_CHUNK):
    """Run the calibration set through an ORT-augmented copy of the model; returns the ORT calibrator holding
    the collected histograms. Chunks of ``chunk`` batches bound memory; histograms merge across chunks."""
    from onnxruntime.quantization.calibrate import create_calibrator

    calibrator = create_calibrator(model_path, list(op_types), augmented_model_path=str(workdir / "augmented.onnx"),
                                   calibrate_method=_method(method), providers=["CPUExecutionProvider"])
    total = len(reader)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=f"calibrating {reader.manifest['stage']} ({method})", unit="batch")
    try:
        for start in range(0, total, chunk):
            reader.set_range(start, start + chunk)
            with contextlib.redirect_stdout(io.StringIO()):  # ORT prints a line per collect pass
                calibrator.collect_data(reader)
            if bar is not None:
                bar.update(min(chunk, total - start))
    finally:
        if bar is not None:
            bar.close()
    return calibrator


def _ranges(calibrator, percentile: float | None):
    """TensorsData of a filled calibrator; ``percentile`` (method 'percentile' only) re-reads the same
    histograms at another percentile, so a sweep costs one calibration pass."""
    if percentile is not None and hasattr(calibrator.collector, "percentile"):
        if not 0.0 < percentile <= 100.0:
            raise ValueError(f"percentile must be in (0, 100], got {percentile}")
        calibrator.collector.percentile = percentile
    with contextlib.redirect_stdout(io.StringIO()):
        return calibrator.compute_data()


def calibrate_ranges(model_path: Path, reader: ManifestDataReader, method: str, op_types: Sequence[str],
                     workdir: Path, progress: bool = True, chunk: int = CALIBRATION_CHUNK,
                     percentile: float = DEFAULT_PERCENTILE):
    """ORT's TensorsData ({tensor: (min, max)}) of ``model_path`` on the calibration set."""
    return _ranges(_collect(model_path, reader, method, op_types, workdir, progress, chunk), percentile)


def calibrate_percentiles(model: str | Path, manifest: dict, percentiles: Sequence[float], batch_size: int = 16,
                          limit: int | None = None, op_types: Sequence[str] = OP_TYPES,
                          progress: bool = True) -> dict:
    """{percentile: TensorsData} for ``model`` (FP32 ONNX) from one calibration pass: the ``calibration`` to
    give :func:`quantize_int8` for each candidate percentile."""
    import onnx
    from onnxruntime.quantization import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="handjoints-calib-") as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(model), str(pre), skip_symbolic_shape=True)
        input_name = onnx.load(str(pre)).graph.input[0].name
        reader = ManifestDataReader(manifest, input_name, batch_size, limit)
        calibrator = _collect(pre, reader, "percentile", op_types, Path(tmp), progress)
        return {float(p): _ranges(calibrator, float(p)) for p in percentiles}


def quantize_int8(model: str | Path, out: str | Path, manifest: str | Path | dict, method: str = "percentile",
                  batch_size: int = 16, limit: int | None = None, op_types: Sequence[str] = OP_TYPES,
                  nodes_to_exclude: Sequence[str] | None = None, trt_cache: str | Path | None = None,
                  trt_version: str = TRT_CACHE_VERSION, progress: bool = True,
                  calibration=None, percentile: float = DEFAULT_PERCENTILE) -> QuantizeResult:
    """Write a Q/DQ INT8 copy of the FP32 ONNX ``model`` to ``out``, calibrated on ``manifest`` (a path, which
    is hash-verified, or a loaded dict).

    method: 'entropy' or 'percentile' (the ``percentile``-th of each activation's histogram; 99.999 is ORT's
    default, the hand network kept accuracy only at ~99.5: outliers stretch the ranges of its residual sums).
    limit: use only the first ``limit`` manifest entries.
    nodes_to_exclude: nodes kept in float; None = :func:`default_float_nodes` (output head + image convs).
    method: percentile kept 1.1 points where entropy lost 2.4 on the hand lite model (600 val hands).
    trt_cache: also write a TensorRT 8.5 implicit-quantization cache there (:func:`write_trt_cache`).
    The dynamic axes of the FP32 model are kept; its handjoints metadata is copied and
    handjoints.precision=int8, handjoints.calibration_manifest=<hash>, handjoints.calibration_method added.
    calibration: the ``calibration`` of an earlier result on the same model and manifest, to try other
    ``nodes_to_exclude`` without calibrating again (a mixed-precision search quantizes dozens of times).
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quant_pre_process, quantize_static
    from onnxruntime.quantization.calibrate import save_tensors_data

    model, out = Path(model), Path(out)
    if not model.is_file():
        raise FileNotFoundError(f"FP32 model {model} does not exist")
    _method(method)
    if isinstance(manifest, dict):
        mf = manifest
    else:
        mf = load_manifest(manifest)
    meta = read_metadata(model)
    check_manifest_matches(mf, meta, str(model))
    fp32 = onnx.load(str(model))
    input_name = fp32.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="handjoints-int8-") as tmp:
        work = Path(tmp)
        pre = work / "pre.onnx"
        quant_pre_process(str(model), str(pre), skip_symbolic_shape=True)
        excluded = list(default_float_nodes(pre) if nodes_to_exclude is None else nodes_to_exclude)
        prepared = onnx.load(str(pre))
        if unshare_head_weights(prepared, excluded):
            onnx.save(prepared, str(pre))
        reader = ManifestDataReader(mf, input_name, batch_size, limit)
        ranges = calibration if calibration is not None else calibrate_ranges(pre, reader, method, op_types, work,
                                                                               progress, percentile=percentile)
        cache = work / "ranges.json"
        save_tensors_data(ranges, cache)
        qpath = work / "int8.onnx"
        with contextlib.redirect_stdout(io.StringIO()):
            quantize_static(str(pre), str(qpath), None, quant_format=QuantFormat.QDQ, op_types_to_quantize=list(op_types),
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            nodes_to_exclude=excluded, calibrate_method=_method(method), calibration_cache_path=cache)
        int8 = onnx.load(str(qpath))
    mhash = manifest_hash(mf)
    metadata = {p.key: p.value for p in fp32.metadata_props}
    metadata.update({META_PREFIX + "precision": "int8", META_PREFIX + "calibration_manifest": mhash,
                     META_PREFIX + "calibration_method": f"{method}:{percentile:g}" if method == "percentile" else method,
                     META_PREFIX + "float_nodes": str(len(excluded))})
    _set_metadata(int8, metadata)
    _keep_dynamic_axes(fp32, int8)
    onnx.checker.check_model(int8)
    _atomic_save(int8, out)
    lo_hi = {k: tuple(float(v) for v in np.ravel(t.range_value)[:2]) for k, t in ranges.items()}
    cache_path = None
    if trt_cache is not None:
        quantized = set(quantized_activations(int8))
        cache_path = write_trt_cache({k: v for k, v in lo_hi.items() if k in quantized}, trt_cache, trt_version)
    return QuantizeResult(out, lo_hi, excluded, mhash, method, cache_path, ranges)


def _keep_dynamic_axes(fp32, int8) -> None:
    """Shape inference during quantization may pin a dynamic input/output axis; put the FP32 dims back."""
    for src_list, dst_list in ((fp32.graph.input, int8.graph.input), (fp32.graph.output, int8.graph.output)):
        dst = {v.name: v for v in dst_list}
        for v in src_list:
            if v.name in dst:
                dst[v.name].type.CopyFrom(v.type)


# ------------------------------------------------------------------------------------------- TensorRT cache
def trt_scale(lo: float, hi: float) -> float:
    """TensorRT's symmetric int8 scale of a calibrated (min, max) range: amax / 127."""
    return max(abs(float(lo)), abs(float(hi)), 1e-8) / 127.0


def write_trt_cache(ranges: dict, path: str | Path, version: str = TRT_CACHE_VERSION) -> Path:
    """Write a classic TensorRT calibration cache (IInt8EntropyCalibrator2 text form) for the implicit-
    quantization path of TensorRT 8.5 only.

    Form: a header line ``TRT-8503-EntropyCalibration2``, then one line per activation tensor
    ``name: hhhhhhhh`` with the big-endian hex of the float32 scale amax / 127 (amax = max |min|, |max| of
    the range ORT calibrated). ranges: {tensor name: (min, max)}. Written atomically.
    """
    if not ranges:
        raise ValueError("write_trt_cache: no calibrated tensor ranges to write")
    path = Path(path)
    lines = [TRT_CACHE_HEADER.format(version=version)]
    lines += [f"{name}: {struct.pack('>f', trt_scale(*r)).hex()}" for name, r in ranges.items()]
    atomic_write(path, "\n".join(lines) + "\n")
    return path


def read_trt_cache(path: str | Path) -> tuple[str, dict[str, float]]:
    """(header, {tensor: scale}) of a cache written by :func:`write_trt_cache`."""
    lines = Path(path).read_text().splitlines()
    if not lines or not lines[0].startswith("TRT-") or not lines[0].endswith("Calibration2"):
        raise ValueError(f"{path}: not a TensorRT calibration cache (first line {lines[:1]})")
    scales = {}
    for i, line in enumerate(lines[1:], 2):
        name, sep, value = line.rpartition(": ")
        if not sep or len(value) != 8:
            raise ValueError(f"{path}:{i}: expected 'tensor: 8 hex digits', got {line!r}")
        scales[name] = struct.unpack(">f", bytes.fromhex(value))[0]
    return lines[0], scales


# ------------------------------------------------------------------------------------------- evaluation
def _session(path: str | Path, threads: int | None = None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def hand_val_set(records: Sequence, crop_size: int, limit: int | None = None):
    """Validation crops from ground-truth boxes through preprocess.crop_hands (the runtime's path).

    Returns crops (N, 3, S, S) float32, gt (N, 21, 2) crop pixels, visible (N, 21) bool."""
    from .. import preprocess

    crops, gts, vis = [], [], []
    for record in [r for r in records if r.hands][:limit]:
        sample = record.load()
        hand = sample.hands[0]
        x, m = preprocess.crop_hands(sample.image, hand.box[None], crop_size)
        crops.append(x)
        gts.append(preprocess.apply_affine(m[0], hand.keypoints))
        vis.append(hand.visible)
    if not crops:
        raise ValueError("hand_val_set: no record with a labelled hand")
    return np.concatenate(crops), np.stack(gts), np.stack(vis)


def hand_pck(model: str | Path, crops: np.ndarray, gt: np.ndarray, visible: np.ndarray, batch: int = 16,
             session=None):
    """PCK of a hand model on crops: decode_heatmaps -> crop pixels, scored by evaluation.PCKAccumulator
    (phi = the longer side of the visible GT joints' box, crop pixels). Returns evaluation.PCKResult."""
    from ..evaluation import PCKAccumulator
    from ..postprocess import decode_heatmaps, heatmap_to_crop

    sess = session or _session(model)
    name = sess.get_inputs()[0].name
    acc = PCKAccumulator()
    for i in range(0, len(crops), batch):
        hm = sess.run(None, {name: crops[i:i + batch]})[0]
        coords, _ = decode_heatmaps(hm)
        acc.add(heatmap_to_crop(coords, crops.shape[-1] / hm.shape[-1]), gt[i:i + batch], visible[i:i + batch])
    return acc.result()


def hand_free_crops(crop_size: int, count: int = HAND_FREE_COUNT, seed: int = HAND_FREE_SEEDS["gate"]) -> np.ndarray:
    """Hand-free crops through the runtime's crop path: drawn faces boxed as stage I boxes a face it takes for a
    hand (training.datasets.FaceCrops, ``seed``) and boxes on hand-free backgrounds (NegativeCrops, ``seed`` + 1),
    half each. Returns (count, 3, S, S) float32."""
    from .. import preprocess
    from ..training.datasets import FaceCrops, NegativeCrops, preprocess_box

    crops = []
    for source, n in ((FaceCrops(seed), count - count // 2), (NegativeCrops(seed + 1), count // 2)):
        for index in range(n):
            image, [(points, trainable)] = source.item(index)
            box = preprocess_box(points, trainable)[None]    # the box training crops these items on
            crops.append(preprocess.crop_hands(image, box, crop_size)[0])
    return np.concatenate(crops)


def hand_free_confidence(model: str | Path, crops: np.ndarray, batch: int = 16, session=None) -> float:
    """Mean over hand-free ``crops`` of the mean joint peak (decode_heatmaps' confidence, 0..1): how sure the hand
    model is of a hand that is not there, the figure stage II's vote with stage I reads."""
    from ..postprocess import decode_heatmaps

    sess = session or _session(model)
    name = sess.get_inputs()[0].name
    peaks = [decode_heatmaps(sess.run(None, {name: crops[i:i + batch]})[0])[1].mean(axis=1)
             for i in range(0, len(crops), batch)]
    return float(np.concatenate(peaks).mean())


def hand_free_check(fp32: str | Path, crop_size: int, count: int = HAND_FREE_COUNT,
                    seed: int = HAND_FREE_SEEDS["search"], max_rise: float = MAX_HAND_FREE_RISE):
    """admissible(path) -> bool for :func:`search_mixed_precision`: the quantized model at ``path`` is at most
    ``max_rise`` surer than ``fp32`` on ``count`` hand-free crops (:func:`hand_free_crops`, ``seed``)."""
    crops = hand_free_crops(crop_size, count, seed)
    reference = hand_free_confidence(fp32, crops)

    def admissible(path) -> bool:
        return hand_free_confidence(path, crops) - reference <= max_rise

    admissible.reason = f"surer than FP32 on hand-free crops by more than {max_rise:g}"
    return admissible


def localizer_val_set(frames, input_size: tuple[int, int], count: int, start: int = 0):
    """Composed frames [start, start + count) letterboxed: list of (1, 3, H, W) inputs and their GT boxes
    (M, 4) in model-input pixels."""
    from .. import preprocess

    inputs, boxes = [], []
    for i in range(start, start + count):
        sample = frames.frame(i)
        x, lb = preprocess.letterbox(sample.image, tuple(input_size))
        b = np.asarray([h.box for h in sample.hands], np.float64).reshape(-1, 2, 2)
        inputs.append(x)
        boxes.append((b * [lb.scale_x, lb.scale_y] + [lb.pad_x, lb.pad_y]).reshape(-1, 4))
    return inputs, boxes


def localizer_pr(model: str | Path, inputs: list, gt_boxes: list, iou: float = 0.5, session=None) -> dict:
    """Recall / precision at IoU ``iou`` of a localizer (decode_boxes + evaluation.detection_pr)."""
    from ..evaluation import detection_pr
    from ..postprocess import decode_boxes

    sess = session or _session(model)
    name = sess.get_inputs()[0].name
    preds, scores = [], []
    for x in inputs:
        c, s, o = sess.run(None, {name: x})
        b, sc = decode_boxes(c, s, o)
        preds.append(b)
        scores.append(sc)
    return detection_pr(preds, scores, gt_boxes, iou)


def time_models(paths: Sequence[str | Path], feed: np.ndarray, runs: int = 50, warmup: int = 5,
                threads: int | None = None) -> list[float]:
    """Median latency (ms) of each model on the same input, same session options, in one process.
    Runs interleave round-robin so that a load change on the machine hits every model alike."""
    sessions = [_session(p, threads) for p in paths]
    names = [s.get_inputs()[0].name for s in sessions]
    for s, n in zip(sessions, names):
        for _ in range(warmup):
            s.run(None, {n: feed})
    times = [[] for _ in sessions]
    for _ in range(runs):
        for k, (s, n) in enumerate(zip(sessions, names)):
            t = time.perf_counter()
            s.run(None, {n: feed})
            times[k].append((time.perf_counter() - t) * 1e3)
    return [statistics.median(t) for t in times]


# ------------------------------------------------------------------------------------------- the gate
@dataclass
class SideCheck:
    """A figure beside the gate's metric that INT8 may worsen by at most ``limit`` (in the figure's own units):
    FP32's and INT8's values, and which way is worse (``higher_is_worse``: a hand-free crop's confidence;
    otherwise lower is worse: precision). loss = how much worse INT8 is (negative: better)."""

    name: str
    fp32: float
    int8: float
    limit: float
    higher_is_worse: bool = False

    @property
    def loss(self) -> float:
        return self.int8 - self.fp32 if self.higher_is_worse else self.fp32 - self.int8

    @property
    def passed(self) -> bool:
        return not self.loss > self.limit    # NaN (not measured) passes

    def summary(self) -> str:
        return (f"{self.name} FP32 {self.fp32:.3f} INT8 {self.int8:.3f} (worse by {self.loss:+.3f}, "
                f"limit {self.limit:g})")


# Why a side check fails, and what to do: the gate's message.
SIDE_CHECK_HINTS = {
    HAND_FREE_CHECK: "the INT8 model is surer of hands on hand-free crops (drawn faces, backgrounds) than FP32: a "
                     "calibration range too wide for near-empty heatmaps lifts every peak, and detect() then takes "
                     "faces for hands; calibrate with a lower --percentile, or use --search",
    PRECISION_CHECK: "the INT8 localizer proposes more false boxes than FP32; calibrate with another --percentile, "
                     "use --search, or keep more of the network float (--keep-float)",
}


@dataclass
class GateReport:
    """FP32 vs INT8 on a validation set. metric: 'pck@0.2' (hand) or 'recall@0.5' (localizer), 0..1;
    drop_points = (fp32 - int8) * 100; ms: median ORT CPU latency; speedup = fp32_ms / int8_ms; checks: the
    :class:`SideCheck` figures INT8 must also keep (hand-free confidence, precision), each within its limit."""

    stage: str
    metric: str
    fp32: float
    int8: float
    max_drop_points: float
    count: int
    fp32_ms: float = float("nan")
    int8_ms: float = float("nan")
    extra: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)

    @property
    def drop_points(self) -> float:
        return (self.fp32 - self.int8) * 100.0

    @property
    def failed_checks(self) -> list:
        return [c for c in self.checks if not c.passed]

    @property
    def passed(self) -> bool:
        return bool(self.drop_points <= self.max_drop_points and not self.failed_checks)

    @property
    def speedup(self) -> float:
        return self.fp32_ms / self.int8_ms

    def to_dict(self) -> dict:
        checks = [{**asdict(c), "loss": c.loss, "passed": c.passed} for c in self.checks]
        return {**asdict(self), "checks": checks, "drop_points": self.drop_points, "passed": self.passed,
                "speedup": self.speedup}

    def summary(self) -> str:
        return (f"{self.stage}: {self.metric} FP32 {self.fp32:.4f} INT8 {self.int8:.4f} (drop {self.drop_points:+.2f} "
                f"points, limit {self.max_drop_points:g}) on {self.count}; ORT CPU {self.fp32_ms:.2f} ms vs "
                f"{self.int8_ms:.2f} ms = {self.speedup:.2f}x" + "".join(f"; {c.summary()}" for c in self.checks))


def apply_gate(report: GateReport, on_fail: str = "raise") -> GateReport:
    """Raise Int8AccuracyError (on_fail='raise') or warn loudly (Int8AccuracyWarning, 'warn') when the INT8
    model lost more than report.max_drop_points; returns the report when it passed (or warned)."""
    if on_fail not in ON_FAIL:
        raise ValueError(f"on_fail must be one of {ON_FAIL}, got {on_fail!r}")
    if not np.isfinite(report.fp32) or not np.isfinite(report.int8):
        message = (f"INT8 ACCURACY GATE FAILED: {report.metric} is undefined (no ground truth in the validation "
                   f"set, or no FP32 detection to compare with?): {report.summary()}")
    elif report.passed:
        return report
    else:
        reasons = [f"{c.name}: {SIDE_CHECK_HINTS.get(c.name, 'INT8 is worse than FP32 beyond the limit')}"
                   for c in report.failed_checks]
        if report.drop_points > report.max_drop_points:
            reasons.insert(0, f"the INT8 model is worse than FP32 by more than {report.max_drop_points:g} point(s); "
                              f"calibrate on more / more representative data, try --method percentile, or exclude "
                              f"more nodes from quantization")
        message = f"INT8 ACCURACY GATE FAILED: {report.summary()}. " + "; ".join(reasons) + "."
    if on_fail == "raise":
        raise Int8AccuracyError(message)
    warnings.warn(message, Int8AccuracyWarning, stacklevel=2)
    return report


REFERENCES = ("labels", "fp32")


def _reference_joints(fp32: str | Path, crops: np.ndarray, batch: int = 16) -> np.ndarray:
    """The FP32 model's own decoded joints, crop pixels (N, 21, 2): the reference of reference='fp32'."""
    from ..postprocess import decode_heatmaps, heatmap_to_crop

    sess = _session(fp32)
    name = sess.get_inputs()[0].name
    out = []
    for i in range(0, len(crops), batch):
        hm = sess.run(None, {name: crops[i:i + batch]})[0]
        out.append(heatmap_to_crop(decode_heatmaps(hm)[0], crops.shape[-1] / hm.shape[-1]))
    return np.concatenate(out)


def gate_hand(fp32: str | Path, int8: str | Path, records: Sequence, limit: int | None = 256,
              max_drop_points: float = MAX_DROP_POINTS, on_fail: str = "raise", runs: int = 50,
              sigma: float = 0.2, reference: str = "labels", hand_free: int = HAND_FREE_COUNT,
              max_hand_free_rise: float = MAX_HAND_FREE_RISE) -> GateReport:
    """The gate for the hand stage on validation ``records`` (e.g. load_hagrid_mp(root, 'val')): PCK@sigma of
    both models on ground-truth-box crops, their mean joint confidence on ``hand_free`` hand-free crops
    (:func:`hand_free_crops`; INT8 may rise by at most ``max_hand_free_rise``; 0 crops: not checked), and their
    speed on a batch of one crop.

    reference: 'labels' scores against the ground truth; 'fp32' against the FP32 model's own joints (FP32
    then scores 1.0 and the INT8 number is the agreement: the only meaningful accuracy of an untrained net).
    """
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    size = int(read_metadata(fp32).get("input_size", 0)) or int(_session(fp32).get_inputs()[0].shape[2])
    crops, gt, vis = hand_val_set(records, size, limit)
    if reference == "fp32":
        gt, vis = _reference_joints(fp32, crops), np.ones(gt.shape[:2], bool)
    values = []
    for path in (fp32, int8):
        res = hand_pck(path, crops, gt, vis)
        values.append(float(np.interp(sigma, res.curve_sigmas, res.curve_pck)))
    ms = time_models([fp32, int8], crops[:1], runs) if runs else [float("nan")] * 2
    checks = []
    if hand_free > 0:
        negatives = hand_free_crops(size, hand_free)
        checks.append(SideCheck(HAND_FREE_CHECK, *(hand_free_confidence(p, negatives) for p in (fp32, int8)),
                                max_hand_free_rise, higher_is_worse=True))
    report = GateReport("hand", f"pck@{sigma:g}", values[0], values[1], max_drop_points, len(crops), ms[0], ms[1],
                        extra={"reference": reference, "hand_free_crops": hand_free}, checks=checks)
    return apply_gate(report, on_fail)


def gate_localizer(fp32: str | Path, int8: str | Path, frames, count: int = 64, start: int = 0,
                   max_drop_points: float = MAX_DROP_POINTS, on_fail: str = "raise", runs: int = 50,
                   reference: str = "labels", max_precision_drop_points: float = MAX_DROP_POINTS) -> GateReport:
    """The gate for the localizer on ``count`` composed frames (e.g. ComposedFrames of the val split): recall
    at IoU 0.5 of both models, their precision (INT8 may lose at most ``max_precision_drop_points``: more false
    boxes), and their speed on one frame at the model's input size.
    reference: 'labels' (ground-truth boxes) or 'fp32' (the FP32 model's own boxes)."""
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    w, h = (int(v) for v in read_metadata(fp32)["input_size"].split("x"))
    inputs, boxes = localizer_val_set(frames, (w, h), count, start)
    if reference == "fp32":
        from ..postprocess import decode_boxes

        sess = _session(fp32)
        boxes = [decode_boxes(*sess.run(None, {sess.get_inputs()[0].name: x}))[0] for x in inputs]
    prs = [localizer_pr(p, inputs, boxes) for p in (fp32, int8)]
    ms = time_models([fp32, int8], inputs[0], runs) if runs else [float("nan")] * 2
    precision = SideCheck(PRECISION_CHECK, float(prs[0]["precision"]), float(prs[1]["precision"]),
                          max_precision_drop_points / 100.0)
    report = GateReport("localizer", "recall@0.5", float(prs[0]["recall"]), float(prs[1]["recall"]),
                        max_drop_points, len(inputs), ms[0], ms[1], extra={"reference": reference},
                        checks=[precision])
    return apply_gate(report, on_fail)


def write_report(report: GateReport, path: str | Path) -> Path:
    """The gate report as JSON (atomic)."""
    return atomic_write(path, json.dumps(report.to_dict(), indent=1, default=float))


# ------------------------------------------------------------------------------------------- mixed precision
@dataclass
class MixedPrecisionStep:
    """One model tried by :func:`search_mixed_precision`: ``float_modules`` kept float (besides the defaults),
    its metric on the search set (0..1) and drop_points = (fp32 - metric) * 100."""

    float_modules: list
    metric: float
    drop_points: float


@dataclass
class MixedPrecisionResult:
    """What :func:`search_mixed_precision` chose. percentile: the calibration percentile (None for entropy);
    percentile_drops: {percentile: drop_points, everything quantized}; sensitivity: {module group: drop_points
    with only it kept float} (empty when the percentile alone passed); steps: the greedy path; float_modules:
    the groups to keep float (all those tried when none passed: ``passed`` False); fp32: FP32 on the search set;
    refused: the percentiles whose model the search's ``admissible`` check refused (never chosen while one passes).
    """

    fp32: float
    percentile: float | None
    percentile_drops: dict
    sensitivity: dict
    steps: list
    float_modules: list
    passed: bool
    max_drop_points: float
    count: int = 0
    refused: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def module_groups(model) -> dict[str, list[str]]:
    """{module group: its node names} for a mixed-precision search: :func:`module_of_nodes`, with a fusion
    and the concat that feeds it one group ("msff.1.branches.fusion" and "msff.1.fusion" -> "msff.1.fusion")."""
    groups: dict[str, list[str]] = {}
    for node, module in module_of_nodes(model).items():
        if module.endswith(".fusion"):
            module = module.replace(".branches.fusion", ".fusion")
        groups.setdefault(module, []).append(node)
    return groups


def search_mixed_precision(model: str | Path, manifest: dict, evaluate, max_drop_points: float = MAX_DROP_POINTS,
                           method: str = "percentile", percentiles: Sequence[float] = PERCENTILE_SWEEP,
                           candidates: Sequence[str] | None = None, progress: bool = True,
                           admissible=None) -> MixedPrecisionResult:
    """The calibration and the float modules with which INT8 loses at most ``max_drop_points``.

    ``evaluate(path) -> metric 0..1`` (higher is better) scores a model on the caller's search set, which must
    not be the gate's validation set. (1) method 'percentile': one calibration pass, then each of
    ``percentiles`` (the outliers of residual sums make the default 99.999 too wide for the hand network); the
    best is kept. (2) Only if that still fails: sensitivity (each module group kept float alone, everything else
    quantized) and greedy (keep the groups float in order of their recovery until the drop is within the limit).
    ``admissible(path) -> bool`` (e.g. :func:`hand_free_check`): a percentile whose model it refuses is not chosen
    while another is admitted (if none is, the best is kept and ``passed`` is False).
    ``candidates``: the groups to consider (default: every group of :func:`module_groups` holding a quantized
    node). Costs one quantization + one evaluation per percentile, per group and per greedy step.
    """
    model = Path(model)
    fp32 = float(evaluate(model))
    groups = module_groups(model)
    defaults = set(default_float_nodes(model))
    names = list(candidates) if candidates is not None else [g for g, nodes in groups.items()
                                                              if g and not set(nodes) <= defaults]
    unknown = [g for g in names if g not in groups]
    if unknown:
        raise ValueError(f"unknown module group(s) {unknown}; the model has {sorted(groups)}")
    with tempfile.TemporaryDirectory(prefix="handjoints-mixed-") as tmp:
        out = Path(tmp) / "int8.onnx"

        def score(float_modules: Sequence[str], calibration, percentile) -> tuple[float, object]:
            exclude = sorted(defaults.union(*(groups[g] for g in float_modules)))
            res = quantize_int8(model, out, manifest, method, nodes_to_exclude=exclude, progress=False,
                                calibration=calibration, percentile=percentile or DEFAULT_PERCENTILE)
            return float(evaluate(out)), res.calibration

        if method == "percentile":
            calibrations = calibrate_percentiles(model, manifest, percentiles, progress=progress)
        else:
            calibrations = {None: score([], None, None)[1]}
        drops, refused = {}, []
        for p, cal in calibrations.items():
            drops[p] = (fp32 - score([], cal, p)[0]) * 100
            ok = admissible is None or bool(admissible(out))    # checked on the percentiles only: they are chosen
            refused += [] if ok else [p]
            if progress:
                print(f"  calibration {method} {p if p is not None else ''}: drop {drops[p]:+.2f} points"
                      + ("" if ok else f" (refused: {getattr(admissible, 'reason', 'not admissible')})"))
        eligible = [p for p in drops if p not in refused] or list(drops)
        best = min(eligible, key=drops.get)
        calibration = calibrations[best]
        steps = [MixedPrecisionStep([], fp32 - drops[best] / 100, drops[best])]
        sensitivity, chosen = {}, []
        if drops[best] > max_drop_points:
            bar = _bar(progress, len(names), "sensitivity")
            for g in names:
                sensitivity[g] = (fp32 - score([g], calibration, best)[0]) * 100
                bar.update(1)
            bar.close()
            for g in sorted(names, key=sensitivity.get):
                if steps[-1].drop_points <= max_drop_points:
                    break
                chosen.append(g)
                metric = score(chosen, calibration, best)[0]
                steps.append(MixedPrecisionStep(list(chosen), metric, (fp32 - metric) * 100))
                if progress:
                    print(f"  float {len(chosen):2d} group(s), +{g}: drop {steps[-1].drop_points:+.2f} points")
    passed = steps[-1].drop_points <= max_drop_points and best not in refused
    return MixedPrecisionResult(fp32, best, drops, sensitivity, steps, chosen, passed, max_drop_points,
                                getattr(evaluate, "count", 0), refused)


def _bar(enabled: bool, total: int, desc: str):
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="group")

    class _Null:
        def update(self, n):
            pass

        def close(self):
            pass

    return _Null()


def nodes_of_modules(model, float_modules: Sequence[str]) -> list[str]:
    """The default float nodes plus every node of the given module groups (:func:`module_groups`), as
    quantize_int8's nodes_to_exclude. Raises ValueError naming an unknown group."""
    groups = module_groups(model)
    unknown = [g for g in float_modules if g not in groups]
    if unknown:
        raise ValueError(f"unknown module group(s) {unknown}; the model has {sorted(g for g in groups if g)}")
    return sorted(set(default_float_nodes(model)).union(*(groups[g] for g in float_modules)))


def hand_evaluator(records: Sequence, crop_size: int, limit: int | None = 400, sigma: float = 0.2):
    """evaluate(path) -> PCK@sigma against the labels of ``records``' ground-truth-box crops: the metric of
    :func:`search_mixed_precision` for the hand stage (give it other records than the gate's)."""
    crops, gt, vis = hand_val_set(records, crop_size, limit)

    def evaluate(path) -> float:
        res = hand_pck(path, crops, gt, vis)
        return float(np.interp(sigma, res.curve_sigmas, res.curve_pck))

    evaluate.count = len(crops)
    return evaluate


def localizer_evaluator(frames, input_size: tuple[int, int], count: int = 64, start: int = 0):
    """evaluate(path) -> recall at IoU 0.5 on composed frames [start, start + count): the localizer's metric
    for :func:`search_mixed_precision`."""
    inputs, boxes = localizer_val_set(frames, input_size, count, start)
    pr = localizer_scorer(inputs, boxes)

    def evaluate(path) -> float:
        return float(pr(path)["recall"])

    evaluate.count, evaluate.val_set, evaluate.pr = len(inputs), (inputs, boxes), pr
    return evaluate


def localizer_scorer(inputs: list, gt_boxes: list, iou: float = 0.5):
    """pr(path) -> :func:`localizer_pr`'s dict on (inputs, gt_boxes), run once per model content (sha256 of the
    file): the mixed-precision search scores each candidate's recall (:func:`localizer_evaluator`) and checks its
    precision (:func:`localizer_precision_check`) on the same frames, so one run serves both."""
    cache: dict[str, dict] = {}

    def pr(path) -> dict:
        key = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if key not in cache:
            cache[key] = localizer_pr(path, inputs, gt_boxes, iou)
        return cache[key]

    return pr


def localizer_precision_check(fp32: str | Path, val_set: tuple, max_drop_points: float = MAX_DROP_POINTS,
                              pr=None):
    """admissible(path) -> bool for :func:`search_mixed_precision`: the quantized localizer at ``path`` loses at most
    ``max_drop_points`` of precision at IoU 0.5 against ``fp32`` on ``val_set`` ((inputs, boxes), e.g. a
    :func:`localizer_evaluator`'s ``val_set``). pr: a :func:`localizer_scorer` on that set (the evaluator's ``pr``),
    so that a model the search has scored is not run again; None: a scorer of its own."""
    pr = pr or localizer_scorer(*val_set)
    reference = float(pr(fp32)["precision"])

    def admissible(path) -> bool:
        return (reference - float(pr(path)["precision"])) * 100 <= max_drop_points

    admissible.reason = f"loses more than {max_drop_points:g} points of precision"
    return admissible
