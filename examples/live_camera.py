#!/usr/bin/env python
"""Live camera demo with an FPS overlay; falls back to a video file when there is no camera, and writes the
annotated frames to a file instead of a window when the machine is headless (no display, or OpenCV built
without GUI support, e.g. opencv-python-headless).

    python examples/live_camera.py                                  # camera 0, window; q or Esc quits
    python examples/live_camera.py --video clip.mp4 --out live.avi  # no camera here: a file stands in
    python examples/live_camera.py --no-window --out live.avi --max-frames 300
    python examples/live_camera.py --mirror                         # selfie view: the frame shown as in a mirror

Each hand is drawn with its score, track id and L / R. With --mirror the frames are flipped before detection (so
the drawing matches the mirror view) and the detector is told (DetectorOptions.mirrored), so L / R stays the
person's own hand.
"""
import argparse
import os
import sys
import time
from pathlib import Path

import cv2

from handjoints_trt import HandJointDetector, draw_hands


def open_source(camera: int, video: Path | None) -> tuple[cv2.VideoCapture, str]:
    """The camera when it opens and delivers a frame, else the fallback video; SystemExit when neither."""
    capture = cv2.VideoCapture(camera)
    if capture.isOpened() and capture.read()[0]:
        return capture, f"camera {camera}"
    capture.release()
    if video is None:
        raise SystemExit(f"camera {camera} is not available; pass --video FILE to run on a video instead")
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise SystemExit(f"camera {camera} is not available and {video} cannot be opened as a video")
    print(f"camera {camera} not available: reading {video}", file=sys.stderr)
    return capture, str(video)


def gui_available() -> bool:
    """False when there is no display or OpenCV has no GUI backend (headless builds raise on imshow)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow("handjoints")
        return True
    except cv2.error:
        return False


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--camera", type=int, default=0, help="camera index (0)")
    p.add_argument("--video", type=Path, help="video file used when the camera is not available")
    p.add_argument("--out", type=Path, help="write the annotated frames to this video (MJPG .avi)")
    p.add_argument("--no-window", action="store_true", help="never open a window")
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0 = until the end)")
    p.add_argument("--mirror", action="store_true", help="show the frames as a mirror (selfie view); L / R stays "
                   "the person's hand")
    p.add_argument("--upright-only", action="store_true",
                   help="hands are always seen upright (a webcam facing the user): the plain hand network alone "
                        "(any_angle=False), a little faster and better at left / right on upright hands; by default "
                        "each hand is stood upright by its direction first (RESULTS.md section 16)")
    p.add_argument("--backend", default="auto", help="auto, tensorrt, onnxruntime or torch")
    p.add_argument("--precision", default="fp32", help="fp32, fp16 (TensorRT) or int8")
    p.add_argument("--localizer", type=Path, help="stage I ONNX (default: shipped)")
    p.add_argument("--hand", type=Path, help="stage II ONNX (default: shipped)")
    args = p.parse_args()

    capture, name = open_source(args.camera, args.video)
    window = not args.no_window and gui_available()
    out = args.out or (None if window else Path("live_camera.avi"))   # headless: keep the frames somewhere
    writer, fps, count, last = None, 0.0, 0, time.perf_counter()
    with HandJointDetector(backend=args.backend, precision=args.precision, localizer_model=args.localizer,
                           hand_model=args.hand, mirrored=args.mirror,
                           any_angle=False if args.upright_only else None) as detector:
        while not args.max_frames or count < args.max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            if args.mirror:
                frame = cv2.flip(frame, 1)
            hands = detector.track(frame)
            now = time.perf_counter()
            fps = 0.9 * fps + 0.1 / max(now - last, 1e-6) if count else 1.0 / max(now - last, 1e-6)
            last, count = now, count + 1
            image = draw_hands(frame, hands)
            cv2.putText(image, f"{fps:5.1f} FPS  {len(hands)} hand(s)  {detector.backend_kind}", (10, 28),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 255, 0), 2, cv2.LINE_AA)
            if out is not None:
                writer = writer or cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 30,
                                                   (image.shape[1], image.shape[0]))
                writer.write(image)
            if window:
                cv2.imshow("handjoints", image)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
    capture.release()
    if writer is not None:
        writer.release()
    if window:
        cv2.destroyAllWindows()
    print(f"{name}: {count} frames, {fps:.1f} FPS" + (f" -> {out}" if out else ""))


if __name__ == "__main__":
    main()
