"""What real cameras do to the detector: real hand photos under camera corruptions, at three severities.

Users run this SDK on webcams and robot cameras, whose frames are blurred by motion and focus, dark and noisy
indoors, over-exposed against windows, JPEG-compressed and low-resolution. No labelled photo of such frames
exists here, so this benchmark makes them from labelled ones: the first N hagrid_mp val photos, each enlarged
(default 2x, peer_mediapipe.py's set (a2): the hand ~1/3 of the frame, as on a webcam at arm's length) and
pasted centred into a 640x480 frame, then corrupted as a camera would corrupt the whole frame:

    motion      straight motion blur, kernel 7 / 13 / 21 px at a random angle (a hand waved at ~1/30 s)
    defocus     disk (lens) blur, radius 2 / 4 / 6 px
    dark        low light: gain 0.4 / 0.22 / 0.12, shot and read noise, then the camera's gain back up
    noise       sensor noise, Gaussian sigma 10 / 20 / 35 grey levels per pixel and channel
    overexposed gain 1.6 / 2.2 / 3.0, clipped at 255 (a hand against a bright window)
    jpeg        JPEG quality 25 / 12 / 6
    lowres      the frame shrunk 2 / 3 / 4 x and enlarged back (a cheap or distant camera)
    turned      the frame turned 90 / 180 / 270 degrees clockwise, labels with it (a hand pointing sideways or
                down, a camera on its side; 640x480 becomes 480x640 at 90 and 270)

Every corruption is deterministic: frame i at severity s draws from np.random.default_rng([seed, i, s]).
detect() runs on every frame (model_eval.detect_and_score: recall / precision at IoU 0.5 against the labelled
box, whole-pipeline PCK@0.2, a missed hand counting as all joints wrong). The labels are MediaPipe's
predictions on the clean photos (hagrid_mp), so what the table shows is how far each corruption moves the
detector from what it finds on the clean frame, not accuracy against ground truth. With --peer (in a Python that
has MediaPipe 0.10.14, see peer_mediapipe.py) MediaPipe Hands runs on the same frames beside it.

    python benchmarks/robustness.py --photos 200
    /work/mp_venv/bin/python benchmarks/robustness.py --photos 200 --peer

Writes robustness.{json,md,png} into --out: the table, and a chart of PCK@0.2 (and recall) against severity per
corruption; robustness_examples.png shows one frame at every corruption and severity with what was found.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import _common  # noqa: E402
from model_eval import detect_and_score  # noqa: E402

from handjoints_trt.data.compose import turned_image, turned_sample  # noqa: E402
from handjoints_trt.data.sample import Sample  # noqa: E402

# The corruptions are written here, not taken from data/augment.py's training ops (overexpose, low_light, noise,
# blur): fixed settings per severity, and a measurement that does not move when the training augmentation does.
SEVERITIES = (1, 2, 3)
MOTION_PX = (7, 13, 21)
DEFOCUS_PX = (2, 4, 6)
DARK_GAIN = (0.4, 0.22, 0.12)
NOISE_SIGMA = (10.0, 20.0, 35.0)
OVEREXPOSED_GAIN = (1.6, 2.2, 3.0)
JPEG_QUALITY = (25, 12, 6)
LOWRES_FACTOR = (2, 3, 4)
TURN_QUARTERS = (1, 2, 3)  # 'turned': clockwise quarter turns
READ_NOISE = 2.0          # grey levels of read noise in the dark frame, before the gain back up
PHOTONS_PER_LEVEL = 4.0   # photo-electrons per grey level of the dark frame: a small webcam sensor at base gain


def motion_blur(image: np.ndarray, length: int, angle_deg: float) -> np.ndarray:
    """A straight motion blur: the mean of ``length`` px along a line at ``angle_deg``."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length), flags=cv2.INTER_LINEAR)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def defocus_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """A lens's out-of-focus blur: the mean over a disk of ``radius`` px (slightly smoothed edge)."""
    size = 2 * radius + 1
    kernel = cv2.circle(np.zeros((size, size), np.float32), (radius, radius), radius, 1.0, -1, cv2.LINE_AA)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def low_light(image: np.ndarray, gain: float, rng: np.random.Generator) -> np.ndarray:
    """A dark scene: ``gain`` times the light, photon (shot) noise and read noise on what the sensor got,
    quantised to 8 bits, then amplified back by 1 / gain as a camera's auto-gain does (noise amplified too)."""
    signal = image.astype(np.float32) * gain
    photons = rng.poisson(signal * PHOTONS_PER_LEVEL).astype(np.float32) / PHOTONS_PER_LEVEL
    dark = np.clip(np.round(photons + rng.normal(0.0, READ_NOISE, image.shape)), 0, 255)
    return np.clip(dark / gain, 0, 255).astype(np.uint8)


