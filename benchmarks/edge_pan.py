"""A hand cut by the frame's edge while the camera pans: track()'s boxes with and without the bound on how far a
track's box may reach past the edge (tracking.OUTSIDE_FRAME_MAX; RESULTS.md sections 34, 37-38).

    python benchmarks/edge_pan.py [--sequence 6 --first 24 --last 30 --out benchmarks/results/composed_hands]

Which hand runs away depends on the hand networks: session 38's on sequence 6 (frames 20-26, results/track_ids),
session 39's on sequence 46 (frames 50-56, results/skin_hands), session 42's on sequence 6 again (frames 24-30, the
default). Both runs take the window's box at ``--window-iou`` (0.5,
session 38's tracking.WINDOW_IOU) and without the window's own end to a track it does not find (tracking.WINDOW_UNSEEN
off unless ``--window-unseen``) and without stage I's box taking a track back where it last saw the hand
(tracking.MATCH_SEEN_BOX off unless ``--match-seen-box``): since session 39 the default 0.3 pulls this runaway box
back, since session 40 the window ends it, and since session 41 the hand's stage-I box takes the runaway track back
(RESULTS.md sections 38-39, 42); the bound is what holds it where the window lets go.

The frames are track_eval.py's ``--motion photo-pan`` sequence number ``--sequence`` (seed 0), run through track()
from its first frame; frames ``--first`` to ``--last`` are drawn. Without the bound, the joints read beyond the
edge widen the next crop, which is read farther out again, and the box runs away from the hand until stage I gives
the hand a new id. Writes edge_pan.png (one row per setting: each frame with grey room above and below it, the
track's next box in blue, the joints in green, the ids in red) and edge_pan.json (per setting: the ids reported and
the track box's height in px on every drawn frame).
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_eval import shared_data  # noqa: E402
from track_eval import TRACK_SEED, sequences  # noqa: E402

from handjoints_trt import HandJointDetector, tracking  # noqa: E402

SETTINGS = {"unbounded": None, "bounded": tracking.OUTSIDE_FRAME_MAX}
MAX_MARGIN = 700   # px of room drawn at most above and below the frame, where a runaway box goes


def pan_frames(sequence: int, frames: int) -> list[np.ndarray]:
    """The first ``frames`` frames of track_eval.py's photo-pan sequence ``sequence`` (seed 0)."""
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    pans = sequences(records, sequence + 1, 60, (640, 480), 1.5, TRACK_SEED, photos=True)
    return next(islice(pans, sequence, None))[0][:frames]


def _margins(views: list[tuple]) -> tuple[int, int]:
    """Px of room above and below the frames that the drawn boxes need (MAX_MARGIN at most)."""
    boxes = [b for *_, drawn in views for b in drawn]
    above = max([0.0] + [-b[1] for b in boxes])
    below = max([0.0] + [b[3] - views[0][0].shape[0] for b in boxes])
    return int(min(above + 10, MAX_MARGIN)), int(min(below + 10, MAX_MARGIN))


