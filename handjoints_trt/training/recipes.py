"""The data recipes of the shipped models (stored in every checkpoint, hashed into the ONNX metadata).

`{shared}` in a root is replaced by the shared data folder: $HANDJOINTS_SHARED, else ../shared beside the
repository (where this project's data lives), else ./shared.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path


def _hand_with_negatives(real: float, synthetic: float, synthetic_seed: int) -> dict:
    """A stage-II recipe: hagrid_mp train at weight ``real``, synthetic crops (seed ``synthetic_seed``) at
    ``synthetic`` and hand-free crops (the next seed) at 0.1; validated on hagrid_mp val. A fresh dict per call."""
    return {
        "train": [
            {"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": real},
            {"kind": "synthetic", "seed": synthetic_seed, "weight": synthetic},
            {"kind": "negatives", "seed": synthetic_seed + 1, "weight": 0.1},
        ],
        "val": [
            {"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"},
        ],
    }


def _with_parts(recipe: dict, seed: int, weight: float = 0.1) -> dict:
    """``recipe`` with boxes on a part of a hagrid_mp train hand (datasets.PartCrops, seed ``seed``) at ``weight``."""
    part = {"kind": "parts", "dataset": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train",
            "seed": seed, "weight": weight}
    return {**recipe, "train": [*recipe["train"], part]}


def _with_faces(recipe: dict, seed: int, weight: float = 0.1, p_real_skin: float = 0.0) -> dict:
    """``recipe`` with drawn faces boxed as stage I boxes them (datasets.FaceCrops, seed ``seed``) at ``weight``;
    ``p_real_skin`` of them in the skin of hagrid_mp train palms (data.faces.palm_skins)."""
    faces = {"kind": "faces", "seed": seed, "weight": weight}
    if p_real_skin:
        faces.update(p_real_skin=p_real_skin, root="{shared}/data/hagrid_mp", split="train")
    return {**recipe, "train": [*recipe["train"], faces]}


def _with_composed(recipe: dict, seed: int, weight: float, config: dict | None = None) -> dict:
    """``recipe`` with hands of composed frames (datasets.ComposedHands from hagrid_mp train, seed ``seed``,
    ComposeConfig fields ``config``) at ``weight``."""
    composed = {"kind": "composed", "root": "{shared}/data/hagrid_mp", "split": "train", "seed": seed,
                "config": dict(config or {}), "weight": weight}
    return {**recipe, "train": [*recipe["train"], composed]}


def _localizer(composed: dict) -> dict:
    """A stage-I recipe: hagrid_mp train hands composed into frames with ComposeConfig fields ``composed``, plus
    synthetic and hand-free frames; validated on composed hagrid_mp val frames at the default ComposeConfig,
    so checkpoints of every localizer recipe compare. A fresh dict per call."""
    return {
        "train": [
            {"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train"},
            {"kind": "synthetic"},
            {"kind": "composed", "config": dict(composed)},
        ],
        "val": [
            {"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"},
            {"kind": "synthetic"},
            {"kind": "composed", "config": {}},
        ],
    }


# Photometric overrides of the "*-camera" recipes (AugmentConfig fields): each camera effect on ~1 item in 6.
CAMERA_AUGMENT = {"p_exposure": 0.15, "p_low_light": 0.15, "p_noise": 0.25, "noise_sigma": 24.0}
# Half as often and milder noise: the full recipe's fine-tune drifted from clean frames (MODEL_CARD.md, session 17).
CAMERA_AUGMENT_MILD = {"p_exposure": 0.07, "p_low_light": 0.07, "p_noise": 0.2, "noise_sigma": 16.0}
# The camera recipes with blurred hands (session 41): longer motion blur and wider defocus, more often.
BLUR_AUGMENT = {**CAMERA_AUGMENT, "p_blur": 0.35, "blur_sigma": 3.0, "motion_length": 17}

# The aligned network's crops (CropJitter fields): stood upright by their labels, turned at most 30 degrees more.
ALIGNED_JITTER = {"align": True, "p_any_rotation": 0.0, "rotation": 30.0}

RECIPES: dict[str, dict] = {
    # Stage II: real photos (MediaPipe pseudo-labels) plus exact synthetic labels.
    "hand": {
        "train": [
            {"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": 0.75},
            {"kind": "synthetic", "seed": 1, "weight": 0.25},
        ],
        "val": [
            {"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"},
        ],
    },
    # Stage I: real hands cut out and composed into whole frames, with synthetic and hand-free frames mixed in.
    "localizer": _localizer({}),
    # The localizer recipe plus whole real photos (a quarter of the composed frames): hands with their real
    # context (arm, face, room) at a third to most of the frame. Validation as "localizer", so checkpoints of
    # both recipes compare. Used from step 5,750 of the shipped run.
    "localizer-photos": _localizer({"p_photo": 0.25}),
    # localizer-photos with overlapping placements allowed up to box IoU 0.5 (0.3 by default): more hands
    # partly under another, where most of stage I's misses and misfit boxes are (benchmarks/miss_reasons.py).
    # Validation as "localizer" (IoU <= 0.3), so checkpoints of all localizer recipes compare (session 10).
    "localizer-overlap": _localizer({"p_photo": 0.25, "max_iou": 0.5}),
    # The hand recipe plus hand-free crops (a tenth of the items) trained towards empty heatmaps, so that
    # stage II can tell a false stage-I box from a hand. Validation as "hand".
    "hand-negatives": _hand_with_negatives(0.675, 0.225, synthetic_seed=1),
    # hand-negatives with the synthetic share raised from 0.225 to 0.4 (exact labels, every pose and view):
    # a fine-tune of the shipped hand network towards the synthetic val target without leaving real photos.
    "hand-synthetic-heavy": _hand_with_negatives(0.5, 0.4, synthetic_seed=3),
    # hand-synthetic-heavy with the synthetic share at 0.6 and real photos at 0.3 (session 7): a second
    # fine-tune of hand_synth towards the synthetic val target, to interpolate back with the base network.
    "hand-synthetic-60": _hand_with_negatives(0.3, 0.6, synthetic_seed=5),
    # Real photos only (for machines without the synthetic generator's cost, and the first hours of the run).
    "hand-real": {
        "train": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": 1.0}],
        "val": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"}],
    },
    # Synthetic only: needs no data set at all (tests, smoke runs, machines without ../shared).
    "hand-synthetic": {
        "train": [{"kind": "synthetic", "seed": 1, "weight": 1.0}],
        "val": [{"kind": "synthetic", "seed": 999, "length": 500}],
    },
    # Camera light (session 17): the shipped recipes with over-exposure, dark scenes amplified back and
    # stronger sensor noise in the photometric augmentation, for fine-tunes of the shipped networks towards
    # frames from real cameras (benchmarks/robustness.py: noise, low light and over-exposure cost the most).
    "hand-camera": {**_hand_with_negatives(0.675, 0.225, synthetic_seed=7), "augment": dict(CAMERA_AUGMENT)},
    "localizer-camera": {**_localizer({"p_photo": 0.25, "max_iou": 0.5}), "augment": dict(CAMERA_AUGMENT)},
    "localizer-camera-mild": {**_localizer({"p_photo": 0.25, "max_iou": 0.5}), "augment": dict(CAMERA_AUGMENT_MILD)},
    # localizer-camera with turned hands (session 20): stage I found 0.96 of the whole val photos upright but
    # 0.82-0.86 turned by 90 / 180 / 270 degrees; half of the whole photos turned by a quarter turn, half the
    # cut-outs at any angle (0.25 before). Not enough alone (the photo source stays upright: turned AP fell in a
    # 5-epoch run), so localizer-camera-turned also turns 40 % of every source's frames ("p_frame_turn",
    # LocalizerFrames.p_turn).
    "localizer-camera-rotated": {**_localizer({"p_photo": 0.25, "max_iou": 0.5, "p_photo_turn": 0.5,
                                               "p_upright": 0.5}), "augment": dict(CAMERA_AUGMENT)},
    "localizer-camera-turned": {**_localizer({"p_photo": 0.25, "max_iou": 0.5}), "augment": dict(CAMERA_AUGMENT),
                                "p_frame_turn": 0.4},
    # hand-synthetic-heavy's mix (synthetic 0.4, photos 0.5, from a fresh synthetic seed) with the camera light
    # (session 19): one fine-tune towards both the synthetic set and real cameras, where the shipped network is a
    # soup of two runs, one for each.
    "hand-camera-synthetic-heavy": {**_hand_with_negatives(0.5, 0.4, synthetic_seed=9),
                                    "augment": dict(CAMERA_AUGMENT)},
    # hand-real with half the crops at any angle (CropJitter.p_any_rotation 0.2 -> 0.5; session 19): for the
    # handedness head, which named hands pointing down or sideways worse than upright ones (the photos are
    # mostly upright gestures; chirality does not change with rotation, so the label stays).
    "hand-real-rotated": {
        "train": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": 1.0}],
        "val": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"}],
        "jitter": {"p_any_rotation": 0.5},
    },
    # hand-camera with half the crops at any angle (session 20): the joint network learnt mostly upright hands
    # (PCK@0.2 on val photos turned 90 / 180 / 270 degrees 0.78 / 0.71 / 0.75 against 0.967 upright), and the
    # synthetic val hands lie at any angle (0.67 beyond 90 degrees against 0.74 within 30).
    "hand-camera-rotated": {**_hand_with_negatives(0.675, 0.225, synthetic_seed=11), "augment": dict(CAMERA_AUGMENT),
                            "jitter": {"p_any_rotation": 0.5}},
    # hand-camera on crops stood upright by their labels (CropJitter.align; session 20), +-15 degrees (sd) of
    # rotation left: the hand network for a stage I that outputs each hand's direction, so that one pass at any
    # angle sees the hand as upright ones are seen (runs/ one-off with today's network and true angles: 0.929 at
    # every turn but 0.929 upright too, the sideways-held gestures seen turned).
    "hand-camera-aligned": {**_hand_with_negatives(0.675, 0.225, synthetic_seed=13), "augment": dict(CAMERA_AUGMENT),
                            "jitter": dict(ALIGNED_JITTER)},
    # hand-camera-aligned with each crop stood upright by the shipped direction network (CropJitter.align_model;
    # session 24), +-10 degrees (sd) more: the aligned network reads the crops detect() turns, whose residual turn
    # is the direction network's error (median 8 degrees, partly tied to the hand's side), not a random one.
    "hand-camera-network-aligned": {**_hand_with_negatives(0.675, 0.225, synthetic_seed=19),
                                    "augment": dict(CAMERA_AUGMENT),
                                    "jitter": {"align": True, "align_model": "shipped", "p_any_rotation": 0.0,
                                               "rotation": 20.0}},
    # hand-camera-aligned with hand-synthetic-heavy's mix (synthetic 0.4, photos 0.5; session 23): the aligned network
    # reads every hand since any_angle became the default (session 22), so the synthetic val target is its figure
    # (0.749); a fine-tune towards it, to interpolate back with hand_align (the recipe of sessions 6-17's soups).
    "hand-camera-aligned-synthetic": {**_hand_with_negatives(0.5, 0.4, synthetic_seed=17),
                                      "augment": dict(CAMERA_AUGMENT),
                                      "jitter": dict(ALIGNED_JITTER)},
    # The shipped networks' recipes with boxes on a part of a real hand (a finger, the thumb, a knuckle; PartCrops)
    # trained towards empty heatmaps at 0.1, taken from the photos (session 30): on real photos most false hands are
    # such boxes, on the thumb or a finger of a fist close to the camera, read as a squeezed hand of their own.
    "hand-camera-aligned-parts": {**_with_parts(_hand_with_negatives(0.575, 0.225, synthetic_seed=23), seed=24),
                                  "augment": dict(CAMERA_AUGMENT),
                                  "jitter": dict(ALIGNED_JITTER)},
    "hand-camera-parts": {**_with_parts(_hand_with_negatives(0.575, 0.225, synthetic_seed=25), seed=26),
                          "augment": dict(CAMERA_AUGMENT)},
    # The *-parts recipes with a sixth of the hands cut by a frame edge (CropJitter.p_frame_edge): the parts runs
    # also learnt to drop hands cut by the frame's edge (composed recall -0.7 to -4.7 points; session 30).
    "hand-camera-aligned-parts-edge": {**_with_parts(_hand_with_negatives(0.575, 0.225, synthetic_seed=27), seed=28),
                                       "augment": dict(CAMERA_AUGMENT),
                                       "jitter": {**ALIGNED_JITTER, "p_frame_edge": 0.15}},
    "hand-camera-parts-edge": {**_with_parts(_hand_with_negatives(0.575, 0.225, synthetic_seed=29), seed=30),
                               "augment": dict(CAMERA_AUGMENT), "jitter": {"p_frame_edge": 0.15}},
    # The shipped networks' recipes with drawn faces (data.faces) boxed as stage I boxes them, trained towards empty
    # heatmaps at 0.1 (session 31): on real scenes with people both networks took faces for hands, and no face
    # photo is in the training data. The localizer's: its overlap recipe (0.7 of the shipped soup) with drawn faces
    # on 40 % of the cut-out and hand-free frames' backgrounds.
    "hand-camera-faces": {**_with_faces(_hand_with_negatives(0.575, 0.225, synthetic_seed=31), seed=35),
                          "augment": dict(CAMERA_AUGMENT)},
    "hand-camera-aligned-faces": {**_with_faces(_hand_with_negatives(0.575, 0.225, synthetic_seed=33), seed=36),
                                  "augment": dict(CAMERA_AUGMENT),
                                  "jitter": dict(ALIGNED_JITTER)},
    # The aligned recipe with faces and synthetic hands weighted up (0.325; photos 0.475; session 33): drawn faces share
    # the renderer's look, and after hand-camera-aligned-faces the network was unsure of cartoon hands (synthetic val
    # PCK@0.2 0.749 -> 0.728, the timing frame's rendered hand read at 0.66 and so read twice).
    "hand-camera-aligned-faces-synthetic": {
        **_with_faces(_hand_with_negatives(0.475, 0.325, synthetic_seed=41), seed=43),
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    # The same with 80 % of the faces in the skin of real hands' palms (session 38), as the localizer's
    # localizer-overlap-faces-skin: the networks took drawn faces in real skin for hands about twice as often as flat
    # ones (benchmarks/RESULTS.md section 33).
    "hand-camera-aligned-faces-synthetic-skin": {
        **_with_faces(_hand_with_negatives(0.475, 0.325, synthetic_seed=46), seed=47, p_real_skin=0.8),
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    # ... and with the faces at 0.2 (photos 0.425, synthetic 0.275): 2 epochs of the one above moved faces taken for
    # hands only 17 -> 14 of 613 flat and 53 -> 51 of 619 in real skin (benchmarks/RESULTS.md section 36).
    "hand-camera-aligned-faces-synthetic-skin-heavy": {
        **_with_faces(_hand_with_negatives(0.425, 0.275, synthetic_seed=48), seed=50, weight=0.2, p_real_skin=0.8),
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    # The heavy one with the synthetic hands kept at 0.325 (photos 0.375): after 3 epochs of the heavy one the aligned
    # network read model_eval's rendered timing hand under PLAIN_BELOW, so any_angle read it twice (session 38). It did
    # not help: after 3 epochs the timing hand was read five times (benchmarks/RESULTS.md section 36).
    "hand-camera-aligned-faces-skin-heavy-synthetic": {
        **_with_faces(_hand_with_negatives(0.375, 0.325, synthetic_seed=54), seed=56, weight=0.2, p_real_skin=0.8),
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    # The plain network's twin of the heavy one (session 38): with any_angle a face the aligned network is unsure of is
    # read by the plain network too (PLAIN_BELOW), and the surer reading is kept.
    "hand-camera-faces-skin-heavy": {
        **_with_faces(_hand_with_negatives(0.425, 0.275, synthetic_seed=51), seed=53, weight=0.2, p_real_skin=0.8),
        "augment": dict(CAMERA_AUGMENT)},
    # Blurred hands (session 41): robustness.py's strongest motion blur (21 px in a 640x480 frame, about 13 px in
    # the 128 px crop) cost PCK@0.2 0.946 -> 0.837 (MediaPipe Hands 0.964 -> 0.913), and training blurred crops
    # only to 7 px of motion and sigma 1.5. The shipped recipes of the two networks with longer motion blur (up to
    # 17 px) and wider defocus (sigma up to 3) on 35 % of the crops, from fresh seeds.
    "hand-camera-aligned-faces-synthetic-skin-blur": {
        **_with_faces(_hand_with_negatives(0.475, 0.325, synthetic_seed=58), seed=60, p_real_skin=0.8),
        "augment": dict(BLUR_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    "hand-camera-faces-skin-heavy-blur": {
        **_with_faces(_hand_with_negatives(0.425, 0.275, synthetic_seed=61), seed=63, weight=0.2, p_real_skin=0.8),
        "augment": dict(BLUR_AUGMENT)},
    # Hands cut by the frame's edge (session 42): stage II's learnt vote drops 46 of model_eval's 634 composed hands,
    # 25 of them at the frame edge, where it weighs their readings' lower confidence. The shipped recipes of the two
    # networks with a sixth of the hands cut by a frame edge as the runtime crops them (CropJitter.p_frame_edge),
    # without session 30's part negatives (which taught the networks to drop such hands), from fresh seeds.
    "hand-camera-aligned-faces-synthetic-skin-edge": {
        **_with_faces(_hand_with_negatives(0.475, 0.325, synthetic_seed=64), seed=66, p_real_skin=0.8),
        "augment": dict(CAMERA_AUGMENT),
        "jitter": {**ALIGNED_JITTER, "p_frame_edge": 0.15}},
    "hand-camera-faces-skin-heavy-edge": {
        **_with_faces(_hand_with_negatives(0.425, 0.275, synthetic_seed=67), seed=69, weight=0.2, p_real_skin=0.8),
        "augment": dict(CAMERA_AUGMENT), "jitter": {"p_frame_edge": 0.15}},
    # Hands of composed frames (session 42): the shipped recipes with 0.15 of the photos' weight given to hands cut out
    # and pasted as stage I's composed frames paste them (datasets.ComposedHands; the localizer's overlap, max_iou
    # 0.5): the composed hands the vote drops are those stage II reads unsure of, and it had read whole photos only.
    "hand-camera-aligned-faces-synthetic-skin-composed": {
        **_with_composed(_with_faces(_hand_with_negatives(0.325, 0.325, synthetic_seed=70), seed=72, p_real_skin=0.8),
                         seed=73, weight=0.15, config={"max_iou": 0.5}),
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    "hand-camera-faces-skin-heavy-composed": {
        **_with_composed(_with_faces(_hand_with_negatives(0.275, 0.275, synthetic_seed=74), seed=76, weight=0.2,
                                     p_real_skin=0.8), seed=77, weight=0.15, config={"max_iou": 0.5}),
        "augment": dict(CAMERA_AUGMENT)},
    # The aligned one with the synthetic hands up to 0.4 (photos 0.25): after 3 epochs of it the aligned network was
    # less sure of rendered hands, and fps.py's and model_eval.py's four-hand frame was read in 11 crops instead of 6.
    "hand-camera-aligned-faces-synthetic-skin-composed-syn": {
        **_with_composed(_with_faces(_hand_with_negatives(0.25, 0.4, synthetic_seed=78), seed=80, p_real_skin=0.8),
                         seed=81, weight=0.15, config={"max_iou": 0.5}),
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    # ... and with the composed hands at half the weight (0.075, photos 0.4), to keep more of the aligned network's
    # confidence on rendered hands: it did not (the one-hand timing frame in 5 crops; benchmarks/RESULTS.md section 43).
    "hand-camera-aligned-faces-synthetic-skin-composed-light": {
        **_with_composed(_with_faces(_hand_with_negatives(0.4, 0.325, synthetic_seed=82), seed=84, p_real_skin=0.8),
                         seed=85, weight=0.075, config={"max_iou": 0.5}),
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    # Rendered hands only (session 44), stood upright by their labels: how far the aligned network's size reaches on
    # the synthetic val target when it has nothing else to learn (PCK@0.2 0.761 -> 0.822 on this val set in 8 epochs,
    # real photos lost 5 points in 2), and the fine-tune whose soup with the shipped network trades the two
    # (benchmarks/domain_tradeoff.py, RESULTS.md section 45).
    "hand-camera-aligned-synthetic-only": {
        "train": [{"kind": "synthetic", "seed": 90, "weight": 1.0}],
        "val": [{"kind": "synthetic", "seed": 999, "length": 500}],
        "augment": dict(CAMERA_AUGMENT), "jitter": dict(ALIGNED_JITTER)},
    # The plain network's twin of it (session 34): the same weights, its own seeds.
    "hand-camera-faces-synthetic": {**_with_faces(_hand_with_negatives(0.475, 0.325, synthetic_seed=44), seed=45),
                                    "augment": dict(CAMERA_AUGMENT)},
    "localizer-overlap-faces": _localizer({"p_photo": 0.25, "max_iou": 0.5, "p_faces": 0.4}),
    # Milder: faces on 15 % of those frames (at 0.4 three epochs cost the composed frames 1.5-5.7 points of recall).
    "localizer-overlap-faces-mild": _localizer({"p_photo": 0.25, "max_iou": 0.5, "p_faces": 0.15}),
    # Faces on 20 % of those frames, 80 % of them with the skin of a real hand's palm (faces.skin_patch; session 37):
    # today's networks take drawn faces with real skin for hands nearly twice as often as flat-toned ones.
    # The composed val frames' own mix with the shipped recipe's drawn faces (session 44): fine-tuned on the mix alone
    # (recipe "localizer") stage I found more turned and whole photos and, through the shipped vote, more composed
    # hands, but took faces for hands again (benchmarks/RESULTS.md section 45).
    "localizer-faces-skin": _localizer({"p_faces": 0.2, "p_real_skin": 0.8}),
    "localizer-overlap-faces-skin": _localizer({"p_photo": 0.25, "max_iou": 0.5, "p_faces": 0.2, "p_real_skin": 0.8}),
    # The same with the camera light and noise of localizer-camera (session 37): the skin fine-tune, trained without
    # them, found 0.765 of the hands under sensor noise of sigma 35 where the shipped soup (0.3 of it localizer-camera)
    # found 0.840. 3 epochs of it on the skin fine-tune lost real photos' recall and took faces again (not shipped;
    # benchmarks/RESULTS.md section 33).
    "localizer-overlap-faces-skin-camera": {
        **_localizer({"p_photo": 0.25, "max_iou": 0.5, "p_faces": 0.2, "p_real_skin": 0.8}),
        "augment": dict(CAMERA_AUGMENT)},
    # The shipped localizer's recipe with centre peaks about half as wide (targets.center_radius; 0.15 of a hand's
    # longer side before): with wide peaks the focal loss barely penalises high scores between two overlapping
    # hands, and overlapping hands are half the composed frames' misses (session 35).
    "localizer-overlap-faces-sharp": {**_localizer({"p_photo": 0.25, "max_iou": 0.5, "p_faces": 0.15}),
                                      "center_sigma": 0.08},
    # ... and wider (sharp lost recall even at half the box threshold: an unsure hand gets a lower peak). Neither
    # found more hands than the shipped localizer (RESULTS.md section 30).
    "localizer-overlap-faces-broad": {**_localizer({"p_photo": 0.25, "max_iou": 0.5, "p_faces": 0.15}),
                                      "center_sigma": 0.22},
    # The same with the faces at 0.25 (photos 0.425): three epochs at 0.1 moved real faces' stage-II confidence
    # from a median 0.39 to 0.28 but drawn ones' to 0.06 (benchmarks/RESULTS.md section 26).
    "hand-camera-faces-heavy": {**_with_faces(_hand_with_negatives(0.425, 0.225, synthetic_seed=37), seed=38,
                                              weight=0.25), "augment": dict(CAMERA_AUGMENT)},
    "hand-camera-aligned-faces-heavy": {**_with_faces(_hand_with_negatives(0.425, 0.225, synthetic_seed=39), seed=40,
                                                      weight=0.25), "augment": dict(CAMERA_AUGMENT),
                                        "jitter": dict(ALIGNED_JITTER)},
    # hand-real with the camera-light augmentation: for the handedness head (session 18), which learns on photos only.
    "hand-real-camera": {
        "train": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": 1.0}],
        "val": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"}],
        "augment": dict(CAMERA_AUGMENT),
    },
    # hand-real-camera on crops stood upright by their labels: the handedness head of the hand-camera-aligned
    # network (session 21), which only ever sees crops turned upright by stage I's orientation.
    "hand-real-aligned": {
        "train": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": 1.0}],
        "val": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"}],
        "augment": dict(CAMERA_AUGMENT),
        "jitter": dict(ALIGNED_JITTER),
    },
    # hand-real-aligned with each crop stood upright by the shipped direction network's reading (CropJitter.
    # align_model; session 24), as detect() stands it with any_angle, and +-5 degrees (sd) more: the handedness head
    # of hand_aligned.onnx agreed 0.970 on label-upright val crops but 0.925 on the crops the network turns.
    "hand-real-network-aligned": {
        "train": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": 1.0}],
        "val": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"}],
        "augment": dict(CAMERA_AUGMENT),
        "jitter": {"align": True, "align_model": "shipped", "p_any_rotation": 0.0, "rotation": 10.0},
    },
    # The hand-direction network (session 21): photos and synthetic hands, every crop at any angle (the direction is
    # the label: wrist -> middle knuckle), with the camera light; validated on hagrid_mp val crops at any angle.
    "orientation-camera": {
        "train": [
            {"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "train", "weight": 0.7},
            {"kind": "synthetic", "seed": 15, "weight": 0.3},
        ],
        "val": [{"kind": "hagrid_mp", "root": "{shared}/data/hagrid_mp", "split": "val"}],
        "augment": dict(CAMERA_AUGMENT),
        "jitter": {"p_any_rotation": 1.0},
    },
    "localizer-synthetic": {
        "train": [{"kind": "synthetic"}],
        "val": [{"kind": "synthetic"}],
    },
}


def shared_root() -> Path:
    """Where the shared data folder is."""
    if os.environ.get("HANDJOINTS_SHARED"):
        return Path(os.environ["HANDJOINTS_SHARED"])
    beside_repo = Path(__file__).resolve().parents[3] / "shared"
    return beside_repo if beside_repo.is_dir() else Path("shared").resolve()


def resolve(recipe: dict, shared: Path | None = None) -> dict:
    """Fill `{shared}` in every root; raise FileNotFoundError naming a missing data set and the fix."""
    shared = shared or shared_root()
    out = copy.deepcopy(recipe)
    for split in (out.get("train", []), out.get("val", [])):   # "augment" holds options, not sources
        for spec in split:
            if "root" in spec:
                spec["root"] = spec["root"].replace("{shared}", str(shared))
                if not Path(spec["root"]).exists():
                    raise FileNotFoundError(
                        f"data set {spec['kind']!r} not found at {spec['root']}; set HANDJOINTS_SHARED to the "
                        f"folder that holds data/, or use a synthetic recipe")
    return out


def get_recipe(name: str) -> dict:
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; known: {sorted(RECIPES)} (or pass a JSON file)")
    return resolve(RECIPES[name])
