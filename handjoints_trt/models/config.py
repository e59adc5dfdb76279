"""Configurations of the two networks: plain dataclasses, importable without torch.

HandNetConfig describes stage II (SSHFR + N MSFF modules, METHOD.md "Stage I" 3 and "Stage II"),
LocalizerConfig the stage-I hand localizer. Both round-trip through JSON-safe dicts (to_dict/from_dict),
so a checkpoint or an exported model can carry the exact configuration it was built from.
Every ablation of the paper that changes the network is a field of HandNetConfig; the loss-wise switch
belongs to training and is not here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

NUM_SSHFR_LAYERS = 10  # METHOD.md: ten conv layers, 5x5 for layers 1-5, 3x3 for layers 6-10.


def _is_power_of_two(value: int) -> bool:
    return isinstance(value, int) and value >= 1 and (value & (value - 1)) == 0


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be a bool (True or False), got {value!r}")


def _check_int_range(name: str, value: Any, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an int in {bounds}, got {value!r}")


def _from_dict(cls, data: Mapping[str, Any], tuple_fields: tuple[str, ...]):
    """Build a config dataclass from a dict, naming any unknown key (a typo would otherwise pass silently)."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known fields are {sorted(known)}")
    values = dict(data)
    for name in tuple_fields:  # JSON turns tuples into lists; the dataclass keeps tuples (hashable, immutable).
        if name in values and isinstance(values[name], list):
            values[name] = tuple(values[name])
    config = cls(**values)
    config.validate()
    return config


