"""benchmarks/peer_mediapipe.py: our conversion of MediaPipe's results, the pasted-photo frames, the exit without
MediaPipe, and (where mediapipe and ../shared are present) one real MediaPipe run on a hagrid_mp photo.

The fake results below are shaped like MediaPipe's (``multi_hand_landmarks[i].landmark[j].x/.y`` normalised,
``multi_handedness[i].classification[0].score``): they test our conversion code, not MediaPipe.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))
import peer_mediapipe as pm  # noqa: E402
from model_eval import detect_and_score  # noqa: E402

from handjoints_trt.data.sample import HandLabel, Sample  # noqa: E402


def fake_result(hands_xy: list[np.ndarray], scores: list[float], labels: list[str] | None = None):
    """A Hands.process() result: per hand (21, 2) normalised x, y, a handedness score and label (default Left)."""
    if not hands_xy:
        return SimpleNamespace(multi_hand_landmarks=None, multi_handedness=None)
    landmarks = [SimpleNamespace(landmark=[SimpleNamespace(x=float(x), y=float(y), z=0.0) for x, y in xy])
                 for xy in hands_xy]
    labels = labels or ["Left"] * len(scores)
    handedness = [SimpleNamespace(classification=[SimpleNamespace(index=0, score=s, label=label)])
                  for s, label in zip(scores, labels)]
    return SimpleNamespace(multi_hand_landmarks=landmarks, multi_handedness=handedness)


class FakeHandsModule:
    """Stands in for mediapipe.solutions.hands: Hands(**options).process(rgb) returns ``result_for(rgb)``."""

    def __init__(self, result_for):
        self.result_for, self.made, self.seen = result_for, [], []

    def Hands(self, **options):  # noqa: N802 (MediaPipe's name)
        module = self

        class Hands:
            closed = False

            def process(self, rgb):
                module.seen.append(rgb)
                return module.result_for(rgb)

            def close(self):
                self.closed = True

        hands = Hands()
        self.made.append((options, hands))
        return hands


def line_hand(x0: float, y0: float, step: float) -> np.ndarray:
    """(21, 2) normalised points on a diagonal: joint j at (x0 + j * step, y0 + j * step / 2)."""
    j = np.arange(21, dtype=np.float64)
    return np.stack([x0 + j * step, y0 + j * step / 2], axis=1)


# ------------------------------------------------------------------------------------------------ conversion
def test_landmarks_scale_to_frame_pixels():
    result = fake_result([line_hand(0.25, 0.5, 0.01)], [0.9])
    kp = pm.landmarks_to_pixels(result.multi_hand_landmarks[0], 640, 480)
    assert kp.shape == (21, 2) and kp.dtype == np.float32
    np.testing.assert_allclose(kp[0], [160.0, 240.0], atol=1e-4)          # 0.25 * 640, 0.5 * 480
    np.testing.assert_allclose(kp[20], [(0.25 + 0.2) * 640, (0.5 + 0.1) * 480], atol=1e-3)


def test_hands_from_result_box_is_clipped_keypoint_box():
    xy = line_hand(0.9, 0.1, 0.01)                 # the last joints leave the frame on the right: x up to 1.1
    hands = pm.hands_from_result(fake_result([xy], [0.8]), 640, 480)
    assert len(hands) == 1
    hand = hands[0]
    np.testing.assert_allclose(hand.box, [0.9 * 640, 0.1 * 480, 640.0, 0.2 * 480], atol=1e-3)
    assert hand.keypoints[20, 0] == pytest.approx(1.1 * 640, abs=1e-3)    # keypoints themselves not clipped
    assert hand.score == pytest.approx(0.8)
    assert hand.confidence.shape == (21,) and np.allclose(hand.confidence, 0.8)


def test_hands_from_result_empty_and_several():
    assert pm.hands_from_result(fake_result([], []), 640, 480) == []
    hands = pm.hands_from_result(fake_result([line_hand(0.1, 0.1, 0.005), line_hand(0.5, 0.5, 0.01)],
                                             [0.7, 0.95]), 320, 240)
    assert [round(h.score, 2) for h in hands] == [0.7, 0.95]
    assert [h.handedness for h in hands] == ["right", "right"]   # MediaPipe's "Left" is the person's right hand


def test_hands_from_result_swaps_mediapipes_mirror_convention():
    hands = pm.hands_from_result(fake_result([line_hand(0.1, 0.1, 0.005), line_hand(0.5, 0.5, 0.01)],
                                             [0.7, 0.95], ["Left", "Right"]), 320, 240)
    assert [(h.handedness, round(h.handedness_score, 2)) for h in hands] == [("right", 0.7), ("left", 0.95)]
    np.testing.assert_allclose(hands[1].box, [160, 120, 160 + 0.2 * 320, 120 + 0.1 * 240], atol=1e-3)


def test_adapter_converts_to_rgb_and_closes():
    module = FakeHandsModule(lambda rgb: fake_result([], []))
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[..., 0] = 255                                                    # blue in BGR
    with pm.MediaPipeHands(module, max_hands=3) as adapter:
        assert adapter.detect(frame) == []
    options, hands = module.made[0]
    assert options == {"static_image_mode": True, "max_num_hands": 3, "model_complexity": 1,
                       "min_detection_confidence": 0.5}
    assert hands.closed
    assert module.seen[0][0, 0].tolist() == [0, 0, 255]                   # blue last in RGB


def test_scoring_of_a_perfect_fake_mediapipe():
    """detect_and_score runs on the adapter unchanged: landmarks equal to the labels score recall 1, PCK 1."""
    kp = (line_hand(0.3, 0.3, 0.01) * [640, 480]).astype(np.float32)
    sample = Sample(np.zeros((480, 640, 3), np.uint8), [HandLabel(kp, np.ones(21, bool))])
    module = FakeHandsModule(lambda rgb: fake_result([kp / [640, 480]], [0.99]))
    with pm.MediaPipeHands(module) as adapter:
        scored = detect_and_score(adapter, [sample, Sample(np.zeros((480, 640, 3), np.uint8), [])])
    assert scored["recall"] == 1.0 and scored["hands"] == 1 and scored["images"] == 2
    assert scored["precision"] == 0.5                                      # one box on the empty frame
    assert scored["pipeline"].pck[1] == pytest.approx(1.0)
    assert scored["handedness"] is None and scored["handedness_hands"] == 0   # the label has no handedness


def test_scoring_counts_handedness_agreement_on_found_hands():
    """MediaPipe's "Left" is the person's right hand: it agrees with a right-hand label, not with a left one, and
    a hand nobody found is not counted."""
    kp = (line_hand(0.3, 0.3, 0.01) * [640, 480]).astype(np.float32)
    far = (line_hand(0.05, 0.05, 0.002) * [640, 480]).astype(np.float32)
    frame = np.zeros((480, 640, 3), np.uint8)
    samples = [Sample(frame, [HandLabel(kp, np.ones(21, bool), None, "right")]),
               Sample(frame, [HandLabel(kp, np.ones(21, bool), None, "left")]),
               Sample(frame, [HandLabel(far, np.ones(21, bool), None, "left")])]
    module = FakeHandsModule(lambda rgb: fake_result([kp / [640, 480]], [0.99], ["Left"]))
    with pm.MediaPipeHands(module) as adapter:
        scored = detect_and_score(adapter, samples)
    assert scored["handedness_hands"] == 2 and scored["handedness"] == pytest.approx(0.5)


def test_report_rows_carry_pck_at_0_1_and_left_right_agreement():
    """The report's table: PCK@0.1 and @0.2 of the pipeline, and the L-R cell from detect_and_score's counts
    ('-' where no hand carried both a label and a prediction)."""
    kp = (line_hand(0.3, 0.3, 0.01) * [640, 480]).astype(np.float32)
    frame = np.zeros((480, 640, 3), np.uint8)
    samples = [Sample(frame, [HandLabel(kp, np.ones(21, bool), None, "right")]),
               Sample(frame, [HandLabel(kp + [16.0, 0.0], np.ones(21, bool), None, "left")])]   # 1/8 of its size off
    module = FakeHandsModule(lambda rgb: fake_result([kp / [640, 480]], [0.99], ["Left"]))
    with pm.MediaPipeHands(module) as adapter:
        agreeing = detect_and_score(adapter, samples)
        unlabelled = detect_and_score(adapter, [Sample(frame, [HandLabel(kp, np.ones(21, bool))])])
    machine = {"date": "2026-12-05T06:00:00+00:00", "commit": "abc", "cpu": "test", "cores": 2,
               "load_avg_1_5_15": [0, 0, 0], "gpus": [], "python": "3", "libraries": {}}
    results = {"date": "2026-12-05", "command": "test", "niceness": 0, "pinned_cpu": None, "machine": machine,
               "versions": {}, "detectors": {"MediaPipe": "fake"}, "timing": {
                   "MediaPipe": {"median": 1.0, "p95": 1.0, "n": 1, "hands_found": 1},
                   "ratio_of": "x", "ratio": 1.0}}
    text = pm.markdown(results, {"(a)": {"MediaPipe": agreeing}, "(c)": {"MediaPipe": unlabelled}})
    rows = [line for line in text.splitlines() if line.startswith("| (")]
    a, c = (row.split(" | ") for row in rows)
    pck = agreeing["pipeline"].pck
    assert a[7:9] == ["0.500", "1.000"] and a[7:9] == [f"{pck[0]:.3f}", f"{pck[1]:.3f}"]
    assert a[-1] == "0.500 (2) |" and c[-1] == "- |"


# ------------------------------------------------------------------------------------------------ frames
def test_paste_centred_moves_labels_with_the_photo():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (60, 40, 3), np.uint8)
    kp = np.stack([np.linspace(2, 38, 21), np.linspace(3, 57, 21)], axis=1).astype(np.float32)
    out = pm.paste_centred(Sample(photo, [HandLabel(kp, np.ones(21, bool))]), (640, 480))
    assert out.image.shape == (480, 640, 3)
    x0, y0 = (640 - 40) // 2, (480 - 60) // 2
    assert np.array_equal(out.image[y0:y0 + 60, x0:x0 + 40], photo)
    np.testing.assert_allclose(out.hands[0].keypoints, kp + [x0, y0])
    np.testing.assert_allclose(out.hands[0].box, [2 + x0, 3 + y0, 38 + x0, 57 + y0])


def test_paste_centred_shrinks_a_photo_larger_than_the_frame():
    photo = np.full((600, 300, 3), 128, np.uint8)
    kp = np.tile(np.array([[300.0, 600.0]], np.float32), (21, 1))          # the bottom-right corner
    out = pm.paste_centred(Sample(photo, [HandLabel(kp, np.ones(21, bool))]), (640, 480), max_fill=0.8)
    h = round(600 * 0.64)                                                  # 0.8 * 480 / 600
    w = round(300 * 0.64)
    np.testing.assert_allclose(out.hands[0].keypoints[0], [(640 - w) // 2 + w, (480 - h) // 2 + h], atol=1e-3)


def test_paste_centred_upscale_scales_labels():
    photo = np.zeros((50, 30, 3), np.uint8)
    kp = np.tile(np.array([[10.0, 20.0]], np.float32), (21, 1))
    out = pm.paste_centred(Sample(photo, [HandLabel(kp, np.ones(21, bool))]), (640, 480), upscale=2.0)
    np.testing.assert_allclose(out.hands[0].keypoints[0], [(640 - 60) // 2 + 20, (480 - 100) // 2 + 40])
    np.testing.assert_allclose(out.hands[0].box, [*out.hands[0].keypoints[0], *out.hands[0].keypoints[0]])


# ------------------------------------------------------------------------------------------------ no mediapipe
def test_main_without_mediapipe_exits_2_with_install_hint(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "mediapipe", None)                    # import mediapipe -> ImportError
    assert pm.main(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install mediapipe==0.10.14" in err and "python -m venv" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_script_without_mediapipe_exits_2_no_traceback(tmp_path):
    code = ("import runpy, sys; sys.modules['mediapipe'] = None; "
            f"sys.argv = ['peer_mediapipe.py', '--out', {str(tmp_path)!r}]; "
            f"runpy.run_path({str(BENCH / 'peer_mediapipe.py')!r}, run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "mediapipe==0.10.14" in proc.stderr and "Traceback" not in proc.stderr


def test_track_eval_peer_without_mediapipe_exits_2_with_install_hint(monkeypatch, tmp_path, capsys):
    """track_eval.py --peer needs MediaPipe: without it the run stops before any work, with the install hint."""
    import track_eval

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    assert track_eval.main(["--peer", "--sequences", "1", "--frames", "2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pip install mediapipe==0.10.14" in err and list(tmp_path.iterdir()) == []


def test_track_eval_markdown_leaves_the_peers_unknown_cells_empty():
    """MediaPipe says neither when its palm detector ran nor which hand is which track: '-' there, not 0."""
    import track_eval

    row = {"recall": 0.9, "precision": 0.95, "f1": 0.924, "pck@0.2": 0.85, "frames": 60, "id_switches": 0,
           "handedness_agreement": None, "handedness_flips": 3, "median_ms": 20.0}
    results = {"date": "2026-12-06", "command": "c", "sequences": 1, "frames": 60, "view": "640x480", "scale": 1.5,
               "motion": "hands", "hands": 60, "modes": {"track (defaults)": {**row, "stage1_frames": 12},
                                                         track_eval.PEER_MODE: {**row, "stage1_frames": None}}}
    lines = track_eval.markdown(results).splitlines()
    ours = next(line for line in lines if line.startswith("| track (defaults)"))
    peer = next(line for line in lines if line.startswith(f"| {track_eval.PEER_MODE}"))
    assert "| 12/60 | 0 |" in ours and "| - | - |" in peer


def test_real_mediapipe_video_mode_follows_a_hagrid_hand(hagrid_dir):
    """MediaPipeHands(video=True) (its tracking mode, track_eval.py --peer) on a real val photo shown for 5 frames:
    the hand is found on every frame, where the label is."""
    pytest.importorskip("mediapipe")
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.postprocess import box_iou

    sample = pm.paste_centred(load_hagrid_mp(hagrid_dir, split="val")[0].load())
    with pm.MediaPipeHands(pm.import_hands_module(), video=True) as adapter:
        assert adapter.options["static_image_mode"] is False
        found = [adapter.detect(sample.image) for _ in range(5)]
    for hands in found:
        assert hands and box_iou(sample.hands[0].box[None], np.array([h.box for h in hands], np.float32)).max() >= 0.5


# ------------------------------------------------------------------------------------------------ real mediapipe
def test_real_mediapipe_on_one_hagrid_photo(hagrid_dir):
    pytest.importorskip("mediapipe")
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.postprocess import box_iou

    sample = pm.paste_centred(load_hagrid_mp(hagrid_dir, split="val")[0].load())
    with pm.MediaPipeHands(pm.import_hands_module()) as adapter:
        hands = adapter.detect(sample.image)
    label = sample.hands[0]
    assert hands, "MediaPipe found no hand on the first hagrid_mp val photo (its own label says there is one)"
    iou = box_iou(label.box[None], np.array([h.box for h in hands], np.float32))[0]
    best = hands[int(iou.argmax())]
    side = float(max(label.box[2] - label.box[0], label.box[3] - label.box[1]))
    assert iou.max() >= 0.5
    assert np.linalg.norm(best.keypoints - label.keypoints, axis=1).mean() < 0.1 * side
    assert 0.5 <= best.score <= 1.0
