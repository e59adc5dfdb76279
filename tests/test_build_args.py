"""The engine builder's argument handling, profiles, per-version precision plans and the trtexec command text.
All of it is plain Python and runs here for real; building itself is in test_tensorrt_gpu.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from handjoints_trt.engines import build as build_mod  # noqa: E402
from handjoints_trt.engines.build import (build_parser, check_dla_profile, int8_path_for, make_profile,  # noqa: E402
                                          parser_errors, plan_build, run_build, trtexec_command, version_tuple)

REPO = Path(__file__).resolve().parents[1]


def _model(path: Path, inp: str, dims: list, outs: list[str], meta: dict) -> Path:
    """A tiny model with the contract's signature: a strided conv per output (enough for shapes and metadata)."""
    w = numpy_helper.from_array(np.full((1, 3, 4, 4), 0.01, np.float32), "w")
    nodes = [helper.make_node("Conv", [inp, "w"], [o], strides=[4, 4]) for o in outs]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(inp, TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = "handjoints." + k, v
    onnx.save(model, str(path))
    return path


@pytest.fixture
def hand(tmp_path) -> Path:
    return _model(tmp_path / "hand.onnx", "crops", ["hands", 3, 128, 128], ["heatmaps"],
                  {"kind": "hand", "input": "crops", "outputs": "heatmaps"})


@pytest.fixture
def localizer(tmp_path) -> Path:
    return _model(tmp_path / "localizer.onnx", "frame", [1, 3, "h", "w"], ["centers", "sizes", "offsets"],
                  {"kind": "localizer", "input_size": "640x384", "input": "frame",
                   "outputs": "centers,sizes,offsets"})


def run(argv, capsys):
    rc = run_build(build_parser().parse_args([str(a) for a in argv]))
    out = capsys.readouterr()
    return rc, out.out.strip(), out.err.strip()


# ------------------------------------------------------------------------------------------------ profiles
def test_hand_profile_batch_range(hand):
    assert make_profile(hand) == {"crops": ((1, 3, 128, 128), (2, 3, 128, 128), (16, 3, 128, 128))}
    assert make_profile(hand, 2, 4, 32)["crops"][2] == (32, 3, 128, 128)


def test_localizer_profile_uses_metadata_size_for_opt(localizer):
    mn, opt, mx = make_profile(localizer)["frame"]
    assert (mn, opt, mx) == ((1, 3, 128, 128), (1, 3, 384, 640), (1, 3, 1280, 1280))
    with pytest.raises(ValueError, match="multiples of 32"):
        make_profile(localizer, opt_size=(300, 640))
    with pytest.raises(ValueError, match="max .* is smaller than opt"):
        make_profile(localizer, max_size=(256, 256))


def test_int8_path():
    assert int8_path_for("w/hand.onnx") == Path("w/hand.int8.onnx")
    assert int8_path_for("w/hand.int8.onnx") == Path("w/hand.int8.onnx")


# ------------------------------------------------------------------------------------------------ CLI errors
def test_bad_precision_is_an_argparse_error(hand, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["--model", str(hand), "--precision", "int4"])
    assert e.value.code == 2 and "invalid choice: 'int4'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--min-batch", "4", "--opt-batch", "2"], "--min-batch 4 is larger than --opt-batch 2"),
    (["--opt-batch", "8", "--max-batch", "4"], "max (4,) is smaller than opt (8,)"),
    (["--min-batch", "0"], "must be >= 1"),
    (["--workspace-mb", "0"], "--workspace-mb must be >= 1"),
    (["--dla-core", "-1"], "--dla-core must be >= 0"),
    (["--precision", "fp32", "--dla-core", "0"], "DLA runs FP16 or INT8 only"),
    (["--precision", "fp16", "--dla-core", "0"], "the DLA runs fixed shapes only, but input crops ranges"),
    (["--precision", "int8"], "INT8 needs the Q/DQ model"),
    (["--precision", "fp16", "--calibration-cache", "x.cache"], "only applies to --precision int8"),
])
def test_bad_combinations_exit_2_with_a_precise_message(hand, capsys, argv, message):
    rc, out, err = run(["--model", hand, "--print-trtexec", *argv], capsys)
    assert rc == 2 and message in err and out == ""


def test_missing_model_file(tmp_path, capsys):
    rc, _out, err = run(["--model", tmp_path / "nope.onnx", "--print-trtexec"], capsys)
    assert rc == 2 and "nope.onnx does not exist" in err


