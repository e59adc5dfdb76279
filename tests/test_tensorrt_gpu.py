"""The TensorRT backend and engine builder on a real GPU, compared with ONNX Runtime.

The gpu-marked tests skip cleanly where TensorRT or an NVIDIA GPU is missing. Tolerances per precision:
fp32 max |diff| <= 1e-3 x peak, fp16 <= 2e-2 x peak, int8: decoded joints within 1 heatmap cell.
The first two tests run everywhere: importing the backend needs no TensorRT, and without a GPU it refuses
to start with a clear error instead of letting TensorRT crash.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

TOL = {"fp32": 1e-3, "fp16": 2e-2}


def test_import_needs_no_tensorrt():
    import importlib

    for module in ("handjoints_trt.backends.tensorrt", "handjoints_trt.engines", "handjoints_trt.engines.build"):
        importlib.import_module(module)

    if "tensorrt" not in sys.modules:  # nothing above may import it
        assert all(not m.startswith(("tensorrt", "pycuda", "cuda.")) for m in sys.modules)


def test_refuses_to_start_without_gpu(tmp_path):
    from handjoints_trt.backends.cuda import NoGpuError, device_count
    from handjoints_trt.backends.tensorrt import TensorRTBackend

    if device_count() > 0:
        pytest.skip("this machine has a GPU")
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not read: the GPU check comes first")
    with pytest.raises(NoGpuError, match="needs an NVIDIA GPU.*backend='onnxruntime'"):
        TensorRTBackend(model)
    with pytest.raises(FileNotFoundError):
        TensorRTBackend(tmp_path / "absent.onnx")


# ------------------------------------------------------------------------------------------------ on a GPU
@pytest.fixture(scope="module")
def trt():
    trt = pytest.importorskip("tensorrt")
    from handjoints_trt.backends.cuda import device_count

    if device_count() < 1:
        pytest.skip("no NVIDIA GPU")
    pytest.importorskip("torch")
    return trt


@pytest.fixture(scope="module")
def models(trt, tmp_path_factory):
    """Exported lite models (untrained, seeded): {"hand": path, "localizer": path}."""
    import torch

    from handjoints_trt.export.onnx_export import export_hand, export_localizer
    from handjoints_trt.models import build_hand_net, build_localizer, hand_config, localizer_config

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("trt_models")
    export_hand(build_hand_net("lite"), hand_config("lite").to_dict(), d / "hand.onnx", check=False)
    export_localizer(build_localizer("lite"), localizer_config("lite").to_dict(), d / "localizer.onnx",
                     check=False)
    return {"hand": d / "hand.onnx", "localizer": d / "localizer.onnx"}


def _feeds(kind: str, rng) -> dict:
    if kind == "hand":
        return {"crops": rng.uniform(-0.5, 0.5, (3, 3, 128, 128)).astype(np.float32)}
    return {"frame": rng.uniform(-0.5, 0.5, (1, 3, 256, 320)).astype(np.float32)}


def _reference(path, feeds):
    from handjoints_trt.backends.onnxruntime import OnnxRuntimeBackend

    with OnnxRuntimeBackend(path, providers=["CPUExecutionProvider"]) as ort:
        return ort.infer(feeds)


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["hand", "localizer"])
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_engine_matches_onnxruntime(models, tmp_path, kind, precision):
    from handjoints_trt.backends.tensorrt import TensorRTBackend

    feeds = _feeds(kind, np.random.default_rng(0))
    ref = _reference(models[kind], feeds)
    with TensorRTBackend(models[kind], precision=precision, max_batch=8, engine_cache=tmp_path) as be:
        assert [s.name for s in be.inputs] == list(feeds)
        got = be.infer(feeds)
        for name, r in ref.items():
            assert got[name].dtype == np.float32 and got[name].shape == r.shape
            assert float(np.abs(got[name] - r).max()) <= TOL[precision] * max(float(np.abs(r).max()), 1e-3)
        if kind == "hand":  # a smaller batch after a larger one: outputs trimmed to the actual shape
            one = be.infer({"crops": feeds["crops"][:1]})
            assert one["heatmaps"].shape[0] == 1
            with pytest.raises(ValueError, match="outside the engine's profile"):
                be.infer({"crops": np.zeros((9, 3, 128, 128), np.float32)})


@pytest.mark.gpu
def test_int8_engine_joints_within_one_cell(models, tmp_path):
    from handjoints_trt.backends.tensorrt import TensorRTBackend
    from handjoints_trt.engines.build import int8_path_for
    from handjoints_trt.postprocess import decode_heatmaps

    qdq = int8_path_for(models["hand"])
    if not qdq.is_file():
        pytest.skip(f"{qdq.name} (the Q/DQ export of calibration/) was not produced for this test")
    feeds = _feeds("hand", np.random.default_rng(1))
    ref = _reference(models["hand"], feeds)["heatmaps"]
    with TensorRTBackend(models["hand"], precision="int8", engine_cache=tmp_path) as be:
        got = be.infer(feeds)["heatmaps"]
    assert float(np.abs(decode_heatmaps(got)[0] - decode_heatmaps(ref)[0]).max()) <= 1.0


@pytest.mark.gpu
def test_cache_reuses_then_rebuilds_when_the_onnx_changes(models, tmp_path):
    import shutil

    import onnx

    from handjoints_trt.engines.build import get_or_build
    from handjoints_trt.engines.cache import EngineCache, sidecar_path

    model = tmp_path / "hand.onnx"
    shutil.copy(models["hand"], model)
    cache = EngineCache(tmp_path / "cache")
    _data, path = get_or_build(model, "fp16", cache)
    built_at = json.loads(sidecar_path(path).read_text())["built_at"]
    mtime = path.stat().st_mtime_ns
    _data2, path2 = get_or_build(model, "fp16", cache)
    assert path2 == path and path.stat().st_mtime_ns == mtime  # reused, not rebuilt
    assert json.loads(sidecar_path(path).read_text())["built_at"] == built_at
    m = onnx.load(str(model))
    m.metadata_props.add(key="handjoints.note", value="changed")
    onnx.save(m, str(model))
    _data3, path3 = get_or_build(model, "fp16", cache)
    assert path3 != path and path3.is_file()  # a new key: the changed model got its own engine
    assert any(p.name.startswith("timing-") for p in cache.folder.iterdir())  # the timing cache was saved


@pytest.mark.gpu
def test_engine_file_and_cuda_graph(models, tmp_path):
    from handjoints_trt.backends.tensorrt import TensorRTBackend
    from handjoints_trt.engines.cache import EngineMismatchError, sidecar_path

    feeds = _feeds("hand", np.random.default_rng(2))
    with TensorRTBackend(models["hand"], precision="fp16", engine_cache=tmp_path) as be:
        plain = be.infer(feeds)["heatmaps"]
        engine = be.engine_path
    with TensorRTBackend(engine, cuda_graph=True) as be:  # a user-supplied engine with its sidecar
        assert be.metadata.get("kind") == "hand"
        for _ in range(3):  # capture once, replay twice
            np.testing.assert_allclose(be.infer(feeds)["heatmaps"], plain, atol=1e-5)
    side = json.loads(sidecar_path(engine).read_text())
    side["key"]["compute_capability"] = "1.0"
    sidecar_path(engine).write_text(json.dumps(side))
    with pytest.raises(EngineMismatchError, match="compute_capability"):
        TensorRTBackend(engine)


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_direction_network_engine_matches_onnxruntime(trt, tmp_path, precision):
    """The shipped any_angle direction network as an engine (dynamic batch, soft-argmax in the graph): the same
    directions as ONNX Runtime within 1 degree (fp32) / 3 degrees (fp16)."""
    from handjoints_trt.backends.tensorrt import TensorRTBackend
    from handjoints_trt.models_registry import WEIGHTS_DIR

    path = WEIGHTS_DIR / "orientation.onnx"
    if not path.is_file():
        pytest.skip("orientation.onnx is not shipped in this checkout")
    feeds = _feeds("hand", np.random.default_rng(2))
    ref = _reference(path, feeds)["direction"]
    with TensorRTBackend(path, precision=precision, max_batch=8, engine_cache=tmp_path) as be:
        got = be.infer(feeds)["direction"]
    angle = np.degrees(np.arccos(np.clip((got * ref).sum(1) / np.linalg.norm(got, axis=1), -1, 1)))
    assert float(angle.max()) <= (1.0 if precision == "fp32" else 3.0), angle
