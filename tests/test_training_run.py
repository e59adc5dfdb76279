"""The trainer for real: a short synthetic run learns, checkpoints resume, runs are deterministic, DDP on gloo."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt.training.loop import TrainConfig, Trainer, load_checkpoint  # noqa: E402
from handjoints_trt.training.recipes import RECIPES  # noqa: E402

# A small hand network so that a few minutes of CPU are enough to see it learn.
TINY_HAND = {"crop_size": 64, "stride": 4, "sshfr_channels": [16, 16, 16, 32, 32, 32, 32, 32, 32, 32],
             "c": 16, "p": 1, "q": 1, "num_msff": 2, "attention_reduction": 4}
SYNTHETIC = RECIPES["hand-synthetic"]


def tiny_config(out: Path, **overrides) -> TrainConfig:
    base = dict(stage="hand", out_dir=str(out), model=TINY_HAND, recipe=SYNTHETIC, epochs=1, epoch_size=64,
                val_size=64, batch_size=16, lr=3e-3, warmup_steps=5, num_workers=0, threads=2,
                checkpoint_every=2, progress=False, sigma=1.0)
    base.update(overrides)
    return TrainConfig(**base)


def run(cfg: TrainConfig) -> dict:
    trainer = Trainer(cfg)
    try:
        return trainer.fit()
    finally:
        trainer.close()


@pytest.mark.slow
def test_short_synthetic_run_lowers_the_loss_and_lifts_pck(tmp_path):
    untrained = Trainer(tiny_config(tmp_path / "untrained"))
    before = untrained.validate()["val_pck@0.2"]
    untrained.close()
    metrics = run(tiny_config(tmp_path / "run", epochs=12, epoch_size=320))
    rows = list(csv.DictReader((tmp_path / "run" / "steps.csv").open()))
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    assert last < 0.7 * first, f"loss did not fall: {first:.4f} -> {last:.4f}"
    # 240 steps of a tiny net: an untrained one scores ~0.005, this run ~0.22 (deterministic under the seed)
    assert metrics["val_pck@0.2"] > max(0.15, 10 * before), (before, metrics)


def test_checkpoints_carry_config_and_recipe_and_resume(tmp_path):
    cfg = tiny_config(tmp_path, epochs=2, epoch_size=32)
    run(cfg)
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["step"] == 4 and state["epoch"] == 2
    assert state["model_config"]["crop_size"] == 64 and state["recipe"] == SYNTHETIC
    assert len(state["recipe_history"]) == 1
    # Going on for a third epoch starts from step 4, not from scratch.
    trainer = Trainer(tiny_config(tmp_path, epochs=3, epoch_size=32))
    assert trainer.step == 4
    trainer.fit()
    trainer.close()
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 6
    epochs = list(csv.DictReader((tmp_path / "epochs.csv").open()))
    assert [int(r["epoch"]) for r in epochs] == [1, 2, 3]


def test_resume_refuses_another_model_config(tmp_path):
    run(tiny_config(tmp_path, epoch_size=16))
    with pytest.raises(ValueError, match="another stage or model config"):
        Trainer(tiny_config(tmp_path, model={**TINY_HAND, "c": 32}))


def test_checkpoints_are_written_atomically_and_bad_files_are_refused(tmp_path):
    run(tiny_config(tmp_path, epoch_size=16))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable handjoints_trt checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_same_seed_gives_the_same_weights(tmp_path):
    run(tiny_config(tmp_path / "a", epoch_size=32))
    run(tiny_config(tmp_path / "b", epoch_size=32))
    a = load_checkpoint(tmp_path / "a" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "last.pt")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_localizer_trains_a_step_on_synthetic_frames(tmp_path):
    cfg = TrainConfig(stage="localizer", out_dir=str(tmp_path), model={"input_size": [128, 128]},
                      recipe=RECIPES["localizer-synthetic"], epochs=1, epoch_size=8, val_size=4, batch_size=4,
                      num_workers=0, threads=2, progress=False)
    metrics = run(cfg)
    assert "val_recall" in metrics and load_checkpoint(tmp_path / "last.pt")["stage"] == "localizer"


@pytest.mark.slow
def test_localizer_trains_and_validates_at_the_runtime_scale(tmp_path):
    """--runtime-scale: training windows at the model's input, validation on whole frames as detect() sizes
    them (one canvas per batch); the setting is kept in the checkpoint."""
    cfg = TrainConfig(stage="localizer", out_dir=str(tmp_path), model={"input_size": [128, 128]},
                      recipe=RECIPES["localizer-synthetic"], epochs=1, epoch_size=8, val_size=4, batch_size=4,
                      num_workers=0, threads=2, progress=False, runtime_scale=True)
    metrics = run(cfg)
    state = load_checkpoint(tmp_path / "last.pt")
    assert "val_recall" in metrics and state["train_config"]["runtime_scale"] is True


def test_localizer_recipe_center_sigma_sharpens_the_training_peaks_only():
    """A recipe's "center_sigma" (localizer-overlap-faces-sharp: 0.08) reaches the training items' centre peaks:
    the same frames, the same hands and boxes, narrower peaks; without it the shipped width (0.15)."""
    from handjoints_trt.training.loop import build_datasets, build_model

    assert RECIPES["localizer-overlap-faces-sharp"]["center_sigma"] == 0.08
    assert "center_sigma" not in RECIPES["localizer-overlap-faces-mild"]   # the shipped localizer's recipe
    base = RECIPES["localizer-synthetic"]
    cfgs = [TrainConfig(stage="localizer", out_dir="unused", model={"input_size": [128, 128]}, recipe=recipe,
                        epochs=1, epoch_size=8, val_size=4, batch_size=4, num_workers=0, progress=False)
            for recipe in (base, {**base, "center_sigma": 0.08})]
    _, model_cfg = build_model(cfgs[0])
    (wide, _), (sharp, _) = (build_datasets(c, model_cfg) for c in cfgs)
    hands = [i for i in range(8) if wide[i]["mask"].sum() > 0]
    assert hands
    for i in hands:
        np.testing.assert_array_equal(wide[i]["boxes"], sharp[i]["boxes"])
        np.testing.assert_array_equal(wide[i]["mask"], sharp[i]["mask"])
        assert sharp[i]["centers"].sum() <= wide[i]["centers"].sum()   # equal where every hand is at the floor
    # hands above ~20 px (sigma over its 0.8-cell floor) get narrower peaks
    assert sum(sharp[i]["centers"].sum() < 0.8 * wide[i]["centers"].sum() for i in hands) >= 1


@pytest.mark.slow
def test_distributed_data_parallel_on_gloo_with_two_processes(tmp_path):
    config = tmp_path / "model.json"
    config.write_text(json.dumps(TINY_HAND))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "handjoints_trt.cli", "train", "hand", "--out", str(tmp_path / "ddp"), "--model", str(config),
           "--recipe", "hand-synthetic", "--epochs", "1", "--epoch-size", "64", "--val-size", "16",
           "--batch-size", "8", "--workers", "0", "--threads", "1", "--quiet"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    state = load_checkpoint(tmp_path / "ddp" / "last.pt")
    # 64 items / (batch 8 x 2 processes) = 4 steps: each process saw half of the epoch.
    assert state["step"] == 4
    assert "world_size=2" in done.stdout


def test_negative_crops_train_empty_maps_and_leave_the_error_weights_alone(tmp_path):
    """Hand-free crops (recipe kind 'negatives'): zero heatmaps, every map trained, flagged negative; a run
    with them trains and validates (validation, on hands only, is unaffected by the flag)."""
    from handjoints_trt.training import losses
    from handjoints_trt.training.datasets import HandCrops, NegativeCrops, SyntheticCrops

    negatives, hands = NegativeCrops(seed=3), SyntheticCrops(seed=1, crop_size=64)
    data = HandCrops([(negatives, 0.5), (hands, 0.5)], crop_size=64, stride=4, sigma=1.0, length=40, seed=0)
    items = [data[i] for i in range(40)]
    neg = [it for it in items if it["negative"] == 1.0]
    pos = [it for it in items if it["negative"] == 0.0]
    assert 8 < len(neg) < 32 and len(neg) + len(pos) == 40
    for it in neg:
        assert it["image"].shape == (3, 64, 64) and it["image"].std() > 0.01   # a real background, not blank
        assert not it["heatmaps"].any() and it["trainable"].all()
    assert all(it["heatmaps"].max() > 0.5 for it in pos)
    # The eq. 10 weights of a mixed batch, with the negatives' positions masked out, are the positives' own.
    batch = {k: torch.as_tensor(np.stack([it[k] for it in items])) for k in ("heatmaps", "keypoints", "trainable",
                                                                             "negative")}
    torch.manual_seed(0)
    stages = [torch.rand(40, 21, 16, 16) for _ in range(3)]
    located = batch["trainable"] * (1 - batch["negative"])[:, None]
    _, w_mixed = losses.hand_loss(stages, batch["heatmaps"], batch["keypoints"], batch["trainable"], True, located)
    keep = batch["negative"] == 0
    _, w_pos = losses.hand_loss([s[keep] for s in stages], batch["heatmaps"][keep], batch["keypoints"][keep],
                                batch["trainable"][keep])
    assert torch.allclose(w_mixed, w_pos)
    recipe = {"train": [{"kind": "synthetic", "seed": 1, "weight": 0.7}, {"kind": "negatives", "weight": 0.3}],
              "val": SYNTHETIC["val"]}
    metrics = run(tiny_config(tmp_path / "neg", recipe=recipe, epoch_size=32))
    assert np.isfinite(metrics["val_pck@0.2"])
    assert RECIPES["hand-negatives"]["train"][-1]["kind"] == "negatives"


def test_part_crops_box_a_finger_of_a_real_hand_and_train_empty_maps(hagrid_dir):
    """Recipe kind 'parts' (session 30): a box PART_SIDE times the hand's size around one of its labelled joints
    (never the wrist) of a real photo, read by HandCrops as a negative (every map trained towards zero); the same
    index gives the same box; the *-parts recipes add it to the shipped networks' recipes at 0.1."""
    from handjoints_trt.preprocess import CROP_SCALE
    from handjoints_trt.training.datasets import (PART_CROP_REACH, PART_SIDE, CropJitter, HandCrops, PartCrops,
                                                  hand_source)

    parts = hand_source({"kind": "parts", "dataset": "hagrid_mp", "root": str(hagrid_dir), "split": "val",
                         "seed": 4}, 128)
    assert isinstance(parts, PartCrops) and len(parts) > 2000
    inside = 0
    for index in range(30):
        image, [(points, trainable)] = parts.item(index)
        hand = parts.records[index % len(parts.records)].load().hands[0]
        size = float((hand.keypoints.max(0) - hand.keypoints.min(0)).max())
        lo, hi = points.min(0), points.max(0)
        assert trainable.all() and points.shape == (21, 2)
        assert PART_SIDE[0] * 0.8 - 1e-3 <= (hi - lo).max() / size <= PART_SIDE[1] * 1.25 + 1e-3
        centre = (lo + hi) / 2
        nearest = np.linalg.norm(hand.keypoints - centre, axis=1).argmin()
        assert nearest != 0 and np.allclose(hand.keypoints[nearest], centre, atol=1e-3)
        # the widest crop of the part's (square) box lies inside the photo: no border that would make it a hand
        # cut by the frame's edge
        reach = (hi - lo).min() * CROP_SCALE * PART_CROP_REACH / 2
        inside += bool((centre - reach >= -1e-3).all() and (centre + reach <= np.array(image.shape[1::-1]) + 1e-3).all())
    assert inside >= 24   # the rest: photos with no room around any joint, the smallest part near the centre
    np.testing.assert_array_equal(parts.item(7)[1][0][0], parts.item(7)[1][0][0])
    assert not np.array_equal(parts.item(7)[1][0][0], parts.item(8)[1][0][0])
    crops = HandCrops([(parts, 1.0)], 64, 4, 1.0, 6, seed=0, jitter=CropJitter(align=True))
    for i in range(6):
        item = crops[i]
        assert item["negative"] == 1.0 and not item["heatmaps"].any() and item["trainable"].all()
        assert item["image"].std() > 0.01
    for name in ("hand-camera-parts", "hand-camera-aligned-parts"):
        train = RECIPES[name]["train"]
        assert train[-1]["kind"] == "parts" and train[-1]["weight"] == 0.1
        assert abs(sum(s["weight"] for s in train) - 1.0) < 1e-9
    assert RECIPES["hand-camera-aligned-parts"]["jitter"]["align"] is True