def test_bad_size_text(localizer, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--model", str(localizer), "--max-size", "big"])
    assert "--max-size" in capsys.readouterr().err


def test_building_without_gpu_or_tensorrt_fails_cleanly(hand, capsys, tmp_path):
    """Here there is no GPU: the build must stop with a clear message, not a crash."""
    from handjoints_trt.backends.cuda import device_count

    if device_count() > 0:
        pytest.skip("this machine has a GPU")
    rc, _out, err = run(["--model", hand, "--cache-dir", tmp_path / "c"], capsys)
    assert rc == 1 and "needs an NVIDIA GPU" in err
    assert not (tmp_path / "c").exists()


# ------------------------------------------------------------------------------------------------ trtexec text
def test_print_trtexec_fp16_on_10(hand, capsys, tmp_path):
    rc, out, _ = run(["--model", hand, "--print-trtexec", "--trt-version", "10.3.0", "--max-batch", "8",
                      "--timing-cache", tmp_path / "t.cache", "--output", tmp_path / "hand.engine"], capsys)
    assert rc == 0
    assert out == (f"trtexec --onnx={hand} --saveEngine={tmp_path / 'hand.engine'} --fp16 "
                   f"--minShapes=crops:1x3x128x128 --optShapes=crops:2x3x128x128 --maxShapes=crops:8x3x128x128 "
                   f"--memPoolSize=workspace:1024M --timingCacheFile={tmp_path / 't.cache'}")


def test_print_trtexec_fp16_on_11_uses_the_fp16_graph(hand, capsys):
    rc, out, _ = run(["--model", hand, "--print-trtexec", "--trt-version", "11.0"], capsys)
    assert rc == 0 and "--fp16" not in out and f"--onnx={hand.with_name('hand.fp16.onnx')}" in out


def test_print_trtexec_int8_dla_on_jetpack5(hand, capsys):
    qdq = hand.with_name("hand.int8.onnx")
    qdq.write_bytes(hand.read_bytes())
    rc, out, _ = run(["--model", hand, "--precision", "int8", "--dla-core", "1", "--print-trtexec",
                      "--trt-version", "8.5.2", "--workspace-mb", "256",
                      "--min-batch", "4", "--opt-batch", "4", "--max-batch", "4"], capsys)  # the DLA: fixed shapes
    assert rc == 0
    assert f"--onnx={qdq}" in out and "--int8 --fp16" in out
    assert "--memPoolSize=workspace:256 " in out  # 8.5: plain MiB, no suffix
    # a fixed profile of a dynamic-batch model still needs its shapes, or trtexec sets the batch to 1
    assert "--minShapes=crops:4x3x128x128 --optShapes=crops:4x3x128x128 --maxShapes=crops:4x3x128x128" in out
    assert out.endswith("--useDLACore=1 --allowGPUFallback")


def test_print_trtexec_fixed_localizer_size_keeps_the_shapes(localizer, capsys):
    """trtexec overrides every dynamic dimension to 1 when no shapes are given; H and W are dynamic here."""
    rc, out, _ = run(["--model", localizer, "--print-trtexec", "--trt-version", "10.3", "--min-size", "384x640",
                      "--opt-size", "384x640", "--max-size", "384x640"], capsys)
    assert rc == 0
    assert "--minShapes=frame:1x3x384x640 --optShapes=frame:1x3x384x640 --maxShapes=frame:1x3x384x640" in out


def test_dla_needs_a_fixed_profile(hand, localizer):
    check_dla_profile(make_profile(hand), None)  # the GPU takes ranges
    check_dla_profile(make_profile(hand, 4, 4, 4), 0)
    check_dla_profile(make_profile(localizer, min_size=(384, 640), opt_size=(384, 640), max_size=(384, 640)), 0)
    with pytest.raises(ValueError, match=r"fixed shapes only, but input frame ranges from \(1, 3, 128, 128\)"):
        check_dla_profile(make_profile(localizer), 1)
    with pytest.raises(ValueError, match="fixed shapes only"):
        trtexec_command(hand, "fp16", trt_version="8.5.2", dla_core=0)


def test_print_trtexec_localizer(localizer, capsys):
    rc, out, _ = run(["--model", localizer, "--print-trtexec", "--trt-version", "10.3", "--max-size", "736x1280"],
                     capsys)
    assert rc == 0 and "--maxShapes=frame:1x3x736x1280" in out and "--optShapes=frame:1x3x384x640" in out


def test_calibration_cache_only_before_10(hand, tmp_path):
    cache = tmp_path / "calib.cache"
    cache.write_bytes(b"TRT-8501-EntropyCalibration2\n")
    cmd = trtexec_command(hand, "int8", trt_version="8.5.2", calibration_cache=cache)
    assert f"--onnx={hand}" in cmd and f"--calib={cache}" in cmd
    with pytest.raises(ValueError, match="removed in 11"):
        trtexec_command(hand, "int8", trt_version="10.3", calibration_cache=cache)


def test_script_prints_trtexec_without_tensorrt(hand):
    res = subprocess.run([sys.executable, str(REPO / "build_engines" / "build.py"), "--model", str(hand),
                          "--print-trtexec", "--trt-version", "10.3"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("trtexec --onnx=") and "--fp16" in res.stdout


# ------------------------------------------------------------------------------------------------ plans
@pytest.mark.parametrize("version, precision, flags, typed, convert", [
    ("8.5.2", "fp32", (), False, False),
    ("8.5.2", "fp16", ("FP16",), False, False),
    ("10.3.0", "fp16", ("FP16",), False, False),
    ("10.3.0", "int8", ("INT8", "FP16"), False, False),
    ("11.0.0", "fp16", (), True, True),
    ("11.0.0", "int8", (), True, False),
    ("11.0.0", "fp32", (), True, False),
])
def test_precision_plan_per_version(hand, version, precision, flags, typed, convert):
    hand.with_name("hand.int8.onnx").write_bytes(hand.read_bytes())
    plan = plan_build(hand, precision, version)
    assert (plan.flags, plan.strongly_typed, plan.convert_fp16) == (flags, typed, convert)
    assert plan.parse_path.name == ("hand.int8.onnx" if precision == "int8" else "hand.onnx")


def test_version_parsing():
    assert version_tuple("10.3.0.26") == (10, 3, 0)
    assert version_tuple("8.5") == (8, 5, 0)
    with pytest.raises(ValueError, match="needs 8.5 or newer"):
        version_tuple("8.4.3")


def test_parser_errors_lists_every_error():
    """Formatting only: an object with IParserError's documented methods (TensorRT itself is absent here)."""

    class Err:
        def __init__(self, i):
            self.i = i

        def desc(self):
            return f"problem {self.i}"

        def node(self):
            return self.i

        def code(self):
            return "UNSUPPORTED_NODE"

        def file(self):
            return "ModelImporter.cpp"

        def line(self):
            return 10 + self.i

        def func(self):
            return "parseGraph"

    class Parser:
        num_errors = 3

        def get_error(self, i):
            return Err(i)

    lines = parser_errors(Parser())
    assert len(lines) == 3 and lines[2].startswith("[3] problem 2 (node #2; UNSUPPORTED_NODE")


# ------------------------------------------------------------------------------------------------ logger
class _FakeTrt:
    """Just what _make_logger uses of the tensorrt module (TensorRT itself is absent here)."""

    class ILogger:
        class Severity:
            INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

        def __init__(self):
            pass


def test_one_logger_per_process_and_errors_per_call(monkeypatch):
    """TensorRT keeps one logger pointer per process (a second logger handed to a Builder/Runtime is ignored),
    so every builder and backend shares one; each call reads only the errors logged since its mark."""
    monkeypatch.setattr(build_mod, "_LOGGER", None)
    sev = _FakeTrt.ILogger.Severity
    first = build_mod._make_logger(_FakeTrt)
    second = build_mod._make_logger(_FakeTrt, verbose=True)
    assert first is second and second.verbose
    first.log(sev.ERROR, "an older failure")
    mark = first.mark()
    assert first.errors_since(mark) == []
    first.log(sev.WARNING, "a warning")
    first.log(sev.INTERNAL_ERROR, "this call failed")
    assert first.errors_since(mark) == ["this call failed"]
    for i in range(100):  # only the latest errors are kept
        first.log(sev.ERROR, f"e{i}")
    assert first.errors_since(mark) == [f"e{i}" for i in range(36, 100)]


def test_fixed_batch_engines_get_padded_crops():
    from handjoints_trt.backends.tensorrt import pad_batch

    crops = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    padded = pad_batch(crops, 4)
    assert padded.shape == (4, 3, 2, 2) and padded.dtype == np.float32
    np.testing.assert_array_equal(padded[:2], crops)
    assert not padded[2:].any()
    assert pad_batch(crops, 2) is crops and pad_batch(crops, 1) is crops
