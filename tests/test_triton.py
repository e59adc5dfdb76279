"""`handjoints export-triton`: the model repository's layout, configs that match the ONNX models' inputs and
outputs (parsed back from config.pbtxt), the pipeline's model.py (compiles; runs through BLS against a
stand-in for Triton's `triton_python_backend_utils`, the one thing we do not have here), and FramePipeline
against HandJointDetector. A real server cannot run here (no Docker, no Triton)."""
from __future__ import annotations

import importlib.util
import json
import py_compile
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from handjoints_trt import HandJointDetector
from handjoints_trt.triton import FramePipeline, TritonOptions, export_triton
from handjoints_trt.types import MIN_BOX_SIZE, DetectorOptions
from runtime_models import dot_hand_frame, write_dot_models

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------ config.pbtxt parser
def parse_config(path: Path) -> dict:
    """The parts of a config.pbtxt we write: scalars, tensors, dynamic batching, instances, parameters."""
    text = path.read_text()
    scalar = lambda key: (re.search(rf'^{key}: "?([\w.-]+)"?$', text, re.M) or [None, None])[1]

    def tensors(kind: str) -> list[dict]:
        block = re.search(rf"^{kind} \[\n(.*?)\n\]$", text, re.M | re.S)
        return [{"name": m[0], "data_type": m[1], "dims": [int(d) for d in m[2].split(",")],
                 "optional": bool(m[3])}
                for m in re.findall(r'name: "(\w+)"\s+data_type: (\w+)\s+dims: \[([^\]]*)\](\s+optional: true)?',
                                    block[1])] if block else []

    batching = re.search(r"dynamic_batching \{\s+preferred_batch_size: \[([^\]]*)\]\s+"
                         r"max_queue_delay_microseconds: (\d+)\s+\}", text)
    return {"name": scalar("name"), "platform": scalar("platform"), "backend": scalar("backend"),
            "max_batch_size": int(scalar("max_batch_size")), "input": tensors("input"), "output": tensors("output"),
            "preferred": [int(v) for v in batching[1].split(",")] if batching else None,
            "queue_delay": int(batching[2]) if batching else None,
            "instances": re.findall(r"count: (\d+)\s+kind: (KIND_\w+)", text),
            "parameters": dict(re.findall(r'key: "(\w+)"\s+value: \{ string_value: "([^"]*)" \}', text))}


def onnx_tensors(path: Path) -> tuple[list, list]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    norm = lambda nodes: [(n.name, [d if isinstance(d, int) else -1 for d in n.shape]) for n in nodes]
    return norm(session.get_inputs()), norm(session.get_outputs())


@pytest.fixture(scope="module")
def dot(tmp_path_factory) -> dict:
    return write_dot_models(tmp_path_factory.mktemp("dot_triton"))


@pytest.fixture(scope="module")
def repo(dot, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("triton") / "model_repository"
    export_triton(out, dot["localizer"], dot["hand"], TritonOptions(max_batch=8, preferred_batch=(2, 4),
                                                                    queue_delay_us=300, pipeline_instances=3))
    return out


# ------------------------------------------------------------------------------------------------ layout
def test_layout(repo):
    files = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file())
    assert files == ["handjoints/1/model.py", "handjoints/config.pbtxt", "handjoints_hand/1/model.onnx",
                     "handjoints_hand/config.pbtxt", "handjoints_localizer/1/model.onnx",
                     "handjoints_localizer/config.pbtxt", "handjoints_repository.json"]


def test_hand_config_matches_the_onnx_model_and_batches(repo, dot):
    cfg = parse_config(repo / "handjoints_hand" / "config.pbtxt")
    assert (cfg["name"], cfg["platform"], cfg["max_batch_size"]) == ("handjoints_hand", "onnxruntime_onnx", 8)
    inputs, outputs = onnx_tensors(repo / "handjoints_hand" / "1" / "model.onnx")
    # batched model: Triton's dims leave out the (dynamic) batch axis
    assert [(t["name"], t["dims"]) for t in cfg["input"]] == [(n, d[1:]) for n, d in inputs]
    assert [(t["name"], t["dims"]) for t in cfg["output"]] == [(n, d[1:]) for n, d in outputs]
    assert all(t["data_type"] == "TYPE_FP32" for t in cfg["input"] + cfg["output"])
    assert cfg["preferred"] == [2, 4] and cfg["queue_delay"] == 300
    assert cfg["instances"] == [("1", "KIND_GPU")]
    assert (repo / "handjoints_hand" / "1" / "model.onnx").read_bytes() == dot["hand"].read_bytes()


