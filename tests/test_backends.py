"""The backend seam: ONNX Runtime and PyTorch backends on real exported models, feed validation, errors."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from handjoints_trt.backends import BACKENDS, TensorSpec, cuda_device_count, load_backend, tensorrt_available
from handjoints_trt.backends.base import resolve_kind
from runtime_models import export_lite_models, write_dot_models

# The stated tolerance between ONNX Runtime and PyTorch on the same weights: outputs within 1e-4 of the
# output's peak magnitude, decoded joints within 0.1 heatmap cell (the export's own parity bar).
PARITY_REL = 1e-4
PARITY_CELLS = 0.1


@pytest.fixture(scope="session")
def lite(tmp_path_factory):
    pytest.importorskip("torch")
    return export_lite_models(tmp_path_factory.getbasetemp() / "lite_models")


@pytest.fixture(scope="session")
def dots(tmp_path_factory):
    return write_dot_models(tmp_path_factory.getbasetemp() / "dot_models")


def _crops(n: int, size: int = 128, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (n, 3, size, size)).astype(np.float32)


# --------------------------------------------------------------------------------------- ONNX Runtime
def test_onnxruntime_specs_metadata_and_outputs(dots):
    with load_backend(dots["hand"], "onnxruntime", threads=1) as backend:
        assert backend.name == "onnxruntime"
        assert backend.inputs == (TensorSpec("crops", (-1, 3, 128, 128), "float32"),)
        assert backend.outputs == (TensorSpec("heatmaps", (-1, 21, 32, 32), "float32"),)
        assert backend.metadata["kind"] == "hand" and backend.metadata["stride"] == "4"
        assert "CPUExecutionProvider" in backend.providers
        for batch in (1, 3):
            out = backend.infer({"crops": _crops(batch)})
            assert list(out) == ["heatmaps"]
            assert out["heatmaps"].shape == (batch, 21, 32, 32)
            assert out["heatmaps"].dtype == np.float32 and out["heatmaps"].flags.c_contiguous


def test_onnxruntime_threads_do_not_spin_unless_asked(dots):
    # Two sessions spinning on two cores starved each other (fps.py: 16 -> 11 ms per frame with it off);
    # "run" spins within a run only (ort_spin.py: faster on free cores, slower beside busy processes).
    from handjoints_trt.backends.onnxruntime import OnnxRuntimeBackend

    spin, stop = "session.intra_op.allow_spinning", "session.force_spinning_stop"
    for spin_wait, expected, stops in ((False, "0", ""), ("off", "0", ""), (True, "1", ""), ("always", "1", ""),
                                       ("run", "1", "1")):
        with OnnxRuntimeBackend(dots["hand"], threads=2, spin_wait=spin_wait) as backend:
            options = backend._session.get_session_options()
            assert options.get_session_config_entry(spin) == expected
            if stops:
                assert options.get_session_config_entry(stop) == stops
            else:
                with pytest.raises(Exception):   # the key is absent unless "run" set it
                    options.get_session_config_entry(stop)
            assert backend.infer({"crops": _crops(2)})["heatmaps"].shape == (2, 21, 32, 32)


def test_onnxruntime_spin_wait_is_passed_through_the_detector(dots):
    from handjoints_trt import HandJointDetector

    with HandJointDetector(backend="onnxruntime", hand_model=dots["hand"], localizer_model=dots["localizer"],
                           extra={"spin_wait": "run"}) as det:
        for backend in (det.hand_backend, det.localizer_backend):
            options = backend._session.get_session_options()
            assert options.get_session_config_entry("session.force_spinning_stop") == "1"


def test_onnxruntime_rejects_an_unknown_spin_mode(dots):
    from handjoints_trt.backends.onnxruntime import OnnxRuntimeBackend

    with pytest.raises(ValueError, match="spin_wait must be False/'off', 'run' or True/'always', got 'fast'"):
        OnnxRuntimeBackend(dots["hand"], spin_wait="fast")


def test_non_contiguous_feed_gives_the_same_result(dots):
    with load_backend(dots["hand"], "onnxruntime") as backend:
        crops = _crops(2)
        strided = np.asfortranarray(crops)
        np.testing.assert_array_equal(backend.infer({"crops": strided})["heatmaps"],
                                      backend.infer({"crops": crops})["heatmaps"])


@pytest.mark.parametrize("feeds, message", [
    ({}, "missing input 'crops'"),
    ({"crops": _crops(1), "extra": _crops(1)}, "unknown input(s) ['extra']"),
    ({"crops": _crops(1).astype(np.float64)}, "must be float32, got float64"),
    ({"crops": _crops(1)[0]}, "must have rank 4"),
    ({"crops": _crops(1, 64)}, "axis 2 must be 128"),
    ({"crops": np.zeros((1, 4, 128, 128), np.float32)}, "axis 1 must be 3"),
    ({"crops": np.zeros((0, 3, 128, 128), np.float32)}, "is empty"),
])
def test_bad_feeds_name_the_tensor(dots, feeds, message):
    with load_backend(dots["hand"], "onnxruntime") as backend:
        with pytest.raises(ValueError) as info:
            backend.infer(feeds)
    assert message in str(info.value)
    assert "crops" in str(info.value) or "extra" in str(info.value)


def test_feed_type_errors(dots):
    with load_backend(dots["hand"], "onnxruntime") as backend:
        with pytest.raises(TypeError, match="numpy array"):
            backend.infer({"crops": _crops(1).tolist()})
        with pytest.raises(TypeError, match="dict"):
            backend.infer(_crops(1))


def test_closed_backend_refuses_to_run(dots):
    backend = load_backend(dots["hand"], "onnxruntime")
    backend.close()
    backend.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        backend.infer({"crops": _crops(1)})


def test_missing_model_file(tmp_path):
    missing = tmp_path / "nope" / "hand.onnx"
    with pytest.raises(FileNotFoundError) as info:
        load_backend(missing, "onnxruntime")
    assert str(missing) in str(info.value) and "handjoints export" in str(info.value)


@pytest.mark.parametrize("content", [b"", b"not an onnx model at all\n" * 10, b"\x08\x07" + bytes(range(256)) * 4])
def test_corrupt_or_foreign_model_file(tmp_path, content):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_backend(bad, "onnxruntime")
    assert str(bad) in str(info.value) and "ONNX Runtime said" in str(info.value)


def test_truncated_model_file(dots, tmp_path):
    data = dots["hand"].read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a usable ONNX model"):
        load_backend(cut, "onnxruntime")


def test_unknown_backend_and_provider(dots):
    with pytest.raises(ValueError, match="unknown backend 'onnx'"):
        load_backend(dots["hand"], "onnx")
    with pytest.raises(ValueError, match="not in this onnxruntime build"):
        load_backend(dots["hand"], "onnxruntime", providers=["NoSuchExecutionProvider"])
    with pytest.raises(ValueError, match="threads"):
        load_backend(dots["hand"], "onnxruntime", threads=-1)


def test_registry_names_every_backend_lazily():
    assert BACKENDS["tensorrt"] == "handjoints_trt.backends.tensorrt:TensorRTBackend"
    assert BACKENDS["onnxruntime"].endswith(":OnnxRuntimeBackend")
    assert BACKENDS["torch"].endswith(":TorchBackend")


def test_auto_falls_back_to_onnxruntime_without_a_gpu():
    if cuda_device_count() > 0 and importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("a GPU and TensorRT are present here")
    assert tensorrt_available() is False
    assert resolve_kind("auto") == "onnxruntime"


# --------------------------------------------------------------------------------------- PyTorch vs ORT
def test_torch_backend_matches_onnxruntime_on_the_hand_model(lite):
    from handjoints_trt.postprocess import decode_heatmaps

    crops = _crops(3, seed=1)
    with load_backend(lite["hand"], "onnxruntime") as ort_backend, \
            load_backend(lite["hand"], "torch", device="cpu") as torch_backend:
        assert torch_backend.inputs == ort_backend.inputs
        assert torch_backend.outputs == ort_backend.outputs
        assert torch_backend.metadata["config"] == ort_backend.metadata["config"]
        a = ort_backend.infer({"crops": crops})["heatmaps"]
        b = torch_backend.infer({"crops": crops})["heatmaps"]
    assert b.dtype == np.float32 and b.flags.c_contiguous
    assert np.abs(a - b).max() <= PARITY_REL * np.abs(b).max()
    assert np.abs(decode_heatmaps(a)[0] - decode_heatmaps(b)[0]).max() <= PARITY_CELLS


def test_torch_backend_matches_onnxruntime_on_the_localizer(lite):
    frame = np.random.default_rng(2).uniform(-0.5, 0.5, (1, 3, 224, 384)).astype(np.float32)
    with load_backend(lite["localizer"], "onnxruntime") as ort_backend, \
            load_backend(lite["localizer_pt"], "torch", device="cpu") as torch_backend:
        a, b = ort_backend.infer({"frame": frame}), torch_backend.infer({"frame": frame})
    assert list(a) == list(b) == ["centers", "sizes", "offsets"]
    for name in a:
        assert a[name].shape == b[name].shape == (1, a[name].shape[1], 56, 96)
        assert np.abs(a[name] - b[name]).max() <= PARITY_REL * max(1.0, np.abs(b[name]).max()), name


def test_torch_backend_validates_like_the_others(lite):
    with load_backend(lite["hand_pt"], "torch", device="cpu") as backend:
        with pytest.raises(ValueError, match="must be float32, got float64"):
            backend.infer({"crops": _crops(1).astype(np.float64)})
        with pytest.raises(ValueError, match="missing input 'crops'"):
            backend.infer({"frame": _crops(1)})


def test_torch_backend_needs_the_sibling_checkpoint(lite, tmp_path):
    lonely = tmp_path / "hand.onnx"
    lonely.write_bytes(lite["hand"].read_bytes())
    with pytest.raises(FileNotFoundError, match="hand.pt"):
        load_backend(lonely, "torch", device="cpu")


def test_torch_backend_refuses_a_checkpoint_of_another_model(lite):
    with pytest.raises(ValueError, match="model_config differs"):
        load_backend(lite["hand"], "torch", device="cpu", checkpoint=lite["localizer_pt"])


def test_detector_results_agree_across_backends(lite):
    """The whole stage-II path (crop, infer, decode) gives the same joints on ONNX Runtime and PyTorch."""
    from handjoints_trt.detector import HandJointDetector

    frame = np.random.default_rng(3).integers(0, 256, (360, 480, 3), np.uint8)
    boxes = [[40, 50, 140, 170], [200.5, 100.25, 330, 260]]
    results = {}
    for kind in ("onnxruntime", "torch"):
        with HandJointDetector(backend=kind, localizer_model=lite["localizer"], hand_model=lite["hand"],
                               device="cpu") as detector:
            results[kind] = detector.detect(frame, boxes=boxes)
            cell_px = [(b[2] - b[0]) * 1.5 / 32 for b in np.array(boxes, float)]  # frame px per heatmap cell
    for a, b, cell in zip(results["onnxruntime"], results["torch"], cell_px):
        assert np.abs(a.keypoints - b.keypoints).max() <= PARITY_CELLS * cell
        assert np.abs(a.confidence - b.confidence).max() <= 1e-3


def test_int8_qdq_model_runs_the_same_way(lite, tmp_path):
    """A Q/DQ (QuantizeLinear/DequantizeLinear) model is opened and run like the fp32 one."""
    quantization = pytest.importorskip("onnxruntime.quantization")

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"crops": _crops(1, seed=s)} for s in range(4)])

        def get_next(self):
            return next(self.items, None)

    qdq = tmp_path / "hand.int8.onnx"
    quantization.quantize_static(str(lite["hand"]), str(qdq), Reader(), quant_format=quantization.QuantFormat.QDQ,
                                 activation_type=quantization.QuantType.QInt8,
                                 weight_type=quantization.QuantType.QInt8)
    import onnx

    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(qdq)).graph.node)
    crops = _crops(2, seed=9)
    with load_backend(qdq, "onnxruntime") as int8, load_backend(lite["hand"], "onnxruntime") as fp32:
        assert int8.inputs == fp32.inputs and int8.outputs == fp32.outputs
        a, b = int8.infer({"crops": crops})["heatmaps"], fp32.infer({"crops": crops})["heatmaps"]
    assert a.dtype == np.float32 and a.shape == b.shape
    # INT8 is approximate: the maps stay close to fp32 relative to their range.
    assert np.abs(a - b).max() <= 0.2 * np.abs(b).max()
