#!/usr/bin/env python
"""The embedding a robotics or HCI app needs: five lines between `import` and your own logic.

    python examples/embed.py clip.mp4          # prints the index fingertip of each hand, every frame
    python examples/embed.py photo.jpg --backend onnxruntime --localizer loc.onnx --hand hand.onnx
"""
import argparse

import cv2

from handjoints_trt import HandJoint, HandJointDetector

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("source", help="a video file, an image, or a camera index such as 0")
p.add_argument("--backend", default="auto")
p.add_argument("--precision", default="fp32")
p.add_argument("--localizer")
p.add_argument("--hand")
p.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0 = all)")
args = p.parse_args()

# --- the five lines ------------------------------------------------------------------------------------
detector = HandJointDetector(backend=args.backend, precision=args.precision,        # 1. load once
                             localizer_model=args.localizer, hand_model=args.hand)
capture = cv2.VideoCapture(int(args.source) if args.source.isdigit() else args.source)   # 2. any frames
if not capture.isOpened():
    raise SystemExit(f"cannot open {args.source!r}: not a readable video, image or camera index")
for index, (ok, frame) in enumerate(iter(capture.read, (False, None))):            # 3. BGR uint8 frames
    for hand in detector.track(frame):                                              # 4. stable track_id
        x, y = hand.keypoints[HandJoint.INDEX_TIP]                                  # 5. what you steer with
        side = f" {hand.handedness}" if hand.handedness else ""                        # left / right
        print(f"frame {index} hand {hand.track_id}{side}: index tip ({x:.1f}, {y:.1f}) "
              f"confidence {hand.confidence[HandJoint.INDEX_TIP]:.2f}")
    if args.max_frames and index + 1 >= args.max_frames:
        break
# -------------------------------------------------------------------------------------------------------
detector.close()
capture.release()
