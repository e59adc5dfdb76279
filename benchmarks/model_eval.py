"""The figures of the model card, measured through the runtime (HandJointDetector on any backend):

1. hand network PCK@0.1..0.5, AUC, EPE with ground-truth boxes (detector.estimate), on hagrid_mp val (agreement
   with MediaPipe's pseudo-labels, not ground truth) and on synthetic val crops (exact labels);
2. localizer recall and precision at IoU 0.5 on composed multi-hand val frames at the paper's five frame sizes;
3. the whole pipeline's PCK on those frames (a ground-truth hand that no detection matches counts as all missed);
4. time per 640x480 frame of the whole pipeline with one and four hands: one rendered frame of each timed again and
   again, and (--timing-frames) 60 one-hand frames of each kind, rendered and real photos, each timed once, with the
   stage-II crops they took per hand (any_angle reads an unsure hand up to five times: one frame can be unlike most);
5. an overlay picture (model_eval_overlays.png) of what it finds on six synthetic val frames, and
   model_eval_timing.png: the --timing-frames frames' ms against the crops they took;
6. real photos as whole frames: the hagrid_mp val photos themselves (a hand with its arm, face and room,
   filling most of the frame, upscaled from ~110x75 px) through detect(): stage-I recall and precision at
   IoU 0.5 and the pipeline's PCK@0.2, the only figure here on unedited real pixels around the hand;
7. hands held turned: the first --turned val photos turned 90 / 180 / 270 degrees with their labels
   (compose.turned_sample), the hand network on the labelled boxes (in table 1) and whole through detect().

    python benchmarks/model_eval.py                       # shipped models, ONNX Runtime, writes benchmarks/results/
    python benchmarks/model_eval.py --hand-limit 300 --frames 40 --quick
"""
from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import tile_grid  # noqa: E402
from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.evaluation import (PCKAccumulator, detection_pr, format_table, plot_pck_curves,  # noqa: E402
                                      recall_by_size)

FRAME_SIZES = ((320, 320), (368, 368), (1280, 720), (720, 576), (960, 540))  # the paper's Table VI
VAL_SEED = 20261125


def shared_data() -> Path:
    from handjoints_trt.training.recipes import shared_root

    return shared_root() / "data" / "hagrid_mp"


def hand_pck_on_records(detector, records) -> object:
    """PCK of stage II with ground-truth boxes: each hand cropped exactly as at run time."""
    return hand_pck_on_samples(detector, (record.load() for record in records))


def hand_pck_on_samples(detector, samples) -> object:
    """hand_pck_on_records on loaded samples."""
    acc = PCKAccumulator()
    for sample in samples:
        boxes = np.stack([h.box for h in sample.hands])
        hands = detector.estimate(sample.image, boxes)
        acc.add(np.stack([h.keypoints for h in hands]), np.stack([h.keypoints for h in sample.hands]),
                np.stack([h.visible for h in sample.hands]))
    return acc.result()


def turned_records(records, count: int, quarters: int):
    """The first ``count`` labelled val photos turned clockwise by ``quarters`` x 90 degrees, labels with them."""
    from handjoints_trt.data.compose import turned_sample

    return (turned_sample(sample, quarters) for sample in val_photos(records, count))


def turned_figures(detector, records, count: int) -> tuple[dict, dict]:
    """Per turn (90, 180, 270 degrees): the hand network's PCK on the labelled boxes of the first ``count``
    turned val photos ({name: PCKResult}), and detect() on the same photos whole ({degrees: detect_and_score})."""
    pcks, whole = {}, {}
    for quarters in (1, 2, 3):
        degrees = 90 * quarters
        samples = list(turned_records(records, count, quarters))   # loaded and turned once for both figures
        pcks[f"hagrid_mp val turned {degrees}"] = hand_pck_on_samples(detector, samples)
        scored = detect_and_score(detector, samples)
        scored["photos"] = scored.pop("images")
        whole[degrees] = scored
    return pcks, whole