def corrupt(image: np.ndarray, kind: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """``image`` (H, W, 3) uint8 BGR under corruption ``kind`` (CORRUPTIONS) at ``severity`` 1..3; a new
    uint8 image of the same shape. 'clean' (severity ignored) returns a copy."""
    if kind not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {kind!r}; choose one of {sorted(CORRUPTIONS)}")
    if kind != "clean" and severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    s = severity - 1
    if kind == "clean":
        return image.copy()
    if kind == "motion":
        return motion_blur(image, MOTION_PX[s], float(rng.uniform(0, 180)))
    if kind == "defocus":
        return defocus_blur(image, DEFOCUS_PX[s])
    if kind == "dark":
        return low_light(image, DARK_GAIN[s], rng)
    if kind == "noise":
        return np.clip(image + rng.normal(0.0, NOISE_SIGMA[s], image.shape), 0, 255).astype(np.uint8)
    if kind == "overexposed":
        return np.clip(image.astype(np.float32) * OVEREXPOSED_GAIN[s], 0, 255).astype(np.uint8)
    if kind == "jpeg":
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY[s]])
        return cv2.imdecode(data, cv2.IMREAD_COLOR)
    if kind == "turned":
        return turned_image(image, TURN_QUARTERS[s])
    factor = LOWRES_FACTOR[s]
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


CORRUPTIONS = ("clean", "motion", "defocus", "dark", "noise", "overexposed", "jpeg", "lowres", "turned")


def corrupted_frames(frames: list[Sample], kind: str, severity: int, seed: int = 0):
    """The frames under one corruption: labels unchanged (the corruptions of pixels keep the geometry), or
    turned with the frame ('turned')."""
    for i, frame in enumerate(frames):
        if kind == "turned":
            yield turned_sample(frame, TURN_QUARTERS[severity - 1])
            continue
        rng = np.random.default_rng([seed, i, severity])
        yield Sample(corrupt(frame.image, kind, severity, rng), frame.hands, f"{frame.source}:{kind}{severity}")


def cases(kinds) -> list[tuple[str, int]]:
    """(kind, severity) pairs to run: 'clean' once, every other kind at each severity."""
    return [("clean", 0)] + [(k, s) for k in kinds if k != "clean" for s in SEVERITIES]


def run(detectors: dict, frames: list[Sample], kinds, seed: int = 0) -> list[dict]:
    """One row per (detector, kind, severity): recall, precision, pipeline PCK@0.2 / AUC, hands."""
    rows = []
    for kind, severity in cases(kinds):
        for label, detector in detectors.items():
            print(f"[robustness] {kind} {severity}: {label} ...", file=sys.stderr, flush=True)
            r = detect_and_score(detector, corrupted_frames(frames, kind, severity, seed))
            rows.append({"detector": label, "corruption": kind, "severity": severity, "hands": r["hands"],
                         "recall": r["recall"], "precision": r["precision"],
                         "pck@0.2": float(r["pipeline"].pck[list(r["pipeline"].thresholds).index(0.2)]),
                         "auc": float(r["pipeline"].auc), "handedness": r["handedness"]})
    return rows


