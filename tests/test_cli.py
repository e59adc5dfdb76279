"""`handjoints` subcommands run headless in subprocesses on generated images and videos; the files they write
are read back (cv2.imread / VideoCapture, JSON) and checked against known joints (dot-hand models) or the
given boxes (untrained exported lite models)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from handjoints_trt.skeleton import HandJoint
from runtime_models import dot_hand_frame, export_lite_models, write_dot_models

REPO = Path(__file__).resolve().parents[1]
NAMES = [j.name.lower() for j in HandJoint]
PALMS = [(100, 80, 160)]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`handjoints ARGS` in a fresh interpreter (the console script's entry point)."""
    proc = subprocess.run([sys.executable, "-m", "handjoints_trt.cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"handjoints {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def dot(tmp_path_factory) -> dict:
    """Dot-hand models (no torch), a dot-hand image with its true joints, and a 10-frame MJPG video."""
    folder = tmp_path_factory.mktemp("dot")
    models = write_dot_models(folder)
    frame, joints = dot_hand_frame((360, 480), PALMS)
    cv2.imwrite(str(folder / "hand.png"), frame)
    writer = cv2.VideoWriter(str(folder / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    for i in range(10):
        writer.write(dot_hand_frame((360, 480), [(60 + 8 * i, 80, 160)])[0])
    writer.release()
    return {**models, "image": folder / "hand.png", "joints": joints, "video": folder / "clip.avi"}


@pytest.fixture(scope="session")
def lite(tmp_path_factory) -> dict:
    """Untrained lite models exported by the project's exporter (shared by the test files; needs torch)."""
    pytest.importorskip("torch")
    return export_lite_models(tmp_path_factory.getbasetemp() / "lite_models")


def models(m: dict) -> list[str]:
    return ["--localizer", str(m["localizer"]), "--hand", str(m["hand"]), "--backend", "onnxruntime"]


def check_hand(hand: dict) -> None:
    """The documented schema of one hand."""
    assert set(hand) == {"box", "score", "track_id", "handedness", "handedness_score", "joints"}
    assert hand["handedness"] in ("left", "right", None)
    assert len(hand["box"]) == 4 and 0.0 <= hand["score"] <= 1.0
    assert [j["name"] for j in hand["joints"]] == NAMES
    for j in hand["joints"]:
        assert set(j) == {"name", "x", "y", "confidence"} and 0.0 <= j["confidence"] <= 1.0


# ---------------------------------------------------------------------------------------------- help
def test_help_lists_every_command_without_heavy_imports():
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "handjoints_trt.cli", "--help"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0
    for command in ("detect", "video", "train", "export", "calibrate", "build", "eval", "bench", "export-triton"):
        assert command in proc.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert not imported & {"torch", "cv2", "onnxruntime", "onnx", "tensorrt"}, imported


@pytest.mark.parametrize("command", ["detect", "video", "export", "calibrate", "calibration-set", "build", "eval",
                                     "bench", "export-triton"])
def test_each_command_help_explains_with_an_example(command):
    out = run(command, "--help").stdout
    assert "examples:" in out and f"handjoints {command}" in out


# -------------------------------------------------------------------------------------------- detect
def test_detect_writes_png_and_json_with_the_true_joints(dot, tmp_path):
    run("detect", str(dot["image"]), "--out", str(tmp_path), *models(dot))
    doc = json.loads((tmp_path / "hand.json").read_text())
    assert doc["width"] == 480 and doc["height"] == 360 and doc["joint_names"] == NAMES
    assert len(doc["hands"]) == 1
    check_hand(doc["hands"][0])
    got = np.array([[j["x"], j["y"]] for j in doc["hands"][0]["joints"]])
    assert np.abs(got - dot["joints"][0]).max() < 2.0          # pixels, from an end-to-end run
    annotated = cv2.imread(str(tmp_path / "hand.png"))
    assert annotated.shape == (360, 480, 3)
    assert (annotated != cv2.imread(str(dot["image"]))).any()   # the hand was drawn


def test_detect_min_hand_confidence_flag_reaches_the_detector(dot, tmp_path):
    """A floor above any confidence drops the found hand; the default keeps it (test above)."""
    run("detect", str(dot["image"]), "--out", str(tmp_path), *models(dot), "--min-hand-confidence", "1.0")
    assert json.loads((tmp_path / "hand.json").read_text())["hands"] == []


def test_detect_vote_flags_reach_the_detector(dot, tmp_path):
    """--hand-threshold 1 with the joints weighed in drops the found hand (its box score is under 1); the
    same threshold with --confidence-weight 0 and no vote (threshold 0) keeps it."""
    run("detect", str(dot["image"]), "--out", str(tmp_path / "a"), *models(dot), "--hand-threshold", "1.0")
    assert json.loads((tmp_path / "a" / "hand.json").read_text())["hands"] == []
    run("detect", str(dot["image"]), "--out", str(tmp_path / "b"), *models(dot), "--hand-threshold", "0",
        "--confidence-weight", "0")
    assert len(json.loads((tmp_path / "b" / "hand.json").read_text())["hands"]) == 1


def test_learned_vote_flags_reach_the_detector(dot, tmp_path):
    """--vote learned with other networks than the shipped ones exits 2 naming the fix; --vote linear runs them
    (the default, auto, picks it)."""
    proc = run("detect", str(dot["image"]), "--out", str(tmp_path / "a"), *models(dot), "--vote", "learned",
               check=False)
    assert proc.returncode == 2 and "vote='linear'" in proc.stderr
    run("detect", str(dot["image"]), "--out", str(tmp_path / "b"), *models(dot), "--vote", "linear")
    assert len(json.loads((tmp_path / "b" / "hand.json").read_text())["hands"]) == 1
    proc = run("detect", str(dot["image"]), "--out", str(tmp_path / "c"), *models(dot), "--vote-threshold", "2",
               check=False)
    assert proc.returncode == 2 and "vote_threshold" in proc.stderr


def test_detect_box_refine_flag_reaches_the_detector(dot, tmp_path):
    """--box-refine 0 reports stage I's box; the default moves it towards the joints' box; out of range is
    refused by name."""
    boxes = []
    for weight in ("0", "1"):
        run("detect", str(dot["image"]), "--out", str(tmp_path / weight), *models(dot), "--box-refine", weight)
        boxes.append(json.loads((tmp_path / weight / "hand.json").read_text())["hands"][0]["box"])
    assert np.abs(np.subtract(boxes[0], boxes[1])).max() > 1
    proc = run("detect", str(dot["image"]), "--out", str(tmp_path / "bad"), *models(dot), "--box-refine", "2",
               check=False)
    assert proc.returncode != 0 and "box_refine" in proc.stderr


def test_detect_localizer_size_flag_reaches_the_detector(dot, tmp_path):
    """A fixed stage-I input moves the box (another resolution of the same map); a bad one is refused."""
    boxes = []
    for size in ("384", "128x96"):
        out = tmp_path / size
        run("detect", str(dot["image"]), "--out", str(out), *models(dot), "--localizer-size", size)
        boxes.append(json.loads((out / "hand.json").read_text())["hands"][0]["box"])
    assert boxes[0] != boxes[1]
    proc = run("detect", str(dot["image"]), "--out", str(tmp_path), *models(dot), "--localizer-size", "300",
               check=False)
    assert proc.returncode == 2 and "multiple of 32" in proc.stderr
    proc = run("detect", str(dot["image"]), "--out", str(tmp_path), *models(dot), "--localizer-size", "big",
               check=False)
    assert proc.returncode == 2 and "WIDTHxHEIGHT" in proc.stderr


def test_detect_refuses_to_overwrite_its_input(dot):
    proc = run("detect", str(dot["image"]), "--out", str(dot["image"].parent), *models(dot), check=False)
    assert proc.returncode == 2 and "overwrite" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["missing.png"], "does not exist"),
    (["IMG", "--box", "10,10,5,50"], "x0,y0,x1,y1"),
    (["IMG", "--hand", "nowhere.onnx"], "--hand nowhere.onnx does not exist"),
])
def test_detect_errors_name_the_problem(dot, tmp_path, args, message):
    args = [str(dot["image"]) if a == "IMG" else a for a in args]
    base = ["--localizer", str(dot["localizer"])] + ([] if "--hand" in args else ["--hand", str(dot["hand"])])
    proc = run("detect", *args, "--out", str(tmp_path), *base, check=False)
    assert proc.returncode == 2 and message in proc.stderr


@pytest.mark.slow
def test_detect_with_given_boxes_on_untrained_models(lite, dot, tmp_path):
    boxes = ["100,80,260,240", "300,100,420,220"]
    run("detect", str(dot["image"]), "--out", str(tmp_path), *models(lite), "--box", boxes[0], "--box", boxes[1])
    hands = json.loads((tmp_path / "hand.json").read_text())["hands"]
    assert len(hands) == 2
    for hand, box in zip(hands, boxes):
        check_hand(hand)
        assert hand["box"] == [float(v) for v in box.split(",")]
    assert cv2.imread(str(tmp_path / "hand.png")) is not None


# --------------------------------------------------------------------------------------------- video
def read_frames(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_video_writes_annotated_video_and_json_lines(dot, tmp_path):
    # In-process, to check that an inference command never imports torch.
    code = ("import sys; from handjoints_trt.cli import main; "
            f"rc = main(['video', {str(dot['video'])!r}, '--out', {str(tmp_path)!r}, '--quiet', "
            f"'--localizer', {str(dot['localizer'])!r}, '--hand', {str(dot['hand'])!r}, '--backend', 'onnxruntime']); "
            "assert 'torch' not in sys.modules, 'video imported torch'; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in (tmp_path / "clip.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in lines] == list(range(10))
    assert all(len(r["hands"]) == 1 for r in lines)
    for r in lines:
        check_hand(r["hands"][0])
    assert {r["hands"][0]["track_id"] for r in lines} == {0}     # one hand, one stable id
    wrist_x = [r["hands"][0]["joints"][0]["x"] for r in lines]
    assert wrist_x[-1] - wrist_x[0] == pytest.approx(72, abs=3)  # the palm moved 8 px a frame
    assert read_frames(tmp_path / "clip.annotated.avi") == 10


def test_video_csv_one_row_per_joint(dot, tmp_path):
    run("video", str(dot["video"]), "--out", str(tmp_path), "--format", "csv", "--no-video", "--max-frames", "4",
        "--quiet", *models(dot))
    rows = (tmp_path / "clip.csv").read_text().splitlines()
    assert rows[0] == "frame,time,track_id,hand_score,joint,x,y,confidence,handedness"
    assert len(rows) == 1 + 4 * 21 and rows[1].split(",")[4] == "wrist"
    assert not (tmp_path / "clip.annotated.avi").exists()


def test_video_redetect_interval_reaches_the_tracker(dot, tmp_path):
    """--redetect-interval 1 runs stage I on every frame, so every hand's score is stage I's box score; by default
    stage I runs on frame 0 and the tracked frames after it report the mean joint confidence. 0 is refused."""
    scores = {}
    for interval in ("1", "30"):
        run("video", str(dot["video"]), "--out", str(tmp_path / interval), "--no-video", "--max-frames", "3",
            "--quiet", "--redetect-interval", interval, *models(dot))
        lines = [json.loads(line) for line in (tmp_path / interval / "clip.jsonl").read_text().splitlines()]
        scores[interval] = [r["hands"][0]["score"] for r in lines]
    assert scores["1"][0] == scores["30"][0]                       # frame 0: stage I in both
    assert scores["1"][1] != scores["30"][1] and scores["1"][2] != scores["30"][2]
    proc = run("video", str(dot["video"]), "--out", str(tmp_path), "--redetect-interval", "0", *models(dot),
               check=False)
    assert proc.returncode != 0 and "redetect_interval" in proc.stderr


def test_video_no_refind_lost_reaches_the_tracker(dot, tmp_path):
    """A real MJPG clip whose hand jumps across the frame on frame 3, a frame stage I skips: by default stage I looks
    for the lost hand on that frame and frame 3 has it; with --no-refind-lost frame 3 is empty and frame 4 has it."""
    clip = tmp_path / "jump.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (480, 360))
    for i in range(5):
        writer.write(dot_hand_frame((360, 480), [(40, 40, 140) if i < 3 else (300, 200, 140)])[0])
    writer.release()
    counts = {}
    for flags in ((), ("--no-refind-lost",)):
        out = tmp_path / ("off" if flags else "on")
        run("video", str(clip), "--out", str(out), "--no-video", "--quiet", "--max-hands", "1", *flags, *models(dot))
        counts[flags] = [len(json.loads(line)["hands"]) for line in (out / "jump.jsonl").read_text().splitlines()]
    assert counts[()] == [1, 1, 1, 1, 1], counts
    assert counts[("--no-refind-lost",)] == [1, 1, 1, 0, 1], counts
    proc = run("video", str(clip), "--out", str(tmp_path), "--track-recrop", "1.5", *models(dot), check=False)
    assert proc.returncode != 0 and "track_recrop" in proc.stderr
    proc = run("video", str(clip), "--out", str(tmp_path), "--track-window", "100", *models(dot), check=False)
    assert proc.returncode != 0 and "track_window" in proc.stderr
    out = tmp_path / "window"
    run("video", str(clip), "--out", str(out), "--no-video", "--quiet", "--max-hands", "1", "--track-window", "192",
        *models(dot))
    assert [len(json.loads(line)["hands"]) for line in (out / "jump.jsonl").read_text().splitlines()] == [1] * 5


def test_video_no_track_hold_lets_the_crop_follow_the_joints(dot, tmp_path):
    """--no-track-hold reaches DetectorOptions.track_hold: on a real MJPG clip of a still hand under sensor noise the
    held crop (the default) and the crop that follows the joints give different joints, each hand found on every
    frame."""
    clip = tmp_path / "still.avi"
    rng = np.random.default_rng(3)
    frame = dot_hand_frame((360, 480), [(150, 120, 140)])[0]
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (480, 360))
    for _ in range(10):
        writer.write(np.clip(frame + rng.normal(0, 8, frame.shape), 0, 255).astype(np.uint8))
    writer.release()
    joints = {}
    for flags in ((), ("--no-track-hold",)):
        out = tmp_path / ("follow" if flags else "held")
        run("video", str(clip), "--out", str(out), "--no-video", "--quiet", "--max-hands", "1", "--no-smoothing",
            "--track-window", "0", *flags, *models(dot))
        rows = [json.loads(line)["hands"] for line in (out / "still.jsonl").read_text().splitlines()]
        assert [len(hands) for hands in rows] == [1] * 10
        joints[flags] = np.array([[[j["x"], j["y"]] for j in hands[0]["joints"]] for hands in rows])
    assert not np.allclose(joints[()], joints[("--no-track-hold",)])


def test_video_smooths_joints_by_default_and_no_smoothing_gives_them_as_read(dot, tmp_path):
    """A real MJPG clip of a hand held still but jittering +-4 px from frame to frame: by default (One-Euro smoothing,
    DetectorOptions.smoothing) the written wrist moves less from frame to frame than with --no-smoothing."""
    clip = tmp_path / "shaky.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (480, 360))
    for i in range(16):
        writer.write(dot_hand_frame((360, 480), [(150 + 4 * (-1) ** i, 120 + 3 * (-1) ** (i // 2), 140)])[0])
    writer.release()
    steps = {}
    for flags in ((), ("--no-smoothing",)):
        out = tmp_path / ("raw" if flags else "smooth")
        run("video", str(clip), "--out", str(out), "--no-video", "--quiet", "--max-hands", "1", *flags, *models(dot))
        frames = [json.loads(line)["hands"] for line in (out / "shaky.jsonl").read_text().splitlines()]
        assert all(len(hands) == 1 for hands in frames)
        wrist = np.array([(hands[0]["joints"][0]["x"], hands[0]["joints"][0]["y"]) for hands in frames], float)
        steps[flags] = float(np.linalg.norm(np.diff(wrist[4:], axis=0), axis=1).mean())
    assert steps[()] < 0.6 * steps[("--no-smoothing",)], steps


def test_video_errors(dot, tmp_path):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video")
    proc = run("video", str(bad), "--out", str(tmp_path), *models(dot), check=False)
    assert proc.returncode == 2 and "bad.avi" in proc.stderr
    proc = run("video", str(dot["video"]), "--out", str(tmp_path), "--codec", "XX", *models(dot), check=False)
    assert proc.returncode == 2 and "FourCC" in proc.stderr


# ---------------------------------------------------------------------------------------------- eval
def test_eval_scores_known_joints(dot, tmp_path):
    from handjoints_trt.data.loaders.paper import write_paper
    from handjoints_trt.data.sample import HandLabel, Record

    records = []
    for i, palm in enumerate([(100, 80, 160), (200, 120, 120), (40, 40, 200)]):
        frame, joints = dot_hand_frame((360, 480), [palm])
        cv2.imwrite(str(tmp_path / f"{i}.png"), frame)
        records.append(Record(str(tmp_path / f"{i}.png"), [HandLabel(joints[0], np.ones(21, bool))], 480, 360))
    data = write_paper(records, tmp_path / "test.json")
    out = run("eval", "--data", str(data), "--out", str(tmp_path / "pck.json"), *models(dot)).stdout
    assert "| dot_hand.onnx | 1.00 |" in out     # the Markdown table
    result = json.loads((tmp_path / "pck.json").read_text())
    assert result["count"] == 3 * 21 and result["images"] == 3
    assert result["pck@0.1"] > 0.95 and result["epe"] < 2.0


def test_eval_unknown_format(dot, tmp_path):
    proc = run("eval", "--data", str(dot["image"]), "--format", "nope", *models(dot), check=False)
    assert proc.returncode == 2 and "unknown dataset format" in proc.stderr


# ------------------------------------------------------------------------------- export, build, others
@pytest.mark.slow
def test_export_prints_the_parity_report(lite, tmp_path):
    out = tmp_path / "hand.onnx"
    stdout = run("export", str(lite["hand_pt"]), "--out", str(out)).stdout
    assert "hand parity" in stdout and "max |diff|" in stdout and "decoded joints moved" in stdout
    import onnxruntime as ort

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["crops"]
    # a localizer has no joints to decode: its line says what was checked and nothing more
    stdout = run("export", str(lite["localizer_pt"]), "--out", str(tmp_path / "loc.onnx")).stdout
    assert "localizer parity" in stdout and "max |diff|" in stdout and "joints" not in stdout


def test_export_missing_checkpoint(tmp_path):
    proc = run("export", str(tmp_path / "none.pt"), "--out", str(tmp_path / "x.onnx"), check=False)
    assert proc.returncode == 2 and "none.pt does not exist" in proc.stderr


def test_build_prints_trtexec_without_tensorrt(dot):
    out = run("build", "--model", str(dot["hand"]), "--precision", "fp16", "--max-batch", "8", "--print-trtexec",
              "--trt-version", "10.3").stdout
    assert out.startswith("trtexec") and "--fp16" in out and "crops:8x3x128x128" in out


def test_calibrate_is_mounted_from_the_checkout(tmp_path):
    assert "--manifest" in run("calibrate", "--help").stdout
    proc = run("calibrate", "--model", "m.onnx", "--manifest", str(tmp_path / "none.json"), "--out", "o.onnx",
               check=False)
    assert proc.returncode != 0 and "none.json" in proc.stderr


def test_bench_runs_benchmarks_fps_or_explains():
    proc = run("bench", "--", "--help", check=False)
    if (REPO / "benchmarks" / "fps.py").is_file():
        assert proc.returncode == 0 and "usage" in proc.stdout.lower()
    else:
        assert proc.returncode == 2 and "benchmarks/fps.py" in proc.stderr


def test_nms_nested_flag_reaches_the_detector(dot, tmp_path):
    from handjoints_trt.cli import build_parser, make_detector

    args = build_parser("detect").parse_args(["detect", str(dot["image"]), "--out", str(tmp_path), *models(dot),
                                              "--nms-nested", "0.9"])
    with make_detector(args) as detector:
        assert detector.options.nms_nested == 0.9
    args = build_parser("detect").parse_args(["detect", str(dot["image"]), "--out", str(tmp_path), *models(dot)])
    with make_detector(args) as detector:
        assert detector.options.nms_nested is None                      # off unless asked for
    proc = run("detect", str(dot["image"]), "--out", str(tmp_path), *models(dot), "--nms-nested", "2",
               check=False)
    assert proc.returncode == 2 and "nms_nested must be None" in proc.stderr


def test_min_box_size_and_flip_test_flags_reach_the_detector(dot, tmp_path):
    from handjoints_trt.cli import build_parser, make_detector
    from handjoints_trt.types import MIN_BOX_SIZE

    base = ["detect", str(dot["image"]), "--out", str(tmp_path), *models(dot)]
    with make_detector(build_parser("detect").parse_args(base)) as detector:
        assert detector.options.min_box_size == MIN_BOX_SIZE and detector.options.flip_test is False
    args = build_parser("detect").parse_args(base + ["--min-box-size", "0", "--flip-test"])
    with make_detector(args) as detector:
        assert detector.options.min_box_size == 0 and detector.options.flip_test is True
    proc = run(*base, "--min-box-size", "-3", check=False)
    assert proc.returncode == 2 and "min_box_size must be a number of frame pixels" in proc.stderr
