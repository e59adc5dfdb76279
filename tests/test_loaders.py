"""Dataset loaders: every format on the shared fixtures and on small files written here."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from handjoints_trt.data.loaders import LOADERS, AnnotationError, load_dataset, load_hagrid_mp
from handjoints_trt.data.sample import HandLabel, Record
from handjoints_trt.skeleton import FINGERS, NUM_JOINTS


# ---------------------------------------------------------------- helpers

def finger_outward_fraction(records: list[Record]) -> float:
    """Fraction of (hand, finger) pairs whose base lies closer to the wrist than the finger's next joint.

    In canonical order each finger runs from its base (MCP; CMC for the thumb) to its tip, and the joint
    after the base is farther from the wrist even in a fist (on hagrid_mp val: 98 %; with the order
    reversed, tip first, 38 %). The first two *visible* joints of the finger are compared. Rare exceptions
    (foreshortened fingers pointing at the camera) are allowed, hence a fraction.
    """
    good = total = 0
    for record in records:
        for hand in record.hands:
            if not hand.visible[0]:
                continue
            wrist = hand.keypoints[0]
            for joints in FINGERS.values():
                idx = [j for j in joints if hand.visible[j]][:2]
                if len(idx) < 2:
                    continue
                d_base, d_next = (np.linalg.norm(hand.keypoints[j] - wrist) for j in idx)
                good += d_next > d_base
                total += 1
    assert total > 0, "no finger with a visible wrist and two visible joints"
    return good / total


def reversed_fingers(records: list[Record]) -> list[Record]:
    """The same hands with every finger stored tip first (RHD's order): what a missing reorder gives."""
    from handjoints_trt.data.loaders._common import TIP_FIRST_TO_CANONICAL as order

    return [Record(r.path, [HandLabel(h.keypoints[list(order)], h.visible[list(order)]) for h in r.hands])
            for r in records]


def assert_invisible_are_not_points(records: list[Record]) -> None:
    """Invisible joints hold (0, 0) and visible ones never sit at (0, 0)."""
    for record in records:
        for hand in record.hands:
            assert hand.keypoints.shape == (NUM_JOINTS, 2) and hand.visible.shape == (NUM_JOINTS,)
            assert np.all(hand.keypoints[~hand.visible] == 0)
            assert np.all(np.any(hand.keypoints[hand.visible] != 0, axis=1))


def assert_loads_with_size(record: Record) -> None:
    sample = record.load()
    assert sample.image.dtype == np.uint8 and sample.image.ndim == 3
    assert sample.image.shape[:2] == (record.height, record.width)


# ---------------------------------------------------------------- hagrid_mp

def test_hagrid_splits_partition_all(hagrid_dir: Path):
    # (Load time is not asserted here: timed tests fail on a loaded machine. It loads in ~1.5 s idle.)
    everything = load_hagrid_mp(hagrid_dir, split="all")
    assert len(everything) == 26667
    train = load_hagrid_mp(hagrid_dir, "train")
    val = load_hagrid_mp(hagrid_dir, "val")
    val_names = set((hagrid_dir / "val.txt").read_text().split())
    assert len(val) == len(val_names) == 2601
    assert {Path(r.path).name for r in val} == val_names
    assert len(train) + len(val) == len(everything)
    assert not {r.path for r in train} & {r.path for r in val}


def test_hagrid_labels_canonical_and_images_load(hagrid_dir: Path):
    records = load_hagrid_mp(hagrid_dir, "val")
    assert finger_outward_fraction(records) > 0.9
    assert_invisible_are_not_points(records)
    for record in records[:5]:
        assert_loads_with_size(record)
        hand = record.hands[0]
        assert hand.visible.all()
        assert np.all(hand.keypoints <= [record.width, record.height])


def test_hagrid_handedness_is_person_hand_and_raw_label_kept(hagrid_dir: Path):
    person = load_hagrid_mp(hagrid_dir, "val")
    raw = load_hagrid_mp(hagrid_dir, "val", handedness="mediapipe")
    swapped = {"Left": "right", "Right": "left"}
    for p, r in zip(person, raw):
        assert p.hands[0].handedness == swapped[p.meta["mediapipe_handedness"]]
        assert r.hands[0].handedness == p.meta["mediapipe_handedness"].lower()
    assert all(r.hands[0].handedness is None for r in load_hagrid_mp(hagrid_dir, "val", handedness="none"))


def write_hagrid(root: Path, entries: list, val: list[str] = ()) -> Path:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "annotations.json").write_text(json.dumps(entries))
    (root / "val.txt").write_text("\n".join(val))
    return root