def hand_pck_on_synthetic(detector, count: int) -> object:
    """PCK on synthetic single-hand images (exact labels; occluded joints are not scored)."""
    from handjoints_trt.data.synthetic import SyntheticHands

    gen = SyntheticHands(seed=VAL_SEED)
    acc = PCKAccumulator()
    for i in range(count):
        sample = gen.crop(i, 256)
        hand = sample.hands[0]
        pred = detector.estimate(sample.image, hand.box[None])[0]
        acc.add(pred.keypoints[None], hand.keypoints[None], hand.visible[None])
    return acc.result()


def composed_frames(size: tuple[int, int], records, seed: int = VAL_SEED):
    from handjoints_trt.data.compose import ComposeConfig, ComposedFrames
    from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands

    synthetic = SyntheticHands(SynthConfig(width=size[0], height=size[1]), seed=seed)
    return ComposedFrames(records, ComposeConfig(frame_sizes=(size,)), seed=seed, synthetic=synthetic)


def detect_and_score(detector, samples, iou_min: float = 0.5) -> dict:
    """Run detect() on each sample: stage-I recall/precision/AP at IoU ``iou_min`` against the samples' hand
    boxes, and the whole pipeline's PCK (a ground-truth hand that no detection matches counts as all missed).
    Returns {'recall', 'precision', 'ap', 'hands', 'images', 'pipeline': PCKResult, 'by_size': recall per
    hand size (evaluation.recall_by_size rows), 'handedness': share of the matched hands with a labelled and a
    predicted handedness whose two agree (None when there are none), 'handedness_hands': how many}."""
    from handjoints_trt.postprocess import box_iou

    preds, scores, gts, acc, agree = [], [], [], PCKAccumulator(), []
    for sample in samples:
        hands = detector.detect(sample.image)
        boxes = np.array([h.box for h in hands], np.float32).reshape(-1, 4)
        gt = np.array([h.box for h in sample.hands], np.float32).reshape(-1, 4)
        preds.append(boxes)
        scores.append(np.array([h.score for h in hands], np.float32))
        gts.append(gt)
        iou = box_iou(gt, boxes) if len(gt) and len(boxes) else np.zeros((len(gt), len(boxes)))
        for g, label in enumerate(sample.hands):
            best = int(iou[g].argmax()) if iou.shape[1] else -1
            found = best >= 0 and iou[g, best] >= iou_min
            pred = hands[best].keypoints if found else np.full((21, 2), np.nan)
            acc.add(pred[None], label.keypoints[None], label.visible[None])
            if found and label.handedness and getattr(hands[best], "handedness", None):
                agree.append(hands[best].handedness == label.handedness)
    pr = detection_pr(preds, scores, gts, iou=iou_min)
    return {"recall": pr["recall"], "precision": pr["precision"], "ap": pr.get("ap"),
            "hands": int(sum(len(g) for g in gts)), "images": len(gts), "pipeline": acc.result(),
            "by_size": recall_by_size(preds, scores, gts, iou=iou_min),
            "handedness": float(np.mean(agree)) if agree else None, "handedness_hands": len(agree)}


def pooled_by_size(scored: dict) -> list[dict]:
    """The by_size rows of several detect_and_score results (one per frame size) added up."""
    tables = [r["by_size"] for r in scored.values()]
    rows = []
    for bins in zip(*tables):
        hands, found = sum(b["hands"] for b in bins), sum(b["found"] for b in bins)
        rows.append({**bins[0], "hands": hands, "found": found, "recall": found / hands if hands else float("nan")})
    return rows


def photo_and_frame_sets(records, start: int, photos: int, turned: int, frames: int, seed: int = VAL_SEED) -> dict:
    """{name: () -> iterable of samples}, each made afresh on call: "photos", the labelled val photos from ``start``
    (``photos`` of them) whole; "turned 90" / "turned 180" / "turned 270", the first ``turned`` of them turned
    clockwise; "composed WxH", ``frames`` composed val frames per FRAME_SIZES at ``seed``. start 0 and the default
    seed give this script's own frames (a check set); another start and seed give a fit set beside them."""
    from handjoints_trt.data.compose import turned_sample

    labelled = [r for r in records if r.hands][start:start + max(photos, turned)]
    sets = {"photos": lambda: (r.load() for r in labelled[:photos])}
    for quarters in (1, 2, 3):
        sets[f"turned {90 * quarters}"] = lambda q=quarters: (turned_sample(r.load(), q) for r in labelled[:turned])
    for size in FRAME_SIZES:
        def composed(size=size):
            source = composed_frames(size, records, seed)
            return (source.frame(i) for i in range(frames))
        sets[f"composed {size[0]}x{size[1]}"] = composed
    return sets


