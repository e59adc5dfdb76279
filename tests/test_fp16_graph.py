"""export.fp16 on real exported lite models, run in ONNX Runtime (CPU).

Tolerance: FP16 has a 10-bit mantissa (relative step 2**-11 ~ 4.9e-4) and errors accumulate over ~60 convs, so
we allow max |FP16 - FP32| <= 1e-2 x the FP32 output's peak magnitude, and decoded joints within 0.25 heatmap
cell. (Measured on the untrained lite hand net: ~3.5e-5 absolute against a peak of 0.13, i.e. ~3e-4 of the peak.)
"""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from handjoints_trt.export.fp16 import convert_file_fp16, convert_model_fp16, fp16_path_for  # noqa: E402

REL_TOL = 1e-2


@pytest.fixture(scope="module")
def hand_onnx(tmp_path_factory):
    from handjoints_trt.export.onnx_export import export_hand
    from handjoints_trt.models import build_hand_net, hand_config

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("fp16") / "hand.onnx"
    export_hand(build_hand_net("lite"), hand_config("lite").to_dict(), out, check=False)
    return out


def _run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x}), sess


def _image_like(shape, seed=0):
    """Smooth, image-like input in the model's range (x / 255 - 0.5), as in the export parity check."""
    import cv2

    rng = np.random.default_rng(seed)
    b, _c, h, w = shape
    small = rng.uniform(0, 255, (b, 8, 8, 3)).astype(np.float32)
    img = np.stack([cv2.resize(s, (w, h), interpolation=cv2.INTER_CUBIC) for s in small])
    return (np.clip(img, 0, 255).transpose(0, 3, 1, 2) / 255 - 0.5).astype(np.float32)


def _clear_peaks(heatmaps: np.ndarray, margin: float) -> np.ndarray:
    """(B, J, h, w) -> (B, J) bool: the peak beats every cell outside its 3x3 neighbourhood by > margin."""
    b, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(b, j, -1)
    top = flat.argmax(-1)
    ys, xs = np.divmod(top, w)
    yy, xx = np.mgrid[:h, :w]
    near = (np.abs(yy[None, None] - ys[..., None, None]) <= 1) & (np.abs(xx[None, None] - xs[..., None, None]) <= 1)
    rest = np.where(near, -np.inf, heatmaps).reshape(b, j, -1).max(-1)
    return flat.max(-1) - rest > margin


def test_fp16_hand_matches_fp32(hand_onnx):
    from handjoints_trt.postprocess import decode_heatmaps

    out = convert_file_fp16(hand_onnx)
    assert out == fp16_path_for(hand_onnx) and out.name == "hand.fp16.onnx"
    x = _image_like((3, 3, 128, 128))
    (ref,), _ = _run(hand_onnx, x)
    (got,), sess = _run(out, x)
    # the interface is unchanged: float32 in and out, same names, dynamic batch kept
    assert [(i.name, i.type) for i in sess.get_inputs()] == [("crops", "tensor(float)")]
    assert [(o.name, o.type) for o in sess.get_outputs()] == [("heatmaps", "tensor(float)")]
    assert got.dtype == np.float32 and got.shape == ref.shape
    peak = float(np.abs(ref).max())
    assert float(np.abs(got - ref).max()) <= REL_TOL * peak
    # Joints whose peak is clear (beats every cell outside its 3x3 neighbourhood by more than twice the FP16
    # error) must decode to the same place; an untrained net also has flat maps where argmax is a coin toss.
    clear = _clear_peaks(ref, margin=2 * float(np.abs(got - ref).max()))
    assert clear.sum() >= 10
    joints_ref, joints_got = decode_heatmaps(ref)[0], decode_heatmaps(got)[0]
    assert float(np.abs(joints_ref - joints_got)[clear].max()) <= 0.25
    (one,), _ = _run(out, x[:1])  # batch 1 still runs
    assert one.shape[0] == 1


def test_weights_really_are_fp16(hand_onnx):
    model = convert_model_fp16(onnx.load(str(hand_onnx)))
    types = {i.data_type for i in model.graph.initializer if i.data_type in (onnx.TensorProto.FLOAT,
                                                                             onnx.TensorProto.FLOAT16)}
    keep = {n.input[i] for n in model.graph.node if n.op_type == "Resize" for i in (1, 2) if i < len(n.input)}
    fp32_left = [i.name for i in model.graph.initializer
                 if i.data_type == onnx.TensorProto.FLOAT and i.name not in keep]
    assert onnx.TensorProto.FLOAT16 in types and fp32_left == []
    casts = [n for n in model.graph.node if n.op_type == "Cast"]
    assert casts[0].input == ["crops"] and casts[-1].output == ["heatmaps"]
    assert {p.key: p.value for p in model.metadata_props}["handjoints.graph_precision"] == "fp16"
    # the handjoints metadata survives the conversion
    assert {p.key: p.value for p in model.metadata_props}["handjoints.kind"] == "hand"


def test_weights_beyond_fp16_range_are_clipped_not_inf():
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.array([1e6, -1e6, 0.5], np.float32), "w")
    graph = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    half = convert_model_fp16(model)
    sess = ort.InferenceSession(half.SerializeToString(), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": np.ones(3, np.float32)})[0]
    assert y.dtype == np.float32 and np.all(np.isfinite(y))
    np.testing.assert_allclose(y, [65504.0, -65504.0, 0.5])


def test_cli_main(hand_onnx, tmp_path, capsys):
    from handjoints_trt.export.fp16 import main

    dst = tmp_path / "x.fp16.onnx"
    assert main([str(hand_onnx), str(dst)]) == 0 and dst.is_file()
    assert capsys.readouterr().out.strip() == str(dst)
    assert main([]) == 2


@pytest.mark.slow
def test_fp16_localizer_matches_fp32(tmp_path):
    from handjoints_trt.export.onnx_export import export_localizer
    from handjoints_trt.models import build_localizer, localizer_config

    torch.manual_seed(0)
    src = tmp_path / "localizer.onnx"
    export_localizer(build_localizer("lite"), localizer_config("lite").to_dict(), src, check=False)
    out = convert_file_fp16(src)
    x = _image_like((1, 3, 256, 320))
    ref, _ = _run(src, x)
    got, sess = _run(out, x)
    assert [o.name for o in sess.get_outputs()] == ["centers", "sizes", "offsets"]
    for a, b in zip(ref, got):
        assert b.dtype == np.float32 and a.shape == b.shape
        assert float(np.abs(a - b).max()) <= REL_TOL * max(float(np.abs(a).max()), 1e-3)