HAGRID_ENTRY = {"file": "a.jpg", "width": 40, "height": 50, "handedness": "Left",
                "keypoints": [[10 + i, 20 + i] for i in range(21)]}


def test_hagrid_bad_input_names_file_and_field(tmp_path: Path):
    with pytest.raises(AnnotationError, match="annotations.json.*not found"):
        load_hagrid_mp(tmp_path / "nowhere")
    short = dict(HAGRID_ENTRY, keypoints=HAGRID_ENTRY["keypoints"][:20])
    with pytest.raises(AnnotationError, match=r"annotations\.json, record 1: field 'keypoints'.*\(20, 2\)"):
        load_hagrid_mp(write_hagrid(tmp_path / "a", [HAGRID_ENTRY, short]), "all")
    missing = {k: v for k, v in HAGRID_ENTRY.items() if k != "width"}
    with pytest.raises(AnnotationError, match=r"record 0: field 'width': missing"):
        load_hagrid_mp(write_hagrid(tmp_path / "b", [missing]), "all")
    root = write_hagrid(tmp_path / "c", [HAGRID_ENTRY])
    (root / "val.txt").unlink()
    with pytest.raises(AnnotationError, match="val.txt"):
        load_hagrid_mp(root, "train")


def test_registry_dispatches(tmp_path: Path):
    root = write_hagrid(tmp_path, [HAGRID_ENTRY, dict(HAGRID_ENTRY, file="b.jpg")], val=["b.jpg"])
    assert [Path(r.path).name for r in load_dataset("hagrid_mp", root, split="val")] == ["b.jpg"]
    assert "hagrid_mp" in LOADERS
    with pytest.raises(ValueError, match="unknown dataset format"):
        load_dataset("no_such_format", root)


# ---------------------------------------------------------------- fixtures (mmpose test data, real files)

FIXTURE_CASES = [
    # format, annotation file, images, hands, handedness counts (left, right)
    ("cmu_manual_coco", "panoptic/test_panoptic.json", 4, 4, (2, 2)),
    ("onehand10k", "onehand10k/test_onehand10k.json", 4, 4, (0, 0)),
    ("freihand_coco", "freihand/test_freihand.json", 8, 8, (0, 8)),
    ("rhd_coco", "rhd/test_rhd.json", 3, 3, (2, 1)),
    ("coco_wholebody", "coco_wholebody/test_coco_wholebody.json", 4, 10, (5, 5)),
    ("interhand2.6m", "interhand2.6m/test_interhand2.6m_data.json", 4, 6, (3, 3)),
]


@pytest.mark.parametrize("fmt,rel,n_images,n_hands,sides", FIXTURE_CASES, ids=[c[0] for c in FIXTURE_CASES])
def test_fixture_loads_in_canonical_order(fixtures_dir: Path, fmt, rel, n_images, n_hands, sides):
    records = load_dataset(fmt, fixtures_dir / rel)
    assert len(records) == n_images
    hands = [h for r in records for h in r.hands]
    assert len(hands) == n_hands
    assert (sum(h.handedness == "left" for h in hands), sum(h.handedness == "right" for h in hands)) == sides
    # Few hands per fixture and some curled fingers: canonical gives 0.8-1.0, tip-first gives 0.2-0.6.
    assert finger_outward_fraction(records) >= 0.75
    assert finger_outward_fraction(records) > finger_outward_fraction(reversed_fingers(records)) + 0.2
    assert_invisible_are_not_points(records)
    for record in records:
        assert_loads_with_size(record)
        for hand in record.hands:  # labelled joints lie in the image (or within a few pixels of it)
            pts = hand.keypoints[hand.visible]
            assert np.all(pts > -5) and np.all(pts < [record.width + 5, record.height + 5])


