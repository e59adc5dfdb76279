"""Fit stage II's learnt vote (handjoints_trt/vote.py) to the shipped networks and write weights/vote.json.

    python benchmarks/fit_vote.py [--frames 100 --photos 600 --turned 200 --faces 400 --skin-faces 400] [--check]
        [--write | --hand-model H.onnx --aligned-model A.onnx --localizer-model L.onnx]

The fit set is fit_box_threshold.py's (composed hagrid_mp val frames at FIT_SIZES and its seed, the last val photos
whole and turned) plus ``--faces`` drawn hand-free frames with faces (faces_eval.drawn_frames at another seed than
faces_eval.py's), where every box is false: stage I took real faces for hands at 0.5-0.84 (RESULTS.md section 26),
and ``--skin-faces`` more whose faces carry the skin of hagrid_mp train palms (faces_eval.palm_skins; session 37:
the networks take those for hands more often, as they do real faces).
Every stage-I candidate at or above the box threshold (DetectorOptions.box_threshold) is read by stage II once, as
detect() reads it with the default any_angle; a candidate is a hand when its box, refined as detect() refines it,
overlaps a labelled hand by IoU >= 0.5. A logistic regression on vote.vote_features learns P(hand); its threshold
is the one with the best F1 pooled over the sets, as detect() would report (the max_hands best boxes, the vote,
joint_nms, the refined boxes), or ``--threshold`` where the F1's top is flat and another point is chosen on other
grounds (session 40: the faces taken, RESULTS.md section 40). track()'s threshold is LEARNED_TRACK_MARGIN under it.

``--check`` also scores model_eval.py's frames (its composed frames, first 500 photos, first 300 turned) and
faces_eval.py's 300 drawn frames, flat and in real skin (val palms), with the linear default and the learnt vote.
``--write`` writes the vote beside the shipped networks (weights/vote.json, with their sha256). ``--hand-model`` and
``--aligned-model`` (and ``--localizer-model``, session 44) put candidate networks in the shipped ones' place (any_angle
on), to screen them as they would ship: their own vote fitted and checked (no --write). Writes fit_vote.json,
fit_vote.md and fit_vote.png (both votes' thresholds swept: pooled precision against recall, composed recall against
hands reported on drawn faces) into --out.
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import faces_eval  # noqa: E402
import fit_box_threshold as fit  # noqa: E402
from _common import markdown_table, write_outputs  # noqa: E402
from model_eval import FRAME_SIZES, composed_frames, shared_data  # noqa: E402

from handjoints_trt import HandJointDetector  # noqa: E402
from handjoints_trt.detector import REREAD_REACH  # noqa: E402
from handjoints_trt.engines.cache import sha256_file  # noqa: E402
from handjoints_trt.evaluation import detection_pr  # noqa: E402
from handjoints_trt.fileio import atomic_write  # noqa: E402
from handjoints_trt.models_registry import WEIGHTS_DIR, default_model_path  # noqa: E402
from handjoints_trt.postprocess import box_iou, refine_boxes  # noqa: E402
from handjoints_trt.tracking import TRACK_VOTE_MARGIN  # noqa: E402
from handjoints_trt.types import BOX_REFINE_RAMP, DetectorOptions  # noqa: E402
from handjoints_trt.vote import VOTE_FILENAME, LearnedVote, fit_logistic, vote_features  # noqa: E402

THRESHOLDS = np.round(np.arange(0.20, 0.701, 0.025), 3)
# track() votes on stage-I frames this much under the fitted threshold (a false track is voted on again at the next
# stage-I frame, a missed hand stays unseen until then). Chosen on the ten labelled video sets (RESULTS.md section
# 31): 0.05 (track threshold 0.30) against 0.115 (0.235, the margin that passes as many more fit candidates as the
# linear vote's TRACK_VOTE_MARGIN): mean F1 +0.09 against -0.05 points beside the linear vote, precision +0.15
# against -0.34.
LEARNED_TRACK_MARGIN = 0.05
FIT_FACES_SEED = faces_eval.DRAWN_SEED + 1     # faces_eval.py's drawn frames are the check set's
FIT_SKIN_FACES_SEED = faces_eval.DRAWN_SKIN_SEED + 1
CHECK_PHOTOS, CHECK_TURNED, CHECK_FRAMES, CHECK_FACES = 500, 300, 60, 300   # model_eval.py's and faces_eval.py's


class _Frame:
    """A hand-free frame as collect() takes a sample: its image and no labelled hands."""
    hands = ()

    def __init__(self, image: np.ndarray):
        self.image = image


def drawn_faces(count: int, seed: int, skins=None):
    """Drawn hand-free frames with faces (skins: faces_eval.palm_skins, or None for flat tones), as collect() takes."""
    return (_Frame(image) for _, image, _ in faces_eval.drawn_frames(count, seed, skins=skins))


def candidate_table(sets: dict, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Features (M, F) and labels (M,) of every candidate at or above the box threshold in the sets."""
    features, labels = [], []
    for c in sets.values():
        for i in range(len(c)):
            # the max_hands best, as detect() and fit_box_threshold.operate vote on them (vote.inside_larger compares
            # a frame's boxes with each other)
            keep = np.flatnonzero(c.scores[i] >= threshold)[:fit.RUNTIME_MAX_HANDS]
            if not len(keep):
                continue
            boxes, points, conf = c.boxes[i][keep], c.keypoints[i][keep], c.joint_confidences[i][keep]
            features.append(vote_features(c.scores[i][keep], boxes, points, conf, c.frame_sizes[i]))
            refined = refine_boxes(boxes, points, conf, c.frame_sizes[i], DetectorOptions().box_refine,
                                   tuple(BOX_REFINE_RAMP))
            labels.append(box_iou(refined, c.gts[i]).max(axis=1) >= 0.5 if len(c.gts[i]) else np.zeros(len(boxes)))
    return np.concatenate(features), np.concatenate(labels).astype(np.float64)