def localizer_and_pipeline(detector, records, frames_per_size: int) -> dict:
    """Per frame size: stage-I recall/precision at IoU 0.5, and whole-pipeline PCK on the same frames."""
    out = {}
    for size in FRAME_SIZES:
        source = composed_frames(size, records)
        scored = detect_and_score(detector, (source.frame(i) for i in range(frames_per_size)))
        scored["frames"] = scored.pop("images")
        out[f"{size[0]}x{size[1]}"] = scored
    return out


def val_photos(records, count: int):
    """The first ``count`` labelled val photos, loaded one at a time (the photos model_eval runs whole)."""
    return (record.load() for record in [r for r in records if r.hands][:count])


def photos_as_frames(detector, records, count: int, iou_min: float = 0.5) -> dict:
    """Stage-I recall/precision (at IoU ``iou_min``) and pipeline PCK on the first ``count`` labelled val
    photos, each run whole through detect()."""
    photos = val_photos(records, count)
    scored = detect_and_score(detector, photos, iou_min)
    scored["photos"] = scored.pop("images")
    return scored


def overlay_grid(detector, count: int = 6, tile: tuple[int, int] = (400, 300), columns: int = 3) -> np.ndarray:
    """What the detector finds on synthetic val frames (generated: no photo of a person), drawn with
    draw.draw_hands, tiled into one BGR image."""
    import cv2

    from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands
    from handjoints_trt.draw import draw_hands
    from handjoints_trt.preprocess import letterbox_image

    gen = SyntheticHands(SynthConfig(width=640, height=480), seed=VAL_SEED)
    samples = [s for s in (gen.frame(i) for i in range(4 * count)) if s.hands][:count]
    tiles = []
    for sample in samples:
        drawn = draw_hands(sample.image, detector.detect(sample.image))
        tiles.append(letterbox_image(drawn, tile)[0])
    grid = tile_grid(tiles, columns)
    return cv2.putText(grid, "shipped models, synthetic val frames", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                       (255, 255, 255), 1, cv2.LINE_AA)


def rendered_frames(hands: int):
    """model_eval's rendered 640x480 frames (SyntheticHands, VAL_SEED) holding exactly ``hands`` hands, in order:
    the frames frame_time and frames_time time."""
    from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands

    weights = [0.0] * 5
    weights[hands] = 1.0
    gen = SyntheticHands(SynthConfig(width=640, height=480, max_hands=4, hand_count_weights=weights),
                         seed=VAL_SEED)
    return (s for s in map(gen.frame, itertools.count()) if len(s.hands) == hands)


def whole_frame(detector, image: np.ndarray, boxes: np.ndarray) -> int:
    """The work timed per frame: stage I on the frame, stage II on the given boxes; returns stage I's box count."""
    found, _ = detector.localize(image)
    detector.estimate(image, boxes)
    return len(found)


def frame_time(detector, hands: int, runs: int) -> dict:
    """Median/p95 ms of the whole pipeline on a 640x480 synthetic frame holding `hands` hands: stage I
    (detector.localize) plus stage II on exactly `hands` boxes (the generator's, so the count does not depend
    on what stage I finds) — the work detect() does on that frame."""
    sample = next(rendered_frames(hands))
    boxes = np.stack([h.box for h in sample.hands])

    def pipeline():
        return whole_frame(detector, sample.image, boxes)

    for _ in range(5):
        pipeline()
    times, found, read = [], [], detector.crops_read
    for _ in range(runs):
        t0 = time.perf_counter()
        found.append(pipeline())
        times.append((time.perf_counter() - t0) * 1e3)
    # second readings (an unsure hand read again) are most of what moves this time between models
    return {"hands": hands, "median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)),
            "stage1_found_median": float(np.median(found)), "runs": runs,
            "crops_read_per_run": (detector.crops_read - read) / runs}


