"""The INT8 accuracy gate's default limits, in a module with no imports so that `handjoints calibrate --help` can
show them without loading ONNX Runtime (handjoints_trt.export.quantize explains each)."""

MAX_DROP_POINTS = 1.0        # points (x 0.01) of PCK@0.2 / recall, and of the localizer's precision, INT8 may lose
MAX_HAND_FREE_RISE = 0.02    # how much surer of hands (mean joint confidence, 0..1) INT8 may be on hand-free crops
HAND_FREE_COUNT = 200        # hand-free crops the hand gate and --search run