def test_rhd_fixture_would_fail_without_reordering(fixtures_dir: Path):
    """The geometric check tells RHD's tip-first order from the canonical one."""
    from handjoints_trt.data.loaders import load_coco_hands

    path = fixtures_dir / "rhd/test_rhd.json"
    raw = load_coco_hands(path)  # no reordering
    assert finger_outward_fraction(raw) < 0.5 < finger_outward_fraction(load_dataset("rhd_coco", path))


def test_onehand10k_unlabelled_joints_are_invisible(fixtures_dir: Path):
    loaded = load_dataset("onehand10k", fixtures_dir / "onehand10k/test_onehand10k.json")
    records = {Path(r.path).name: r for r in loaded}
    hand = records["33.jpg"].hands[0]
    assert hand.visible.sum() == 7  # 14 of 21 have v = 0 (README)
    # The box is the annotation's bbox [x, y, w, h] as (x0, y0, x1, y1), not the 7 joints' tight box.
    ann = json.loads((fixtures_dir / "onehand10k/test_onehand10k.json").read_text())["annotations"]
    x, y, w, h = next(a["bbox"] for a in ann if a["image_id"] == records["33.jpg"].meta["image_id"])
    assert np.allclose(hand.box, [x, y, x + w, y + h])


def test_coco_wholebody_uses_only_valid_hands_and_fractional_v(fixtures_dir: Path, tmp_path: Path):
    src = json.loads((fixtures_dir / "coco_wholebody/test_coco_wholebody.json").read_text())
    ann = next(a for a in src["annotations"] if a["righthand_valid"])
    kpts = list(ann["righthand_kpts"])
    kpts[2], kpts[5] = 0.2, 0.0  # fractional v counts as labelled, v = 0 does not
    one = dict(ann, righthand_kpts=kpts, lefthand_valid=False)
    image = next(i for i in src["images"] if i["id"] == ann["image_id"])
    path = tmp_path / "wb.json"
    path.write_text(json.dumps({"images": [image], "annotations": [one]}))
    (hand,) = load_dataset("coco_wholebody", path, image_root=fixtures_dir / "coco_wholebody")[0].hands
    assert hand.handedness == "right" and hand.visible[0] and not hand.visible[1]
    assert np.allclose(hand.box, [ann["righthand_box"][0], ann["righthand_box"][1],
                                  ann["righthand_box"][0] + ann["righthand_box"][2],
                                  ann["righthand_box"][1] + ann["righthand_box"][3]])


# ---------------------------------------------------------------- self-written files in native formats

def canonical_hand(wrist=(60.0, 110.0), scale=1.0) -> np.ndarray:
    """(21, 2) an open hand, fingers up and spread, canonical order: each finger runs away from the wrist."""
    angles = np.deg2rad([-150, -115, -90, -65, -40])  # thumb on the left, image y down
    pts = [np.asarray(wrist, float)]
    for a in angles:
        direction = np.array([np.cos(a), np.sin(a)])
        pts += [pts[0] + direction * r * scale for r in (25, 45, 60, 72)]
    return np.asarray(pts)


def write_image(path: Path, width: int, height: int) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((height, width, 3), 90, np.uint8))
    return path


def test_cmu_manual_per_hand_json(tmp_path: Path):
    pts = canonical_hand()
    flags = np.ones(21)
    flags[7] = 0  # not labelled: must come back invisible at (0, 0)
    folder = tmp_path / "manual_train"
    for name, is_left in (("a_l", 1), ("b_r", 0)):
        write_image(folder / f"{name}.jpg", 160, 130)
        (folder / f"{name}.json").write_text(json.dumps({
            "hand_pts": np.column_stack([pts, flags]).tolist(), "is_left": is_left, "head_size": 33.0}))
    records = load_dataset("cmu_manual", folder)
    assert [r.hands[0].handedness for r in records] == ["left", "right"]
    hand = records[0].hands[0]
    assert not hand.visible[7] and hand.visible.sum() == 20
    assert np.allclose(hand.keypoints[hand.visible], pts[hand.visible].astype(np.float32))
    assert records[0].meta["head_size"] == 33.0
    assert_loads_with_size(records[0])
    assert (records[0].width, records[0].height) == (160, 130)


