"""Side by side with the best-known peer: our HandJointDetector against MediaPipe Hands, same frames, same scoring.

Both detectors go through model_eval.detect_and_score unchanged (stage-I recall / precision at IoU 0.5 by
evaluation.detection_pr, whole-pipeline PCK by PCKAccumulator, a ground-truth hand that no box matches counts
as all joints missed). MediaPipe is wrapped by MediaPipeHands, whose detect() returns handjoints_trt Hand
objects: keypoints = landmarks x (width, height), box = the tight box of the 21 keypoints clipped to the frame
(how the labels' boxes are made: data.sample.keypoint_box, clipped in data.compose), score = MediaPipe's
handedness score (it has no other per-hand score), confidence = that score for all 21 joints.

Sets (all val data, nothing written to disk but the two result files):
(a) photos: the first N hagrid_mp val photos, each pasted at its own size (shrunk only if larger than 80 % of
    the frame) into the centre of a 640x480 frame whose background is the photo's replicated border, blurred;
    **the labels ARE MediaPipe's own predictions** (hagrid_mp README: MediaPipe Hands 0.10.21), so this set
    favours MediaPipe: it is agreement with MediaPipe, not accuracy. The crops are small (long side median
    110 px), so at native size a hand fills ~1/6 of the frame width; (a2) is the same photos enlarged 2x
    (bicubic), closer to how the labels were made (README: the padded crop resized to a 256 px short side,
    the hand ~1/3 of the image). On 100 photos MediaPipe found 0.99 in that labelling set-up, 0.83 pasted at
    native size, 0.97 pasted 2x: its misses on (a) come from the hand's size, not the pasting.
(b) composed: model_eval.composed_frames (real val hand crops pasted onto backgrounds, some synthetic and
    empty frames) at two frame sizes; pasted hands carry the same MediaPipe labels. Our models were trained
    on frames made this way (train split), which favours ours.
(c) synthetic: SyntheticHands(VAL_SEED) 640x480 frames, exact labels (occluded joints not scored); also the
    kind of frames our models were trained on.
Timing: one 640x480 frame of set (a) (one real hand), the two detectors called alternately in one loop
(the order swapped every run), median ms of each and their ratio. MediaPipe runs with
static_image_mode=True (palm detection on every frame, as our detect() runs stage I on every frame). By
default the process is pinned to one CPU core so that both run on one core (MediaPipe has no thread option).

Set up (MediaPipe >= 1.x wheels no longer carry the hand models; 0.10.14 does and loads them offline):

    python -m venv /work/mp_venv
    /work/mp_venv/bin/pip install mediapipe==0.10.14
    /work/mp_venv/bin/pip install onnxruntime pytest
    /work/mp_venv/bin/pip install --no-deps -e /work/main

(--no-deps: our opencv-python-headless would sit beside mediapipe's opencv-contrib-python, both owning cv2.
Worked with numpy 2.4.6, opencv-contrib-python 5.1.0.95, onnxruntime 1.32.0, protobuf 4.25.9: no pin
needed.) Run:

    /work/mp_venv/bin/python benchmarks/peer_mediapipe.py --photos 200 --frames 20 --synthetic 30 --runs 50

Without MediaPipe it exits with status 2 and those commands on stderr. Writes peer_mediapipe.md and
peer_mediapipe.json in --out (each via a temporary file and a rename).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")       # MediaPipe / TFLite start-up chatter on stderr
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import _common  # noqa: E402
from model_eval import VAL_SEED, composed_frames, detect_and_score, shared_data  # noqa: E402

from handjoints_trt.fileio import atomic_write  # noqa: E402
from handjoints_trt.data.sample import HandLabel, Sample, keypoint_box  # noqa: E402
from handjoints_trt.types import Hand  # noqa: E402

FRAME = (640, 480)                           # (width, height) of sets (a), (c) and the timing frame
COMPOSED_SIZES = ((640, 480), (1280, 720))
PHOTO_UPSCALE = 2.0                          # set (a2): the photos enlarged, hands ~2x their native ~110 px
INSTALL_HINT = """MediaPipe Hands (the legacy mediapipe.solutions.hands with its bundled models) is not importable
in this Python ({python}): {reason}.
mediapipe 1.x wheels no longer ship the hand models; install 0.10.14 in its own environment:

    python -m venv /work/mp_venv
    /work/mp_venv/bin/pip install mediapipe==0.10.14
    /work/mp_venv/bin/pip install onnxruntime pytest
    /work/mp_venv/bin/pip install --no-deps -e /work/main