def operate_learned(c: fit.Candidates, vote: LearnedVote, box_threshold: float):
    """fit_box_threshold.operate() with the learnt vote: what detect() reports per frame (boxes, scores)."""
    o = DetectorOptions()
    return fit.operate(c, box_threshold, refine=o.box_refine, joint_nms=o.joint_nms, vote=vote)


def operate_linear(c: fit.Candidates, margin: float = 0.0):
    """What detect() reports with the linear vote at the defaults (hand_threshold less ``margin``)."""
    o = DetectorOptions()
    return fit.operate(c, o.box_threshold, o.min_hand_confidence, hand_threshold=o.hand_threshold - margin,
                       weight=o.confidence_weight, refine=o.box_refine, joint_nms=o.joint_nms)


def score(sets: dict, rule) -> dict:
    """Per set recall / precision (faces: boxes reported, all false) and the F1 pooled over all sets."""
    pooled, per_set = ([], [], []), {}
    for name, c in sets.items():
        boxes, scores = rule(c)
        pr = detection_pr(boxes, scores, c.gts)
        per_set[name] = {"recall": pr["recall"], "precision": pr["precision"], "reported": int(sum(map(len, boxes)))}
        for part, values in zip(pooled, (boxes, scores, c.gts)):
            part += values
    pr = detection_pr(*pooled)
    r, p = pr["recall"], pr["precision"]
    return {"f1": 2 * r * p / (r + p) if r + p else 0.0, "recall": r, "precision": p, "sets": per_set}


def with_threshold(vote: LearnedVote, threshold: float, track_threshold: float | None = None) -> LearnedVote:
    from dataclasses import replace

    return replace(vote, threshold=float(threshold),
                   track_threshold=float(threshold if track_threshold is None else track_threshold))


def track_threshold(vote: LearnedVote) -> float:
    """track()'s threshold: LEARNED_TRACK_MARGIN under the fitted one."""
    return round(max(vote.threshold - LEARNED_TRACK_MARGIN, 0.0), 4)