def test_cmu_synth_recurses_into_synth_folders(tmp_path: Path):
    pts = canonical_hand(scale=1.5)
    for sub in ("synth1", "synth2"):
        write_image(tmp_path / sub / "0001.jpg", 368, 368)
        (tmp_path / sub / "0001.json").write_text(json.dumps(
            {"hand_pts": np.column_stack([pts, np.ones(21)]).tolist(), "is_left": False}))
    records = load_dataset("hs", tmp_path)
    assert len(records) == 2 and finger_outward_fraction(records) == 1.0
    assert all(r.hands[0].handedness == "right" and r.meta["dataset"] == "cmu_synth" for r in records)
    assert_loads_with_size(records[1])


def test_rhd_pickle_reorders_tip_first_and_splits_hands(tmp_path: Path):
    import pickle

    from handjoints_trt.data.loaders._common import TIP_FIRST_TO_CANONICAL

    left, right = canonical_hand((80, 200)), canonical_hand((230, 200))
    to_raw = np.argsort(TIP_FIRST_TO_CANONICAL)  # raw[i] = canonical[to_raw[i]] (the mapping is its own inverse)
    uv_vis = np.zeros((42, 3))
    uv_vis[:21, :2], uv_vis[21:, :2] = left[to_raw], right[to_raw]
    uv_vis[:, 2] = 1
    uv_vis[21 + 1, 2] = 0  # the right thumb tip (raw index 1, tip first) is occluded
    far = uv_vis.copy()
    far[21:, :2] += 1000  # right hand out of view: dropped
    split = tmp_path / "training"
    write_image(split / "color" / "00000.png", 320, 320)
    write_image(split / "color" / "00007.png", 320, 320)
    anno = {0: {"uv_vis": uv_vis, "xyz": np.ones((42, 3)), "K": np.eye(3)},
            7: {"uv_vis": far, "xyz": np.ones((42, 3)), "K": np.eye(3)}}
    with open(split / "anno_training.pickle", "wb") as f:
        pickle.dump(anno, f)
    first, second = load_dataset("rhd", split)
    assert [h.handedness for h in first.hands] == ["left", "right"] and len(second.hands) == 1
    assert np.allclose(first.hands[0].keypoints, left.astype(np.float32))
    occluded = first.hands[1]
    assert not occluded.visible[4] and occluded.visible.sum() == 20  # canonical 4 = thumb tip
    assert np.allclose(occluded.keypoints[occluded.visible], right[occluded.visible].astype(np.float32))
    assert load_rhd_occluded(split).hands[1].visible.all()
    assert Path(second.path).name == "00007.png"
    assert_loads_with_size(first)


def load_rhd_occluded(split: Path) -> Record:
    return load_dataset("rhd", split / "anno_training.pickle", occluded_labelled=True)[0]


def test_freihand_projects_xyz_with_k(tmp_path: Path):
    k = np.array([[500.0, 0, 112], [0, 500, 112], [0, 0, 1]])
    uv = canonical_hand((112, 180), 1.2)
    z = np.linspace(0.5, 0.6, 21)
    xyz = np.column_stack([(uv[:, 0] - 112) * z / 500, (uv[:, 1] - 112) * z / 500, z])
    (tmp_path / "training_xyz.json").write_text(json.dumps([xyz.tolist()] * 2))
    (tmp_path / "training_K.json").write_text(json.dumps([k.tolist()] * 2))
    for i in range(4):
        write_image(tmp_path / "training" / "rgb" / f"{i:08d}.jpg", 224, 224)
    records = load_dataset("freihand", tmp_path, versions=(0, 1))
    assert [Path(r.path).name for r in records] == [f"{i:08d}.jpg" for i in range(4)]
    assert np.allclose(records[3].hands[0].keypoints, uv, atol=1e-3)
    assert records[3].meta["label_index"] == 1 and records[0].hands[0].handedness == "right"
    assert_loads_with_size(records[2])