then run this script with /work/mp_venv/bin/python."""


class MediaPipeMissing(RuntimeError):
    """mediapipe (with mediapipe.solutions.hands) cannot be imported; the message says how to install it."""


def import_hands_module():
    """The mediapipe.solutions.hands module; MediaPipeMissing (with INSTALL_HINT) when it is absent."""
    try:
        import mediapipe as mp

        return mp.solutions.hands
    except (ImportError, AttributeError) as exc:
        raise MediaPipeMissing(INSTALL_HINT.format(python=sys.executable, reason=f"{type(exc).__name__}: {exc}"))


# ------------------------------------------------------------------------------------------------ adapter
def landmarks_to_pixels(landmarks, width: int, height: int) -> np.ndarray:
    """(21, 2) float32 frame pixels of one MediaPipe NormalizedLandmarkList (``.landmark[i].x/.y`` in 0..1 of
    the image width/height, may fall outside): x * width, y * height, continuous coordinates, MediaPipe
    order (= our canonical order)."""
    xy = np.array([[p.x, p.y] for p in landmarks.landmark], np.float64)
    return (xy * np.array([width, height], np.float64)).astype(np.float32)


def landmark_box(keypoints: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) frame pixels: the tight box of the (21, 2) keypoints clipped to the frame, as the
    labels' boxes are made (keypoint_box; data.compose clips to the frame)."""
    box = np.clip(keypoint_box(keypoints), 0, [width, height, width, height])
    return tuple(float(v) for v in box)


# MediaPipe names the hand as if the image were mirrored (a selfie preview); our Hand.handedness is the person's
# hand in the image as given, so its label is swapped (the same rule as data/loaders/hagrid.py).
MEDIAPIPE_TO_PERSON = {"Left": "right", "Right": "left"}


def hands_from_result(result, width: int, height: int) -> list[Hand]:
    """Hand objects of one Hands.process() result (``multi_hand_landmarks`` and ``multi_handedness``,
    parallel lists, or None when nothing was found) on a (height, width) frame. handedness: MediaPipe's label
    swapped to the person's hand (MEDIAPIPE_TO_PERSON), handedness_score its probability."""
    found = []
    for landmarks, handedness in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
        keypoints = landmarks_to_pixels(landmarks, width, height)
        best = handedness.classification[0]
        score = float(best.score)
        found.append(Hand(landmark_box(keypoints, width, height), score, keypoints,
                          np.full(len(keypoints), score, np.float32), -1,
                          MEDIAPIPE_TO_PERSON.get(getattr(best, "label", None)), score))
    return found


class MediaPipeHands:
    """MediaPipe Hands behind our detect(): ``detect(bgr (H, W, 3) uint8) -> list[Hand]`` in frame pixels.

    hands_module: mediapipe.solutions.hands (import_hands_module()); the rest are its Hands() options. video: its
    tracking mode (static_image_mode=False: the palm detector runs only until it has max_hands hands, which the
    landmark model then follows from frame to frame; benchmarks/track_eval.py --peer), for one video per instance.
    A context manager: close() frees the MediaPipe graph.
    """

    def __init__(self, hands_module, max_hands: int = 4, model_complexity: int = 1,
                 min_detection_confidence: float = 0.5, video: bool = False):
        self.options = {"static_image_mode": not video, "max_num_hands": max_hands,
                        "model_complexity": model_complexity, "min_detection_confidence": min_detection_confidence}
        self._hands = hands_module.Hands(**self.options)

    def detect(self, frame: np.ndarray) -> list[Hand]:
        import cv2

        height, width = frame.shape[:2]
        result = self._hands.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        return hands_from_result(result, width, height)

    def close(self) -> None:
        if self._hands is not None:
            self._hands.close()
            self._hands = None

    def __enter__(self) -> "MediaPipeHands":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------ sets