def test_localizer_config_matches_the_onnx_model(repo):
    cfg = parse_config(repo / "handjoints_localizer" / "config.pbtxt")
    assert cfg["max_batch_size"] == 0 and cfg["preferred"] is None     # one frame per request, full dims
    inputs, outputs = onnx_tensors(repo / "handjoints_localizer" / "1" / "model.onnx")
    assert [(t["name"], t["dims"]) for t in cfg["input"]] == inputs == [("frame", [1, 3, -1, -1])]
    assert [(t["name"], t["dims"]) for t in cfg["output"]] == outputs
    assert [t["name"] for t in cfg["output"]] == ["centers", "sizes", "offsets"]


def test_pipeline_config_and_model_py(repo):
    cfg = parse_config(repo / "handjoints" / "config.pbtxt")
    assert (cfg["backend"], cfg["max_batch_size"]) == ("python", 0)
    assert [(t["name"], t["data_type"], t["optional"]) for t in cfg["input"]] == [
        ("image", "TYPE_UINT8", False), ("boxes", "TYPE_FP32", True)]
    assert [t["name"] for t in cfg["output"]] == ["boxes", "scores", "keypoints", "confidence", "handedness"]
    assert cfg["instances"] == [("3", "KIND_CPU")]
    assert cfg["parameters"]["crop_size"] == "128" and float(cfg["parameters"]["heatmap_stride"]) == 4.0
    assert cfg["parameters"]["max_batch"] == "8"
    model_py = repo / "handjoints" / "1" / "model.py"
    py_compile.compile(str(model_py), doraise=True)
    text = model_py.read_text()
    assert "'handjoints_localizer'" in text and "'handjoints_hand'" in text and "class TritonPythonModel" in text


# --------------------------------------------------------------------------------------- the pipeline
def ort_callables(localizer: Path, hand: Path, seen: list):
    loc = ort.InferenceSession(str(localizer), providers=["CPUExecutionProvider"])
    net = ort.InferenceSession(str(hand), providers=["CPUExecutionProvider"])

    def run_hand(crops):
        seen.append(len(crops))
        return net.run(["heatmaps"], {"crops": crops})[0]

    return (lambda frame: dict(zip(("centers", "sizes", "offsets"), loc.run(None, {"frame": frame}))), run_hand)


def test_frame_pipeline_equals_the_detector(repo, dot):
    frame, joints = dot_hand_frame((360, 640), [(60, 60, 150), (380, 120, 140)])
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    seen: list = []
    pipeline = FramePipeline.from_parameters({**params, "max_batch": "1"}, *ort_callables(dot["localizer"],
                                                                                           dot["hand"], seen))
    result = pipeline(frame)
    with HandJointDetector(backend="onnxruntime", localizer_model=dot["localizer"], hand_model=dot["hand"]) as d:
        hands = d.detect(frame)
    assert len(result["boxes"]) == len(hands) == 2 and seen == [1, 1]          # chunks of max_batch
    np.testing.assert_allclose(result["keypoints"], np.stack([h.keypoints for h in hands]), atol=1e-4)
    np.testing.assert_allclose(result["scores"], [h.score for h in hands], atol=1e-6)
    assert result["keypoints"].dtype == np.float32 and result["confidence"].shape == (2, 21)
    given = pipeline(frame, np.array([[60, 60, 210, 210]], np.float32))
    assert given["boxes"].tolist() == [[60, 60, 210, 210]]
    assert np.abs(given["keypoints"][0] - joints[0]).max() < 2.0


