#!/usr/bin/env bash
# Reproduce the shipped models from the repository, on the CPU (2 cores are enough; it takes many hours:
# every command resumes where it stopped, so run it again after an interruption).
# Run from the repository root with the data beside it (../shared/data, or HANDJOINTS_SHARED=...).
set -euo pipefail
RUNS=${RUNS:-checkpoints}          # checkpoints/ is tracked: a stopped run goes on in the next session
WEIGHTS=handjoints_trt/weights

# 1. Stage II, the hand network (lite), exactly as the shipped run went: 450 steps on real photos only, then
#    real + synthetic on a 40-epoch schedule to step 2300, then the schedule shortened to 14 epochs so that the
#    learning rate annealed before shipping (the checkpoint records each recipe in recipe_history).
H="handjoints train hand --model lite --out $RUNS/hand_lite --epoch-size 8000 --val-size 1000 --batch-size 32 \
   --lr 2e-3 --workers 1 --threads 1 --checkpoint-every 50"
$H --recipe hand-real --epochs 40 --max-steps 450
$H --recipe hand --epochs 40 --max-steps 2300
$H --recipe hand --epochs 14
# 2. Stage I, the localizer (lite), on composed real-hand frames plus synthetic frames: a 40-epoch schedule to
#    step 2600, then shortened to 15 epochs.
L="handjoints train localizer --model lite --out $RUNS/loc_lite --epoch-size 4000 --val-size 300 \
   --batch-size 16 --lr 2e-3 --workers 1 --threads 1 --checkpoint-every 25"
$L --epochs 40 --max-steps 2600
$L --epochs 15

# 3. Export (best validation checkpoint of each), checked against PyTorch.
handjoints export "$RUNS/hand_lite/best.pt" --out "$WEIGHTS/hand.onnx"
handjoints export "$RUNS/loc_lite/best.pt" --out "$WEIGHTS/localizer.onnx"

# 4. INT8 Q/DQ models: kept only when they lose at most 1 point (the gate removes a refused file, exit 3).
for stage in hand localizer; do
    python calibration/make_calibration_set.py --model "$WEIGHTS/$stage.onnx" --count 256 \
        --out "$RUNS/$stage.manifest.json"
    python calibration/calibrate.py --model "$WEIGHTS/$stage.onnx" --manifest "$RUNS/$stage.manifest.json" \
        --out "$WEIGHTS/$stage.int8.onnx" --val 300 --on-fail raise || echo "$stage INT8 refused by the gate"
done

# 5. Confidence mapping fitted to the hand model (constants go into handjoints_trt/postprocess.py), figures.
python benchmarks/fit_confidence.py --hand "$WEIGHTS/hand.onnx" --localizer "$WEIGHTS/localizer.onnx"
python benchmarks/model_eval.py
