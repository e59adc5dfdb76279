"""DetectorOptions.any_angle: the hand-direction network (models/orient_net.py), its training and export, and the
detector that stands every hand upright by it before stage II."""
import csv

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.detector import hand_angles  # noqa: E402
from handjoints_trt.export.onnx_export import export_checkpoint, read_metadata  # noqa: E402
from handjoints_trt.models import build_model  # noqa: E402
from handjoints_trt.models.config import OrientNetConfig  # noqa: E402
from handjoints_trt.models_registry import WEIGHTS_DIR, model_filename  # noqa: E402
from handjoints_trt.training.orientation import (OrientationConfig, OrientationTrainer,  # noqa: E402
                                                 angle_errors, direction_targets)

from runtime_models import export_lite_models  # noqa: E402

SYNTHETIC_ANY_ANGLE = {"train": [{"kind": "synthetic", "seed": 1, "weight": 1.0}],
                       "val": [{"kind": "synthetic", "seed": 999, "length": 64}],
                       "jitter": {"p_any_rotation": 1.0}}
SHIPPED = all((WEIGHTS_DIR / model_filename(s)).is_file() for s in ("orientation", "hand_aligned"))


@pytest.mark.parametrize("head", ["points", "vector"])
def test_the_network_gives_unit_directions_and_its_config_is_checked(head):
    net = build_model("orientation", {"crop_size": 64, "channels": [8, 16, 16], "head": head}).eval()
    out = net(torch.rand(3, 3, 64, 64) - 0.5)
    assert out.shape == (3, 2)
    np.testing.assert_allclose(out.norm(dim=1).detach().numpy(), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="head"):
        OrientNetConfig(head="angle").validate()
    with pytest.raises(ValueError, match="divisible"):
        OrientNetConfig(crop_size=100).validate()
    with pytest.raises(ValueError, match="unknown"):
        OrientNetConfig.from_dict({"crop": 128})


def test_the_points_head_reads_the_direction_from_its_two_maps():
    """Soft-argmax of a map peaked at one cell is that cell's centre; the direction runs wrist -> knuckle."""
    net = build_model("orientation", {"crop_size": 64, "channels": [8, 16, 16]}).eval()
    logits = torch.full((1, 2, 8, 8), -30.0)
    logits[0, 0, 6, 2] = logits[0, 1, 1, 5] = 30.0      # wrist at cell (x 2, y 6), knuckle at (x 5, y 1)
    points = net.points(logits)
    np.testing.assert_allclose(points[0].numpy(), [[2.5 * 8, 6.5 * 8], [5.5 * 8, 1.5 * 8]], atol=1e-3)
    # the loss is smallest for maps at the labelled joints
    from handjoints_trt.training.orientation import points_loss
    keypoints = torch.zeros(1, 21, 2)
    keypoints[0, 0], keypoints[0, 9] = torch.tensor([2.5, 6.5]) * 2, torch.tensor([5.5, 1.5]) * 2   # stride-4 cells
    batch = {"keypoints": keypoints, "trainable": torch.ones(1, 21), "negative": torch.zeros(1)}
    right = points_loss(net, logits / 10, batch)
    wrong = points_loss(net, logits.flip(1) / 10, batch)
    assert right < wrong


def test_targets_follow_the_wrist_to_the_middle_knuckle_and_skip_what_has_none():
    points = torch.zeros(3, 21, 2)
    points[:, 9] = torch.tensor([[0.0, -5.0], [3.0, 0.0], [0.0, 2.0]])
    trainable = torch.ones(3, 21)
    trainable[2, 9] = 0
    batch = {"keypoints": points, "trainable": trainable, "negative": torch.tensor([0.0, 1.0, 0.0])}
    target, mask = direction_targets(batch)
    np.testing.assert_allclose(target[0].numpy(), [0, -1])
    assert mask.tolist() == [True, False, False]   # a hand-free crop and an unlabelled knuckle carry no loss
    assert angle_errors(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])).item() == pytest.approx(90.0)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """Two short epochs on synthetic crops at any angle (64 px crops, a small network)."""
    out = tmp_path_factory.mktemp("orient_run")
    cfg = OrientationConfig(out_dir=str(out), recipe=SYNTHETIC_ANY_ANGLE, model={"crop_size": 64,
                            "channels": [8, 16, 16, 32]}, epochs=2, epoch_size=96, val_size=32, batch_size=16,
                            num_workers=0, threads=2, progress=False, checkpoint_every=2)
    OrientationTrainer(cfg).fit()
    return out, cfg