def paste_centred(sample: Sample, size: tuple[int, int] = FRAME, upscale: float = 1.0, blur_sigma: float = 12.0,
                  max_fill: float = 0.8) -> Sample:
    """``sample`` (one photo and its labels) in the centre of a (width, height) = ``size`` frame: enlarged
    ``upscale`` times (bicubic), shrunk if needed to fit ``max_fill`` of the frame; the background is the
    photo's replicated border blurred by ``blur_sigma`` px (no second hand, no hard frame edge). Labels are
    moved with it."""
    import cv2

    width, height = size
    image = sample.image
    scale = min(upscale, max_fill * width / image.shape[1], max_fill * height / image.shape[0])
    if scale != 1.0:
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    h, w = image.shape[:2]
    x0, y0 = (width - w) // 2, (height - h) // 2
    frame = cv2.copyMakeBorder(image, y0, height - h - y0, x0, width - w - x0, cv2.BORDER_REPLICATE)
    frame = cv2.GaussianBlur(frame, (0, 0), blur_sigma)
    frame[y0:y0 + h, x0:x0 + w] = image
    sx, sy = w / sample.image.shape[1], h / sample.image.shape[0]
    hands = [HandLabel(hand.keypoints * [sx, sy] + [x0, y0], hand.visible,
                       hand.box * [sx, sy, sx, sy] + [x0, y0, x0, y0], hand.handedness) for hand in sample.hands]
    return Sample(frame, hands, sample.source)


def photo_frames(records, count: int, size: tuple[int, int] = FRAME, upscale: float = 1.0):
    """Set (a): the first ``count`` labelled records, each enlarged ``upscale`` times and pasted centred into
    a ``size`` frame."""
    for record in [r for r in records if r.hands][:count]:
        yield paste_centred(record.load(), size, upscale)


def composed_set(records, size: tuple[int, int], count: int):
    """Set (b): ``count`` composed val frames of ``size`` (model_eval.composed_frames, VAL_SEED)."""
    source = composed_frames(size, records)
    return (source.frame(i) for i in range(count))


def synthetic_set(count: int, size: tuple[int, int] = FRAME):
    """Set (c): ``count`` synthetic val frames (exact labels)."""
    from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands

    gen = SyntheticHands(SynthConfig(width=size[0], height=size[1]), seed=VAL_SEED)
    return (gen.frame(i) for i in range(count))


def score_sets(detectors: dict, sets: dict) -> dict:
    """{set: {detector: detect_and_score result, pipeline as PCKResult}}; ``sets`` maps a name to a function
    returning a fresh iterable of samples (each detector sees the same frames)."""
    out = {}
    for name, make in sets.items():
        out[name] = {}
        for label, detector in detectors.items():
            print(f"[peer_mediapipe] {name}: {label} ...", file=sys.stderr, flush=True)
            out[name][label] = detect_and_score(detector, make())
    return out


# ------------------------------------------------------------------------------------------------ timing
def interleaved_time(detectors: dict, frame: np.ndarray, runs: int, warmup: int = 5) -> dict:
    """Median / p95 ms of detect(frame) per detector, called alternately in one loop (order swapped each
    run, so drift in the machine's load hits both alike); 'ratio' = the second's median / the first's."""
    import time

    names = list(detectors)
    for _ in range(warmup):
        for name in names:
            detectors[name].detect(frame)
    samples = {name: [] for name in names}
    found = {name: len(detectors[name].detect(frame)) for name in names}
    for run in range(runs):
        for name in (names if run % 2 == 0 else names[::-1]):
            t0 = time.perf_counter()
            detectors[name].detect(frame)
            samples[name].append((time.perf_counter() - t0) * 1e3)
    out = {name: {**_common.stats(samples[name]), "hands_found": found[name]} for name in names}
    out["ratio"] = out[names[1]]["median"] / out[names[0]]["median"]
    out["ratio_of"] = f"{names[1]} / {names[0]} (median ms)"
    return out


# ------------------------------------------------------------------------------------------------ writing
def pin_to_one_cpu(cpu: int | None) -> int | None:
    """Pin this process to CPU ``cpu`` (-1 = the last allowed one; None = do not pin). Returns the CPU."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu < 0 else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def versions() -> dict:
    """Versions of the libraries both detectors run on (package metadata)."""
    out = {}
    for name in ("mediapipe", "handjoints_trt", "onnxruntime", "numpy", "opencv-contrib-python",
                 "opencv-python-headless", "protobuf"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def serial(scored: dict) -> dict:
    """JSON-ready copy of score_sets' result (PCKResult -> dict)."""
    return {name: {label: {**r, "pipeline": r["pipeline"].to_dict()} for label, r in per.items()}
            for name, per in scored.items()}