@dataclass(frozen=True)
class HandNetConfig:
    """Stage II: SSHFR followed by a cascade of `num_msff` MSFF modules.

    crop_size: side S of the square hand crop, input pixels (the network input is (B, 3, S, S)).
    stride: S / heatmap side; a power of two. The first log2(stride) SSHFR layers have stride 2.
    sshfr_channels: output channels of the ten SSHFR conv layers (5x5 for 1-5, 3x3 for 6-10);
        the last one is the channel count of the SSHFR features SH fed to every MSFF.
    c: channels of each of the three parallel MSFF branches (the fusion has 3c, the TP output 6c).
    p, q: the FEC has p conv blocks of q residual units each (3x3, stride 1); both in 1..4.
    num_msff: N, the number of cascaded MSFF modules (>= 1; the paper uses 3).
    use_sshfr: False for the "no SSHFR" ablation: the image reaches the MSFFs through a minimal stem,
        one conv with kernel = stride = `stride` (a learned patchify), to `c` channels.
    use_tp, use_at, use_aomr: the transpose (channel shuffle), channel attention and AOMR modules.
    aomr_learnable: a learnable scale per bone, initialised from L (else L is a fixed buffer).
    attention_reduction: channel reduction r of the attention bottleneck (6c -> 6c/r -> 6c).
    num_joints: K, heatmaps per hand (21).
    handedness_head: [ours, not in the paper] a small head on the last MSFF's features and heatmaps giving
        P(right hand) per crop (hand_net.HandednessHead; ~2 % of the crop's FLOPs), trained on the frozen
        network (training/handedness.py). Off by default: the paper's network has no such output.
    handedness_upright: [ours] the head also reads the joints' positions turned upright (wrist to middle knuckle
        pointing up, scaled by that length), so that a turned hand's layout reads as an upright one's (session
        19: the first head named hands turned 90 / 180 degrees far worse than upright ones). Off for older heads.
    """

    crop_size: int = 256
    stride: int = 4
    sshfr_channels: tuple[int, ...] = (32, 64, 64, 64, 64, 128, 128, 128, 128, 256)
    c: int = 64
    p: int = 1
    q: int = 4
    num_msff: int = 3
    use_sshfr: bool = True
    use_tp: bool = True
    use_at: bool = True
    use_aomr: bool = True
    aomr_learnable: bool = False
    attention_reduction: int = 16
    num_joints: int = 21
    handedness_head: bool = False
    handedness_upright: bool = False

    @property
    def heatmap_size(self) -> int:
        """Side of the square heatmaps, heatmap pixels (crop_size / stride)."""
        return self.crop_size // self.stride

    @property
    def feature_channels(self) -> int:
        """Channels of the features every MSFF receives: SSHFR output, or `c` from the minimal stem."""
        return self.sshfr_channels[-1] if self.use_sshfr else self.c

    @property
    def fusion_channels(self) -> int:
        """Channels after fusion (3c) and TP (doubles them to 6c when use_tp)."""
        return 3 * self.c * (2 if self.use_tp else 1)

    def validate(self) -> "HandNetConfig":
        """Raise ValueError naming the bad field and the fix; return self when the config is consistent."""
        _check_int_range("crop_size", self.crop_size, 8)
        if not _is_power_of_two(self.stride) or self.stride > 2 ** 5:
            raise ValueError(f"stride must be a power of two in 1..32 (the first log2(stride) of the five 5x5 "
                             f"SSHFR layers down-sample by 2), got {self.stride!r}")
        if self.crop_size % (self.stride * 4):
            raise ValueError(
                f"crop_size {self.crop_size} must be divisible by stride*4 = {self.stride * 4}: the heatmap side "
                f"crop_size/stride is down-sampled twice by branch 3's DSCs; use e.g. "
                f"crop_size={max(1, round(self.crop_size / (self.stride * 4))) * self.stride * 4}")
        channels = tuple(self.sshfr_channels)
        if len(channels) != NUM_SSHFR_LAYERS or not all(isinstance(ch, int) and ch >= 1 for ch in channels):
            raise ValueError(f"sshfr_channels must be {NUM_SSHFR_LAYERS} positive ints (one per SSHFR conv layer), "
                             f"got {self.sshfr_channels!r}")
        _check_int_range("c", self.c, 1)
        _check_int_range("p", self.p, 1, 4)
        _check_int_range("q", self.q, 1, 4)
        _check_int_range("num_msff", self.num_msff, 1)
        _check_int_range("attention_reduction", self.attention_reduction, 1)
        _check_int_range("num_joints", self.num_joints, 1)
        for name in ("use_sshfr", "use_tp", "use_at", "use_aomr", "aomr_learnable", "handedness_head",
                     "handedness_upright"):
            _check_bool(name, getattr(self, name))
        if self.use_aomr and self.num_joints != 21:
            raise ValueError(f"use_aomr needs num_joints=21 (the hand skeleton's graph), got {self.num_joints}; "
                             f"set use_aomr=False for another joint set")
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists)."""
        data = asdict(self)
        data["sshfr_channels"] = list(self.sshfr_channels)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HandNetConfig":
        """Inverse of to_dict; raises ValueError on unknown keys or an invalid config."""
        return _from_dict(cls, data, ("sshfr_channels",))


@dataclass(frozen=True)
class LocalizerConfig:
    """Stage I: a CPM-style fully convolutional hand localizer with centre-net style outputs at stride 4.

    input_size: (width, height) of the letterboxed frame, input pixels; both divisible by 32 (the
        network itself runs at any such size; this is the size exported/benchmarked by default).
    backbone_channels: channels at strides 2, 4, 8, 16, 32 (plain 3x3 convs, one stride-2 conv per level).
    backbone_depth: extra stride-1 3x3 convs at strides 4, 8, 16, 32 (receptive field for large hands).
    neck_channels: channels of the up-sampling path at strides 16, 8, 4 (the last = stage features;
        the stride-4 merge has no 3x3 conv of its own: the first stage's conv follows at once).
    stage_channels: hidden channels of each CPM refinement stage (at stride 4).
    stage_depth: 3x3 convs per stage (the last dilated by 2 for a wider view of the previous maps).
    Keep channel counts multiples of 32 where the maps are large: ORT's NCHWc conv kernels (block 16 on
    AVX-512) ran 16- and 24-channel 3x3 convs several times slower per FLOP on this CPU (docs/models.md).
    num_stages: CPM stages; stage 1 sees the features, stage t > 1 the features + stage t-1's maps.
    """

    input_size: tuple[int, int] = (384, 384)
    backbone_channels: tuple[int, ...] = (16, 32, 32, 64, 96)
    backbone_depth: tuple[int, ...] = (0, 2, 2, 2)
    neck_channels: tuple[int, ...] = (64, 32, 32)
    stage_channels: int = 32
    stage_depth: int = 1
    num_stages: int = 2

    STRIDE = 4  # output stride of every map (class constant, not a field)

    def validate(self) -> "LocalizerConfig":
        """Raise ValueError naming the bad field and the fix; return self when the config is consistent."""
        size = tuple(self.input_size)
        if len(size) != 2 or not all(isinstance(v, int) and v >= 32 and v % 32 == 0 for v in size):
            raise ValueError(f"input_size must be (width, height), ints >= 32 divisible by 32 (the backbone "
                             f"reaches stride 32), got {self.input_size!r}")
        for name, count in (("backbone_channels", 5), ("backbone_depth", 4), ("neck_channels", 3)):
            value = tuple(getattr(self, name))
            low = 0 if name == "backbone_depth" else 1
            if len(value) != count or not all(isinstance(v, int) and v >= low for v in value):
                raise ValueError(f"{name} must be {count} ints >= {low}, got {getattr(self, name)!r}")
        _check_int_range("stage_channels", self.stage_channels, 1)
        _check_int_range("stage_depth", self.stage_depth, 1)
        _check_int_range("num_stages", self.num_stages, 1)
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LocalizerConfig":
        """Inverse of to_dict; raises ValueError on unknown keys or an invalid config."""
        return _from_dict(cls, data, ("input_size", "backbone_channels", "backbone_depth", "neck_channels"))


@dataclass(frozen=True)
class OrientNetConfig:
    """[ours] The hand-direction network between the stages (session 21): on a hand's upright crop, which way the
    hand points, so that stage II can see it stood upright (MediaPipe's design: its palm detector gives the turn).

    crop_size: side S of the square crop it reads, input pixels (the hand network's crop: the same crops feed it).
    channels: output channels of its stride-2 3x3 convs (the first halves the crop; one more 3x3 conv follows at
        each of strides 4 and 8).
    head: "points" (the default): after the last stride-2 conv two dilated 3x3 convs and a 1x1 conv give two maps,
        where the wrist and the middle knuckle are; their soft-argmax positions give the direction (convs learn
        where a joint is far faster than a global regression learns an angle: session 21, median error on val
        crops at any angle after 3 epochs 18.3 degrees, against 37.6 for "vector" with channels
        (16, 32, 64, 96, 128)). "vector": a linear layer on the flattened last map regresses the direction.
    pool: the crop is first averaged down by this factor (2: a 128 crop read at 64 px): which way a hand points
        needs no fine detail, and the convs then cost a quarter, so the network can be wider for the same time.
    joints: (head "points") the joints it maps (HandJoint numbers), the wrist first: the direction runs from the
        wrist to the mean of the others (the default, the middle knuckle alone, is what the aligned hand network's
        crops are turned by; more knuckles teach the network more of the hand).
    """

    crop_size: int = 128
    channels: tuple[int, ...] = (16, 32, 64)
    head: str = "points"
    joints: tuple[int, ...] = (0, 9)
    pool: int = 1

    def validate(self) -> "OrientNetConfig":
        _check_int_range("crop_size", self.crop_size, 32)
        channels = tuple(self.channels)
        if len(channels) < 2 or not all(isinstance(c, int) and c >= 1 for c in channels):
            raise ValueError(f"channels must be at least 2 ints >= 1, got {self.channels!r}")
        joints = tuple(self.joints)
        if len(joints) < 2 or joints[0] != 0 or len(set(joints)) != len(joints) or \
                not all(isinstance(j, int) and 0 < j < 21 for j in joints[1:]):
            raise ValueError(f"joints must start with the wrist (0) and name other joints 1..20 once each, got "
                             f"{self.joints!r}")
        if self.head not in ("points", "vector"):
            raise ValueError(f"head must be 'points' or 'vector', got {self.head!r}")
        _check_int_range("pool", self.pool, 1)
        if self.crop_size % (self.pool * 2 ** len(channels)):
            raise ValueError(f"crop_size {self.crop_size} must be divisible by pool x 2 ** len(channels) = "
                             f"{self.pool * 2 ** len(channels)} (the pooling, then one stride-2 conv per entry)")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OrientNetConfig":
        return _from_dict(cls, data, ("channels", "joints"))


# "paper": the paper's stated shapes (256 crop, SSHFR 256 x 64 x 64, N = 3, q = 4 residual units per
# block as drawn in its Fig. 1(c)); c and p are not given, see docs/models.md for the choice.
# "lite": a 128 crop to 32 x 32 heatmaps, <= 0.6 GFLOP per crop, trainable on a 2-core CPU.
_LITE_HAND = HandNetConfig(
    crop_size=128, stride=4, sshfr_channels=(16, 16, 32, 32, 32, 32, 32, 48, 48, 48),
    c=32, p=1, q=1, num_msff=3, attention_reduction=8)
HAND_PRESETS: dict[str, HandNetConfig] = {
    "paper": HandNetConfig(),
    "lite": _LITE_HAND,
    # "deep": lite with a fourth MSFF (0.67 vs 0.58 GFLOP per crop: an MSFF is cheap beside the 5x5 SSHFR),
    # grown from a trained lite (models/widen.py deepen_hand_state, train --init-from).
    "deep": replace(_LITE_HAND, num_msff=4),
    # "deep5": deep with a fifth MSFF (0.76 GFLOP per crop), grown from a trained deep the same way. Session 11:
    # 8 epochs from the shipped deep gave 0.9657 / 0.704 (hagrid_mp / synthetic val) against 0.9666 / 0.706, no gain.
    "deep5": replace(_LITE_HAND, num_msff=5),
}

# "wide": lite with more channels at strides 8-32 (what a hand looks like), the same at strides 2-4 (where the
# FLOPs are): 1.21 vs 0.68 GFLOP at 384x288. Widened from a trained lite (models/widen.py, train --init-from).
LOCALIZER_PRESETS: dict[str, LocalizerConfig] = {
    "lite": LocalizerConfig(),
    "wide": LocalizerConfig(backbone_channels=(16, 32, 64, 96, 128), neck_channels=(96, 64, 32)),
    "paper": LocalizerConfig(
        input_size=(384, 384), backbone_channels=(32, 48, 64, 128, 192), backbone_depth=(1, 2, 3, 3),
        neck_channels=(96, 64, 64), stage_channels=64, stage_depth=3, num_stages=3),
}


def _resolve(presets: Mapping[str, Any], cls, name_or_dict, overrides: Mapping[str, Any]):
    if isinstance(name_or_dict, cls):
        base = name_or_dict.to_dict()
    elif isinstance(name_or_dict, str):
        if name_or_dict not in presets:
            raise ValueError(f"unknown {cls.__name__} preset {name_or_dict!r}; choose one of {sorted(presets)}")
        base = presets[name_or_dict].to_dict()
    elif isinstance(name_or_dict, Mapping):
        base = dict(name_or_dict)
    else:
        raise ValueError(f"expected a preset name, a dict or a {cls.__name__}, got {type(name_or_dict).__name__}")
    base.update(overrides)
    return cls.from_dict(base)


def hand_config(name_or_dict: str | Mapping[str, Any] | HandNetConfig = "lite", **overrides) -> HandNetConfig:
    """A validated HandNetConfig from a preset name ("paper", "lite"), a dict or a config, plus overrides.

    Example: hand_config("lite", use_tp=False, num_msff=5).
    """
    return _resolve(HAND_PRESETS, HandNetConfig, name_or_dict, overrides)


def localizer_config(name_or_dict: str | Mapping[str, Any] | LocalizerConfig = "lite",
                     **overrides) -> LocalizerConfig:
    """A validated LocalizerConfig from a preset name ("lite", "paper"), a dict or a config, plus overrides."""
    return _resolve(LOCALIZER_PRESETS, LocalizerConfig, name_or_dict, overrides)


__all__ = ["HandNetConfig", "LocalizerConfig", "OrientNetConfig", "HAND_PRESETS", "LOCALIZER_PRESETS", "hand_config",
           "localizer_config"]
