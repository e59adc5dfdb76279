#!/usr/bin/env python
"""Send frames to a Triton server running the handjoints repository (`handjoints export-triton`) and print the
joints. Needs `pip install tritonclient[http]` and a running server (docs/triton.md); it cannot run in the
SDK's own test environment (no server there), so it is only compiled by the tests.

    python examples/triton_client.py photo.jpg --url localhost:8000
    python examples/triton_client.py clip.mp4 --streams 8          # 8 concurrent requests in flight
"""
import argparse
import sys

import cv2
import numpy as np

JOINT_NAMES = ("wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_mcp", "index_pip", "index_dip",
               "index_tip", "middle_mcp", "middle_pip", "middle_dip", "middle_tip", "ring_mcp", "ring_pip",
               "ring_dip", "ring_tip", "little_mcp", "little_pip", "little_dip", "little_tip")
OUTPUTS = ("boxes", "scores", "keypoints", "confidence", "handedness")


def make_request(httpclient, frame: np.ndarray, boxes=None):
    """Inputs and outputs of one pipeline request: image (H, W, 3) uint8 BGR, optional boxes (N, 4)."""
    inputs = [httpclient.InferInput("image", list(frame.shape), "UINT8")]
    inputs[0].set_data_from_numpy(np.ascontiguousarray(frame))
    if boxes is not None:
        inputs.append(httpclient.InferInput("boxes", list(boxes.shape), "FP32"))
        inputs[1].set_data_from_numpy(boxes.astype(np.float32))
    return inputs, [httpclient.InferRequestedOutput(name) for name in OUTPUTS]


def frames(source: str):
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise SystemExit(f"cannot open {source} as an image or video")
    while True:
        ok, frame = capture.read()
        if not ok:
            return
        yield frame


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", help="image or video file")
    p.add_argument("--url", default="localhost:8000", help="Triton HTTP endpoint (localhost:8000)")
    p.add_argument("--model", default="handjoints", help="pipeline model name (handjoints)")
    p.add_argument("--streams", type=int, default=4, help="requests in flight at once (4)")
    args = p.parse_args()
    try:
        import tritonclient.http as httpclient  # lazy: only this example needs it
    except ImportError:
        raise SystemExit("tritonclient is not installed: pip install 'tritonclient[http]'")

    client = httpclient.InferenceServerClient(url=args.url, concurrency=args.streams)
    if not client.is_model_ready(args.model):
        raise SystemExit(f"model {args.model!r} is not ready on {args.url} (docs/triton.md: start the server)")
    pending = []
    for index, frame in enumerate(frames(args.source)):
        inputs, outputs = make_request(httpclient, frame)
        pending.append((index, client.async_infer(args.model, inputs, outputs=outputs)))
        if len(pending) >= args.streams:        # keep `streams` requests in flight; the server batches crops
            report(*pending.pop(0))
    for item in pending:
        report(*item)


def report(index: int, future) -> None:
    result = future.get_result()
    keypoints, confidence = result.as_numpy("keypoints"), result.as_numpy("confidence")
    right = result.as_numpy("handedness")   # P(right hand); NaN when the hand model has no handedness head
    for hand, (points, conf, p) in enumerate(zip(keypoints, confidence, right)):
        x, y = points[JOINT_NAMES.index("index_tip")]
        side = "" if p != p else (" right" if p >= 0.5 else " left")
        print(f"frame {index} hand {hand}{side}: index tip ({x:.1f}, {y:.1f}), mean confidence {conf.mean():.2f}")
    if len(keypoints) == 0:
        print(f"frame {index}: no hands", file=sys.stderr)


if __name__ == "__main__":
    main()
