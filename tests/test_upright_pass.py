"""DetectorOptions.upright_pass: a second stage-II pass on a crop turned upright for hands held sideways or down."""
import sys

import numpy as np
import pytest

from handjoints_trt import HandJointDetector
from handjoints_trt.detector import UPRIGHT_MIN_TURN, hand_angles
from handjoints_trt.evaluation import PCKAccumulator

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from handedness import turned  # noqa: E402


def test_hand_angles_measure_the_turn_clockwise_from_up():
    wrist = np.array([50.0, 50.0])
    tips = {0.0: (0, -10), 90.0: (10, 0), 180.0: (0, 10), -90.0: (-10, 0), 45.0: (10, -10)}
    keypoints = np.zeros((len(tips), 21, 2), np.float32)
    for n, offset in enumerate(tips.values()):
        keypoints[n, 0], keypoints[n, 9] = wrist, wrist + offset
    np.testing.assert_allclose(hand_angles(keypoints), list(tips), atol=1e-5)


def test_the_option_is_checked():
    with pytest.raises(ValueError, match="upright_pass"):
        HandJointDetector(upright_pass="yes")


def turned_points(points: np.ndarray, width: int, height: int, degrees: int) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return {90: np.stack([height - y, x], 1), 180: np.stack([width - x, height - y], 1)}[degrees]


@pytest.mark.parametrize("degrees", [90, 180])
def test_turned_real_hands_get_their_joints_back(hagrid_dir, degrees):
    """Real val photos turned 90 / 180 degrees with their labelled boxes: the second pass lifts PCK@0.2 (measured
    on 300 photos: 0.78 -> 0.90, 0.71 -> 0.91), never returns less sure joints than the first pass, and leaves
    the upright photos as they were (0.967 -> 0.965)."""
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:40]
    plain, upright, upright_as_is = PCKAccumulator(), PCKAccumulator(), PCKAccumulator()
    options = dict(any_angle=False, threads=1)   # the upright pass of the plain network (any_angle is the default)
    with HandJointDetector(**options) as one, HandJointDetector(**options, upright_pass=True) as two:
        for record in records:
            sample = record.load()
            label = sample.hands[0]
            height, width = sample.image.shape[:2]
            image, box = turned(sample.image, label.box, degrees)
            truth = turned_points(label.keypoints, width, height, degrees)[None]
            first, second = one.estimate(image, box[None])[0], two.estimate(image, box[None])[0]
            assert second.mean_confidence >= first.mean_confidence - 1e-6
            plain.add(first.keypoints[None], truth, label.visible[None])
            upright.add(second.keypoints[None], truth, label.visible[None])
            as_is = two.estimate(sample.image, label.box[None])[0]
            if abs(hand_angles(one.estimate(sample.image, label.box[None])[0].keypoints[None])[0]) < UPRIGHT_MIN_TURN:
                np.testing.assert_array_equal(as_is.keypoints, one.estimate(sample.image, label.box[None])[0].keypoints)
            upright_as_is.add(as_is.keypoints[None], label.keypoints[None], label.visible[None])
    assert upright.result().pck[1] > plain.result().pck[1] + 0.06, (plain.result().pck, upright.result().pck)
    assert upright_as_is.result().pck[1] > 0.93


def test_detect_and_the_cli_take_the_option(tmp_path, hagrid_dir):
    import cv2

    from handjoints_trt.cli import main
    from handjoints_trt.data.loaders import load_hagrid_mp

    sample = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][5].load()
    image, _ = turned(sample.image, sample.hands[0].box, 180)
    cv2.imwrite(str(tmp_path / "turned.png"), image)
    assert main(["detect", str(tmp_path / "turned.png"), "--out", str(tmp_path / "out"), "--no-image",
                 "--upright-pass", "--any-angle", "off", "--backend", "onnxruntime"]) == 0
    import json

    hands = json.loads((tmp_path / "out" / "turned.json").read_text())["hands"]
    with HandJointDetector(any_angle=False, upright_pass=True) as detector:
        found = detector.detect(image)
    assert len(hands) == len(found) >= 1
    written = np.array([[j["x"], j["y"]] for j in hands[0]["joints"]])
    np.testing.assert_allclose(written, found[0].keypoints, atol=0.01)
    with HandJointDetector(any_angle=False) as detector:   # without the pass these joints differ (a turned hand)
        assert np.abs(detector.detect(image)[0].keypoints - found[0].keypoints).max() > 5


