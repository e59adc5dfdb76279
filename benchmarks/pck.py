"""PCK tables in the layout of the paper's Tables II-V, the PCK curves (Fig. 6), an ablation runner over given
model files (Figs. 7 and 8) and the spread-vs-accuracy plot that backs the joint confidence (Fig. 9).

    python benchmarks/pck.py --format hagrid_mp --root ../shared/data/hagrid_mp --split val
    python benchmarks/pck.py --synthetic 200                       # generated frames with known hands
    python benchmarks/pck.py --format hagrid_mp --root ../shared/data/hagrid_mp --split val --pipeline
    python benchmarks/pck.py --synthetic 200 --title "Fig. 8: number of MSFFs" \\
        --models "N=1=runs/msff1/best.pt" "N=3=runs/msff3/best.pt" "N=5=weights/hand_n5.onnx"

Ground-truth boxes (default): each labelled hand is cropped from its ground-truth box through
detector.estimate(frame, boxes), the runtime's own stage-II path (crop, batched hand network, decode).
--pipeline also runs the whole detector (detector.detect): predicted hands are matched to the ground truth
by box IoU (greedy, best first, >= --match-iou), an unmatched ground-truth hand counts all its joints as
missed, and the localizer's recall / precision / AP are reported. When the hand model names hands
(Hand.handedness) and the data set labels them (RHD, InterHand2.6M, FreiHAND-style right hands, hagrid_mp,
synthetic), the agreement on GT boxes (and on matched pipeline hands) gets its own section.

Ablations (Fig. 7: no SSHFR / no TP / no AT / no loss-wise / no AOMR; Fig. 8: N = 1..5 MSFFs) are NOT
trained here (far too long for a CPU): train each variant with its config switch, then pass the results as
--models NAME=FILE ... (the LAST '=' separates name and file). A FILE is an exported hand ONNX model or a
trainer checkpoint (.pt, exported to ONNX into --out/exported/ first). Every model is evaluated on the same
frames, with the same localizer, and gets a row in the table, a curve in pck_curves.png and a bar in
pck_ablation.png.

Fig. 9: for every scored joint, its heatmap spread (METHOD.md eq. 12, heatmap cells) and its reported
confidence are binned (equal-count bins) against the fraction of joints within PCK@0.2 in each bin.

Writes pck.json, pck.md, pck_curves.png, pck_spread.png (and pck_ablation.png with several models) to --out.
PCK normaliser: the longer side of the tight box around the visible ground-truth joints (evaluation.py).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

HIT_SIGMA = 0.2          # Fig. 9: detection = within PCK@0.2
SPREAD_BINS = 10


# ------------------------------------------------------------------------------------------- data
def iter_samples(args):
    """(index, Sample) pairs: dataset records (loaded one by one) or generated frames."""
    if args.synthetic:
        from handjoints_trt.data.synthetic import SynthConfig, SyntheticHands

        w, h = (int(v) for v in args.synthetic_size.lower().split("x"))
        gen = SyntheticHands(SynthConfig(width=w, height=h, max_hands=2, hand_count_weights=(0, 0.6, 0.4),
                                         min_hand_px=max(24.0, 0.15 * min(w, h))), seed=args.seed)
        for i in range(args.synthetic):
            yield i, gen.frame(i)
        return
    from handjoints_trt.data.loaders import load_dataset

    kwargs = {"split": args.split} if args.split else {}
    records = load_dataset(args.format, args.root, **kwargs)
    if args.limit:
        # A fixed, spread-out subset (every k-th record), the same on every run.
        records = records[::max(1, len(records) // args.limit)][:args.limit]
    for i, record in enumerate(records):
        yield i, record.load()


def gt_arrays(sample):
    """(gt keypoints (N, 21, 2), visible (N, 21), boxes (N, 4)) of a sample's labelled hands."""
    if not sample.hands:
        return np.zeros((0, 21, 2)), np.zeros((0, 21), bool), np.zeros((0, 4))
    return (np.stack([h.keypoints for h in sample.hands]).astype(np.float64),
            np.stack([h.visible for h in sample.hands]), np.stack([h.box for h in sample.hands]).astype(np.float64))