def handedness_cell(scored: dict) -> str:
    """'0.969 (300)': detect_and_score's left / right agreement and how many hands it compared; '-' for none."""
    share = scored.get("handedness")
    return "-" if share is None else f"{share:.3f} ({scored['handedness_hands']})"


def markdown(results: dict, scored: dict) -> str:
    """The report: caveats, set-by-set table, timing."""
    t = results["timing"]
    names = list(results["detectors"])
    lines = [f"# Peer comparison: handjoints_trt vs MediaPipe Hands ({results['date'][:10]})", "",
             "**The hagrid_mp labels ARE MediaPipe's own predictions** (MediaPipe Hands 0.10.21, "
             "hagrid_mp/README.md), so set (a) and the real-photo hands of set (b) measure agreement with "
             "MediaPipe and favour it; they are not ground truth. Sets (b) and (c) are the kinds of frames "
             "our models were trained on (val seed / split), which favours ours. Set (c) has exact labels.", "",
             "Sets: (a) the first hagrid_mp val photos at their own size (long side median 110 px) pasted "
             "centred into a 640x480 frame on their blurred replicated border; (a2) the same photos enlarged "
             f"{PHOTO_UPSCALE:g}x first; (b) model_eval.composed_frames (val crops masked out of their photo and "
             "pasted, often enlarged, blurred or cut by the frame edge, on abstract generated backgrounds; plus "
             "synthetic and empty frames: our training domain, far from a camera frame); (c) SyntheticHands(VAL_SEED) 640x480 frames. MediaPipe's recall "
             "depends strongly on hand size (compare (a) with (a2); recall by hand size is in the JSON, "
             "`by_size`).", "",
             f"Command: `{results['command']}` (niceness {results['niceness']}, pinned to CPU "
             f"{results['pinned_cpu']})", "", _common.machine_markdown(results["machine"]),
             "Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()), "",
             "Detectors: " + "; ".join(f"**{k}** {v}" for k, v in results["detectors"].items()), "",
             "Scoring (the same for both, model_eval.detect_and_score): stage-I recall / precision at IoU 0.5 "
             "(evaluation.detection_pr; MediaPipe's box is its 21 landmarks' tight box, as the labels' boxes "
             "are made), whole-pipeline PCK@0.1 and @0.2 (a missed hand counts as all joints missed), EPE of "
             "the found hands' joints, and L-R: the share of found hands whose left / right agrees with the "
             "label's (MediaPipe's, swapped to the person's hand; synthetic: exact), with how many were "
             "compared.", "",
             "| set | frames | hands | detector | recall | precision | AP | pipeline PCK@0.1 | PCK@0.2 | EPE px | "
             "L-R (hands) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, per in scored.items():
        for label, r in per.items():
            p = r["pipeline"]
            lines.append(f"| {name} | {r['images']} | {r['hands']} | {label} | {r['recall']:.3f} | "
                         f"{r['precision']:.3f} | {r['ap']:.3f} | {p.pck[0]:.3f} | {p.pck[1]:.3f} | {p.epe:.1f} | "
                         f"{handedness_cell(r)} |")
    lines += ["", f"## Time per 640x480 frame, one real hand (set (a) frame 0), {t[names[0]]['n']} alternating "
              "runs each", "", "| detector | median ms | p95 ms | hands found |", "|---|---|---|---|"]
    for label in names:
        lines.append(f"| {label} | {t[label]['median']:.1f} | {t[label]['p95']:.1f} | {t[label]['hands_found']} |")
    lines += ["", f"Ratio {t['ratio_of']}: **{t['ratio']:.2f}**", ""]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    return atomic_write(path, text)


# ------------------------------------------------------------------------------------------------ main
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=200, help="set (a): hagrid_mp val photos")
    parser.add_argument("--frames", type=int, default=20, help="set (b): composed frames per frame size")
    parser.add_argument("--synthetic", type=int, default=30, help="set (c): synthetic frames")
    parser.add_argument("--close-ups", type=int, default=0,
                        help="set (d): this many val photos blown up into 640x480 frames so that the hand is 0.9 and "
                             "1.1 of the frame's height (benchmarks/retry_scale.py's close-ups; 0 = none)")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per detector")
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads of our detector")
    parser.add_argument("--cpu", type=int, default=-1, help="pin to this CPU (-1: the last allowed one; "
                        "-2: do not pin)")
    parser.add_argument("--data", default=None, help="hagrid_mp folder (default: ../shared/data/hagrid_mp)")
    parser.add_argument("--out", default=str(_common.DEFAULT_OUT))
    return parser.parse_args(argv)