def test_a_hand_cut_by_a_frame_edge_keeps_its_own_pixels_and_trains_only_the_joints_left():
    """CropJitter.p_frame_edge (session 30): the photo is cut across the hand's joints' box, the joints beyond the cut
    are not trained, the kept joints keep their own pixels (coordinates shifted with the cut), at least three stay;
    HandCrops then trains fewer joints and crops the kept ones."""
    from handjoints_trt.training.datasets import CropJitter, HandCrops, cut_at_frame_edge

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (200, 240, 3), dtype=np.uint8)
    points = np.stack([np.linspace(40, 200, 21), np.linspace(30, 170, 21)], axis=1).astype(np.float32)
    trainable = np.ones(21, bool)
    trainable[20] = False                      # an unlabelled joint stays unlabelled
    cuts = 0
    for seed in range(40):
        kept_image, kept_points, kept = cut_at_frame_edge(image, points, trainable, np.random.default_rng(seed))
        assert kept.sum() >= 3 and not kept[20] and (kept <= trainable).all()
        if kept.sum() < trainable.sum():
            cuts += 1
            assert kept_image.shape[0] < 200 or kept_image.shape[1] < 240
            for (x, y), (x0, y0) in zip(kept_points[kept].astype(int), points[kept].astype(int)):
                assert (kept_image[y, x] == image[y0, x0]).all()            # the same pixel, where it now is
            dropped = trainable & ~kept
            inside = (kept_points[dropped] >= 0).all(1) & (kept_points[dropped] < kept_image.shape[1::-1]).all(1)
            assert not inside.any()                                        # every cut-off joint lies beyond the cut
            assert 0.2 <= kept.sum() / trainable.sum() <= 0.85
    assert cuts >= 30

    class OneHand:
        def __len__(self):
            return 1

        def item(self, index):
            return image, [(points, trainable, "left")]

    plain = HandCrops([(OneHand(), 1.0)], 64, 4, 1.0, 20, seed=0, jitter=CropJitter())
    edge = HandCrops([(OneHand(), 1.0)], 64, 4, 1.0, 20, seed=0, jitter=CropJitter(p_frame_edge=1.0))
    trained = [edge[i]["trainable"].sum() for i in range(20)]
    assert max(trained) < min(plain[i]["trainable"].sum() for i in range(20)) or np.mean(trained) < 15
    for i in range(20):
        item = edge[i]
        assert (item["heatmaps"].reshape(21, -1).max(1) > 0.5).sum() == item["trainable"].sum()


