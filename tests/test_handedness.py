"""Handedness: the head on the hand network, its training, its ONNX output and what the runtime makes of it."""
import csv
from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.models import build_hand_net  # noqa: E402
from handjoints_trt.models.config import HandNetConfig  # noqa: E402
from handjoints_trt.preprocess import crop_hands  # noqa: E402
from handjoints_trt.tracking import HANDEDNESS_GAIN, Track  # noqa: E402
from handjoints_trt.training import datasets as D  # noqa: E402
from handjoints_trt.training.handedness import (HandednessConfig, HandednessTrainer, head_model,  # noqa: E402
                                                set_frozen_mode)
from handjoints_trt.training.loop import TrainConfig, Trainer, load_checkpoint  # noqa: E402
from handjoints_trt.training.recipes import RECIPES  # noqa: E402
from handjoints_trt.types import Hand  # noqa: E402

from conftest import REPO  # noqa: E402
from runtime_models import export_lite_models, handedness_counts  # noqa: E402

TINY_HAND = {"crop_size": 64, "stride": 4, "sshfr_channels": [16, 16, 16, 32, 32, 32, 32, 32, 32, 32],
             "c": 16, "p": 1, "q": 1, "num_msff": 2, "attention_reduction": 4}


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A tiny hand network trained 20 steps on synthetic crops (trainer format, no head): enough for its
    features to tell crops apart in eval mode (after 2 steps they are nearly constant)."""
    out = tmp_path_factory.mktemp("tiny_hand")
    trainer = Trainer(TrainConfig(stage="hand", out_dir=str(out), model=TINY_HAND, recipe=RECIPES["hand-synthetic"],
                                  epochs=1, epoch_size=320, val_size=16, batch_size=16, num_workers=0, threads=2,
                                  progress=False, sigma=1.0))
    trainer.fit()
    trainer.close()
    return out / "last.pt"


@pytest.fixture(scope="module")
def head_models(tmp_path_factory):
    """The untrained lite hand network with a (random, seeded) handedness head, as hand.pt + hand.onnx, and a
    localizer."""
    from handjoints_trt.export.onnx_export import export_checkpoint

    folder = tmp_path_factory.mktemp("head_models")
    lite = export_lite_models(tmp_path_factory.getbasetemp() / "lite_models")
    torch.manual_seed(3)   # the untrained lite network of the other runtime tests, and a seeded head on it
    model, config = head_model(load_checkpoint(lite["hand_pt"]))
    pt, onnx_path = folder / "hand.pt", folder / "hand.onnx"
    torch.save({"model": model.state_dict(), "model_config": config.to_dict(), "stage": "hand"}, pt)
    export_checkpoint(pt, onnx_path)
    return {"hand": onnx_path, "hand_pt": pt, "localizer": lite["localizer"], "plain_hand": lite["hand"]}


def _frame_and_boxes():
    rng = np.random.default_rng(7)
    frame = cv2_blur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    return frame, np.array([[20, 30, 120, 150], [150, 60, 300, 220]], np.float32)


def cv2_blur(image):
    import cv2

    return cv2.GaussianBlur(image, (0, 0), 3)


# ------------------------------------------------------------------------------------------------ the model
def test_the_head_leaves_the_heatmaps_exactly_and_gives_probabilities():
    torch.manual_seed(0)
    model = build_hand_net(HandNetConfig.from_dict({**TINY_HAND, "handedness_head": True})).eval()
    x = torch.rand(3, 3, 64, 64) - 0.5
    with torch.no_grad():
        heatmaps, right = model.forward_with_handedness(x)
        assert torch.equal(heatmaps, model(x))
    assert right.shape == (3, 1) and bool(((right > 0) & (right < 1)).all())
    plain = build_hand_net(HandNetConfig.from_dict(TINY_HAND))
    with pytest.raises(ValueError, match="no handedness head.*train-handedness"):
        plain.forward_with_handedness(x)


def test_configs_without_the_field_load_as_before_and_the_field_is_checked():
    assert HandNetConfig.from_dict(TINY_HAND).handedness_head is False   # checkpoints written before the head
    with pytest.raises(ValueError, match="handedness_head must be a bool"):
        HandNetConfig.from_dict({**TINY_HAND, "handedness_head": 1})


# --------------------------------------------------------------------------------------------- training data
def test_training_crops_carry_the_handedness_a_mirror_swaps():
    source = D.SyntheticCrops(seed=4, crop_size=64)
    truth = [source.item(i)[1][0][2] for i in range(40)]
    assert set(truth) == {"left", "right"}

    def labels(p_flip):
        crops = D.HandCrops([(source, 1.0)], 64, 4, 1.0, 12, seed=1, jitter=D.CropJitter(p_flip=p_flip))
        return [float(crops[i]["handedness"]) for i in range(12)]

    plain, mirrored = labels(0.0), labels(1.0)   # same seed: the same hands, crops mirrored or not
    assert set(plain) == {0.0, 1.0} and mirrored == [1.0 - v for v in plain]
    val = D.HandCrops([(source, 1.0)], 64, 4, 1.0, 12, augment=False)
    assert [float(val[i]["handedness"]) for i in range(12)] == [float(t == "right") for t in truth[:12]]
    negatives = D.HandCrops([(D.NegativeCrops(seed=0), 1.0)], 64, 4, 1.0, 4, seed=0)
    assert all(float(negatives[i]["handedness"]) == -1.0 for i in range(4))   # no hand: no label
    assert D.handedness_target(None, True) == -1.0


def test_hagrid_crops_carry_the_person_hand(hagrid_dir):
    records = D.hand_source({"kind": "hagrid_mp", "root": str(hagrid_dir), "split": "val"}, 64)
    crops = D.HandCrops([(records, 1.0)], 64, 4, 1.0, 20, augment=False)
    for i in range(20):
        raw = records.records[i].meta["mediapipe_handedness"]   # MediaPipe assumes a mirrored (selfie) image
        assert float(crops[i]["handedness"]) == float(raw == "Left")


# ------------------------------------------------------------------------------------------------- training
def test_head_training_moves_only_the_head_resumes_and_exports(tmp_path, tiny_checkpoint):
    from handjoints_trt.export.onnx_export import export_checkpoint, read_metadata

    cfg = HandednessConfig(init_from=str(tiny_checkpoint), out_dir=str(tmp_path / "head"), epochs=1, epoch_size=32,
                           val_size=16, synthetic_val=16, batch_size=16, num_workers=0, threads=2,
                           checkpoint_every=1, progress=False)
    HandednessTrainer(cfg).fit()
    source, trained = load_checkpoint(tiny_checkpoint)["model"], load_checkpoint(tmp_path / "head" / "last.pt")
    assert trained["model_config"]["handedness_head"] is True and trained["step"] == 2
    head_keys = [k for k in trained["model"] if k.startswith("handedness.")]
    assert head_keys and set(trained["model"]) - set(head_keys) == set(source)
    for key, value in source.items():   # the frozen network, BatchNorm statistics included, is bit for bit the same
        assert torch.equal(trained["model"][key], value), key
    rows = list(csv.DictReader((tmp_path / "head" / "epochs.csv").open()))
    assert len(rows) == 1 and 0 <= float(rows[0]["synthetic_accuracy"]) <= 1 and int(rows[0]["synthetic_crops"]) == 16
    # a second epoch resumes at step 2
    more = HandednessTrainer(replace(cfg, epochs=2))
    assert more.step == 2
    more.fit()
    assert load_checkpoint(tmp_path / "head" / "last.pt")["step"] == 4
    with pytest.raises(ValueError, match="another run"):
        HandednessTrainer(replace(cfg, init_from=str(tmp_path / "head" / "best.pt")))
    # a joint fine-tune (no head) starts from the network with its head: the head is dropped, the rest loaded
    tuned = Trainer(TrainConfig(stage="hand", out_dir=str(tmp_path / "tune"), model=TINY_HAND,
                                recipe=RECIPES["hand-synthetic"], init_from=str(tmp_path / "head" / "best.pt"),
                                epochs=1, epoch_size=16, val_size=16, batch_size=16, num_workers=0, threads=2,
                                progress=False, sigma=1.0))
    assert not any(k.startswith("handedness.") for k in tuned.model.state_dict())
    for key, value in tuned.model.state_dict().items():
        assert torch.equal(value, source[key]), key
    tuned.close()
    # the checkpoint exports with both outputs; ONNX Runtime agrees with PyTorch (export's parity check)
    export_checkpoint(tmp_path / "head" / "best.pt", tmp_path / "hand.onnx")
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "hand.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["heatmaps", "handedness"]
    assert read_metadata(tmp_path / "hand.onnx")["outputs"] == "heatmaps,handedness"


def test_the_upright_layout_forgets_the_angle_and_keeps_the_chirality():
    """upright_layout: the same hand turned by any angle, moved and scaled reads the same; its mirror image
    reads mirrored (x negated): what tells a left hand from a right one is kept."""
    from handjoints_trt.models.hand_net import upright_layout

    torch.manual_seed(0)
    hand = torch.rand(4, 21, 2) * 2 - 1
    base = upright_layout(hand)
    np.testing.assert_allclose(base[:, 9].numpy(), np.tile([0.0, -1.0], (4, 1)), atol=1e-3)
    for degrees in (37.0, 90.0, 180.0, 251.0):
        a = np.radians(degrees)
        turn = torch.tensor([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], dtype=torch.float32)
        moved = (hand @ turn.T) * 0.6 + torch.tensor([0.2, -0.1])
        np.testing.assert_allclose(upright_layout(moved).numpy(), base.numpy(), atol=5e-3)
    mirror = hand * torch.tensor([-1.0, 1.0])
    np.testing.assert_allclose(upright_layout(mirror).numpy(), (base * torch.tensor([-1.0, 1.0])).numpy(), atol=1e-5)


def test_an_upright_head_trains_exports_and_older_configs_stay_without_it(tmp_path, tiny_checkpoint):
    """`train-handedness --upright`: the new head reads 4 numbers per joint (the positions and the upright
    layout), trains on the frozen network, exports with ONNX Runtime = PyTorch (export's parity check), and
    gives another P(right hand) than it would without the upright layout; configs without the field load
    with it off."""
    from handjoints_trt.export.onnx_export import export_checkpoint

    assert HandNetConfig.from_dict({**TINY_HAND, "handedness_head": True}).handedness_upright is False
    cfg = HandednessConfig(init_from=str(tiny_checkpoint), out_dir=str(tmp_path / "head"), epochs=1, epoch_size=32,
                           val_size=16, synthetic_val=16, batch_size=16, num_workers=0, threads=2,
                           checkpoint_every=1, progress=False, upright=True)
    HandednessTrainer(cfg).fit()
    trained = load_checkpoint(tmp_path / "head" / "best.pt")
    assert trained["model_config"]["handedness_upright"] is True
    assert trained["model"]["handedness.mlp.0.weight"].shape[1] == 21 * (48 + 4)
    export_checkpoint(tmp_path / "head" / "best.pt", tmp_path / "hand.onnx")
    model = build_hand_net(HandNetConfig.from_dict(trained["model_config"])).eval()
    model.load_state_dict(trained["model"])
    crops = torch.rand(3, 3, 64, 64) - 0.5
    with torch.no_grad():
        _, right = model.forward_with_handedness(crops)
        weight = model.handedness.mlp[0].weight.view(-1, 21, 48 + 4)
        weight[:, :, 50:] = 0                       # the upright layout's two columns per joint, unread
        _, without = model.forward_with_handedness(crops)
    assert np.abs(without.numpy() - right.numpy()).max() > 1e-4
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "hand.onnx"), providers=["CPUExecutionProvider"])
    onnx_right = session.run(["handedness"], {"crops": crops.numpy()})[0]
    np.testing.assert_allclose(onnx_right, right.numpy(), atol=1e-5)


def test_the_head_learns_on_the_shipped_networks_frozen_features():
    """The head fits 32 synthetic crops from the frozen features of the committed hand checkpoint, and only the
    head's parameters get gradients (the network's features are computed once: they cannot change)."""
    model, config = head_model(load_checkpoint(REPO / "checkpoints" / "hand_cam_ns60.pt"))
    crops = D.HandCrops([(D.SyntheticCrops(seed=8, crop_size=config.crop_size), 1.0)], config.crop_size,
                        config.stride, 1.5, 32, augment=False)
    images = torch.from_numpy(np.stack([crops[i]["image"] for i in range(32)]))
    labels = torch.from_numpy(np.stack([crops[i]["handedness"] for i in range(32)]))
    model.eval()
    with torch.no_grad():
        heatmaps, fused = model._cascade(images, None, last_features=True)
    torch.manual_seed(0)
    set_frozen_mode(model, True)   # as the trainer runs it: the network in eval mode, the head in train mode
    optimizer = torch.optim.Adam(model.handedness.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        optimizer.zero_grad()
        right = model.handedness(fused, heatmaps[-1])[:, 0]
        loss = torch.nn.functional.binary_cross_entropy(right, labels)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    set_frozen_mode(model, False)
    with torch.no_grad():
        right = model.handedness(fused, heatmaps[-1])[:, 0]
    assert losses[-1] < 0.25 * losses[0], (losses[0], losses[-1])
    assert np.array_equal((right > 0.5).numpy(), labels.numpy() == 1)
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("handedness."))



# -------------------------------------------------------------------------------------------------- runtime
def _model_probabilities(path, frame, boxes, mirror=False):
    import onnxruntime as ort

    crops, _ = crop_hands(frame, boxes, 128)
    if mirror:
        crops = crops[..., ::-1].copy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["handedness"], {"crops": crops})[0][:, 0]


def test_detect_reports_the_models_handedness(head_models):
    frame, boxes = _frame_and_boxes()
    right = _model_probabilities(head_models["hand"], frame, boxes)
    with HandJointDetector(backend="onnxruntime", localizer_model=head_models["localizer"],
                           hand_model=head_models["hand"]) as detector:
        hands = detector.detect(frame, boxes)
    for hand, p in zip(hands, right):
        assert hand.handedness == ("right" if p >= 0.5 else "left")
        assert hand.handedness_score == pytest.approx(max(p, 1 - p), abs=1e-6)
        assert hand.to_dict()["handedness"] == hand.handedness
    with HandJointDetector(backend="onnxruntime", localizer_model=head_models["localizer"],
                           hand_model=head_models["hand"], mirrored=True) as detector:
        swapped = detector.detect(frame, boxes)
    assert [h.handedness for h in swapped] == [{"left": "right", "right": "left"}[h.handedness] for h in hands]
    assert [h.handedness_score for h in swapped] == pytest.approx([h.handedness_score for h in hands], abs=1e-6)


def test_flip_test_averages_the_mirror_with_its_handedness_swapped(head_models):
    frame, boxes = _frame_and_boxes()
    plain = _model_probabilities(head_models["hand"], frame, boxes)
    mirror = _model_probabilities(head_models["hand"], frame, boxes, mirror=True)
    expected = (plain + 1 - mirror) / 2
    with HandJointDetector(backend="onnxruntime", localizer_model=head_models["localizer"],
                           hand_model=head_models["hand"], flip_test=True) as detector:
        hands = detector.detect(frame, boxes)
    got = [h.handedness_score if h.handedness == "right" else 1 - h.handedness_score for h in hands]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_torch_backend_gives_the_same_handedness(head_models):
    frame, boxes = _frame_and_boxes()
    results = {}
    for backend in ("onnxruntime", "torch"):
        with HandJointDetector(backend=backend, localizer_model=head_models["localizer"],
                               hand_model=head_models["hand"], threads=2) as detector:
            results[backend] = detector.detect(frame, boxes)
    for a, b in zip(results["onnxruntime"], results["torch"]):
        assert a.handedness == b.handedness and a.handedness_score == pytest.approx(b.handedness_score, abs=1e-4)


def test_a_model_without_the_head_reports_no_handedness(head_models):
    frame, boxes = _frame_and_boxes()
    with HandJointDetector(backend="onnxruntime", localizer_model=head_models["localizer"],
                           hand_model=head_models["plain_hand"]) as detector:
        hands = detector.detect(frame, boxes)
    assert hands and all(h.handedness is None and h.handedness_score == 0.0 for h in hands)
    assert hands[0].to_dict()["handedness"] is None


def test_hand_handedness_of():
    assert Hand.handedness_of(0.8) == ("right", pytest.approx(0.8))
    assert Hand.handedness_of(0.3) == ("left", pytest.approx(0.7))
    assert Hand.handedness_of(None) == (None, 0.0)
    hand = Hand((0.0, 0.0, 1.0, 1.0), 1.0, np.zeros((21, 2)), np.ones(21), -1, *Hand.handedness_of(0.3))
    assert hand.right_probability == pytest.approx(0.3)
    assert Hand((0.0, 0.0, 1.0, 1.0), 1.0, np.zeros((21, 2)), np.ones(21)).right_probability is None


def test_a_track_keeps_a_running_handedness():
    track = Track(1, np.zeros(4))
    assert track.observe_handedness(0.9) == pytest.approx(0.9)
    assert track.observe_handedness(0.1) == pytest.approx(0.9 + HANDEDNESS_GAIN * (0.1 - 0.9))
    for _ in range(3):   # a few doubtful frames do not flip a sure hand
        value = track.observe_handedness(0.2)
    assert value > 0.5


def test_tracked_hands_carry_the_tracks_handedness(head_models):
    frame, boxes = _frame_and_boxes()
    with HandJointDetector(backend="onnxruntime", localizer_model=head_models["localizer"],
                           hand_model=head_models["hand"], box_threshold=0.0, hand_threshold=0.0,
                           confidence_weight=0.0, lost_confidence=0.0) as detector:
        tracked = [detector.track(frame) for _ in range(3)]
        tracker = detector._tracker
        assert tracked[-1] and all(h.handedness in ("left", "right") for h in tracked[-1])
        for hand in tracked[-1]:
            running = tracker.tracks.get(hand.track_id).right
            assert (hand.handedness, hand.handedness_score) == (Hand.handedness_of(running)[0],
                                                                pytest.approx(Hand.handedness_of(running)[1]))


def test_the_triton_pipeline_serves_the_handedness(head_models, tmp_path, monkeypatch):
    """export-triton with a hand model that has the head: the pipeline's config declares the output, and model.py
    (run through BLS against test_triton's stand-in for Triton's Python-backend module) returns the model's
    P(right hand) for given boxes; a hand model without the head gives NaN."""
    import importlib.util
    import json
    import sys
    import types

    import onnxruntime as ort

    from handjoints_trt.triton import export_triton
    from test_triton import fake_pb_utils, parse_config

    frame, boxes = _frame_and_boxes()
    expected = _model_probabilities(head_models["hand"], frame, boxes)
    for hand, has_head in ((head_models["hand"], True), (head_models["plain_hand"], False)):
        repo = tmp_path / f"repo_{has_head}"
        export_triton(repo, head_models["localizer"], hand)
        cfg = parse_config(repo / "handjoints" / "config.pbtxt")
        assert cfg["parameters"]["handedness"] == ("true" if has_head else "false")
        assert {"name": "handedness", "data_type": "TYPE_FP32", "dims": [-1], "optional": False} in cfg["output"]
        sessions = {name: ort.InferenceSession(str(repo / name / "1" / "model.onnx"),
                                               providers=["CPUExecutionProvider"])
                    for name in ("handjoints_localizer", "handjoints_hand")}
        pb = fake_pb_utils(sessions)
        monkeypatch.setitem(sys.modules, "triton_python_backend_utils", pb)
        spec = importlib.util.spec_from_file_location(f"pipeline_{has_head}", repo / "handjoints" / "1" / "model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.TritonPythonModel()
        model.initialize({"model_config": json.dumps(
            {"parameters": {k: {"string_value": v} for k, v in cfg["parameters"].items()}})})
        request = types.SimpleNamespace(inputs=[pb.Tensor("image", frame), pb.Tensor("boxes", boxes)])
        response = model.execute([request])[0]
        assert not response.has_error()
        right = {t.name: t.array for t in response.output_tensors}["handedness"]
        if has_head:
            np.testing.assert_allclose(right, expected, atol=1e-6)
        else:
            assert right.shape == (2,) and np.isnan(right).all()


def test_cli_detect_writes_the_handedness_and_mirrored_swaps_it(head_models, tmp_path):
    import json

    import cv2

    from handjoints_trt.cli import main

    frame, boxes = _frame_and_boxes()
    cv2.imwrite(str(tmp_path / "frame.png"), frame)
    expected = "right" if _model_probabilities(head_models["hand"], frame, boxes[:1])[0] >= 0.5 else "left"
    found = {}
    for name, flags in (("plain", []), ("mirrored", ["--mirrored"])):
        assert main(["detect", str(tmp_path / "frame.png"), "--out", str(tmp_path / name), "--no-image",
                     "--box", "20,30,120,150", "--localizer", str(head_models["localizer"]),
                     "--hand", str(head_models["hand"]), "--backend", "onnxruntime", *flags]) == 0
        found[name] = json.loads((tmp_path / name / "frame.json").read_text())["hands"][0]["handedness"]
    assert found == {"plain": expected, "mirrored": {"left": "right", "right": "left"}[expected]}


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_the_shipped_hand_model_names_real_hands(hagrid_dir, precision):
    """The shipped hand models carry the head; on the first 300 real val photos (labelled boxes) they agree with
    MediaPipe's handedness (swapped to the person's hand) and name the other hand on the mirror image.
    Measured (benchmarks/handedness.py, all 2,601 photos, session 19's head): agreement 0.967, mirror consistency
    0.969; on these 300 FP32 / INT8 0.977 / 0.970 and 0.973 / 0.960."""
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = [r for r in load_hagrid_mp(hagrid_dir, split="val") if r.hands][:300]
    with HandJointDetector(backend="onnxruntime", precision=precision) as detector:
        assert detector.has_handedness
        agree, consistent = handedness_counts(detector, records)
    # a head that guessed would score ~0.5 on both; one that ignored the image's side, 0 mirror consistency
    assert agree / len(records) >= 0.93 and consistent / len(records) >= 0.92, (agree, consistent)


def test_the_fp16_graph_keeps_the_handedness(tmp_path):
    """TensorRT 11 takes precision from the graph: the shipped hand model converted to FP16 (export/fp16.py, float32
    I/O) gives the same handedness within 0.01 on synthetic crops (ONNX Runtime runs the FP16 graph on the CPU)."""
    import onnxruntime as ort

    from handjoints_trt.export.fp16 import convert_file_fp16
    from handjoints_trt.models_registry import default_model_path

    fp32 = default_model_path("hand", "fp32")
    fp16 = convert_file_fp16(fp32, tmp_path / "hand.fp16.onnx")
    crops = D.HandCrops([(D.SyntheticCrops(seed=3, crop_size=128), 1.0)], 128, 4, 1.5, 16, augment=False)
    x = np.stack([crops[i]["image"] for i in range(16)])
    runs = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(["handedness"], {"crops": x})[0]
            for p in (fp32, fp16)]
    assert runs[1].dtype == np.float32 and runs[1].shape == (16, 1)
    np.testing.assert_allclose(runs[1], runs[0], atol=0.01)