def linear_reach_score(margin: float) -> float:
    """The stage-I score from which the linear vote at the defaults (hand_threshold less ``margin``) could pass a box
    read at detector.REREAD_REACH: the learnt vote re-reads from there too (a reach in P(hand) read 15-40 % more
    crops for one more composed hand of 634)."""
    o = DetectorOptions()
    w = o.confidence_weight
    return round(float(np.clip((1 + w) * (o.hand_threshold - margin) - w * REREAD_REACH, 0.0, 1.0)), 4)


def fit_vote(sets: dict, box_threshold: float, models: dict,
             threshold: float | None = None) -> tuple[LearnedVote, list[dict]]:
    """The regression on the candidates, its threshold by pooled F1 (or ``threshold``, given) and track()'s; the
    threshold sweep's rows."""
    center, scale, weights, bias = fit_logistic(*candidate_table(sets, box_threshold))
    reread = [linear_reach_score(margin) for margin in (0.0, TRACK_VOTE_MARGIN)]
    vote = LearnedVote(tuple(center), tuple(scale), tuple(weights), float(bias), 0.5, 0.5, *reread, models)
    rows = learned_rows(sets, vote, box_threshold)
    best = max(rows, key=lambda r: r["f1"])
    vote = with_threshold(vote, best["threshold"] if threshold is None else threshold)
    return with_threshold(vote, vote.threshold, track_threshold(vote)), rows


LINEAR_SWEEP = np.round(np.arange(0.30, 0.601, 0.02), 2)    # the linear vote's hand_threshold, for the picture


def learned_rows(sets: dict, vote: LearnedVote, box_threshold: float) -> list[dict]:
    """The learnt vote's threshold swept on the sets: score()'s row per THRESHOLDS, with its threshold."""
    return [{"threshold": float(t), **score(sets, lambda c: operate_learned(c, with_threshold(vote, t), box_threshold))}
            for t in THRESHOLDS]


def linear_rows(sets: dict) -> list[dict]:
    """The linear vote's hand_threshold swept on the sets (the other defaults kept): a row per LINEAR_SWEEP."""
    o = DetectorOptions()
    return [{"threshold": float(t), **score(sets, lambda c: fit.operate(
        c, o.box_threshold, o.min_hand_confidence, hand_threshold=t, weight=o.confidence_weight, refine=o.box_refine,
        joint_nms=o.joint_nms))} for t in LINEAR_SWEEP]