def test_training_writes_checkpoints_and_epochs_and_resumes(trained_run):
    out, cfg = trained_run
    rows = list(csv.DictReader(open(out / "epochs.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert all(0 <= float(r["val_median_deg"]) <= 180 and int(r["val_crops"]) > 0 for r in rows)
    state = torch.load(out / "best.pt", weights_only=False)
    assert state["stage"] == "orientation" and "optimizer" not in state
    cfg.epochs = 3   # resuming continues from last.pt: one more epoch, not three
    OrientationTrainer(cfg).fit()
    assert [int(r["epoch"]) for r in csv.DictReader(open(out / "epochs.csv"))] == [1, 2, 3]


def test_a_run_starts_from_another_runs_weights_and_refuses_another_network(trained_run, tmp_path):
    from dataclasses import replace

    out, cfg = trained_run
    best = torch.load(out / "best.pt", weights_only=False)
    fresh = OrientationTrainer(replace(cfg, out_dir=str(tmp_path / "b"), init_from=str(out / "best.pt")))
    for name, value in fresh.model.state_dict().items():
        torch.testing.assert_close(value, best["model"][name])
    with pytest.raises(ValueError, match="not a checkpoint of this direction network"):
        OrientationTrainer(replace(cfg, out_dir=str(tmp_path / "c"), init_from=str(out / "best.pt"),
                                   model={**cfg.model, "channels": [8, 16, 16, 16]}))


def test_export_matches_pytorch_and_carries_its_kind(trained_run, tmp_path):
    out, _ = trained_run
    path = tmp_path / "orientation.onnx"
    report = export_checkpoint(out / "best.pt", path)
    assert report.max_abs < 1e-3   # unit vectors: ORT and PyTorch agree to 0.06 degrees
    meta = read_metadata(path)
    assert meta["kind"] == "orientation" and meta["outputs"] == "direction" and meta["input_size"] == "64"


# ------------------------------------------------------------------------------------------------ the detector
@pytest.fixture(scope="module")
def any_angle_models(tmp_path_factory):
    """The untrained lite networks and an untrained orientation network for their 128 px crops (seeded)."""
    folder = tmp_path_factory.mktemp("any_angle_models")
    lite = export_lite_models(tmp_path_factory.getbasetemp() / "lite_models")
    paths = {}
    for side in (128, 64):
        torch.manual_seed(5)
        net = build_model("orientation", {"crop_size": side})
        with torch.no_grad():   # peaked maps, as a trained network's: near-uniform ones give a near-zero direction
            net.head.weight.mul_(50.0)
        pt = folder / f"orientation{side}.pt"
        torch.save({"model": net.state_dict(), "model_config": net.config.to_dict(), "stage": "orientation"}, pt)
        export_checkpoint(pt, folder / f"orientation{side}.onnx")
        paths[side] = folder / f"orientation{side}.onnx"
    return {**lite, "orientation": paths[128], "orientation64": paths[64]}


@pytest.fixture
def no_recheck(monkeypatch):
    """The untrained networks are never sure: without this every hand would take _recheck_turns' crops and the
    plain network's, and every followed hand the tracker's second reading."""
    monkeypatch.setattr("handjoints_trt.detector.RECHECK_BELOW", 0.0)
    monkeypatch.setattr("handjoints_trt.detector.PLAIN_BELOW", 0.0)
    monkeypatch.setattr("handjoints_trt.tracking.CARRIED_REREAD_BELOW", None)


def _frame():
    import cv2

    rng = np.random.default_rng(11)
    frame = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (0, 0), 3)
    return frame, np.array([[20, 30, 120, 150], [150, 60, 300, 220]], np.float32)


def _lite(m, **options) -> HandJointDetector:
    """A detector on the untrained lite networks: with any_angle, the lite hand network is both the plain and the
    aligned one, beside the direction network; ``options`` as DetectorOptions."""
    angle = dict(any_angle=True, aligned_model=m["hand"], orientation_model=m["orientation"]) \
        if options.get("any_angle", True) else {}
    return HandJointDetector(**{"threads": 1, "hand_model": m["hand"], "localizer_model": m["localizer"], **angle,
                                **options})


def test_each_crop_is_turned_by_the_direction_network(any_angle_models, no_recheck):
    frame, boxes = _frame()
    m = any_angle_models
    with _lite(m) as turned, _lite(m, any_angle=False) as plain:
        angles = turned.hand_directions(frame, boxes)
        assert turned.hand_directions(frame, np.zeros((0, 4))).shape == (0,)
        hands = turned.estimate(frame, boxes)
        np.testing.assert_allclose(turned.last_crop_rotations, angles)
        assert turned.last_timings["orientation"] > 0
        # the same as the plain detector given those angles, and given angles the network is not asked
        expected = plain.estimate(frame, boxes, rotations_deg=angles)
        for got, want in zip(hands, expected):
            np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-4)
        turned.estimate(frame, boxes, rotations_deg=[10.0, -20.0])
        np.testing.assert_allclose(turned.last_crop_rotations, [10.0, -20.0])
        # the direction vector's angle: crops read through the network the same way whatever the backend
        from handjoints_trt.preprocess import crop_hands
        crops, _ = crop_hands(frame, boxes, turned.crop_size)
        direction = turned.orientation_backend.infer({"crops": crops})["direction"]
        v = np.zeros((2, 21, 2))
        v[:, 9] = direction
        np.testing.assert_allclose(angles, hand_angles(v), atol=1e-4)
    assert turned.orientation_backend is None   # closed with the others


def test_the_torch_backend_runs_the_direction_network_too(any_angle_models, no_recheck):
    frame, boxes = _frame()
    m = any_angle_models
    common = dict(threads=1, any_angle=True, hand_model=m["hand_pt"], aligned_model=m["hand_pt"],
                  localizer_model=m["localizer_pt"])
    with HandJointDetector(backend="torch", orientation_model=m["orientation"].with_suffix(".pt"), **common) as ref, \
            HandJointDetector(threads=1, any_angle=True, hand_model=m["hand"], aligned_model=m["hand"],
                              localizer_model=m["localizer"], orientation_model=m["orientation"]) as ort:
        np.testing.assert_allclose(ref.hand_directions(frame, boxes), ort.hand_directions(frame, boxes), atol=0.05)


def test_a_direction_network_for_other_crops_or_a_swapped_model_is_refused(any_angle_models):
    m = any_angle_models
    with pytest.raises(ValueError, match="64 px crops"):
        HandJointDetector(any_angle=True, aligned_model=m["hand"], localizer_model=m["localizer"],
                          orientation_model=m["orientation64"])
    with pytest.raises(ValueError, match="orientation_model"):
        HandJointDetector(any_angle=True, aligned_model=m["hand"], localizer_model=m["localizer"],
                          orientation_model=m["hand"])
    with pytest.raises(ValueError, match="any_angle"):
        HandJointDetector(any_angle="yes")


def test_nan_rotations_are_asked_of_the_network_and_refused_without_it(any_angle_models, no_recheck):
    frame, boxes = _frame()
    m = any_angle_models
    with _lite(m) as turned, _lite(m, any_angle=False) as plain:
        turned.estimate(frame, boxes, rotations_deg=[np.nan, 10.0])
        np.testing.assert_allclose(turned.last_crop_rotations, [turned.hand_directions(frame, boxes[:1])[0], 10.0])
        with pytest.raises(ValueError, match="finite angle"):
            plain.estimate(frame, boxes, rotations_deg=[np.nan, 10.0])


def test_the_tracker_carries_each_hand_angle_to_the_next_frame(any_angle_models, no_recheck):
    """A followed hand is cropped turned by its joints' angle on the last frame; a new one by the network's."""
    import handjoints_trt.tracking as tracking

    frame, _ = _frame()
    m = any_angle_models
    lenient = dict(box_threshold=0.0, hand_threshold=0.0, lost_confidence=0.0, min_box_size=0.0, max_hands=2)
    with _lite(m, **lenient) as det:
        first = det.track(frame)
        assert first
        found, _ = det.localize(frame)   # every new hand's crop turned by the network
        np.testing.assert_allclose(sorted(det.last_crop_rotations), sorted(det.hand_directions(frame, found)),
                                   atol=1e-4)
        second = det.track(frame)
        by_id = {h.track_id: h for h in first}
        expected = [hand_angles(by_id[h.track_id].keypoints[None])[0] for h in second if h.track_id in by_id]
        assert expected
        np.testing.assert_allclose(sorted(det.last_crop_rotations[:len(expected)]), sorted(expected), atol=1e-4)
    assert tracking.ANY_ANGLE_CARRY



def test_an_unsure_followed_hand_is_read_again_as_detect_reads_it(any_angle_models, no_recheck, monkeypatch):
    """tracking.CARRIED_REREAD_BELOW: a followed hand read under it at its carried turn is read once more as a new
    hand (the direction network's turn), and the surer read is kept. Over it, or with None, the carried read stands
    alone."""
    import handjoints_trt.tracking as tracking

    frame, _ = _frame()
    m = any_angle_models
    lenient = dict(box_threshold=0.0, hand_threshold=0.0, lost_confidence=0.0, unseen_confidence=0.0,
                   min_box_size=0.0, max_hands=1, redetect_interval=1000, track_recrop=0.0)

    def reads(det):   # crops stage II reads on the next frame
        before = det.crops_read
        hands = det.track(frame)
        return det.crops_read - before, hands

    with _lite(m, **lenient) as det:
        assert len(det.track(frame)) == 1
        assert reads(det)[0] == 1                   # None: the followed hand read once, at its carried turn
        monkeypatch.setattr(tracking, "CARRIED_REREAD_BELOW", 0.9)    # every untrained hand is under it
        carried = [tracking.HandTracker._rotation(t, True) for t in det._tracker.tracks.tracks]
        boxes = det._tracker.tracks.predicted_boxes()
        once = det.estimate(frame, boxes, rotations_deg=carried)[0]
        fresh = det.estimate(frame, boxes)[0]       # as a new hand: the direction network's turn
        assert max(once.mean_confidence, fresh.mean_confidence) < 0.9
        count, (hand,) = reads(det)
        assert count == 2
        assert hand.mean_confidence == pytest.approx(max(once.mean_confidence, fresh.mean_confidence), abs=1e-5)
        monkeypatch.setattr(tracking, "CARRIED_REREAD_BELOW", 0.0)     # no hand under it: read once
        assert reads(det)[0] == 1


# ------------------------------------------------------------------------------------------ the shipped models
@pytest.mark.skipif(not SHIPPED, reason="the any_angle models are not shipped in this checkout")
def test_any_angle_is_on_by_default_with_the_shipped_hand_network_only(any_angle_models):
    """any_angle None (the default) turns on with the shipped hand network (named or not, FP32 or INT8) and stays
    off with another one, whose crops the shipped direction and aligned networks were not made for."""
    from handjoints_trt.cli import ANY_ANGLE_WORDS

    m = any_angle_models
    for options in ({}, {"hand_model": WEIGHTS_DIR / "hand.onnx"}, {"precision": "int8"}):
        with HandJointDetector(threads=1, **options) as det:
            assert det.options.any_angle is True and det.orientation_backend is not None
            assert det.aligned_backend.path.name == model_filename("hand_aligned", det.options.precision)
    with HandJointDetector(threads=1, hand_model=m["hand"], localizer_model=m["localizer"]) as other:
        assert other.options.any_angle is False and other.aligned_backend is None
    with HandJointDetector(threads=1, any_angle=False) as off:
        assert off.aligned_backend is None and off.orientation_backend is None
    assert ANY_ANGLE_WORDS["auto"] is None
    # the options decide it as the detector does (tools that swap a detector's options use this)
    from handjoints_trt.types import DetectorOptions
    assert DetectorOptions().resolved().any_angle is True
    assert DetectorOptions(hand_model=m["hand"]).resolved().any_angle is False
    assert DetectorOptions(any_angle="track").resolved().any_angle == "track"


@pytest.mark.skipif(not SHIPPED, reason="the any_angle models are not shipped in this checkout")
@pytest.mark.parametrize("quarters", [1, 2])
def test_the_shipped_models_stand_turned_real_hands_upright(hagrid_dir, quarters):
    """Real val photos turned 90 / 180 degrees with their labelled boxes: the orientation network finds which way
    most hands point, and the any_angle joints beat the plain network's by a wide margin (measured on 300 photos
    in benchmarks/results/any_angle.md)."""
    from handjoints_trt.data.compose import turned_sample
    from handjoints_trt.data.loaders import load_hagrid_mp
    from handjoints_trt.evaluation import PCKAccumulator

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:40]
    plain, turned, errors = PCKAccumulator(), PCKAccumulator(), []
    with HandJointDetector(threads=1, any_angle=False) as one, HandJointDetector(threads=1, any_angle=True) as anya:
        for record in records:
            sample = turned_sample(record.load(), quarters)
            label = sample.hands[0]
            box = label.box[None]
            plain.add(one.estimate(sample.image, box)[0].keypoints[None], label.keypoints[None], label.visible[None])
            turned.add(anya.estimate(sample.image, box)[0].keypoints[None], label.keypoints[None],
                       label.visible[None])
            if label.visible[[0, 9]].all():
                want = hand_angles(label.keypoints[None])[0]
                errors.append(abs((anya.last_crop_rotations[0] - want + 180) % 360 - 180))
    assert np.median(errors) < 20, np.median(errors)
    assert turned.result().pck[1] > plain.result().pck[1] + 0.05, (plain.result().pck, turned.result().pck)


