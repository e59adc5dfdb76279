"""One real hand held still, frame by frame: where each mode puts one joint on every frame of a still camera under
sensor noise. Modes are detect(), track() with the defaults and track() with track_hold=False (and MediaPipe Hands
in its video mode with --peer). It is a picture of what track_eval.py's jitter column measures (RESULTS.md section
24).

    python benchmarks/jitter_trace.py --photo 3 --camera-noise 3 --frames 60 --out benchmarks/results/track_hold

The photo is track_eval.py's ``--motion photo-still`` sequence number ``--photo`` (seed 0), so the same view that
track_eval.py scores. Writes jitter_trace.json: per mode, the joint's (frames, 2) positions in frame pixels (null
where the labelled hand was not found) and the median step between consecutive frames in px. Also writes
jitter_trace.png: the joint's x and y minus the label's, per frame, one line per mode.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from itertools import islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model_eval import shared_data  # noqa: E402
from track_eval import (PEER_MODE, TRACK_SEED, match_view, peer_hands_module, sequences,  # noqa: E402
                        with_camera_noise)

from handjoints_trt import DetectorOptions, HandJointDetector  # noqa: E402
from handjoints_trt.skeleton import HandJoint  # noqa: E402

MODES = {"detect": None, "track (defaults)": {}, "track track_hold=false": {"track_hold": False}}


def still_photo(photo: int, frames: int, view: tuple[int, int] = (640, 480)):
    """(frames, labels) of track_eval.py's --motion photo-still sequence number ``photo`` (seed 0), noise-free."""
    from handjoints_trt.data.loaders import load_hagrid_mp

    records = load_hagrid_mp(shared_data(), split="val")
    source = sequences(records, photo + 1, frames, view, 1.5, TRACK_SEED, photos=True, still=True)
    return next(islice(source, photo, None))


def joint_track(hands_per_frame, labels, joint: int) -> np.ndarray:
    """(frames, 2) float64: the joint of the hand matched to the first labelled hand on each frame (frame px), NaN
    where none was matched (track_eval.py's matching, IoU 0.5)."""
    out = np.full((len(labels), 2), np.nan)
    for i, (hands, label) in enumerate(zip(hands_per_frame, labels)):
        if not hands:
            continue
        matched, _ = match_view(np.array([h.box for h in hands]), np.array([h.score for h in hands]), label)
        if matched[0] >= 0:
            out[i] = hands[matched[0]].keypoints[joint]
    return out


def median_step(points: np.ndarray) -> float | None:
    """The median distance (px) the joint moved between consecutive frames where both were found."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
    steps = steps[np.isfinite(steps)]
    return float(np.median(steps)) if len(steps) else None


def run_modes(frames, threads: int) -> dict[str, list]:
    """mode -> the hands each frame gave, through one detector whose options are swapped per mode."""
    out = {}
    with HandJointDetector(DetectorOptions(backend="onnxruntime", threads=threads)) as detector:
        defaults = detector.options
        for mode, overrides in MODES.items():
            detector.options = replace(defaults, **(overrides or {})).validate()
            detector.reset_tracking()
            out[mode] = [detector.detect(f) if overrides is None else detector.track(f) for f in frames]
    return out


def run_peer(hands_module, frames) -> list:
    from peer_mediapipe import MediaPipeHands

    with MediaPipeHands(hands_module, max_hands=DetectorOptions().max_hands, video=True) as peer:
        return [peer.detect(f) for f in frames]


def plot(traces: dict, label: np.ndarray, joint_name: str, noise: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(7.5, 5), sharex=True)
    for mode, points in traces.items():
        step = median_step(points)
        for axis, ax in enumerate(axes):
            ax.plot(points[:, axis] - label[:, axis], lw=1.2,
                    label=f"{mode} (median step {'-' if step is None else f'{step:.2f}'} px)")
    for axis, ax in enumerate(axes):
        ax.set_ylabel(f"{'xy'[axis]} - label (px)")
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{joint_name} of one real hand held still, camera noise sigma {noise:g}")
    axes[1].set_xlabel("frame")
    axes[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=int, default=3, help="which photo-still sequence of track_eval.py (0, 1, ...)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--camera-noise", type=float, default=3.0, metavar="SIGMA")
    parser.add_argument("--joint", default="INDEX_TIP", choices=[j.name for j in HandJoint])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--peer", action="store_true", help="also MediaPipe Hands (run with the Python that has it)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args(argv)
    hands_module = peer_hands_module() if args.peer else None
    if args.peer and hands_module is None:
        return 2
    frames, labels = still_photo(args.photo, args.frames)
    frames = with_camera_noise(frames, args.camera_noise, np.random.default_rng((TRACK_SEED, 7, args.photo)))
    joint = int(HandJoint[args.joint])
    hands = run_modes(frames, args.threads)
    if hands_module is not None:
        hands[PEER_MODE] = run_peer(hands_module, frames)
    traces = {mode: joint_track(per_frame, labels, joint) for mode, per_frame in hands.items()}
    label = np.array([lb.keypoints[0][joint] for lb in labels], np.float64)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"photo": args.photo, "frames": args.frames, "camera_noise": args.camera_noise, "joint": args.joint,
              "label": label.tolist(),
              "modes": {m: {"positions": [None if np.isnan(p).any() else p.tolist() for p in points],
                            "median_step_px": median_step(points)} for m, points in traces.items()}}
    (args.out / "jitter_trace.json").write_text(json.dumps(result, indent=1))
    plot(traces, label, args.joint, args.camera_noise, args.out / "jitter_trace.png")
    for mode, r in result["modes"].items():
        step = r["median_step_px"]
        print(f"{mode:32s} median step {'-' if step is None else f'{step:.2f}'} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
