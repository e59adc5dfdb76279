"""Handedness: how often Hand.handedness names the hand right, and how sure it is when it is.

    python benchmarks/handedness.py [--photos 2601] [--frames 300] [--synthetic 300] [--peer]

Sets (val data only; nothing written but the result files):
(a) crops: the first N hagrid_mp val photos with their labelled boxes (detector.estimate: stage II alone).
    The labels are MediaPipe's handedness, swapped to the person's hand (data/loaders/hagrid.py): agreement with
    MediaPipe, not accuracy. Mirror consistency needs no label: the photo mirrored left-right must give the
    other hand. Per gesture, and selective agreement (hands under a handedness_score threshold left unnamed).
    Turned: each photo also turned by exactly 90, 180 and 270 degrees (cv2.rotate, no resampling), the box with it:
    a turn does not change which hand it is, so the label stands (hands pointing sideways or down, as a robot's or
    a ceiling camera sees them; the photos are mostly upright gestures).
(b) frames: the first M of those photos enlarged 2x in 640x480 frames (peer_mediapipe's set (a2)) through detect():
    agreement on the labelled hands found (IoU >= 0.5), and mirror consistency of the whole pipeline.
(c) synthetic: SyntheticHands(VAL_SEED) 640x480 frames through detect(), exact labels. The renderer draws the palm
    and the back of the hand alike (one flat skin colour, no nails or creases), so which side faces the camera
    shows only in how the fingers bend: read these figures as that, not as real-photo accuracy.
--peer runs MediaPipe Hands (its label swapped likewise) on (b) and (c) beside ours: on (b) its agreement is
with its own labels made on other renderings of the same photos, so only its mirror consistency says much there.
Writes handedness.json, handedness.md, handedness.png (agreement against coverage) and handedness_examples.png
(val photos with what the hand network says) to --out.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
from model_eval import shared_data  # noqa: E402

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MIRROR = {"left": "right", "right": "left"}
TURNS = (90, 180, 270)   # degrees clockwise


def mirrored(image: np.ndarray, box) -> tuple[np.ndarray, np.ndarray]:
    """The image mirrored left-right and the (4,) box moved with it (continuous coordinates: x -> W - x)."""
    w = image.shape[1]
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(image[:, ::-1]), np.array([w - x1, y0, w - x0, y1], np.float32)


def turned(image: np.ndarray, box, degrees: int) -> tuple[np.ndarray, np.ndarray]:
    """The image turned clockwise by 90, 180 or 270 degrees (exact) and the (4,) box moved with it (continuous
    coordinates: a 90-degree turn of a W x H image sends (x, y) to (H - y, x); compose.turned_image / turned_box)."""
    from handjoints_trt.data.compose import turned_box, turned_image

    if degrees not in TURNS:
        raise ValueError(f"degrees must be 90, 180 or 270, got {degrees!r}")
    return turned_image(image, degrees // 90), turned_box(box, image.shape, degrees // 90)


def summary(rows: list[dict]) -> dict:
    """rows: {'label', 'predicted', 'score', ['mirror']} -> agreement, mirror consistency, selective agreement."""
    labelled = [r for r in rows if r["label"] in MIRROR and r["predicted"] in MIRROR]
    out = {"hands": len(rows), "scored": len(labelled),
           "agreement": float(np.mean([r["predicted"] == r["label"] for r in labelled])) if labelled else None}
    mirrored_rows = [r for r in rows if r.get("mirror") in MIRROR and r["predicted"] in MIRROR]
    if mirrored_rows:
        out["mirror_consistency"] = float(np.mean([r["mirror"] == MIRROR[r["predicted"]] for r in mirrored_rows]))
        out["mirror_pairs"] = len(mirrored_rows)
    out["selective"] = [{"threshold": t, "coverage": float(np.mean([r["score"] >= t for r in labelled])),
                         "agreement": _mean([r["predicted"] == r["label"] for r in labelled if r["score"] >= t])}
                        for t in THRESHOLDS] if labelled else []
    return out


def _mean(values) -> float | None:
    values = list(values)
    return float(np.mean(values)) if values else None


def crops_set(detector, records) -> tuple[dict, dict]:
    """Set (a): stage II on the labelled boxes of each photo, of its mirror image and of the photo turned by
    TURNS. (summary with 'turned': {degrees: agreement}, per gesture)."""
    rows, by_gesture, by_turn = [], defaultdict(list), defaultdict(list)
    for record in records:
        sample = record.load()
        label = sample.hands[0]
        hand = detector.estimate(sample.image, label.box[None])[0]
        image, box = mirrored(sample.image, label.box)
        mirror = detector.estimate(image, box[None])[0]
        row = {"label": label.handedness, "predicted": hand.handedness, "score": hand.handedness_score,
               "mirror": mirror.handedness}
        rows.append(row)
        by_gesture[record.meta.get("gesture", "?")].append(row)
        for degrees in TURNS if label.handedness in MIRROR else ():
            image, box = turned(sample.image, label.box, degrees)
            by_turn[degrees].append(detector.estimate(image, box[None])[0].handedness == label.handedness)
    gestures = {g: {"hands": len(r), "agreement": _mean(x["predicted"] == x["label"] for x in r),
                    "mirror_consistency": _mean(x["mirror"] == MIRROR.get(x["predicted"]) for x in r)}
                for g, r in sorted(by_gesture.items())}
    result = summary(rows)
    result["turned"] = {str(d): _mean(by_turn[d]) for d in TURNS}
    return result, gestures


def matched(hands, box, iou_min: float = 0.5):
    """The found hand that best overlaps ``box`` (IoU >= iou_min), or None."""
    from handjoints_trt.postprocess import box_iou

    if not hands:
        return None
    iou = box_iou(np.asarray(box, np.float32)[None], np.array([h.box for h in hands], np.float32))[0]
    best = int(iou.argmax())
    return hands[best] if iou[best] >= iou_min else None


def frames_set(detector, samples) -> dict:
    """Sets (b) and (c): detect() on each frame (and its mirror image); every labelled hand found is a row."""
    rows = []
    for sample in samples:
        hands = detector.detect(sample.image)
        flipped = detector.detect(np.ascontiguousarray(sample.image[:, ::-1]))
        for label in sample.hands:
            hand = matched(hands, label.box)
            if hand is None or hand.handedness is None:
                continue
            mirror = matched(flipped, mirrored(sample.image, label.box)[1])
            rows.append({"label": label.handedness, "predicted": hand.handedness, "score": hand.handedness_score,
                         "mirror": None if mirror is None else mirror.handedness})
    return summary(rows)


def plot(results: dict, path: Path) -> Path:
    """Agreement against coverage (hands named) as the handedness_score threshold rises, one line per set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for name, by_detector in results["sets"].items():
        for detector, result in by_detector.items():
            points = [(s["coverage"], s["agreement"]) for s in result.get("selective", [])
                      if s["agreement"] is not None]
            if points:
                style = "-o" if detector == "handjoints_trt" else "--s"
                ax.plot(*zip(*points), style, label=f"{detector}: {name}", markersize=4)
    ax.set_xlabel("coverage (share of hands named, threshold on handedness_score)")
    ax.set_ylabel("agreement with the label")
    ax.set_xlim(1.02, 0.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("Handedness: agreement against coverage (hagrid_mp val; synthetic val)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path


def example_grid(detector, records, count: int = 12, tile: int = 220, columns: int = 6) -> np.ndarray:
    """Val photos (every 97th: many people and gestures) with what stage II says on the labelled box: the joints,
    and "R 0.97 (label R)" under each, green when it agrees with the label, red when not."""
    import cv2

    from handjoints_trt.draw import draw_hands
    from handjoints_trt.preprocess import letterbox_image

    tiles = []
    for record in records[::97][:count]:
        sample = record.load()
        label = sample.hands[0]
        hand = detector.estimate(sample.image, label.box[None])[0]
        drawn = letterbox_image(draw_hands(sample.image, [hand], draw_boxes=False), (tile, tile))[0]
        agree = hand.handedness == label.handedness
        text = f"{hand.handedness[0].upper()} {hand.handedness_score:.2f} (label {label.handedness[0].upper()})"
        cv2.rectangle(drawn, (0, tile - 22), (tile, tile), (0, 0, 0), -1)
        cv2.putText(drawn, text, (4, tile - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (80, 220, 80) if agree else (60, 60, 240), 1, cv2.LINE_AA)
        tiles.append(drawn)
    return _common.tile_grid(tiles, columns)


def markdown(results: dict) -> str:
    lines = [f"# Handedness ({results['date']})", "", f"`{results['command']}`", "",
             _common.machine_markdown(results["machine"]), "",
             f"Ours with upright_pass={bool(results.get('upright_pass'))}, any_angle={bool(results.get('any_angle'))} "
             "(crops, detect()).", "",
             "| set | detector | hands found | agreement | mirror consistency | agreement at score >= 0.9 (coverage) |",
             "|---|---|---|---|---|---|"]
    for name, by_detector in results["sets"].items():
        for detector, r in by_detector.items():
            high = next((s for s in r.get("selective", []) if s["threshold"] == 0.9), None)
            lines.append(f"| {name} | {detector} | {r['scored']} | {_fmt(r['agreement'])} | "
                         f"{_fmt(r.get('mirror_consistency'))} | "
                         + (f"{_fmt(high['agreement'])} ({_fmt(high['coverage'])}) |" if high else "- |"))
    crops = results["sets"]["(a) val crops, labelled boxes"]["handjoints_trt"]
    if "turned" in crops:
        lines += ["", "Set (a) turned (the photo and its box turned clockwise by exactly 90, 180, 270 degrees; the label "
                  "stands), ours:", "", "| turn | 0 | 90 | 180 | 270 |", "|---|---|---|---|---|",
                  f"| agreement | {_fmt(crops['agreement'])} | "
                  + " | ".join(_fmt(crops["turned"][str(d)]) for d in TURNS) + " |"]
    lines += ["", "Per gesture, set (a), ours:", "", "| gesture | crops | agreement | mirror consistency |",
              "|---|---|---|---|"]
    for gesture, g in results["gestures"].items():
        lines.append(f"| {gesture} | {g['hands']} | {_fmt(g['agreement'])} | {_fmt(g['mirror_consistency'])} |")
    lines += ["", results["labels_note"], ""]
    return "\n".join(lines)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", type=int, default=2601, help="hagrid_mp val photos for set (a)")
    p.add_argument("--frames", type=int, default=300, help="of those, photos in 640x480 frames for set (b)")
    p.add_argument("--synthetic", type=int, default=300, help="synthetic val frames for set (c)")
    p.add_argument("--peer", action="store_true", help="MediaPipe Hands beside ours on (b) and (c)")
    p.add_argument("--any-angle", action=argparse.BooleanOptionalAction, default=None,
                   help="ours with DetectorOptions.any_angle on or off (default: the options' default, on with the "
                        "shipped hand network; the aligned hand network names most hands)")
    p.add_argument("--orientation-model", default=None, help="with --any-angle: the orientation ONNX")
    p.add_argument("--aligned-model", default=None, help="with --any-angle: the aligned hand ONNX")
    p.add_argument("--upright-pass", action="store_true",
                   help="ours with DetectorOptions.upright_pass=True (turned hands get stage II again, upright)")
    p.add_argument("--data", help="hagrid_mp folder (default ../shared/data/hagrid_mp)")
    _common.add_model_args(p)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from handjoints_trt import HandJointDetector
    from handjoints_trt.data.loaders import load_hagrid_mp

    from peer_mediapipe import MediaPipeHands, hagrid_folder, hands_module_or_none, photo_frames, synthetic_set

    hands_module = hands_module_or_none() if args.peer else None
    if args.peer and hands_module is None:
        return 2
    data = hagrid_folder(args.data or str(shared_data()))
    if data is None:
        return 2
    models = _common.resolve_models("fp32", False, args.localizer_model, args.hand_model)
    records = [r for r in load_hagrid_mp(data, split="val") if r.hands][:args.photos]
    sets = {"(b) photos x2, 640x480": lambda: photo_frames(records, args.frames, upscale=2.0),
            "(c) synthetic 640x480": lambda: synthetic_set(args.synthetic)}
    results = {"sets": {}}
    with HandJointDetector(backend="onnxruntime", threads=args.threads, localizer_model=models["localizer"],
                           hand_model=models["hand"], upright_pass=args.upright_pass, any_angle=args.any_angle,
                           orientation_model=args.orientation_model, aligned_model=args.aligned_model) as ours:
        any_angle = ours.options.any_angle
        if not ours.has_handedness:
            print(f"error: {models['hand']} has no handedness output (train one: `handjoints train-handedness`)",
                  file=sys.stderr)
            return 2
        print(f"[handedness] (a) {len(records)} crops ...", file=sys.stderr, flush=True)
        crops, gestures = crops_set(ours, records)
        examples = example_grid(ours, records)
        results["sets"]["(a) val crops, labelled boxes"] = {"handjoints_trt": crops}
        for name, make in sets.items():
            print(f"[handedness] {name} ...", file=sys.stderr, flush=True)
            results["sets"][name] = {"handjoints_trt": frames_set(ours, make())}
    if hands_module is not None:
        with MediaPipeHands(hands_module) as peer:
            for name, make in sets.items():
                print(f"[handedness] {name}: MediaPipe ...", file=sys.stderr, flush=True)
                results["sets"][name]["MediaPipe"] = frames_set(peer, make())
    machine = _common.machine_info()
    command = " ".join(["python", "benchmarks/handedness.py", *(sys.argv[1:] if argv is None else argv)])
    results.update(date=machine["date"], command=command, machine=machine, models={k: str(models[k]) for k in
                   ("localizer", "hand")}, gestures=gestures, upright_pass=args.upright_pass,
                   any_angle=any_angle,
                   labels_note="hagrid_mp labels are MediaPipe Hands 0.10.21's handedness (swapped to the person's "
                   "hand): agreement with MediaPipe, not accuracy. Synthetic labels are exact, but the renderer "
                   "draws palm and back in one flat skin colour: only the pose tells which side faces the camera.")
    out = Path(args.out)
    _common.write_json(out / "handedness.json", results)
    text = markdown(results)
    _common.write_text(out / "handedness.md", text)
    plot(results, out / "handedness.png")
    import cv2

    cv2.imwrite(str(out / "handedness_examples.png"), examples)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