@pytest.mark.skipif(not SHIPPED, reason="the any_angle models are not shipped in this checkout")
def test_the_default_names_turned_real_hands(hagrid_dir):
    """The default chain's left / right (the aligned network's head, since session 24 trained on crops the direction
    network stands upright, as detect() stands them) on the first 150 val photos turned 90 and 180 degrees with their
    labelled boxes agrees with MediaPipe's handedness (swapped to the person's hand). Measured on these: 0.953 /
    0.940 (session 23's head 0.940 / 0.927); on 1,601 held-out val photos 0.948 / 0.944 (0.939 / 0.939); the plain
    network on turned hands 0.55-0.73 (RESULTS.md sections 14, 18). A head that guessed would score ~0.5."""
    from handjoints_trt.data.compose import turned_sample
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:150]
    agreement = {}
    with HandJointDetector(threads=1) as detector:
        for quarters in (1, 2):
            agree = named = 0
            for record in records:
                sample = turned_sample(record.load(), quarters)
                label = sample.hands[0]
                if label.handedness not in ("left", "right"):
                    continue
                named += 1
                agree += detector.estimate(sample.image, label.box[None])[0].handedness == label.handedness
            agreement[quarters * 90] = agree / named
    assert min(agreement.values()) >= 0.92, agreement