def test_a_recipe_augment_object_reaches_the_training_crops():
    """A recipe's "augment" object overrides AugmentConfig fields for its training items (the "*-camera"
    recipes' over-exposure, dark scenes and noise); validation items stay unaugmented; unknown fields are refused."""
    from handjoints_trt.data.augment import AugmentConfig
    from handjoints_trt.training.loop import augment_config, build_datasets, build_model
    from handjoints_trt.training.recipes import CAMERA_AUGMENT, resolve

    assert augment_config(SYNTHETIC) == AugmentConfig()
    assert augment_config(RECIPES["hand-camera"]).p_low_light == CAMERA_AUGMENT["p_low_light"] > 0
    assert RECIPES["localizer-camera"]["augment"] == CAMERA_AUGMENT
    with pytest.raises(ValueError, match="unknown fields \\['p_glare'\\]"):
        augment_config({**SYNTHETIC, "augment": {"p_glare": 0.5}})
    assert resolve({**SYNTHETIC, "augment": {"p_exposure": 1.0}})["augment"] == {"p_exposure": 1.0}
    # Everything photometric off, then the same items with a 3x over-exposure on every crop.
    off = {"p_color": 0, "p_blur": 0, "p_noise": 0, "p_jpeg": 0, "p_cutout": 0}
    plain_cfg = tiny_config(Path("unused"), recipe={**SYNTHETIC, "augment": off})
    bright_cfg = tiny_config(Path("unused"), recipe={**SYNTHETIC, "augment": {**off, "p_exposure": 1.0,
                                                                            "exposure_gain": [3.0, 3.0]}})
    _, model_cfg = build_model(plain_cfg)
    (plain, plain_val), (bright, bright_val) = build_datasets(plain_cfg, model_cfg), build_datasets(bright_cfg, model_cfg)
    a, b = plain[3]["image"], bright[3]["image"]
    assert b.mean() > a.mean() + 0.2                      # the same crop, three times the light
    np.testing.assert_array_equal(plain_val[0]["image"], bright_val[0]["image"])