# ------------------------------------------------------------------------------------------- models
def parse_models(specs: list[str] | None, default_hand: Path, name: str) -> dict[str, Path]:
    """'NAME=FILE' strings -> {name: path}; without any, {name: default_hand}."""
    if not specs:
        return {name: Path(default_hand)}
    models = {}
    for spec in specs:
        label, sep, path = spec.rpartition("=")
        if not sep or not label or not path:
            raise SystemExit(f"--models entries are NAME=FILE, got {spec!r}")
        models[label] = Path(path)
    return models


def as_onnx(path: Path, out: Path, name: str) -> Path:
    """An ONNX hand model: the file itself, or a trainer checkpoint exported into out/exported/."""
    if path.suffix in (".pt", ".pth"):
        from handjoints_trt.export.onnx_export import export_checkpoint

        target = out / "exported" / (_slug(name) + ".onnx")
        target.parent.mkdir(parents=True, exist_ok=True)
        export_checkpoint(path, target)
        return target
    if not path.is_file():
        raise SystemExit(f"model file {path} does not exist")
    return path


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).strip("_") or "model"


@contextlib.contextmanager
def capture_heatmaps(detector):
    """Collect the stage-II heatmaps of the detector's own calls (for the spread), without changing them."""
    captured: list[np.ndarray] = []
    original = detector.hand_stage

    def recording(crops):
        heatmaps, right = original(crops)
        captured.append(heatmaps)
        return heatmaps, right

    detector.hand_stage = recording       # an instance attribute shadows the method for this detector only
    try:
        yield captured
    finally:
        del detector.hand_stage