def one_hand_frames(records, count: int) -> dict:
    """The frames frames_time times, ``count`` of each kind, one hand in each: model_eval's rendered 640x480 frames
    (frame_time's generator) and real val photos enlarged 2x in 640x480 frames (peer_mediapipe.py's set (a2))."""
    from peer_mediapipe import photo_frames

    one_hand = [r for r in records if len(r.hands) == 1]
    return {"rendered": list(itertools.islice(rendered_frames(1), count)),
            "real photos x2": list(photo_frames(one_hand, count, upscale=2.0))}


def frames_time(detector, samples) -> dict:
    """frame_time's work (stage I, then stage II on the labelled boxes) over many frames, each timed once after
    three untimed runs of the first: what a typical frame of a kind costs, where frame_time times one frame again
    and again. any_angle reads a hand it is unsure of again (up to five crops): ``crops_per_hand`` is the mean of
    stage-II crops per hand, ``read_once`` the share of frames read in one crop per hand."""
    def pipeline(sample) -> None:
        whole_frame(detector, sample.image, np.stack([h.box for h in sample.hands]))

    for _ in range(3):
        pipeline(samples[0])
    times, crops = [], []
    for sample in samples:
        read = detector.crops_read
        t0 = time.perf_counter()
        pipeline(sample)
        times.append((time.perf_counter() - t0) * 1e3)
        crops.append((detector.crops_read - read) / len(sample.hands))
    return {"frames": len(samples), "median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)),
            "crops_per_hand": float(np.mean(crops)), "read_once": float(np.mean(np.array(crops) == 1)),
            "times_ms": [float(t) for t in times], "crops": [float(c) for c in crops]}