def test_frame_pipeline_applies_the_confidence_floor_as_detect_does(repo, dot):
    frame, _ = dot_hand_frame((720, 1280), [(100, 100, 150), (600.5, 300.5, 150), (1000, 50.25, 150)])
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    assert float(params["min_hand_confidence"]) == TritonOptions().min_hand_confidence
    models = dict(backend="onnxruntime", localizer_model=dot["localizer"], hand_model=dot["hand"])
    with HandJointDetector(**models, min_hand_confidence=0.0) as d:
        means = sorted(h.mean_confidence for h in d.detect(frame))
    floor = means[0] + 1e-4                                   # drops the least confident hand
    pipeline = FramePipeline.from_parameters({**params, "min_hand_confidence": str(floor)},
                                             *ort_callables(dot["localizer"], dot["hand"], []))
    result = pipeline(frame)
    with HandJointDetector(**models, min_hand_confidence=floor) as d:
        hands = d.detect(frame)
    assert len(means) == 3 and len(result["boxes"]) == len(hands) == 2
    np.testing.assert_allclose(result["boxes"], np.array([h.box for h in hands]), atol=1e-4)
    assert len(pipeline(frame, result["boxes"].repeat(2, axis=0))["boxes"]) == 4   # given boxes: never filtered


def test_frame_pipeline_applies_the_vote_as_detect_does(repo, dot):
    """The repository carries the vote's defaults; a hand threshold that drops the least sure hand drops the
    same one in the pipeline and in detect(); a repository written before the vote keeps the floor alone."""
    frame, _ = dot_hand_frame((720, 1280), [(100, 100, 150), (600.5, 300.5, 150), (1000, 50.25, 150)])
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    assert float(params["hand_threshold"]) == TritonOptions().hand_threshold == DetectorOptions().hand_threshold
    assert float(params["confidence_weight"]) == DetectorOptions().confidence_weight
    models = dict(backend="onnxruntime", localizer_model=dot["localizer"], hand_model=dot["hand"])
    with HandJointDetector(**models, hand_threshold=0.0) as d:
        votes = sorted((h.score + 0.5 * h.mean_confidence) / 1.5 for h in d.detect(frame))
    threshold = votes[0] + 1e-4
    callables = ort_callables(dot["localizer"], dot["hand"], [])
    pipeline = FramePipeline.from_parameters({**params, "hand_threshold": str(threshold), "confidence_weight": "0.5"},
                                             *callables)
    result = pipeline(frame)
    with HandJointDetector(**models, hand_threshold=threshold, confidence_weight=0.5) as d:
        hands = d.detect(frame)
    assert len(votes) == 3 and len(result["boxes"]) == len(hands) == 2
    np.testing.assert_allclose(result["boxes"], np.array([h.box for h in hands]), atol=1e-4)
    old = {k: v for k, v in params.items() if k not in ("hand_threshold", "confidence_weight")}
    before = FramePipeline.from_parameters(old, *callables)
    assert (before.hand_threshold, before.confidence_weight) == (0.0, 0.0)
    with pytest.raises(ValueError, match="hand_threshold"):
        TritonOptions(hand_threshold=1.5).validate()


def test_frame_pipeline_refines_boxes_as_detect_does(repo, dot):
    """The repository carries the default box refinement; the pipeline's boxes match detect()'s at the same
    weight; a repository written before it reports stage I's boxes, as detect() with box_refine 0."""
    frame, _ = dot_hand_frame((720, 1280), [(100, 100, 150), (600.5, 300.5, 150)])
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    assert float(params["box_refine"]) == TritonOptions().box_refine == DetectorOptions().box_refine > 0
    models = dict(backend="onnxruntime", localizer_model=dot["localizer"], hand_model=dot["hand"])
    callables = ort_callables(dot["localizer"], dot["hand"], [])
    results = {}
    for weight in (0.0, 0.8):
        pipeline = FramePipeline.from_parameters({**params, "box_refine": str(weight)}, *callables)
        with HandJointDetector(**models, box_refine=weight) as d:
            hands = d.detect(frame)
        results[weight] = pipeline(frame)["boxes"]
        assert len(hands) == len(results[weight]) == 2
        np.testing.assert_allclose(results[weight], np.array([h.box for h in hands]), atol=1e-3)
    assert np.abs(results[0.8] - results[0.0]).max() > 5
    old = {k: v for k, v in params.items() if k != "box_refine"}
    np.testing.assert_allclose(FramePipeline.from_parameters(old, *callables)(frame)["boxes"], results[0.0], atol=1e-4)
    with pytest.raises(ValueError, match="box_refine"):
        TritonOptions(box_refine=-0.1).validate()