@pytest.fixture(scope="module")
def other_aligned(any_angle_models, tmp_path_factory):
    """A differently seeded hand network, so that its joints and the plain network's differ, with peaked maps (as a
    trained network's), so that it is surer of its joints than the untrained plain network."""
    m = any_angle_models
    folder = tmp_path_factory.mktemp("other_aligned")
    config = torch.load(m["hand_pt"], weights_only=False)["model_config"]
    torch.manual_seed(9)
    other = build_model("hand", config)
    with torch.no_grad():
        other.msff[-1].head.weight.mul_(50.0)
    torch.save({"model": other.state_dict(), "model_config": config, "stage": "hand"}, folder / "aligned.pt")
    export_checkpoint(folder / "aligned.pt", folder / "aligned.onnx")
    return folder / "aligned.onnx"


def test_track_mode_keeps_the_plain_network_in_detect_and_aligns_in_track(any_angle_models, other_aligned,
                                                                          no_recheck):
    """any_angle="track": detect() is the plain detector's; track() crops by the direction network and runs the
    aligned network (here a differently seeded network, so the two can be told apart)."""
    m = any_angle_models
    frame, boxes = _frame()
    common = dict(threads=1, hand_model=m["hand"], localizer_model=m["localizer"])
    with HandJointDetector(any_angle="track", aligned_model=other_aligned,
                           orientation_model=m["orientation"], **common) as mixed, \
            HandJointDetector(**common) as plain, \
            HandJointDetector(any_angle=True, aligned_model=other_aligned,
                              orientation_model=m["orientation"], **common) as always:
        for got, want in zip(mixed.estimate(frame, boxes), plain.estimate(frame, boxes)):
            np.testing.assert_array_equal(got.keypoints, want.keypoints)
        np.testing.assert_array_equal(mixed.last_crop_rotations, 0.0)
        for got, want in zip(mixed.estimate(frame, boxes, aligned=True), always.estimate(frame, boxes)):
            np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-4)
        with pytest.raises(ValueError, match="any_angle"):
            plain.estimate(frame, boxes, aligned=True)
        with pytest.raises(ValueError, match="any_angle"):
            plain.hand_directions(frame, boxes)
    with pytest.raises(ValueError, match="any_angle must be"):
        HandJointDetector(any_angle="detect")