def test_paper_convention_round_trip_and_zero_means_occluded(tmp_path: Path):
    pts = canonical_hand()
    pts[12] = 0  # middle tip occluded, written as (0, 0)
    write_image(tmp_path / "img" / "0001.jpg", 150, 140)
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"format": "handjoints-paper-v1", "images": [
        {"file": "img/0001.jpg", "hands": [{"keypoints": pts.tolist(), "handedness": "left"}]}]}))
    (record,) = load_dataset("paper", path)
    hand = record.hands[0]
    assert not hand.visible[12] and hand.visible.sum() == 20 and hand.handedness == "left"
    assert (record.width, record.height) == (150, 140)  # from the image header
    assert_loads_with_size(record)
    from handjoints_trt.data.loaders import write_paper

    (again,) = load_dataset("paper", write_paper([record], tmp_path / "copy.json"))
    assert again.path == record.path and np.array_equal(again.hands[0].visible, hand.visible)
    assert np.allclose(again.hands[0].keypoints, hand.keypoints, atol=1e-3)


# ---------------------------------------------------------------- bad input names file and field

def test_bad_inputs_name_file_and_field(tmp_path: Path):
    pts = np.column_stack([canonical_hand(), np.ones(21)])
    bad = tmp_path / "short.json"
    bad.write_text(json.dumps({"hand_pts": pts[:20].tolist(), "is_left": 1}))
    with pytest.raises(AnnotationError, match=r"short\.json: field 'hand_pts': has 60 numbers, expected 21 x 3"):
        load_dataset("cmu_manual", bad)
    no_side = tmp_path / "noside.json"
    no_side.write_text(json.dumps({"hand_pts": pts.tolist()}))
    with pytest.raises(AnnotationError, match=r"noside\.json: field 'is_left': missing"):
        load_dataset("cmu_manual", no_side)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(AnnotationError, match=r"broken\.json.*not valid JSON"):
        load_dataset("paper", broken)
    with pytest.raises(AnnotationError, match="empty_dir.*no .json file"):
        (tmp_path / "empty_dir").mkdir()
        load_dataset("cmu_manual", tmp_path / "empty_dir")
    with pytest.raises(AnnotationError, match="anno_\\*.pickle.*not found"):
        load_dataset("rhd", tmp_path)
    with pytest.raises(AnnotationError, match="training_xyz.json.*file not found"):
        load_dataset("freihand", tmp_path)


def test_bad_coco_records_name_the_annotation(tmp_path: Path):
    image = {"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}
    path = tmp_path / "coco.json"
    path.write_text(json.dumps({"images": [image], "annotations": [
        {"image_id": 1, "keypoints": [1.0] * 63}, {"image_id": 1, "keypoints": [1.0] * 60}]}))
    with pytest.raises(AnnotationError, match=r"coco\.json, record annotations\[1\]: field 'keypoints'"):
        load_dataset("onehand10k", path)
    path.write_text(json.dumps({"images": [image], "annotations": [{"image_id": 2, "keypoints": [1.0] * 63}]}))
    with pytest.raises(AnnotationError, match=r"field 'image_id': 2 is not in images"):
        load_dataset("freihand_coco", path)
    paper = tmp_path / "paper.json"
    paper.write_text(json.dumps({"format": "handjoints-paper-v1", "images": [
        {"file": "a.jpg", "hands": [{"keypoints": [[1, 2]] * 21, "handedness": "both"}]}]}))
    with pytest.raises(AnnotationError, match=r"images\[0\]\.hands\[0\]: field 'handedness': unknown"):
        load_dataset("paper", paper)