def estimate_gt(detector, image, boxes) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Stage II on the ground-truth boxes through detector.estimate: keypoints (N, 21, 2), confidence (N, 21),
    spread (N, 21) heatmap cells and handedness (N,) 'left' / 'right' / None. Degenerate boxes (no visible joint)
    get NaN and None."""
    from handjoints_trt.postprocess import decode_heatmaps, heatmap_spread

    n = len(boxes)
    keypoints, confidence, spread = np.full((n, 21, 2), np.nan), np.zeros((n, 21)), np.full((n, 21), np.nan)
    names: list = [None] * n
    ok = np.nonzero((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))[0]
    if len(ok) == 0:
        return keypoints, confidence, spread, names
    with capture_heatmaps(detector) as captured:
        hands = detector.estimate(image, boxes[ok])
    heatmaps = np.concatenate(captured)
    spread[ok] = heatmap_spread(heatmaps, decode_heatmaps(heatmaps)[0])
    keypoints[ok] = np.stack([h.keypoints for h in hands])
    confidence[ok] = np.stack([h.confidence for h in hands])
    for i, hand in zip(ok, hands):
        names[i] = hand.handedness
    return keypoints, confidence, spread, names


def match_hands(pred_boxes: np.ndarray, gt_boxes: np.ndarray, min_iou: float) -> list[int | None]:
    """For each ground-truth box, the index of its predicted box (greedy by IoU, best pair first), or None."""
    from handjoints_trt.postprocess import box_iou

    match: list[int | None] = [None] * len(gt_boxes)
    if not len(pred_boxes) or not len(gt_boxes):
        return match
    iou = box_iou(pred_boxes, gt_boxes)
    while True:
        p, g = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[p, g] < min_iou:
            return match
        match[g] = int(p)
        iou[p, :], iou[:, g] = -1.0, -1.0


# ------------------------------------------------------------------------------------------- evaluating
class ModelEval:
    """Everything measured for one model: PCK on GT boxes, optionally PCK / detection of the pipeline,
    and the per-joint (spread, confidence, hit) triples for Fig. 9."""

    def __init__(self, name: str, detector, pipeline: bool):
        from handjoints_trt.evaluation import PCKAccumulator

        self.name, self.detector, self.pipeline = name, detector, pipeline
        self.gt_acc = PCKAccumulator()
        self.pipe_acc = PCKAccumulator() if pipeline else None
        self.spread, self.confidence, self.hit = [], [], []
        self.det = ([], [], [])      # predicted boxes, scores, gt boxes per image
        # handedness against the labels' own (human labels for RHD, InterHand2.6M, ...): [agreeing, named] hands
        self.handedness = {"gt_boxes": [0, 0], "pipeline": [0, 0]}

    def add(self, image, gt, visible, boxes, match_iou: float, handedness=None) -> None:
        """handedness: the GT hands' labels ('left' / 'right' / None), when the data set has them."""
        from handjoints_trt.evaluation import hand_size

        labels = list(handedness) if handedness is not None else [None] * len(gt)
        keypoints, confidence, spread, names = estimate_gt(self.detector, image, boxes)
        self._count_handedness("gt_boxes", names, labels)
        self.gt_acc.add(keypoints, gt, visible)
        phi = hand_size(gt, visible)
        scored = visible & (phi > 0)[:, None]
        err = np.linalg.norm(keypoints - gt, axis=2) / np.where(phi > 0, phi, 1.0)[:, None]
        self.spread.append(spread[scored])
        self.confidence.append(confidence[scored])
        self.hit.append(np.nan_to_num(err[scored], nan=np.inf) <= HIT_SIGMA)
        if self.pipeline:
            self._add_pipeline(image, gt, visible, boxes, match_iou, labels)

    def _count_handedness(self, where: str, names: list, labels: list) -> None:
        for name, label in zip(names, labels):
            if name is not None and label is not None:
                self.handedness[where][0] += name == label
                self.handedness[where][1] += 1

    def _add_pipeline(self, image, gt, visible, boxes, match_iou: float, labels: list) -> None:
        hands = self.detector.detect(image)
        pred_boxes = np.array([h.box for h in hands], np.float64).reshape(-1, 4)
        pred = np.full(gt.shape, np.nan)
        names: list = [None] * len(gt)
        for g, p in enumerate(match_hands(pred_boxes, boxes, match_iou)):
            if p is not None:
                pred[g] = hands[p].keypoints
                names[g] = hands[p].handedness
        self._count_handedness("pipeline", names, labels)
        self.pipe_acc.add(pred, gt, visible)
        self.det[0].append(pred_boxes)
        self.det[1].append(np.array([h.score for h in hands], np.float64))
        self.det[2].append(boxes)

    def results(self, match_iou: float) -> dict:
        from handjoints_trt.evaluation import detection_pr

        out = {"gt_boxes": self.gt_acc.result()}
        if self.pipeline:
            out["pipeline"] = self.pipe_acc.result()
            out["detection"] = detection_pr(*self.det, iou=match_iou)
        named = {k: {"agreement": agree / count, "hands": count} for k, (agree, count) in self.handedness.items()
                 if count}
        if named:   # the model names hands and the data set labels them
            out["handedness"] = named
        return out

    def joints(self) -> dict:
        cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa: E731
        return {"spread": cat(self.spread, np.float64), "confidence": cat(self.confidence, np.float64),
                "hit": cat(self.hit, bool)}


def binned_rate(values: np.ndarray, hit: np.ndarray, bins: int = SPREAD_BINS) -> list[dict]:
    """Equal-count bins of ``values`` (NaN left out): [{lo, hi, centre (median), rate, count}]."""
    ok = np.isfinite(values)
    v, h = values[ok], hit[ok]
    if v.size == 0:
        return []
    edges = np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)))
    index = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, max(len(edges) - 2, 0))
    rows = []
    for b in range(max(len(edges) - 1, 1)):
        sel = index == b
        if sel.any():
            rows.append({"lo": float(edges[b]), "hi": float(edges[min(b + 1, len(edges) - 1)]),
                         "centre": float(np.median(v[sel])), "rate": float(h[sel].mean()), "count": int(sel.sum())})
    return rows


# ------------------------------------------------------------------------------------------- plots
def _figure(cols: int = 1, width: float = 5.0):
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global backend switch
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, 4.0), dpi=120)
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, cols, i + 1) for i in range(cols)]