def test_the_blur_recipes_smear_further_than_the_camera_recipes():
    """BLUR_AUGMENT (session 41: robustness.py's 21 px motion blur cost the most PCK of the blurs) smears a point of
    light over up to 17 px of motion, where the camera recipes' augmentation stops at 7; both blur recipes use it."""
    from handjoints_trt.data.augment import photometric
    from handjoints_trt.training.loop import augment_config
    from handjoints_trt.training.recipes import BLUR_AUGMENT, CAMERA_AUGMENT

    def longest_smear(augment: dict) -> int:
        only_blur = {"p_color": 0, "p_noise": 0, "p_jpeg": 0, "p_cutout": 0, "p_exposure": 0, "p_low_light": 0,
                     "p_blur": 1}
        cfg = augment_config({**SYNTHETIC, "augment": {**augment, **only_blur}})
        dot = np.zeros((41, 41, 3), np.uint8)
        dot[20, 20] = 255
        longest = 0
        for seed in range(200):
            ys, xs = np.nonzero(photometric(dot, np.random.default_rng(seed), cfg)[..., 0] >= 6)
            if len(xs):   # a wide defocus spreads the dot under the level
                longest = max(longest, int(max(np.ptp(xs), np.ptp(ys))) + 1)
        return longest

    assert longest_smear(CAMERA_AUGMENT) <= 7 < 13 <= longest_smear(BLUR_AUGMENT) <= 17
    for name in ("hand-camera-aligned-faces-synthetic-skin-blur", "hand-camera-faces-skin-heavy-blur"):
        assert augment_config(RECIPES[name]) == augment_config({**SYNTHETIC, "augment": BLUR_AUGMENT})