def test_frame_pipeline_reads_nested_nms(repo, dot):
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    callables = ort_callables(dot["localizer"], dot["hand"], [])
    assert params["nms_nested"] == "" and FramePipeline.from_parameters(params, *callables).nms_nested is None
    old = {k: v for k, v in params.items() if k != "nms_nested"}            # a repository written before it
    assert FramePipeline.from_parameters(old, *callables).nms_nested is None
    assert FramePipeline.from_parameters({**params, "nms_nested": "0.9"}, *callables).nms_nested == 0.9
    with pytest.raises(ValueError, match="nms_nested"):
        TritonOptions(nms_nested=1.5).validate()


def test_frame_pipeline_reads_min_box_size(repo, dot):
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    callables = ort_callables(dot["localizer"], dot["hand"], [])
    assert float(params["min_box_size"]) == MIN_BOX_SIZE
    assert FramePipeline.from_parameters(params, *callables).min_box_size == MIN_BOX_SIZE
    old = {k: v for k, v in params.items() if k != "min_box_size"}          # a repository written before it
    assert FramePipeline.from_parameters(old, *callables).min_box_size == 0.0
    with pytest.raises(ValueError, match="min_box_size"):
        TritonOptions(min_box_size=-1).validate()


def new_parameter(repo, dot, name: str, bad: float) -> dict:
    """The repository's parameters, after checking that it carries ``name`` at DetectorOptions' default (> 0), that
    a repository written before it reads as 0 (off) and that ``bad`` is refused."""
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    assert float(params[name]) == getattr(TritonOptions(), name) == getattr(DetectorOptions(), name) > 0
    old = {k: v for k, v in params.items() if k != name}
    assert getattr(FramePipeline.from_parameters(old, *ort_callables(dot["localizer"], dot["hand"], [])), name) == 0.0
    with pytest.raises(ValueError, match=name):
        TritonOptions(**{name: bad}).validate()
    return params


def shipped_pipeline_and_detect(params: dict, frame: np.ndarray, **setting) -> int:
    """The pipeline on the shipped plain networks at ``setting`` (one parameter) against detect() with
    any_angle=False at the same: the same joints; returns how many hands the pipeline reports."""
    from handjoints_trt.models_registry import default_model_paths

    localizer, hand = default_model_paths("fp32")
    (name, value), = setting.items()
    shipped = {**params, "crop_size": "128", "heatmap_stride": "4", "localizer_long_side": "384", name: str(value)}
    result = FramePipeline.from_parameters(shipped, *ort_callables(localizer, hand, []))(frame)
    with HandJointDetector(backend="onnxruntime", threads=1, any_angle=False, **setting) as d:
        hands = d.detect(frame)
    np.testing.assert_allclose(result["keypoints"], np.array([h.keypoints for h in hands]).reshape(-1, 21, 2),
                               atol=1e-3)
    return len(result["boxes"])


def test_frame_pipeline_reports_a_hand_found_twice_once_as_detect_does(repo, dot, hagrid_dir):
    """The repository carries joint_nms; on the real photo where the shipped models box one hand twice
    (tests/test_detector.py) the pipeline, on the shipped plain networks, reports it once as detect() does, and
    twice with it off; a repository written before it keeps both."""
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.models_registry import WEIGHTS_DIR, shipped_models_present

    params = new_parameter(repo, dot, "joint_nms", 1.5)
    if not shipped_models_present("fp32"):
        pytest.skip(f"the trained models are not in {WEIGHTS_DIR} yet")
    photo = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][18].load().image
    counts = {d: shipped_pipeline_and_detect(params, photo, joint_nms=d) for d in (0.0, DetectorOptions().joint_nms)}
    assert counts == {0.0: 2, DetectorOptions().joint_nms: 1}, counts