def plot_spread(fig9: dict[str, dict], path: Path, title: str) -> Path:
    """Fig. 9: detection rate at PCK@0.2 per spread bin (left) and per confidence bin (right)."""
    fig, (left, right) = _figure(2, 4.5)
    for name, bins in fig9.items():
        for ax, key in ((left, "spread"), (right, "confidence")):
            rows = bins[key]
            ax.plot([r["centre"] for r in rows], [r["rate"] for r in rows], marker="o", label=name)
    right.set_xlim(0, 1)
    left.set_xlabel("heatmap spread (cells, bin median)")
    right.set_xlabel("reported joint confidence (bin median)")
    for ax in (left, right):
        ax.set_ylabel(f"detection rate (PCK@{HIT_SIGMA:g})")
        ax.set_ylim(0, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def plot_ablation(results: dict, path: Path, title: str) -> Path:
    """Figs. 7/8: PCK@0.1 and @0.2 per model (bars), in the order given."""
    fig, (ax,) = _figure(1, 6.0)
    names = list(results)
    x = np.arange(len(names))
    for k, (sigma_index, label) in enumerate(((0, "PCK@0.1"), (1, "PCK@0.2"))):
        ax.bar(x + (k - 0.5) * 0.38, [np.nan_to_num(results[n].pck[sigma_index]) for n in names], 0.38, label=label)
    ax.set_xticks(x, names, rotation=20, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("PCK")
    ax.set_title(title, fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


# ------------------------------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--format", help="dataset format (handjoints_trt.data.loaders.LOADERS), with --root")
    src.add_argument("--synthetic", type=int, metavar="N", help="N generated frames with 1-2 known hands")
    p.add_argument("--root", help="dataset folder / annotation file for --format")
    p.add_argument("--split", help="dataset split for loaders that take one (hagrid_mp: train, val, all)")
    p.add_argument("--limit", type=int, default=0, help="evaluate at most this many images (spread over the set)")
    p.add_argument("--synthetic-size", default="384x384", help="generated frame size WxH")
    p.add_argument("--seed", type=int, default=1000, help="synthetic seed (not the training seeds 0..)")
    p.add_argument("--backend", default="onnxruntime", choices=("onnxruntime", "torch", "tensorrt"))
    p.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "int8"))
    p.add_argument("--models", nargs="+", metavar="NAME=FILE", help="hand models to compare (ablations)")
    p.add_argument("--name", default="ours", help="row name of the single model (without --models)")
    p.add_argument("--title", default="", help="plot / table title (e.g. 'Fig. 7: model switches')")
    p.add_argument("--pipeline", action="store_true", help="also evaluate the whole pipeline (detect + IoU match)")
    p.add_argument("--match-iou", type=float, default=0.3, help="IoU to match a predicted hand to a GT hand")
    C.add_model_args(p)
    args = p.parse_args(argv)
    if args.format and not args.root:
        p.error("--format needs --root")
    return args


def main(argv=None) -> dict:
    from handjoints_trt import HandJointDetector
    from handjoints_trt.evaluation import format_table, plot_pck_curves

    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = C.resolve_models("int8" if args.precision == "int8" else "fp32", args.allow_untrained,
                            args.localizer_model, args.hand_model)
    models = {n: as_onnx(p, out, n) for n, p in parse_models(args.models, base["hand"], args.name).items()}
    source = f"{args.format} {args.root} split={args.split}" if args.format else \
        f"synthetic {args.synthetic} frames {args.synthetic_size} seed {args.seed}"
    # Each hand network is scored as such, on upright crops (any_angle off): the ablations compare networks, and the
    # spread plot needs the maps of the one reading each joint came from (model_eval.py and any_angle.py score the
    # default detector).
    evals = {name: ModelEval(name, HandJointDetector(
        backend=args.backend, precision=args.precision, localizer_model=base["localizer"], hand_model=path,
        threads=args.threads, any_angle=False), args.pipeline) for name, path in models.items()}
    images = hands = 0
    try:
        for index, sample in iter_samples(args):
            gt, visible, boxes = gt_arrays(sample)
            if not len(gt):
                continue
            images, hands = images + 1, hands + len(gt)
            for ev in evals.values():
                ev.add(sample.image, gt, visible, boxes, args.match_iou, [h.handedness for h in sample.hands])
            if images % 100 == 0:
                print(f"  {images} images, {hands} hands", flush=True)
    finally:
        for ev in evals.values():
            ev.detector.close()
    command = "python benchmarks/pck.py " + " ".join(argv if argv is not None else sys.argv[1:])
    report = build_report(args, evals, models, base, source, images, hands, command)
    rows = report["_rows"]
    title = args.title or f"PCK on {source}"
    if rows:
        plot_pck_curves(rows, out / "pck_curves.png", title)
        plot_spread(report["fig9"], out / "pck_spread.png", "Spread vs accuracy (Fig. 9): " + source)
        if len(models) > 1:
            plot_ablation({n: evals[n].results(args.match_iou)["gt_boxes"] for n in models},
                          out / "pck_ablation.png", title)
    markdown = report_markdown(report, format_table(rows) if rows else "(no scorable hands)\n", title)
    del report["_rows"]
    C.write_json(out / "pck.json", report)
    C.write_text(out / "pck.md", markdown)
    print("\n" + markdown)
    print(f"wrote {out}/pck.json, pck.md, pck_curves.png, pck_spread.png")
    return report


def build_report(args, evals, models, base, source, images, hands, command: str) -> dict:
    rows, results, fig9 = {}, {}, {}
    for name, ev in evals.items():
        res = ev.results(args.match_iou)
        rows[f"{name} (GT boxes)" if args.pipeline else name] = res["gt_boxes"]
        if args.pipeline:
            rows[f"{name} (pipeline)"] = res["pipeline"]
        results[name] = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in res.items()}
        joints = ev.joints()
        fig9[name] = {"spread": binned_rate(joints["spread"], joints["hit"]),
                      "confidence": binned_rate(joints["confidence"], joints["hit"])}
    rows = {k: v for k, v in rows.items() if v.count}
    report = {"machine": C.machine_info(), "source": source, "images": images, "hands": hands,
              "settings": {"command": command,
                           "backend": args.backend, "precision": args.precision, "match_iou": args.match_iou,
                           "localizer": str(base["localizer"]), "models": {k: str(v) for k, v in models.items()},
                           "models_source": base["source"], "hit_sigma": HIT_SIGMA},
              "notes": ["models are UNTRAINED: these PCK values are meaningless (the run checks the machinery)"]
              if base["untrained"] and not args.models else [],
              "results": results, "fig9": fig9, "_rows": rows}
    return report