def plot(curves: dict, chosen: dict, path: Path) -> None:
    """Two panels per swept set of frames (fit, check): precision against recall pooled over the hand sets, and
    composed frames' recall against the hands reported on drawn faces; each vote's threshold swept, the defaults
    marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(curves), 2, figsize=(11, 4.4 * len(curves)), squeeze=False)
    styles = {"linear": ("s--", "linear vote: hand_threshold swept"), "learned": ("o-", "learnt vote: P(hand) swept")}
    for row, (name, sweep) in zip(axes, curves.items()):
        for vote, rows in sweep.items():
            style, label = styles[vote]
            row[0].plot([r["recall"] for r in rows], [r["precision"] for r in rows], style, ms=3, label=label)
            row[1].plot([r["sets"]["faces"]["reported"] for r in rows], [r["sets"]["composed"]["recall"] for r in rows],
                        style, ms=3, label=label)
            point = chosen[name][vote]
            row[0].plot(point["recall"], point["precision"], "r*" if vote == "learned" else "k*", ms=13)
            row[1].plot(point["sets"]["faces"]["reported"], point["sets"]["composed"]["recall"],
                        "r*" if vote == "learned" else "k*", ms=13)
        row[0].set(xlabel="recall, pooled (IoU 0.5)", ylabel="precision, pooled (drawn faces' hands count false)",
                   title=f"{name} set: composed frames, photos, turned photos, drawn faces")
        row[1].set(xlabel="hands reported on drawn hand-free frames of faces (all false)",
                   ylabel="composed frames' recall", title=f"{name} set: composed recall against faces taken")
        for ax in row:
            ax.grid(alpha=0.3)
            ax.legend(loc="lower right", fontsize=8)
    fig.suptitle("Stage II's vote, linear against learnt (stars: the defaults)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def check_sets(detector, records) -> dict:
    from handjoints_trt.data.compose import turned_sample

    labelled = [r for r in records if r.hands]
    composed = (composed_frames(size, records).frame(i) for size in FRAME_SIZES for i in range(CHECK_FRAMES))
    return {"composed": fit.collect(detector, composed),
            "photos": fit.collect(detector, (r.load() for r in labelled[:CHECK_PHOTOS])),
            "turned": fit.collect(detector, (turned_sample(r.load(), q) for q in (1, 2, 3)
                                             for r in labelled[:CHECK_TURNED])),
            "faces": fit.collect(detector, drawn_faces(CHECK_FACES, faces_eval.DRAWN_SEED)),
            "skin faces": fit.collect(detector, drawn_faces(CHECK_FACES, faces_eval.DRAWN_SKIN_SEED,
                                                            faces_eval.palm_skins(shared_data(), "val")))}


def rows_of(name: str, result: dict) -> list:
    cells = []
    for key, r in result["sets"].items():
        cells.append(str(r["reported"]) if key.endswith("faces") else f"{r['recall']:.3f} / {r['precision']:.3f}")
    return [name, f"{result['f1']:.4f}", *cells]


def markdown(results: dict, command: str) -> str:
    vote = results["vote"]
    lines = [f"# Stage II's learnt vote ({date.today().isoformat()})", "", f"Command: `{command}`", "",
             f"Threshold P(hand) >= {vote['threshold']:g} (track(): {vote['track_threshold']:g}), "
             + ("fitted by pooled F1." if results.get("threshold_given") is None else
                f"given (--threshold; the pooled F1's best is at {results['f1_best_threshold']:g})."),
             "Each set: recall / precision at IoU 0.5; faces, skin faces: hands reported on drawn hand-free frames "
             "(all false; skin faces: in the skin of real palms, hagrid_mp train for the fit, val for the check).",
             ""]
    titles = (("Fit set", "fit"), ("Check set (model_eval.py's frames, faces_eval.py's drawn faces)", "check"))
    for title, key in titles:
        if key not in results:
            continue
        names = list(results[key]["linear"]["sets"])
        lines += [f"## {title}", "", markdown_table(["vote", "pooled F1", *names],
                                                    [rows_of("linear (defaults)", results[key]["linear"]),
                                                     rows_of("learnt", results[key]["learned"])]), ""]
    lines += ["Weights (standardised features):", "",
              markdown_table(["feature", "weight"], [[f, f"{w:+.3f}"] for f, w in zip(vote["features"],
                                                                                       vote["weights"])])]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=100, help="composed fit frames per FIT_SIZES size")
    parser.add_argument("--photos", type=int, default=600, help="the last N val photos, whole")
    parser.add_argument("--turned", type=int, default=200, help="the last N val photos turned 90 / 180 / 270")
    parser.add_argument("--faces", type=int, default=400, help="drawn hand-free frames with faces")
    parser.add_argument("--skin-faces", type=int, default=400,
                        help="drawn hand-free frames with faces in real skin (hagrid_mp train palms; 0 = none)")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0 = its default)")
    parser.add_argument("--check", action="store_true", help="also score model_eval.py's and faces_eval.py's frames")
    parser.add_argument("--write", action="store_true", help=f"write weights/{VOTE_FILENAME} for the shipped networks")
    parser.add_argument("--threshold", type=float, default=None,
                        help="the vote's P(hand) threshold (default: the one with the best pooled F1 on the fit set)")
    parser.add_argument("--hand-model", type=Path, default=None,
                        help="a candidate plain hand network (ONNX) in the shipped hand.onnx's place (not with --write)")
    parser.add_argument("--aligned-model", type=Path, default=None,
                        help="a candidate aligned hand network (ONNX) in hand_aligned.onnx's place (not with --write)")
    parser.add_argument("--localizer-model", type=Path, default=None,
                        help="a candidate localizer (ONNX) in localizer.onnx's place (not with --write)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        parser.error(f"--threshold must be a probability between 0 and 1, got {args.threshold}")
    candidates = {"hand": args.hand_model, "hand_aligned": args.aligned_model, "localizer": args.localizer_model}
    if args.write and any(candidates.values()):
        parser.error("--write stores the vote beside the shipped networks: fit it for candidate networks "
                     "(--hand-model, --aligned-model, --localizer-model) without --write, and ship them first")
    for flag, path in (("--hand-model", args.hand_model), ("--aligned-model", args.aligned_model),
                       ("--localizer-model", args.localizer_model)):
        if path is not None and not path.is_file():
            parser.error(f"{flag} {path} is not a file")
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    defaults = DetectorOptions()
    # Candidates read the crops as the shipped pair does: any_angle on, the shipped direction network.
    swapped = {"hand_model": args.hand_model or default_model_path("hand"),
               "aligned_model": args.aligned_model or default_model_path("hand_aligned"),
               "localizer_model": args.localizer_model or default_model_path("localizer"),
               "any_angle": True} if any(candidates.values()) else {}
    options = DetectorOptions(box_threshold=float(fit.THRESHOLDS[0]), max_hands=fit.RUNTIME_MAX_HANDS,
                              min_hand_confidence=0.0, hand_threshold=0.0, threads=args.threads, vote="linear",
                              **swapped)
    models = {stage: sha256_file(candidates.get(stage) or default_model_path(stage))
              for stage in ("localizer", "hand", "hand_aligned", "orientation")}
    with HandJointDetector(options=options) as detector:
        print("collecting the fit set's candidates ...", flush=True)
        sets = fit.fit_sets(detector, records, args.frames, args.photos, turned=args.turned)
        sets["faces"] = fit.collect(detector, drawn_faces(args.faces, FIT_FACES_SEED))
        if args.skin_faces:
            sets["skin faces"] = fit.collect(detector, drawn_faces(args.skin_faces, FIT_SKIN_FACES_SEED,
                                                                   faces_eval.palm_skins(shared_data(), "train")))
        checks = check_sets(detector, records) if args.check else None
    vote, rows = fit_vote(sets, defaults.box_threshold, models, args.threshold)
    results = {"vote": vote.to_dict(), "sweep": rows, "threshold_given": args.threshold,
               "f1_best_threshold": max(rows, key=lambda r: r["f1"])["threshold"],
               "fit": {"linear": score(sets, operate_linear),
                       "learned": score(sets, lambda c: operate_learned(c, vote, defaults.box_threshold))}}
    if checks is not None:
        results["check"] = {"linear": score(checks, operate_linear),
                            "learned": score(checks, lambda c: operate_learned(c, vote, defaults.box_threshold))}
    curves = {"fit": {"learned": rows, "linear": linear_rows(sets)}}
    if checks is not None:
        curves["check"] = {"learned": learned_rows(checks, vote, defaults.box_threshold), "linear": linear_rows(checks)}
    results["curves"] = curves
    command = " ".join(["python benchmarks/fit_vote.py", *(argv if argv is not None else sys.argv[1:])])
    results["command"] = command
    write_outputs(args.out, "fit_vote", results, markdown(results, command))
    plot(curves, {name: results[name] for name in curves}, Path(args.out) / "fit_vote.png")
    if args.write:
        import json

        atomic_write(WEIGHTS_DIR / VOTE_FILENAME, json.dumps(vote.to_dict(), indent=1) + "\n")
        print(f"wrote {WEIGHTS_DIR / VOTE_FILENAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