def test_frame_pipeline_takes_the_second_look_as_detect_does(repo, dot, hagrid_dir):
    """The repository carries retry_scale; on a real hand close to the camera (tests/test_detector.py's retry photo)
    the pipeline on the shipped plain networks finds nothing at one look and the hand at the second, with
    detect()'s joints; a repository written before it takes one look."""
    import sys

    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.models_registry import WEIGHTS_DIR, shipped_models_present

    params = new_parameter(repo, dot, "retry_scale", 1.0)
    if not shipped_models_present("fp32"):
        pytest.skip(f"the trained models are not in {WEIGHTS_DIR} yet")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from retry_scale import placed

    close = placed([r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][22].load(), 1.1).image
    scales = (0.0, DetectorOptions().retry_scale)
    counts = {s: shipped_pipeline_and_detect(params, close, retry_scale=s) for s in scales}
    assert counts == {0.0: 0, DetectorOptions().retry_scale: 1}, counts


def test_frame_pipeline_sizes_the_localizer_input_as_detect_does(repo, dot):
    frame, _ = dot_hand_frame((720, 1280), [(100, 100, 150), (600.5, 300.5, 150)])
    params = parse_config(repo / "handjoints" / "config.pbtxt")["parameters"]
    run_localizer, run_hand = ort_callables(dot["localizer"], dot["hand"], [])
    shapes: list = []

    def recording_localizer(tensor):
        shapes.append(tensor.shape[2:])
        return run_localizer(tensor)

    result = FramePipeline.from_parameters(params, recording_localizer, run_hand)(frame)
    old = {k: v for k, v in params.items() if k != "auto_localizer_size"}   # a repository written before it
    FramePipeline.from_parameters(old, recording_localizer, run_hand)(frame)
    with HandJointDetector(backend="onnxruntime", localizer_model=dot["localizer"], hand_model=dot["hand"]) as d:
        hands = d.detect(frame)
        assert d.localizer_input_size((1280, 720)) == (640, 384)
    assert shapes == [(384, 640), (224, 384)]
    np.testing.assert_allclose(result["boxes"], np.array([h.box for h in hands]), atol=1e-4)


def fake_pb_utils(sessions: dict) -> types.ModuleType:
    """A stand-in for Triton's triton_python_backend_utils: BLS requests run the repository's ONNX models."""
    pb = types.ModuleType("triton_python_backend_utils")

    class Tensor:
        def __init__(self, name, array):
            self.name, self.array = name, np.asarray(array)

        def as_numpy(self):
            return self.array

    class Response:
        def __init__(self, output_tensors=(), error=None):
            self.output_tensors, self.error_ = list(output_tensors), error

        def has_error(self):
            return self.error_ is not None

        def error(self):
            return self.error_

    class InferenceRequest:
        def __init__(self, model_name, requested_output_names, inputs):
            self.model, self.outputs, self.inputs = model_name, requested_output_names, inputs

        def exec(self):
            session = sessions[self.model]
            out = session.run(self.outputs, {t.name: t.array for t in self.inputs})
            return Response([Tensor(n, a) for n, a in zip(self.outputs, out)])

    pb.Tensor, pb.InferenceResponse, pb.InferenceRequest = Tensor, Response, InferenceRequest
    pb.TritonError = type("TritonError", (Exception,), {"message": lambda self: str(self)})
    pb.TritonModelException = type("TritonModelException", (Exception,), {})
    pb.get_input_tensor_by_name = lambda r, name: next((t for t in r.inputs if t.name == name), None)
    pb.get_output_tensor_by_name = lambda r, name: next(t for t in r.output_tensors if t.name == name)
    return pb


