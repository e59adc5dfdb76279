"""The runtime without torch: import, detect, track and draw with torch impossible to import."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runtime_models import write_dot_models

REPO = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import importlib.abc, json, sys

    class HideTorch(importlib.abc.MetaPathFinder):
        # torch (and TensorRT, pycuda) cannot be imported at all in this process.
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "tensorrt", "pycuda"):
                raise ImportError(f"{name} is hidden for this test")
            return None

    sys.meta_path.insert(0, HideTorch())
    import numpy as np
    import handjoints_trt
    from handjoints_trt import HandJointDetector, DetectorOptions, Hand
    sys.path.insert(0, sys.argv[3])
    from runtime_models import dot_hand_frame
    from handjoints_trt.draw import draw_hands

    frame, truth = dot_hand_frame((240, 320), [(100, 60, 100)])
    result = {}
    for backend in ("onnxruntime", "auto"):
        with HandJointDetector(backend=backend, localizer_model=sys.argv[1], hand_model=sys.argv[2]) as d:
            hands = d.detect(frame)
            tracked = d.track(frame)
            draw_hands(frame, hands)
            result[backend] = [len(hands), len(tracked), d.backend_kind]
    forbidden = ("torch", "tensorrt", "handjoints_trt.models", "handjoints_trt.training",
                 "handjoints_trt.export", "handjoints_trt.backends.tensorrt", "handjoints_trt.backends.torch")
    result["loaded"] = sorted(m for m in sys.modules if m in forbidden)
    try:
        HandJointDetector(backend="torch", localizer_model=sys.argv[1], hand_model=sys.argv[2])
        result["torch_error"] = None
    except ImportError as exc:
        result["torch_error"] = str(exc)
    print(json.dumps(result))
""")


@pytest.fixture(scope="session")
def dots(tmp_path_factory):
    return write_dot_models(tmp_path_factory.getbasetemp() / "dot_models")


def test_runtime_works_with_torch_hidden(dots):
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(dots["localizer"]), str(dots["hand"]),
                          str(Path(__file__).parent)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["onnxruntime"] == [1, 1, "onnxruntime"]
    assert result["auto"] == [1, 1, "onnxruntime"]      # no GPU/TensorRT here: auto = ONNX Runtime
    assert result["torch_error"] and "pip install" in result["torch_error"]
    assert result["loaded"] == []


def test_import_is_light():
    run = subprocess.run([sys.executable, "-c", "import sys, handjoints_trt, handjoints_trt.backends; "
                          "print(sorted(m for m in ('cv2', 'onnxruntime', 'torch', 'tensorrt') if m in sys.modules))"],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