def markdown(results: dict) -> str:
    rows = results["rows"]
    detectors = list(dict.fromkeys(r["detector"] for r in rows))
    header = ["corruption", "severity", "setting"] + [f"{d}: recall / precision / PCK@0.2 / L-R agreement"
                                                      for d in detectors]
    table = []
    for kind, severity in cases(results["corruptions"]):
        cells = []
        for d in detectors:
            r = next(x for x in rows if x["detector"] == d and x["corruption"] == kind and x["severity"] == severity)
            hand = "-" if r.get("handedness") is None else f"{r['handedness']:.3f}"
            cells.append(f"{r['recall']:.3f} / {r['precision']:.3f} / {r['pck@0.2']:.3f} / {hand}")
        table.append([kind, severity or "-", setting(kind, severity)] + cells)
    return (f"# Robustness to camera corruptions ({results['date']}, {results['machine']})\n\n"
            f"Command: `{results['command']}`\n\n{results['frames']} frames (hagrid_mp val photos x"
            f"{results['upscale']:g} in 640x480, {results['hands']} hands); labels are MediaPipe's on the clean "
            "photos (L-R agreement: of the found hands, the share whose handedness matches MediaPipe's on the clean "
            "photo, swapped to the person's hand).\n\n" + _common.markdown_table(header, table) + "\n")


def setting(kind: str, severity: int) -> str:
    """The corruption's parameter at a severity, in words."""
    if kind == "clean":
        return "-"
    s = severity - 1
    return {"motion": f"{MOTION_PX[s]} px", "defocus": f"radius {DEFOCUS_PX[s]} px",
            "dark": f"gain {DARK_GAIN[s]:g}", "noise": f"sigma {NOISE_SIGMA[s]:g}",
            "overexposed": f"gain {OVEREXPOSED_GAIN[s]:g}", "jpeg": f"quality {JPEG_QUALITY[s]}",
            "lowres": f"1/{LOWRES_FACTOR[s]}", "turned": f"{90 * TURN_QUARTERS[s]} degrees"}[kind]


def chart(results: dict) -> np.ndarray:
    """PCK@0.2 (solid) and recall (dashed) against severity, one panel per corruption, one colour per
    detector; the clean figure at severity 0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, kinds = results["rows"], [k for k in results["corruptions"] if k != "clean"]
    detectors = list(dict.fromkeys(r["detector"] for r in rows))
    fig, axes = plt.subplots(1, len(kinds), figsize=(2.3 * len(kinds), 2.8), sharey=True, squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for colour, d in zip(("tab:blue", "tab:orange", "tab:green"), detectors):
            pick = [r for r in rows if r["detector"] == d and r["corruption"] in ("clean", kind)]
            pick.sort(key=lambda r: r["severity"])
            xs = [r["severity"] for r in pick]
            ax.plot(xs, [r["pck@0.2"] for r in pick], "o-", color=colour, label=f"{d} PCK@0.2")
            ax.plot(xs, [r["recall"] for r in pick], "x--", color=colour, label=f"{d} recall")
        ax.set_title(kind, fontsize=9)
        ax.set_xticks([0, 1, 2, 3])
        ax.set_xlabel("severity", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylim(0, 1.02)
    axes[0][0].legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3][..., ::-1].copy()
    plt.close(fig)
    return image


def examples(detector, frame: Sample, kinds, seed: int = 0, tile: int = 220) -> np.ndarray:
    """One frame at every corruption and severity (rows: corruptions; columns: severities), drawn with what
    ``detector`` finds on it, each cut to a square around the labelled hand (twice its box) so the joints show."""
    from handjoints_trt.draw import draw_hands

    rows = []
    for kind in kinds:
        cells = []
        for severity in ((0,) if kind == "clean" else SEVERITIES):
            sample = next(corrupted_frames([frame], kind, severity, seed))
            left, top, right, bottom = around_hand(sample)
            drawn = draw_hands(sample.image, detector.detect(sample.image))[top:bottom, left:right]
            cell = cv2.resize(drawn, (tile, tile), interpolation=cv2.INTER_AREA)
            label = f"{kind} {setting(kind, severity)}"
            for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):   # outlined: readable on white
                cv2.putText(cell, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, thickness, cv2.LINE_AA)
            cells.append(cell)
        cells += [np.zeros_like(cells[0])] * (len(SEVERITIES) - len(cells))
        rows.append(np.hstack(cells))
    return np.vstack(rows)


def around_hand(sample: Sample) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) pixels of a square twice the first labelled hand's box, inside the frame."""
    x0, y0, x1, y1 = sample.hands[0].box
    half = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = sample.image.shape[:2]
    left, top = int(np.clip(cx - half, 0, w - 1)), int(np.clip(cy - half, 0, h - 1))
    return left, top, int(np.clip(cx + half, left + 1, w)), int(np.clip(cy + half, top + 1, h))


