#!/usr/bin/env python
"""Video file in -> annotated video + per-frame joints out (JSON lines, or CSV with --csv).

    python examples/video_to_json.py clip.mp4                 # clip.hands.avi + clip.hands.jsonl
    python examples/video_to_json.py clip.mp4 --csv --no-smoothing

Uses detector.track: stage I runs only every few frames (or when a hand is lost), stage II follows each
hand from its previous joints, and track_id stays stable. Progress: tqdm when installed, else a counter.
"""
import argparse
import json
from pathlib import Path

import cv2

from handjoints_trt import HandJointDetector, draw_hands
from handjoints_trt.cli import CSV_HEADER, Progress, csv_rows, hand_record


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("video", type=Path)
    p.add_argument("--out", type=Path, help="output stem: OUT.avi + OUT.jsonl / OUT.csv (default: VIDEO.hands)")
    p.add_argument("--csv", action="store_true", help="one CSV row per joint instead of JSON lines")
    p.add_argument("--smoothing", action=argparse.BooleanOptionalAction, default=True,
                   help="One-Euro smoothing of the joints (on by default; --no-smoothing: each frame's joints as read)")
    p.add_argument("--upright-only", action="store_true",
                   help="hands are always seen upright (a webcam facing the user): the plain hand network alone "
                        "(any_angle=False), a little faster and better at left / right on upright hands; by default "
                        "each hand is stood upright by its direction first (RESULTS.md section 16)")
    p.add_argument("--backend", default="auto", help="auto, tensorrt, onnxruntime or torch")
    p.add_argument("--precision", default="fp32", help="fp32, fp16 (TensorRT) or int8")
    p.add_argument("--localizer", type=Path, help="stage I ONNX (default: shipped)")
    p.add_argument("--hand", type=Path, help="stage II ONNX (default: shipped)")
    args = p.parse_args()

    capture = cv2.VideoCapture(str(args.video))
    if not capture.isOpened():
        raise SystemExit(f"cannot open {args.video} as a video (missing file or codec not in this OpenCV)")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    stem = str(args.out or args.video.with_name(args.video.stem + ".hands"))
    video_out, joints_out = Path(stem + ".avi"), Path(stem + (".csv" if args.csv else ".jsonl"))
    writer = None
    detector = HandJointDetector(backend=args.backend, precision=args.precision, localizer_model=args.localizer,
                                 hand_model=args.hand, smoothing=args.smoothing, fps=fps,
                                 any_angle=False if args.upright_only else None)
    with detector, open(joints_out, "w") as joints, \
            Progress(total, args.video.name) as progress:
        if args.csv:
            joints.write(CSV_HEADER + "\n")
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            hands = detector.track(frame, timestamp=index / fps)
            if args.csv:
                joints.writelines(row + "\n" for row in csv_rows(index, index / fps, hands))
            else:
                joints.write(json.dumps({"frame": index, "time": round(index / fps, 4),
                                         "hands": [hand_record(h) for h in hands]}) + "\n")
            if writer is None:  # MJPG in .avi: written by every OpenCV build, headless included
                writer = cv2.VideoWriter(str(video_out), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                                         (frame.shape[1], frame.shape[0]))
            writer.write(draw_hands(frame, hands))
            index += 1
            progress.update()
    capture.release()
    if writer is not None:
        writer.release()
    print(f"{index} frames -> {video_out}, {joints_out}")


if __name__ == "__main__":
    main()