def test_model_py_serves_requests_through_bls(repo, dot, monkeypatch):
    sessions = {name: ort.InferenceSession(str(repo / name / "1" / "model.onnx"), providers=["CPUExecutionProvider"])
                for name in ("handjoints_localizer", "handjoints_hand")}
    pb = fake_pb_utils(sessions)
    monkeypatch.setitem(sys.modules, "triton_python_backend_utils", pb)
    spec = importlib.util.spec_from_file_location("handjoints_pipeline_model", repo / "handjoints" / "1" / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cfg = parse_config(repo / "handjoints" / "config.pbtxt")
    model = module.TritonPythonModel()
    model.initialize({"model_config": json.dumps(
        {"parameters": {k: {"string_value": v} for k, v in cfg["parameters"].items()}})})
    frame, joints = dot_hand_frame((360, 480), [(100, 80, 160)])
    good = types.SimpleNamespace(inputs=[pb.Tensor("image", frame)])
    bad = types.SimpleNamespace(inputs=[pb.Tensor("image", frame.astype(np.float32))])
    responses = model.execute([good, bad])
    out = {t.name: t.array for t in responses[0].output_tensors}
    assert np.abs(out["keypoints"][0] - joints[0]).max() < 2.0 and not responses[0].has_error()
    assert responses[1].has_error() and "uint8" in str(responses[1].error())   # one bad request, one error


# ---------------------------------------------------------------------------------- tensorrt_plan, errors
def test_tensorrt_plan_repository(dot, tmp_path):
    pytest.importorskip("onnx")
    engine = tmp_path / "hand.engine"
    engine.write_bytes(b"serialized engine")
    export_triton(tmp_path / "repo", dot["localizer"], dot["hand"], TritonOptions(platform="tensorrt_plan"),
                  hand_plan=engine)
    hand = parse_config(tmp_path / "repo" / "handjoints_hand" / "config.pbtxt")
    assert hand["platform"] == "tensorrt_plan" and hand["max_batch_size"] == 16
    assert (tmp_path / "repo" / "handjoints_hand" / "1" / "model.plan").read_bytes() == b"serialized engine"
    script = (tmp_path / "repo" / "handjoints_localizer" / "1" / "build_plan.sh").read_text()
    assert "trtexec --onnx=model.onnx --saveEngine=model.plan" in script and "frame:1x3x1280x1280" in script


def test_errors_name_the_problem(dot, repo, tmp_path):
    with pytest.raises(ValueError, match="swapped"):
        export_triton(tmp_path / "a", dot["hand"], dot["localizer"])
    with pytest.raises(FileExistsError, match="--force"):
        export_triton(repo, dot["localizer"], dot["hand"])
    with pytest.raises(ValueError, match="preferred batch"):
        export_triton(tmp_path / "b", dot["localizer"], dot["hand"], TritonOptions(max_batch=4, preferred_batch=(8,)))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_triton(tmp_path / "c", tmp_path / "none.onnx", dot["hand"])


def test_cli_export_triton(dot, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "handjoints_trt.cli", "export-triton", "--out", str(tmp_path / "r"),
                           "--localizer", str(dot["localizer"]), "--hand", str(dot["hand"]), "--max-batch", "32",
                           "--preferred-batch", "8", "16", "--device", "cpu"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cfg = parse_config(tmp_path / "r" / "handjoints_hand" / "config.pbtxt")
    assert cfg["max_batch_size"] == 32 and cfg["preferred"] == [8, 16] and cfg["instances"] == [("1", "KIND_CPU")]
    assert "tritonserver --model-repository" in proc.stdout


def test_triton_client_example_compiles_and_imports_tritonclient_lazily():
    path = REPO / "examples" / "triton_client.py"
    py_compile.compile(str(path), doraise=True)
    top = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
    assert not any("tritonclient" in line for line in top)
    from handjoints_trt.skeleton import HandJoint

    names = re.search(r"JOINT_NAMES = \((.*?)\)\n", path.read_text(), re.S)[1]
    assert re.findall(r'"(\w+)"', names) == [j.name.lower() for j in HandJoint]