def write_png(path: Path, image: np.ndarray) -> Path:
    """A BGR image as PNG, through a temporary file and a rename."""
    from handjoints_trt.fileio import atomic_write

    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {path.name} as PNG")
    return atomic_write(path, data.tobytes())


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200, help="hagrid_mp val photos (the first N)")
    parser.add_argument("--upscale", type=float, default=2.0, help="photo enlargement in the 640x480 frame")
    parser.add_argument("--corruptions", nargs="+", default=list(CORRUPTIONS), choices=CORRUPTIONS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: its default)")
    parser.add_argument("--localizer-model", help="localizer ONNX file (default: the shipped one)")
    parser.add_argument("--hand-model", help="hand ONNX file (default: the shipped one)")
    parser.add_argument("--upright-pass", action="store_true",
                        help="ours with DetectorOptions.upright_pass=True (detect() gives turned hands stage II again, "
                             "upright)")
    parser.add_argument("--any-angle", action=argparse.BooleanOptionalAction, default=None,
                        help="ours with DetectorOptions.any_angle on or off (default: the options' default, on with "
                             "the shipped hand network: the orientation network stands each hand upright)")
    parser.add_argument("--aligned-model", help="with --any-angle: the aligned hand ONNX (default: the shipped one)")
    parser.add_argument("--orientation-model", help="with --any-angle: the orientation ONNX (default: the shipped one)")
    parser.add_argument("--retry-scale", type=float, default=None,
                        help="ours with DetectorOptions.retry_scale at this (0 = no second look; default: the options' "
                             "default)")
    parser.add_argument("--peer", action="store_true", help="also MediaPipe Hands (needs mediapipe 0.10.14)")
    parser.add_argument("--data", default=None, help="hagrid_mp folder (default: ../shared/data/hagrid_mp)")
    parser.add_argument("--out", default=str(_common.DEFAULT_OUT))
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from contextlib import ExitStack

    from handjoints_trt import HandJointDetector
    from handjoints_trt.data.loaders import load_hagrid_mp
    from peer_mediapipe import hagrid_folder, photo_frames

    hands_module = None
    if args.peer:   # before any work: a missing MediaPipe ends the run with the fix, not after the photos load
        from peer_mediapipe import hands_module_or_none
        hands_module = hands_module_or_none()
        if hands_module is None:
            return 2
    data = hagrid_folder(args.data)
    if data is None:
        return 2
    kinds = list(dict.fromkeys(["clean", *args.corruptions]))
    frames = list(photo_frames(load_hagrid_mp(data, split="val"), args.photos, upscale=args.upscale))
    extra = {} if args.retry_scale is None else {"retry_scale": args.retry_scale}
    with ExitStack() as stack:
        ours = stack.enter_context(HandJointDetector(
            localizer_model=args.localizer_model, hand_model=args.hand_model, threads=args.threads,
            upright_pass=args.upright_pass, any_angle=args.any_angle, orientation_model=args.orientation_model,
            aligned_model=args.aligned_model, **extra))
        detectors = {"handjoints_trt": ours}
        if hands_module is not None:
            from peer_mediapipe import MediaPipeHands
            detectors["MediaPipe"] = stack.enter_context(MediaPipeHands(hands_module))
        rows = run(detectors, frames, kinds, args.seed)
        picture = examples(ours, frames[0], kinds, args.seed)
    machine = _common.machine_info()
    command = " ".join(["python", "benchmarks/robustness.py", *(sys.argv[1:] if argv is None else argv)])
    results = {"date": machine["date"], "machine": f"{machine.get('cpu', '')}, {machine.get('cores', '')} cores",
               "command": command, "frames": len(frames), "upscale": args.upscale,
               "hands": sum(len(f.hands) for f in frames), "corruptions": kinds, "seed": args.seed, "rows": rows}
    out = Path(args.out)
    _common.write_json(out / "robustness.json", results)
    text = markdown(results)
    _common.write_text(out / "robustness.md", text)
    write_png(out / "robustness.png", chart(results))
    write_png(out / "robustness_examples.png", picture)
    print(text)
    return 0


if __name__ == "__main__":
    _common.run_script(main)