def test_crops_turned_by_given_rotations(hagrid_dir):
    """estimate(rotations_deg=): a hand believed turned by a given angle is cropped turned back, in one pass.
    Photos turned 180 degrees, cropped turned by 180: PCK@0.2 far above the plain crop's; rotation 0 is the plain
    crop exactly; last_crop_rotations reports what was used; a wrong count of angles is refused."""
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:30]
    plain, turned_back = PCKAccumulator(), PCKAccumulator()
    with HandJointDetector(any_angle=False, threads=1) as detector:
        for record in records:
            sample = record.load()
            label = sample.hands[0]
            height, width = sample.image.shape[:2]
            image, box = turned(sample.image, label.box, 180)
            truth = turned_points(label.keypoints, width, height, 180)[None]
            plain.add(detector.estimate(image, box[None])[0].keypoints[None], truth, label.visible[None])
            hand = detector.estimate(image, box[None], rotations_deg=[180.0])[0]
            np.testing.assert_array_equal(detector.last_crop_rotations, [180.0])
            turned_back.add(hand.keypoints[None], truth, label.visible[None])
        upright = detector.estimate(sample.image, label.box[None])[0]
        np.testing.assert_array_equal(detector.estimate(sample.image, label.box[None], rotations_deg=[0])[0].keypoints,
                                      upright.keypoints)
        with pytest.raises(ValueError, match="rotations_deg must hold one finite angle"):
            detector.estimate(sample.image, label.box[None], rotations_deg=[0.0, 90.0])
        with pytest.raises(ValueError, match="rotations_deg"):
            detector.estimate(sample.image, label.box[None], rotations_deg=[np.nan])
    assert turned_back.result().pck[1] > plain.result().pck[1] + 0.1, (plain.result().pck, turned_back.result().pck)