def hands_module_or_none():
    """import_hands_module(), or None with the install commands on stderr (the scripts then exit with status 2)."""
    try:
        return import_hands_module()
    except MediaPipeMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def hagrid_folder(given: str | None) -> Path | None:
    """The hagrid_mp folder (``given``, else ../shared/data/hagrid_mp); None, with the fix on stderr, when it holds
    no annotations.json."""
    data = Path(given) if given else shared_data()
    if not (data / "annotations.json").is_file():
        print(f"error: {data} holds no hagrid_mp annotations.json (the shared data lives beside the repo; "
              "--data names another folder)", file=sys.stderr)
        return None
    return data


def main(argv=None) -> int:
    args = parse_args(argv)
    hands_module = hands_module_or_none()
    if hands_module is None:
        return 2
    from handjoints_trt import HandJointDetector
    from handjoints_trt.data.loaders import load_hagrid_mp

    data = hagrid_folder(args.data)
    if data is None:
        return 2
    records = load_hagrid_mp(data, split="val")
    machine = _common.machine_info()
    pinned = pin_to_one_cpu(None if args.cpu == -2 else args.cpu)
    sets = {"(a) photos 640x480": lambda: photo_frames(records, args.photos),
            f"(a2) photos x{PHOTO_UPSCALE:g}, 640x480":
                lambda: photo_frames(records, args.photos, upscale=PHOTO_UPSCALE)}
    for size in COMPOSED_SIZES:
        sets[f"(b) composed {size[0]}x{size[1]}"] = lambda size=size: composed_set(records, size, args.frames)
    sets["(c) synthetic 640x480"] = lambda: synthetic_set(args.synthetic)
    if args.close_ups:
        from retry_scale import placed

        labelled = [r for r in records if r.hands][:args.close_ups]
        for fraction in (0.9, 1.1):
            sets[f"(d) close-ups, hand {fraction:g}x the height, 640x480"] = (
                lambda f=fraction: (placed(r.load(), f) for r in labelled))
    with HandJointDetector(backend="onnxruntime", threads=args.threads) as ours, \
            MediaPipeHands(hands_module) as peer:
        detectors = {"handjoints_trt": ours, "MediaPipe": peer}
        scored = score_sets(detectors, sets)
        print("[peer_mediapipe] timing ...", file=sys.stderr, flush=True)
        timing = interleaved_time(detectors, next(photo_frames(records, 1)).image, args.runs)
        described = {"handjoints_trt": f"onnxruntime fp32, threads {args.threads}, box_threshold "
                     f"{ours.options.box_threshold:g}, hand_threshold {ours.options.hand_threshold:g}, confidence_weight "
                     f"{ours.options.confidence_weight:g}, min_hand_confidence {ours.options.min_hand_confidence:g}, "
                     f"box_refine {ours.options.box_refine:g}, joint_nms {ours.options.joint_nms:g}, retry_scale "
                     f"{ours.options.retry_scale:g}, max_hands {ours.options.max_hands}",
                     "MediaPipe": "solutions.hands.Hands(" + ", ".join(f"{k}={v}" for k, v in peer.options.items())
                     + ")"}
    command = " ".join([sys.executable, "benchmarks/peer_mediapipe.py", *(sys.argv[1:] if argv is None else argv)])
    results = {"date": machine["date"], "command": command, "niceness": os.nice(0), "pinned_cpu": pinned,
               "machine": machine, "versions": versions(), "detectors": described,
               "labels_note": "hagrid_mp labels are MediaPipe Hands 0.10.21 predictions (favour MediaPipe on set "
               "(a) and the photo hands of (b)); (b) and (c) are the kinds of frames our models train on",
               "sets": serial(scored), "timing": timing}
    text = markdown(results, scored)
    out = Path(args.out)
    write_atomic(out / "peer_mediapipe.json", json.dumps(_common._clean(results), indent=1) + "\n")
    write_atomic(out / "peer_mediapipe.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