def test_unsure_aligned_hands_are_read_by_the_plain_network_too(any_angle_models, other_aligned, monkeypatch):
    """A hand whose aligned joints stay unsure (here every hand: PLAIN_BELOW above any confidence) is read by the
    plain network on its upright crop too; the surer reading is kept, exactly as that network gives it alone: the
    plain one where the plain network is the peaked one, the aligned one where that is."""
    frame, boxes = _frame()
    m = any_angle_models
    monkeypatch.setattr("handjoints_trt.detector.RECHECK_BELOW", 0.0)
    common = dict(threads=1, any_angle=True, localizer_model=m["localizer"], orientation_model=m["orientation"])
    for plain_model, aligned_model, plain_wins in ((other_aligned, m["hand"], True), (m["hand"], other_aligned, False)):
        with HandJointDetector(hand_model=plain_model, aligned_model=aligned_model, **common) as det:
            monkeypatch.setattr("handjoints_trt.detector.PLAIN_BELOW", 1.01)
            angles = det.hand_directions(frame, boxes)
            aligned = det.estimate(frame, boxes, rotations_deg=angles, aligned=True)  # a given turn: read once
            plain = det.estimate(frame, boxes, aligned=False)
            assert all((p.mean_confidence > a.mean_confidence) == plain_wins for p, a in zip(plain, aligned))
            for got, want in zip(det.estimate(frame, boxes), plain if plain_wins else aligned):
                np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-4)
            np.testing.assert_allclose(det.last_crop_rotations, 0.0 if plain_wins else angles, atol=1e-6)
            monkeypatch.setattr("handjoints_trt.detector.PLAIN_BELOW", 0.0)   # sure enough: the aligned one alone
            for got, want in zip(det.estimate(frame, boxes), aligned):
                np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-4)