def report_markdown(report: dict, table: str, title: str) -> str:
    s = report["settings"]
    parts = [f"# {title} (benchmarks/pck.py)\n\n`{s['command']}`\n\n", C.machine_markdown(report["machine"]),
             f"- data: {report['source']}: {report['images']} images, {report['hands']} hands; backend "
             f"{s['backend']} {s['precision']}; localizer {s['localizer']}\n"]
    parts += [f"- note: {n}\n" for n in report["notes"]]
    parts.append("\n## PCK (Tables II-V layout; curves: pck_curves.png)\n\n" + table)
    det = {n: r["detection"] for n, r in report["results"].items() if "detection" in r}
    if det:
        parts.append(f"\n## Hand detection (IoU >= {s['match_iou']})\n\n" + C.markdown_table(
            ["model", "recall", "precision", "AP", "TP", "FP", "FN"],
            [[n, f"{d['recall']:.3f}", f"{d['precision']:.3f}", f"{d['ap']:.3f}", d["tp"], d["fp"], d["fn"]]
             for n, d in det.items()]))
    hand = {n: r["handedness"] for n, r in report["results"].items() if "handedness" in r}
    if hand:
        parts.append("\n## Left or right hand (Hand.handedness against the labels' own)\n\n" + C.markdown_table(
            ["model", "where", "hands", "agreement"],
            [[n, where, v["hands"], f"{v['agreement']:.3f}"] for n, h in hand.items() for where, v in h.items()]))
    for name, bins in report["fig9"].items():
        parts.append(f"\n## Spread vs detection rate at PCK@{HIT_SIGMA:g}: {name} (pck_spread.png)\n\n")
        parts.append(C.markdown_table(["spread bin (cells)", "joints", "rate"],
                                      [[f"{r['lo']:.2f}-{r['hi']:.2f}", r["count"], f"{r['rate']:.3f}"]
                                       for r in bins["spread"]]))
    return "".join(parts)


if __name__ == "__main__":
    C.run_script(main)