def _turned_clip(tmp_path, hagrid_dir, frames: int = 8, photo: int = 3, quarters: int = 1):
    """A real OpenCV video (MJPG) of one val photo, enlarged 2x in 640x480 and turned ``quarters`` x 90 degrees,
    drifting 3 px a frame; returns the frames as read back and the first frame's labelled hand."""
    import cv2

    from handjoints_trt.data.compose import turned_sample
    from handjoints_trt.data.loaders import load_hagrid_mp
    from peer_mediapipe import paste_centred

    sample = turned_sample(paste_centred(
        [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][photo].load(), upscale=2.0), quarters)
    height, width = sample.image.shape[:2]
    writer = cv2.VideoWriter(str(tmp_path / "turned.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (width, height))
    for i in range(frames):
        writer.write(np.roll(sample.image, 3 * i, axis=1))
    writer.release()
    capture = cv2.VideoCapture(str(tmp_path / "turned.avi"))
    read = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        read.append(frame)
    capture.release()
    assert len(read) == frames
    return read, sample.hands[0]


def test_tracking_keeps_a_turned_hand_cropped_upright(tmp_path, hagrid_dir):
    """track() with upright_pass: once the upright pass wins for a turned hand, the next frames crop it turned
    upright at once (the track's rotation), so stage II runs once per frame instead of twice, and the joints stay
    as close to the labels as the first frame's. Without the option every crop stays plain."""
    frames, label = _turned_clip(tmp_path, hagrid_dir)
    with HandJointDetector(any_angle=False, threads=1, upright_pass=True) as detector:
        calls = _counting(detector)
        per_frame, errors = [], []
        for i, frame in enumerate(frames):
            before = len(calls)
            (hand,) = detector.track(frame)
            per_frame.append(len(calls) - before)
            truth = label.keypoints + [3 * i, 0]
            errors.append(np.median(np.linalg.norm(hand.keypoints - truth, axis=1)[label.visible]))
        track = detector._tracker.tracks.tracks[0]
        assert abs(track.rotation) >= UPRIGHT_MIN_TURN
    assert per_frame[0] == 2 and per_frame[1:] == [1] * (len(frames) - 1), per_frame
    assert max(errors[1:]) < max(2.0 * errors[0], 4.0), errors
    with HandJointDetector(any_angle=False, threads=1, upright_pass=False) as detector:
        for frame in frames[:3]:
            detector.track(frame)
        assert detector._tracker.tracks.tracks[0].rotation == 0.0


def test_track_mode_runs_the_pass_in_track_only(tmp_path, hagrid_dir):
    """upright_pass="track": track() turns the turned hand upright (its track's rotation), detect() and estimate()
    run one plain pass (their joints equal the default's, False)."""
    frames, label = _turned_clip(tmp_path, hagrid_dir, frames=3)
    plain = dict(any_angle=False, threads=1)
    with HandJointDetector(**plain, upright_pass="track") as tracking, HandJointDetector(**plain) as off:
        assert off.options.upright_pass is False
        np.testing.assert_array_equal(tracking.detect(frames[0])[0].keypoints, off.detect(frames[0])[0].keypoints)
        box = label.box[None]
        np.testing.assert_array_equal(tracking.estimate(frames[0], box)[0].keypoints,
                                      off.estimate(frames[0], box)[0].keypoints)
        for frame in frames:
            tracking.track(frame)
            off.track(frame)
        assert abs(tracking._tracker.tracks.tracks[0].rotation) >= UPRIGHT_MIN_TURN
        assert off._tracker.tracks.tracks[0].rotation == 0.0
    for bad in ("yes", "always", 1):
        with pytest.raises(ValueError, match="upright_pass must be True"):
            HandJointDetector(upright_pass=bad)


def test_a_hand_given_the_second_pass_is_named_by_both_passes(hagrid_dir):
    """Under upright_pass a hand that ran the second pass gets the mean of both passes' P(right hand), whichever
    pass gave its joints (the plain crop names sideways-held gestures better, the upright one turned hands); a
    hand that did not is named by its one pass."""
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.postprocess import decode_joints
    from handjoints_trt.preprocess import crop_hands

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:12]
    checked = {"two passes": 0, "one pass": 0}
    with HandJointDetector(any_angle=False, threads=1, upright_pass=True) as detector:
        for degrees in (0, 90):
            for record in records:
                sample = record.load()
                image, box = (sample.image, sample.hands[0].box) if degrees == 0 else \
                    turned(sample.image, sample.hands[0].box, degrees)
                crops, affines = crop_hands(image, box[None], detector.crop_size)
                heatmaps, first = detector.hand_stage(crops)
                angle = hand_angles(decode_joints(heatmaps, affines, detector.heatmap_stride)[0])[0]
                hand = detector.estimate(image, box[None])[0]
                if abs(angle) < UPRIGHT_MIN_TURN:
                    assert hand.right_probability == pytest.approx(float(first[0]), abs=1e-6)
                    checked["one pass"] += 1
                    continue
                upright, _ = crop_hands(image, box[None], detector.crop_size, rotations_deg=[angle])
                second = detector.hand_stage(upright)[1]
                assert hand.right_probability == pytest.approx(float(first[0] + second[0]) / 2, abs=1e-6)
                checked["two passes"] += 1
    assert checked["two passes"] >= 5 and checked["one pass"] >= 3, checked


def _counting(detector) -> list:
    """Record the batch size of every stage-II call the detector makes (the real calls run unchanged)."""
    calls, real_stage = [], detector.hand_stage

    def counted(crops):
        calls.append(len(crops))
        return real_stage(crops)

    detector.hand_stage = counted
    return calls


def test_a_sideways_gesture_whose_plain_crop_wins_is_not_retried_every_frame(tmp_path, hagrid_dir):
    """track() with upright_pass="track": when the pass ran and the plain crop stayed surer (a gesture held
    sideways, known as it is), the track waits UPRIGHT_RETRY_FRAMES frames before trying the pass again, so such a
    hand costs one stage-II run per frame, not two."""
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.tracking import UPRIGHT_RETRY_FRAMES
    from peer_mediapipe import paste_centred

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:80]
    with HandJointDetector(any_angle=False, threads=1, upright_pass=True) as detector:
        for photo, record in enumerate(records):       # an upright photo whose hand takes the pass and loses it
            frame = paste_centred(record.load(), upscale=2.0)
            detector.estimate(frame.image, frame.hands[0].box[None])
            if detector.last_upright_lost[0]:
                break
        else:
            pytest.skip("no val photo among the first 80 whose plain crop beats the upright pass")
    frames, _ = _turned_clip(tmp_path, hagrid_dir, frames=UPRIGHT_RETRY_FRAMES + 3, photo=photo, quarters=0)
    with HandJointDetector(any_angle=False, threads=1, upright_pass="track", redetect_interval=100) as detector:
        calls = _counting(detector)
        per_frame = []
        for frame in frames:
            before = len(calls)
            assert len(detector.track(frame)) == 1
            per_frame.append(len(calls) - before)
        track = detector._tracker.tracks.tracks[0]
    assert per_frame[0] == 2 and track.rotation == 0.0, per_frame
    assert per_frame[1:UPRIGHT_RETRY_FRAMES] == [1] * (UPRIGHT_RETRY_FRAMES - 1), per_frame
    assert 2 in per_frame[UPRIGHT_RETRY_FRAMES:], per_frame           # then the pass is tried again


def test_estimate_takes_the_pass_per_box(hagrid_dir):
    from handjoints_trt.data.loaders import load_hagrid_mp

    sample = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][0].load()
    image, box = turned(sample.image, sample.hands[0].box, 180)
    boxes = np.stack([box, box])
    with HandJointDetector(any_angle=False, threads=1) as detector:
        calls = _counting(detector)
        both = detector.estimate(image, boxes, upright_pass=np.array([True, False]))
        assert calls == [2, 1]                                   # the second pass for the first box only
        alone = detector.estimate(image, box[None], upright_pass=True)[0]
        plain = detector.estimate(image, box[None])[0]
        np.testing.assert_array_equal(both[0].keypoints, alone.keypoints)
        np.testing.assert_array_equal(both[1].keypoints, plain.keypoints)
        with pytest.raises(ValueError, match="one bool per box"):
            detector.estimate(image, boxes, upright_pass=np.array([True]))
