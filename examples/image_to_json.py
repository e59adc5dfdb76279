#!/usr/bin/env python
"""Image in -> annotated PNG + joints JSON out (21 named joints per hand).

    python examples/image_to_json.py photo.jpg                       # photo.hands.png, photo.hands.json
    python examples/image_to_json.py photo.jpg --box 100,80,260,240  # given hand box: stage I skipped
    python examples/image_to_json.py photo.jpg --backend onnxruntime --localizer loc.onnx --hand hand.onnx

JSON: {"image", "width", "height", "joint_names", "hands": [{"box", "score", "track_id",
"joints": [{"name", "x", "y", "confidence"} x 21]}]} (handjoints_trt/cli.py documents the schema).
"""
import argparse
import json
from pathlib import Path

import cv2

from handjoints_trt import HandJointDetector, draw_hands
from handjoints_trt.cli import image_record, parse_box


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("image", type=Path)
    p.add_argument("--out", type=Path, help="output stem: writes OUT.png and OUT.json (default: IMAGE.hands)")
    p.add_argument("--box", type=parse_box, action="append", help="x0,y0,x1,y1 hand box (repeatable)")
    p.add_argument("--backend", default="auto", help="auto, tensorrt, onnxruntime or torch")
    p.add_argument("--precision", default="fp32", help="fp32, fp16 (TensorRT) or int8")
    p.add_argument("--localizer", type=Path, help="stage I ONNX (default: shipped)")
    p.add_argument("--hand", type=Path, help="stage II ONNX (default: shipped)")
    args = p.parse_args()

    frame = cv2.imread(str(args.image))
    if frame is None:
        raise SystemExit(f"cannot read {args.image} as an image (missing file or unsupported format)")
    with HandJointDetector(backend=args.backend, precision=args.precision,
                           localizer_model=args.localizer, hand_model=args.hand) as detector:
        hands = detector.detect(frame, boxes=args.box)   # boxes=None: the localizer finds the hands
        backend = detector.backend_kind

    stem = str(args.out or args.image.with_name(args.image.stem + ".hands"))
    png, doc = Path(stem + ".png"), Path(stem + ".json")   # appended, never replacing the input's suffix
    cv2.imwrite(str(png), draw_hands(frame, hands))
    doc.write_text(json.dumps(image_record(args.image, frame, hands, backend), indent=1))
    print(f"{len(hands)} hand(s) -> {png}, {doc}")


if __name__ == "__main__":
    main()