def test_the_edge_recipes_are_the_shipped_recipes_with_hands_cut_by_a_frame_edge():
    """The *-edge recipes (session 42) are the shipped networks' recipes (the same weights, fresh seeds) with a sixth
    of the hands cut by a frame edge and no part negatives; built, their training crops train fewer joints."""
    from handjoints_trt.training.loop import build_datasets, build_model

    pairs = {"hand-camera-aligned-faces-synthetic-skin-edge": "hand-camera-aligned-faces-synthetic-skin",
             "hand-camera-faces-skin-heavy-edge": "hand-camera-faces-skin-heavy"}
    for edge, shipped in pairs.items():
        weights = [(s["kind"], s["weight"]) for s in RECIPES[edge]["train"]]
        assert weights == [(s["kind"], s["weight"]) for s in RECIPES[shipped]["train"]]
        assert RECIPES[edge]["jitter"] == {**RECIPES[shipped].get("jitter", {}), "p_frame_edge": 0.15}
        assert RECIPES[edge]["augment"] == RECIPES[shipped]["augment"]
    one_hand = {"train": SYNTHETIC["train"], "val": SYNTHETIC["val"]}
    trained = {}
    for p in (0.0, 1.0):
        cfg = tiny_config(Path("unused"), recipe={**one_hand, "jitter": {"p_frame_edge": p}})
        _, model_cfg = build_model(cfg)
        train, _ = build_datasets(cfg, model_cfg)
        trained[p] = np.mean([train[i]["trainable"].sum() for i in range(12)])
    assert trained[1.0] < 0.8 * trained[0.0]