def test_unsure_hands_are_read_again_a_quarter_turn_further(any_angle_models, monkeypatch):
    """Hands whose aligned joints are unsure (all, for untrained networks) take the three other quarter turns; the
    surest of the four crops is kept, exactly as estimate() gives it at that rotation."""
    frame, boxes = _frame()
    m = any_angle_models
    monkeypatch.setattr("handjoints_trt.detector.PLAIN_BELOW", 0.0)
    with _lite(m) as det:
        det.estimate(frame, boxes, rotations_deg=[10.0, np.nan])   # a given turn is never rechecked
        assert det.last_crop_rotations[0] == 10.0
        first = det.hand_directions(frame, boxes)
        hands = det.estimate(frame, boxes)
        chosen = det.last_crop_rotations.copy()
        turns = (chosen - first) % 360
        assert np.all(np.min(np.abs(turns[:, None] - np.array([0, 90, 180, 270, 360])), 1) < 1e-6), turns
        monkeypatch.setattr("handjoints_trt.detector.RECHECK_BELOW", 0.0)
        for hand, rotation, start in zip(hands, chosen, first):
            alone = det.estimate(frame, boxes[:1] * 0 + hand.box, rotations_deg=[rotation])[0]
            np.testing.assert_allclose(hand.keypoints, alone.keypoints, atol=1e-4)
            plain = det.estimate(frame, boxes[:1] * 0 + hand.box, rotations_deg=[start])[0]
            assert hand.mean_confidence >= plain.mean_confidence - 1e-6


