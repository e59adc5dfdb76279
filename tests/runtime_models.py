"""Models for the runtime tests (helpers, not tests).

1. ``export_lite_models(folder)``: the untrained "lite" networks of both stages, exported by the project's
   own exporter (export.onnx_export.export_checkpoint) from trainer-format checkpoints kept beside them
   (hand.pt + hand.onnx, localizer.pt + localizer.onnx), so the ONNX Runtime and PyTorch backends run the
   same weights. Needs torch.
2. ``write_dot_models(folder)``: two small ONNX models written node by node (no torch) that really detect
   a synthetic "dot hand": a square palm of PALM_BGR with 21 dots, joint k in DOT_COLORS_BGR[k]. The hand
   model's heatmap k is the blurred, stride-4 map of how close each crop pixel is to colour k; the
   localizer's centre map is the blurred map of non-background pixels, its box side sqrt(their area). They follow the
   ONNX contract (names, shapes, metadata), so the detector runs them like trained models and every
   coordinate mapping of the pipeline (letterbox, boxes to frame, crop, heatmap decode, inverse affine)
   is checked against known joint positions.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

META_PREFIX = "handjoints."
CROP_SIZE = 128
STRIDE = 4
PALM_BGR = (64, 64, 192)  # >= 0.25 from every palette level on every channel
BACKGROUND_BGR = (20, 20, 20)
# 21 well-separated colours from the 3-level cube, avoiding the palm and the background.
DOT_COLORS_BGR = [c for c in itertools.product((0, 128, 255), repeat=3)
                  if c not in ((0, 0, 0), (128, 128, 128))][:21]
# Joint layout of the dot hand, in units of the palm side, relative to the palm's top-left corner.
_ANGLES = np.linspace(-0.75, 0.75, 5)
DOT_LAYOUT = np.array([[0.5, 0.92]] + [[0.5 + r * np.sin(a), 0.92 - r * np.cos(a)]
                                       for a in _ANGLES for r in (0.2, 0.35, 0.5, 0.62)], np.float64)


def export_lite_models(folder: Path) -> dict[str, Path]:
    """Export untrained lite models once per folder; returns {'hand', 'localizer', 'hand_pt', 'localizer_pt'}."""
    from handjoints_trt.export.onnx_export import export_untrained_lite

    return export_untrained_lite(folder)


# ----------------------------------------------------------------------------------------- dot hand
def dot_hand_frame(size: tuple[int, int], palms: list[tuple[float, float, float]],
                   dot_radius: float | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """A (height, width) BGR frame with dot hands; palms: (x0, y0, side) each. Returns the frame and the
    (21, 2) joint positions (continuous pixel coordinates) of each hand."""
    import cv2

    h, w = size
    frame = np.full((h, w, 3), BACKGROUND_BGR, np.uint8)
    joints = []
    shift = 4  # cv2 sub-pixel drawing: coordinates in 1/16 px
    for x0, y0, side in palms:
        cv2.rectangle(frame, (int(round(x0)), int(round(y0))), (int(round(x0 + side)) - 1,
                      int(round(y0 + side)) - 1), PALM_BGR, -1)
        points = np.array([x0, y0]) + DOT_LAYOUT * side
        r = dot_radius or max(2.0, side / 24)
        for color, (x, y) in zip(DOT_COLORS_BGR, points):
            # continuous (x, y) -> cv2 pixel-centre coordinates: minus half a pixel
            centre = (int(round((x - 0.5) * 16)), int(round((y - 0.5) * 16)))
            cv2.circle(frame, centre, int(round(r * 16)), color, -1, cv2.LINE_AA, shift)
        joints.append(points.astype(np.float32))
    return frame, joints


def _normalized(color_bgr) -> np.ndarray:
    return np.asarray(color_bgr, np.float32) / 255.0 - 0.5


def _gaussian_kernel(sigma: float, radius: int) -> np.ndarray:
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-t * t / (2 * sigma * sigma))
    k2 = np.outer(k, k)
    return (k2 / k2.sum()).astype(np.float32)


def _save(graph, path: Path, metadata: dict) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = META_PREFIX + key, str(value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _color_match_nodes(prefix: str, x: str, colors: list, width: float, out: str):
    """Nodes computing exp(-|x - colour_k|^2 / (2 width^2)) for each colour: (N, K, H, W)."""
    from onnx import helper, numpy_helper

    c = np.stack([_normalized(col) for col in colors])[None, :, :, None, None]     # (1, K, 3, 1, 1)
    inits = [numpy_helper.from_array(c, f"{prefix}_colors"),
             numpy_helper.from_array(np.array([1], np.int64), f"{prefix}_axis1"),
             numpy_helper.from_array(np.array([2], np.int64), f"{prefix}_axis2"),
             numpy_helper.from_array(np.array(-1 / (2 * width * width), np.float32), f"{prefix}_gain")]
    nodes = [helper.make_node("Unsqueeze", [x, f"{prefix}_axis1"], [f"{prefix}_x5"]),
             helper.make_node("Sub", [f"{prefix}_x5", f"{prefix}_colors"], [f"{prefix}_d"]),
             helper.make_node("Mul", [f"{prefix}_d", f"{prefix}_d"], [f"{prefix}_d2"]),
             helper.make_node("ReduceSum", [f"{prefix}_d2", f"{prefix}_axis2"], [f"{prefix}_s"], keepdims=0),
             helper.make_node("Mul", [f"{prefix}_s", f"{prefix}_gain"], [f"{prefix}_e"]),
             helper.make_node("Exp", [f"{prefix}_e"], [out])]
    return nodes, inits


def write_dot_hand_model(path: Path) -> Path:
    """crops (B, 3, 128, 128) -> heatmaps (B, 21, 32, 32): colour match, 4x4 average, Gaussian blur."""
    from onnx import TensorProto, helper, numpy_helper

    k = len(DOT_COLORS_BGR)
    nodes, inits = _color_match_nodes("m", "crops", DOT_COLORS_BGR, 0.12, "match")
    blur = np.repeat(_gaussian_kernel(1.0, 2)[None, None], k, axis=0)             # (K, 1, 5, 5)
    inits += [numpy_helper.from_array(blur, "blur"), numpy_helper.from_array(np.array(3.0, np.float32), "gain")]
    nodes += [helper.make_node("AveragePool", ["match"], ["pooled"], kernel_shape=[STRIDE, STRIDE],
                               strides=[STRIDE, STRIDE]),
              helper.make_node("Conv", ["pooled", "blur"], ["blurred"], group=k, pads=[2, 2, 2, 2]),
              helper.make_node("Mul", ["blurred", "gain"], ["heatmaps"])]
    side = CROP_SIZE // STRIDE
    graph = helper.make_graph(
        nodes, "dot_hand", [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["B", 3, CROP_SIZE, CROP_SIZE])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, ["B", k, side, side])], inits)
    return _save(graph, path, {"kind": "hand", "config": json.dumps({"dot_hand": True}),
                               "input_size": CROP_SIZE, "stride": STRIDE, "input": "crops", "outputs": "heatmaps"})


def write_dot_localizer_model(path: Path) -> Path:
    """frame (1, 3, H, W) -> centers (blurred palm-colour map, stride 4), sizes (log sqrt(palm area)),
    offsets (0.5: the cell centre)."""
    from onnx import TensorProto, helper, numpy_helper

    from handjoints_trt.preprocess import LETTERBOX_FILL

    # The hand = whatever is neither background nor the letterbox's grey padding (palm, dots and their
    # blends): a filled square, one peak, its area independent of how much padding the input holds.
    pad = (LETTERBOX_FILL,) * 3
    nodes, inits = _color_match_nodes("p", "frame", [BACKGROUND_BGR, pad], 0.12, "not_hand")     # (1, 2, H, W)
    nodes += [helper.make_node("ReduceMax", ["not_hand", "channel_axis"], ["background"], keepdims=1),
              helper.make_node("Sub", ["one", "background"], ["palm"])]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "channel_axis"))
    inits += [numpy_helper.from_array(np.array(1.0, np.float32), "one"),
              numpy_helper.from_array(_gaussian_kernel(4.0, 12)[None, None], "blur"),
              numpy_helper.from_array(np.array(1.0, np.float32), "gain"),
              numpy_helper.from_array(np.array([2, 3], np.int64), "hw"),
              numpy_helper.from_array(np.array(0.5, np.float32), "half"),
              numpy_helper.from_array(np.zeros((1, 2, 1, 1), np.float32), "zeros2")]
    nodes += [helper.make_node("AveragePool", ["palm"], ["pooled"], kernel_shape=[STRIDE, STRIDE],
                               strides=[STRIDE, STRIDE]),
              helper.make_node("Conv", ["pooled", "blur"], ["blurred"], pads=[12, 12, 12, 12]),
              helper.make_node("Mul", ["blurred", "gain"], ["centers"]),
              # box side = sqrt(palm area): log side = 0.5 * log(sum of the palm map)
              helper.make_node("ReduceSum", ["palm", "hw"], ["area"], keepdims=1),       # (1, 1, 1, 1)
              helper.make_node("Log", ["area"], ["log_area"]),
              helper.make_node("Mul", ["log_area", "half"], ["log_side"]),
              helper.make_node("Mul", ["centers", "zeros2"], ["zero_maps"]),            # (1, 2, h, w) zeros
              helper.make_node("Add", ["zero_maps", "log_side"], ["sizes"]),
              helper.make_node("Add", ["zero_maps", "half"], ["offsets"])]
    graph = helper.make_graph(
        nodes, "dot_localizer", [helper.make_tensor_value_info("frame", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, c, "h", "w"])
         for n, c in (("centers", 1), ("sizes", 2), ("offsets", 2))], inits)
    return _save(graph, path, {"kind": "localizer", "config": json.dumps({"dot_localizer": True}),
                               "input_size": "384x384", "stride": STRIDE, "input": "frame",
                               "outputs": "centers,sizes,offsets"})


def write_dot_models(folder: Path) -> dict[str, Path]:
    """Both dot models in ``folder`` (written once): {'hand': ..., 'localizer': ...}."""
    folder.mkdir(parents=True, exist_ok=True)
    hand, localizer = folder / "dot_hand.onnx", folder / "dot_localizer.onnx"
    if not hand.is_file():
        write_dot_hand_model(hand)
    if not localizer.is_file():
        write_dot_localizer_model(localizer)
    return {"hand": hand, "localizer": localizer}


# ----------------------------------------------------------------------------------------- handedness
def handedness_counts(detector, records) -> tuple[int, int]:
    """(hands named as labelled, hands whose mirror image is named the other hand): stage II on each record's
    first labelled box and on the mirrored photo's mirrored box, counted directly (the reference that tests of
    the benchmark and of the shipped models compare with)."""
    agree = consistent = 0
    for record in records:
        sample = record.load()
        label = sample.hands[0]
        hand = detector.estimate(sample.image, label.box[None])[0]
        w = sample.image.shape[1]
        mirror_box = np.array([[w - label.box[2], label.box[1], w - label.box[0], label.box[3]]])
        mirror = detector.estimate(np.ascontiguousarray(sample.image[:, ::-1]), mirror_box)[0]
        agree += hand.handedness == label.handedness
        consistent += mirror.handedness != hand.handedness
    return agree, consistent