def test_composed_hands_train_only_the_joints_left_in_view(tmp_path):
    """datasets.ComposedHands (session 42): every item is a composed frame holding a hand; a joint under another
    pasted hand or beyond the frame is not trained, the others lie in the frame; HandCrops crops them like any hand."""
    from test_compose import drawn_records

    from handjoints_trt.training.datasets import ComposedHands, CropJitter, HandCrops

    source = ComposedHands(drawn_records(tmp_path, 12), seed=3, config={"max_iou": 0.5, "p_empty": 0.5})
    hidden = 0
    for index in range(30):
        image, hands = source.item(index)
        assert hands
        for points, visible, handedness in hands:
            assert visible.sum() >= 6 and handedness in ("left", "right", None)
            inside = (points[visible] >= 0).all(1) & (points[visible] < image.shape[1::-1]).all(1)
            assert inside.all()
            hidden += int((~visible).sum())
    assert hidden > 0                                   # some joints are covered or cut off, and left untrained
    crops = HandCrops([(source, 1.0)], 64, 4, 1.0, 10, seed=0, jitter=CropJitter())
    for i in range(10):
        item = crops[i]
        assert (item["heatmaps"].reshape(21, -1).max(1) > 0.5).sum() == item["trainable"].sum() > 0
    (tmp_path / "few").mkdir()
    few = drawn_records(tmp_path / "few", 2)
    no_room = ComposedHands(few, seed=0, config={"frame_sizes": [[16, 16]], "min_visible_joints": 21})
    with pytest.raises(ValueError, match="hold no hand; the ComposeConfig"):
        no_room.item(0)


def test_the_composed_recipes_give_composed_hands_a_share_of_the_photos_weight(hagrid_dir):
    """The *-composed recipes (session 42) are the shipped networks' recipes with 0.15 of the photos' weight moved to
    hands of composed hagrid_mp train frames; their composed source builds and holds hands."""
    from handjoints_trt.training.datasets import ComposedHands, hand_source
    from handjoints_trt.training.recipes import resolve

    pairs = {"hand-camera-aligned-faces-synthetic-skin-composed": "hand-camera-aligned-faces-synthetic-skin",
             "hand-camera-faces-skin-heavy-composed": "hand-camera-faces-skin-heavy"}
    for composed, shipped in pairs.items():
        new, old = ({s["kind"]: s["weight"] for s in RECIPES[name]["train"]} for name in (composed, shipped))
        assert new.pop("composed") == 0.15
        assert abs(new.pop("hagrid_mp") - (old.pop("hagrid_mp") - 0.15)) < 1e-9
        assert new == old                                 # synthetic, negatives and faces as shipped
        assert {k: v for k, v in RECIPES[composed].items() if k != "train"} == \
            {k: v for k, v in RECIPES[shipped].items() if k != "train"}
    light_recipe = RECIPES["hand-camera-aligned-faces-synthetic-skin-composed-light"]
    light = {s["kind"]: s["weight"] for s in light_recipe["train"]}
    assert light["composed"] == 0.075 and abs(sum(light.values()) - 1.0) < 1e-9
    spec = next(s for s in resolve(RECIPES["hand-camera-faces-skin-heavy-composed"])["train"]
                if s["kind"] == "composed")
    source = hand_source({**spec, "root": str(hagrid_dir)}, 128)
    assert isinstance(source, ComposedHands) and source.frames.config.max_iou == 0.5
    assert all(len(source.item(i)[1]) for i in range(5))


def test_aligned_crops_stand_every_hand_upright():
    """CropJitter.align (recipe hand-camera-aligned): with no other jitter every training and validation crop shows
    its hand's wrist -> middle knuckle pointing up, whatever the synthetic hand's angle in its image; without it
    the same crops point every way."""
    from handjoints_trt.training.loop import build_datasets, build_model

    still = {"scale": [1.0, 1.0], "shift": 0.0, "rotation": 0.0, "p_flip": 0.0, "p_any_rotation": 0.0}
    cfgs = [tiny_config(Path("unused"), recipe={**SYNTHETIC, "val": SYNTHETIC["train"],
                                                "jitter": {**still, "align": align}}) for align in (True, False)]
    _, model_cfg = build_model(cfgs[0])
    (aligned, aligned_val), (plain, _) = (build_datasets(c, model_cfg) for c in cfgs)

    def pointing(item):   # degrees clockwise from up, in the crop
        v = item["keypoints"][9] - item["keypoints"][0]
        return abs(float(np.degrees(np.arctan2(v[0], -v[1]))))

    hands = [i for i in range(12) if aligned[i]["trainable"][[0, 9]].all()]
    assert len(hands) >= 6
    assert max(pointing(aligned[i]) for i in hands) < 1.0
    assert max(pointing(aligned_val[i]) for i in range(4) if aligned_val[i]["trainable"][[0, 9]].all()) < 1.0
    assert np.median([pointing(plain[i]) for i in hands]) > 20
    assert RECIPES["hand-camera-aligned"]["jitter"]["align"] is True