def plot_frame_times(timing_frames: dict, path: Path) -> Path:
    """PNG: each kind's frames (frames_time) as ms against the stage-II crops their hand took, with the kind's
    median: where the time of a typical frame goes (a second reading costs a crop). Returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend switch
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    jitter = np.random.default_rng(0)   # spread equal crop counts sideways so that every frame shows
    for shift, (kind, t) in zip((-0.12, 0.12), timing_frames.items()):
        x = np.array(t["crops"]) + shift + jitter.uniform(-0.08, 0.08, len(t["crops"]))
        dots = ax.scatter(x, t["times_ms"], s=12, alpha=0.7,
                          label=f"{kind}: median {t['median_ms']:.1f} ms, {t['crops_per_hand']:.2f} crops per hand")
        ax.axhline(t["median_ms"], color=dots.get_facecolor()[0], linewidth=1, linestyle="--")
    ax.set_xlabel("stage-II crops read for the frame's hand")
    ax.set_ylabel("whole pipeline, ms")
    ax.set_title("One hand in a 640x480 frame, each frame timed once")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _vote_threshold_words(point: dict) -> str:
    """' (P(hand) >= t)' for the learned vote (the threshold detect() used), '' for the linear one."""
    return f" (P(hand) >= {point['vote_threshold']:g})" if point.get("vote") == "learned" else ""


def markdown(results: dict) -> str:
    lines = [f"# Model card figures ({results['date']}, {results['machine']})", "",
             f"Command: `{results['command']}`", "",
             f"Operating point: box_threshold {results['operating_point']['box_threshold']:g}, "
             f"vote {results['operating_point'].get('vote', 'linear')}"
             f"{_vote_threshold_words(results['operating_point'])}, "
             f"hand_threshold {results['operating_point'].get('hand_threshold', 0):g}, "
             f"confidence_weight {results['operating_point'].get('confidence_weight', 0):g}, "
             f"min_hand_confidence {results['operating_point']['min_hand_confidence']:g}, "
             f"min_box_size {results['operating_point'].get('min_box_size', 0):g}, "
             f"box_refine {results['operating_point'].get('box_refine', 0):g}, "
             f"joint_nms {results['operating_point'].get('joint_nms', 0):g}, "
             f"flip_test {results['operating_point'].get('flip_test', False)}, "
             f"upright_pass {results['operating_point'].get('upright_pass', False)}, "
             f"any_angle {results['operating_point'].get('any_angle', False)}", "",
             "## Hand network, ground-truth boxes", "",
             format_table({k: v for k, v in results["hand_pck_objects"].items()}), "",
             "## Localizer (IoU 0.5) and whole pipeline on composed val frames", "",
             "| frame | hands | recall | precision | pipeline PCK@0.2 | pipeline AUC |", "|---|---|---|---|---|---|"]
    for size, r in results["localizer"].items():
        p = r["pipeline"]
        lines.append(f"| {size} | {r['hands']} | {r['recall']:.3f} | {r['precision']:.3f} | {p.pck[1]:.3f} | "
                     f"{p.auc:.3f} |")
    lines += ["", "Recall by hand size (longer side of the hand's box in frame pixels), all five frame sizes:", "",
              "| hand size px | hands | recall |", "|---|---|---|"]
    for b in pooled_by_size(results["localizer"]):
        high = "" if b["high"] is None else f"{b['high']:g}"
        lines.append(f"| {b['low']:g}-{high} | {b['hands']} | {b['recall']:.3f} |")
    photos = results.get("photos")
    if photos:
        p = photos["pipeline"]
        lines += ["", "## Real photos as whole frames (hagrid_mp val, IoU 0.5)", "",
                  "| photos | hands | recall | precision | pipeline PCK@0.2 |", "|---|---|---|---|---|",
                  f"| {photos['photos']} | {photos['hands']} | {photos['recall']:.3f} | {photos['precision']:.3f} | "
                  f"{p.pck[1]:.3f} |"]
    turned = results.get("photos_turned")
    if turned:
        lines += ["", "## Real photos turned, as whole frames (hagrid_mp val, IoU 0.5)", "",
                  "| turned | photos | hands | recall | precision | pipeline PCK@0.2 |", "|---|---|---|---|---|---|"]
        for degrees, r in turned.items():
            lines.append(f"| {degrees} | {r['photos']} | {r['hands']} | {r['recall']:.3f} | {r['precision']:.3f} | "
                         f"{r['pipeline'].pck[1]:.3f} |")
    lines += ["", "## Whole pipeline time, 640x480", "", "| hands | median ms | p95 ms | stage-II crops read |",
              "|---|---|---|---|"]
    for t in results["timing"]:
        lines.append(f"| {t['hands']} | {t['median_ms']:.1f} | {t['p95_ms']:.1f} | {t['crops_read_per_run']:.1f} |")
    many = results.get("timing_frames")
    if many:
        lines += ["", "## Whole pipeline time over many 640x480 frames, one hand each (each frame timed once)", "",
                  "| frames | kind | median ms | p95 ms | stage-II crops per hand | frames read in one crop |",
                  "|---|---|---|---|---|---|"]
        for kind, t in many.items():
            lines.append(f"| {t['frames']} | {kind} | {t['median_ms']:.1f} | {t['p95_ms']:.1f} | "
                         f"{t['crops_per_hand']:.2f} | {t['read_once']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--localizer", default=None, help="localizer ONNX (default: the shipped one)")
    parser.add_argument("--hand", default=None, help="hand ONNX (default: the shipped one)")
    parser.add_argument("--hand-limit", type=int, default=0, help="hagrid val images (0 = all 2,601)")
    parser.add_argument("--synthetic", type=int, default=500, help="synthetic val crops")
    parser.add_argument("--frames", type=int, default=100, help="composed val frames per frame size")
    parser.add_argument("--runs", type=int, default=100, help="timed runs per timing case")
    parser.add_argument("--timing-frames", type=int, default=60,
                        help="one-hand 640x480 frames of each kind (rendered, real photos) timed once each (0 = none)")
    parser.add_argument("--photos", type=int, default=500, help="val photos run whole through detect()")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--flip-test", action="store_true", help="DetectorOptions.flip_test (off by default)")
    parser.add_argument("--upright-pass", action=argparse.BooleanOptionalAction, default=None,
                        help="DetectorOptions.upright_pass on or off (default: the options' default)")
    parser.add_argument("--any-angle", action=argparse.BooleanOptionalAction, default=None,
                        help="DetectorOptions.any_angle on or off (default: the options' default, on with the shipped "
                             "hand network): the orientation network stands each hand upright before stage II")
    parser.add_argument("--orientation", default=None, help="with --any-angle: the orientation ONNX (default shipped)")
    parser.add_argument("--aligned", default=None, help="with --any-angle: the aligned hand ONNX (default shipped)")
    parser.add_argument("--turned", type=int, default=300, help="val photos turned 90 / 180 / 270 (0 = none)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)

    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    hand_records = records[: args.hand_limit] if args.hand_limit else records
    options = dict(backend=args.backend, precision=args.precision, localizer_model=args.localizer,
                   hand_model=args.hand, threads=args.threads, flip_test=args.flip_test)
    if args.upright_pass is not None:
        options["upright_pass"] = args.upright_pass
    if args.any_angle is not None:
        options["any_angle"] = args.any_angle
    options.update(orientation_model=args.orientation, aligned_model=args.aligned)
    with HandJointDetector(**options) as detector:
        pcks = {"hagrid_mp val (vs MediaPipe)": hand_pck_on_records(detector, hand_records),
                "synthetic val (exact)": hand_pck_on_synthetic(detector, args.synthetic)}
        turned_pcks, photos_turned = turned_figures(detector, records, args.turned) if args.turned else ({}, {})
        pcks.update(turned_pcks)
        localizer = localizer_and_pipeline(detector, records, args.frames)
        photos = photos_as_frames(detector, records, args.photos)
        timing = [frame_time(detector, n, args.runs) for n in (1, 4)]
        timing_frames = ({kind: frames_time(detector, samples)
                          for kind, samples in one_hand_frames(records, args.timing_frames).items()}
                         if args.timing_frames else {})
        grid = overlay_grid(detector)
        operating_point = {"box_threshold": detector.options.box_threshold,
                           "min_hand_confidence": detector.options.min_hand_confidence,
                           "vote": detector.options.vote,
                           "vote_threshold": (detector.learned_vote.threshold if detector.learned_vote else None),
                           "hand_threshold": detector.options.hand_threshold,
                           "confidence_weight": detector.options.confidence_weight,
                           "min_box_size": detector.options.min_box_size, "flip_test": detector.options.flip_test,
                           "box_refine": detector.options.box_refine, "joint_nms": detector.options.joint_nms,
                           "upright_pass": detector.options.upright_pass, "any_angle": detector.options.any_angle}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"date": str(date.today()), "machine": f"{platform.processor() or platform.machine()}, "
               f"{__import__('os').cpu_count()} cores", "command": "python " + " ".join(sys.argv),
               "operating_point": operating_point, "hand_pck_objects": pcks, "localizer": localizer,
               "photos": photos, "photos_turned": photos_turned, "timing": timing,
               "timing_frames": timing_frames}
    (out / "model_eval.md").write_text(markdown(results))
    import cv2

    cv2.imwrite(str(out / "model_eval_overlays.png"), grid)
    plot_pck_curves(pcks, out / "model_eval_pck.png", title="Hand network PCK (ground-truth boxes)")
    if timing_frames:
        plot_frame_times(timing_frames, out / "model_eval_timing.png")
    serial = {**results, "hand_pck": {k: v.to_dict() for k, v in pcks.items()},
              "localizer": {k: {**v, "pipeline": v["pipeline"].to_dict()} for k, v in localizer.items()},
              "photos": {**photos, "pipeline": photos["pipeline"].to_dict()},
              "photos_turned": {k: {**v, "pipeline": v["pipeline"].to_dict()} for k, v in photos_turned.items()}}
    serial.pop("hand_pck_objects")
    (out / "model_eval.json").write_text(json.dumps(serial, indent=1, default=float))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