def test_crops_read_counts_every_stage_two_reading(any_angle_models, monkeypatch):
    """crops_read: one crop per box when every hand is sure; an unsure hand (all, for untrained networks) adds its
    three quarter turns and its plain reading; a given turn is read once; detect_crops (the network alone) is not
    the detector's work and is not counted."""
    frame, boxes = _frame()
    m = any_angle_models
    with _lite(m) as det:
        assert det.crops_read == 0
        monkeypatch.setattr("handjoints_trt.detector.RECHECK_BELOW", 0.0)
        monkeypatch.setattr("handjoints_trt.detector.PLAIN_BELOW", 0.0)
        det.estimate(frame, boxes)
        assert det.crops_read == 2
        monkeypatch.setattr("handjoints_trt.detector.RECHECK_BELOW", 1.01)
        det.estimate(frame, boxes)
        assert det.crops_read == 2 + 2 * 4
        monkeypatch.setattr("handjoints_trt.detector.PLAIN_BELOW", 1.01)
        det.estimate(frame, boxes)
        assert det.crops_read == 10 + 2 * 5
        det.estimate(frame, boxes, rotations_deg=[0.0, 0.0])      # a given turn: never read again
        assert det.crops_read == 22
        det.detect_crops(np.zeros((3, 3, det.crop_size, det.crop_size), np.float32))
        assert det.crops_read == 22


def test_boxes_the_vote_would_refuse_are_not_read_again(any_angle_models, monkeypatch):
    """estimate(reread=...): an unsure hand left out is read once, at the direction network's turn (no recheck, no
    plain network); detect() leaves out exactly the stage-I boxes whose vote could not pass at REREAD_REACH."""
    from handjoints_trt.detector import REREAD_REACH, vote_reachable

    frame, boxes = _frame()
    m = any_angle_models
    with _lite(m) as det:
        first = det.hand_directions(frame, boxes)
        once = det.estimate(frame, boxes, rotations_deg=first)      # a given turn: one reading
        det.estimate(frame, boxes)                                  # untrained: unsure, so read again
        assert not np.allclose(det.last_crop_rotations, first)
        hands = det.estimate(frame, boxes, reread=np.array([False, True]))
        assert det.last_crop_rotations[0] == pytest.approx(first[0])
        np.testing.assert_allclose(hands[0].keypoints, once[0].keypoints, atol=1e-4)
        with pytest.raises(ValueError, match="reread must be None or"):
            det.estimate(frame, boxes, reread=[True])
        asked = []
        real_estimate = det.estimate
        monkeypatch.setattr(det, "estimate", lambda *a, **k: asked.append(k["reread"]) or real_estimate(*a, **k))
        monkeypatch.setattr(det, "localize", lambda image, long_side=None: (boxes, np.array([0.2, 0.3], np.float32)))
        det.detect(frame)
        o = det.options
        np.testing.assert_array_equal(asked[0], vote_reachable([0.2, 0.3], o.hand_threshold, o.confidence_weight))
    # (box + w x reach) / (1 + w) >= hand threshold, at the defaults: boxes from 0.26 are worth a second reading
    np.testing.assert_array_equal(vote_reachable([0.15, 0.25, 0.3, 0.6], 0.44, 0.5), [False, False, True, True])
    assert vote_reachable([0.3], 0.44, 0.0).tolist() == [False] and REREAD_REACH == 0.8


@pytest.mark.skipif(not (SHIPPED and (WEIGHTS_DIR / "hand_aligned.int8.onnx").is_file()),
                    reason="the any_angle INT8 model is not shipped in this checkout")
def test_int8_runs_the_aligned_q_dq_network_and_keeps_the_joints(hagrid_dir):
    """precision='int8' with any_angle: the Q/DQ aligned network (the direction network stays float); the joints
    of turned real photos within a few pixels of FP32's (300 photos: PCK@0.2 0.949-0.951 against 0.943-0.946)."""
    from handjoints_trt.data.compose import turned_sample
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:12]
    with HandJointDetector(threads=1, any_angle=True) as fp32, \
            HandJointDetector(threads=1, any_angle=True, precision="int8") as int8:
        assert int8.aligned_backend.path.name == "hand_aligned.int8.onnx"
        assert int8.orientation_backend.path.name == "orientation.onnx"
        moved = []
        for record in records:
            sample = turned_sample(record.load(), 1)
            box = sample.hands[0].box[None]
            a, b = fp32.estimate(sample.image, box)[0], int8.estimate(sample.image, box)[0]
            size = max(box[0, 2] - box[0, 0], box[0, 3] - box[0, 1])
            moved.append(np.median(np.linalg.norm(a.keypoints - b.keypoints, axis=1)) / size)
    assert np.median(moved) < 0.03, moved