def test_network_aligned_crops_stand_hands_upright_as_detect_does():
    """CropJitter.align_model (recipe hand-real-network-aligned): the shipped direction network, not the labels, turns
    each crop, so hands stand upright within its error (not exactly), mirrored crops too (a wrong sign for the
    mirror's turn would leave them at twice their angle), validation crops too; the dataset pickles for the
    data-loader workers and gives the same items after."""
    import pickle

    from handjoints_trt.models_registry import shipped_models_present
    from handjoints_trt.training.loop import build_datasets, build_model

    if not shipped_models_present():
        pytest.skip("the shipped models are not built")
    still = {"scale": [1.0, 1.0], "shift": 0.0, "rotation": 0.0, "p_any_rotation": 0.0, "align": True,
             "align_model": "shipped"}

    def pointing(item):   # degrees clockwise from up, in the crop
        v = item["keypoints"][9] - item["keypoints"][0]
        return abs(float(np.degrees(np.arctan2(v[0], -v[1]))))

    medians = {}
    for flip in (0.0, 1.0):
        cfg = tiny_config(Path("unused"), recipe={**SYNTHETIC, "val": SYNTHETIC["train"],
                                                  "jitter": {**still, "p_flip": flip}})
        _, model_cfg = build_model(cfg)
        train, val = build_datasets(cfg, model_cfg)
        hands = [i for i in range(24) if train[i]["trainable"][[0, 9]].all()]
        assert len(hands) >= 12
        angles = [pointing(train[i]) for i in hands]
        medians[flip] = np.median(angles)
        assert max(angles) > 0.5       # the network's reading, not the labels' exact turn
        assert np.median([pointing(val[i]) for i in range(8) if val[i]["trainable"][[0, 9]].all()]) < 20
    assert medians[0.0] < 20 and medians[1.0] < 20, medians
    train.photometric = None   # build_datasets' photometric closure is not picklable (workers fork)
    again = pickle.loads(pickle.dumps(train))
    np.testing.assert_array_equal(again[hands[0]]["image"], train[hands[0]]["image"])
    assert RECIPES["hand-real-network-aligned"]["jitter"]["align_model"] == "shipped"


def test_a_recipe_jitter_object_reaches_the_training_crops():
    """A recipe's "jitter" object overrides CropJitter fields for its training crops (hand-real-rotated: half the
    crops at any angle, for the handedness head); no object keeps the defaults; unknown fields are refused."""
    from handjoints_trt.training.datasets import CropJitter
    from handjoints_trt.training.loop import build_datasets, build_model, jitter_config

    assert jitter_config(SYNTHETIC) == CropJitter()
    assert jitter_config(RECIPES["hand-real-rotated"]).p_any_rotation == 0.5 > CropJitter().p_any_rotation
    with pytest.raises(ValueError, match="unknown fields \\['spin'\\]"):
        jitter_config({**SYNTHETIC, "jitter": {"spin": 1}})
    still = {"scale": [1.0, 1.0], "shift": 0.0, "rotation": 0.0, "p_flip": 0.0}
    upright_cfg = tiny_config(Path("unused"), recipe={**SYNTHETIC, "jitter": {**still, "p_any_rotation": 0.0}})
    turned_cfg = tiny_config(Path("unused"), recipe={**SYNTHETIC, "jitter": {**still, "p_any_rotation": 1.0}})
    _, model_cfg = build_model(upright_cfg)
    (upright, _), (turned, _) = build_datasets(upright_cfg, model_cfg), build_datasets(turned_cfg, model_cfg)
    assert upright.jitter.scale == (1.0, 1.0) and turned.jitter.p_any_rotation == 1.0

    def wrist_to_middle(item):   # direction of the hand in the crop, degrees
        v = item["keypoints"][9] - item["keypoints"][0]
        return np.degrees(np.arctan2(v[1], v[0]))

    turns = [abs((wrist_to_middle(turned[i]) - wrist_to_middle(upright[i]) + 180) % 360 - 180) for i in range(8)]
    assert np.median(turns) > 20        # the same hands, turned by a random angle each
    np.testing.assert_allclose(upright[3]["keypoints"], build_datasets(upright_cfg, model_cfg)[0][3]["keypoints"])