def _draw(frame: np.ndarray, index: int, hands, boxes: list[np.ndarray], margins: tuple[int, int]) -> np.ndarray:
    top, bottom = margins
    canvas = np.full((frame.shape[0] + top + bottom, frame.shape[1], 3), 235, np.uint8)
    canvas[top:top + frame.shape[0]] = frame
    shift = np.array([0, top])
    cv2.rectangle(canvas, (0, top), (frame.shape[1] - 1, top + frame.shape[0] - 1), (0, 0, 0), 3)
    for box in boxes:
        lo, hi = (box[:2] + shift).astype(int), (box[2:] + shift).astype(int)
        cv2.rectangle(canvas, tuple(lo.tolist()), tuple(hi.tolist()), (255, 0, 0), 4)
    for hand in hands:
        for point in hand.keypoints + shift:
            cv2.circle(canvas, tuple(point.astype(int).tolist()), 4, (0, 200, 0), -1)
        corner = (int(hand.box[0]), int(hand.box[3]) + top - 8)
        cv2.putText(canvas, f"id {hand.track_id}", corner, cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 255), 3)
    cv2.putText(canvas, f"frame {index}", (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3)
    return cv2.resize(canvas, (canvas.shape[1] // 2, canvas.shape[0] // 2))


def run(frames: list[np.ndarray], first: int, bound: float | None, threads: int,
        window_iou: float, window_unseen: bool = False, match_seen_box: bool = False) -> tuple[dict, list[tuple]]:
    """track() over ``frames`` with OUTSIDE_FRAME_MAX = ``bound``, WINDOW_IOU = ``window_iou``, WINDOW_UNSEEN =
    ``window_unseen`` and MATCH_SEEN_BOX = ``match_seen_box``: ids and box heights per drawn frame, and the drawn
    frames' (frame, index, hands, the tracks' next boxes)."""
    names = ("OUTSIDE_FRAME_MAX", "WINDOW_IOU", "WINDOW_UNSEEN", "MATCH_SEEN_BOX")
    saved = {name: getattr(tracking, name) for name in names}
    for name, value in zip(names, (bound, window_iou, window_unseen, match_seen_box)):
        setattr(tracking, name, value)
    record, views = {"ids": [], "box_heights": []}, []
    try:
        with HandJointDetector(backend="onnxruntime", threads=threads) as detector:
            for index, frame in enumerate(frames):
                hands = detector.track(frame)
                if index < first:
                    continue
                boxes = [t.predicted_box() for t in detector._tracker.tracks.tracks]
                record["ids"].append([h.track_id for h in hands])
                record["box_heights"].append([round(float(b[3] - b[1]), 1) for b in boxes])
                views.append((frame, index, hands, boxes))
    finally:
        for name, value in saved.items():
            setattr(tracking, name, value)
    return record, views


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sequence", type=int, default=6, help="track_eval.py photo-pan sequence number (seed 0)")
    parser.add_argument("--first", type=int, default=24, help="first frame drawn")
    parser.add_argument("--last", type=int, default=30, help="last frame drawn")
    parser.add_argument("--window-iou", type=float, default=0.5,
                        help="tracking.WINDOW_IOU for both runs (default session 38's 0.5, which lets the box go)")
    parser.add_argument("--window-unseen", action="store_true",
                        help="tracking.WINDOW_UNSEEN on for both runs (today's default; off by default here, as in "
                             "session 38, for it ends the runaway track too)")
    parser.add_argument("--match-seen-box", action="store_true",
                        help="tracking.MATCH_SEEN_BOX on for both runs (today's default; off by default here, as in "
                             "session 38, for it gives the runaway track its hand back)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "composed_hands")
    args = parser.parse_args(argv)
    if not 0 <= args.first <= args.last < 60:
        parser.error("need 0 <= --first <= --last < 60")
    frames = pan_frames(args.sequence, args.last + 1)
    result, views = {"sequence": args.sequence, "first": args.first, "settings": {}}, {}
    for name, bound in SETTINGS.items():
        result["settings"][name], views[name] = run(frames, args.first, bound, args.threads, args.window_iou,
                                                         args.window_unseen, args.match_seen_box)
    margins, rows = _margins([v for drawn in views.values() for v in drawn]), []
    for name, bound in SETTINGS.items():
        row = np.hstack([_draw(*view, margins) for view in views[name]])
        label = np.full((50, row.shape[1], 3), 255, np.uint8)
        text = (f"{name} (OUTSIDE_FRAME_MAX={bound}, WINDOW_IOU={args.window_iou:g}, WINDOW_UNSEEN="
                f"{args.window_unseen}, MATCH_SEEN_BOX={args.match_seen_box}): the track's next box in blue, "
                "ids in red")
        cv2.putText(label, text, (10, 35), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
        rows += [label, row]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "edge_pan.json").write_text(json.dumps(result, indent=1))
    cv2.imwrite(str(args.out / "edge_pan.png"), np.vstack(rows))
    for name, record in result["settings"].items():
        print(name, "ids", record["ids"], "box heights", record["box_heights"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
