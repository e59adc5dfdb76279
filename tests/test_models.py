"""The PyTorch networks: shapes METHOD.md states, ablation switches, gradients, configs, FLOP counting."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from handjoints_trt.models import (build_hand_net, build_localizer, build_model, count_flops,  # noqa: E402
                                   hand_config, localizer_config)
from handjoints_trt.models.config import HandNetConfig, LocalizerConfig  # noqa: E402
from handjoints_trt.models.hand_net import (AOMR, MSFF, SSHFR, ChannelAttention, ChannelShuffleTP,  # noqa: E402
                                            MinimalStem)
from handjoints_trt.skeleton import BONES, normalized_adjacency  # noqa: E402


def _capture(model: nn.Module, names: list[str]):
    """Register forward hooks on named submodules; returns (shapes dict filled on forward, handles)."""
    modules = dict(model.named_modules())
    shapes: dict[str, tuple] = {}
    handles = []
    for name in names:
        def hook(_module, inputs, output, name=name):
            shapes[name] = tuple(output.shape)
            shapes[name + ":in"] = tuple(inputs[0].shape)
        handles.append(modules[name].register_forward_hook(hook))
    return shapes, handles


def _count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


def _params(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- paper shapes (METHOD.md, 256 crop)

def test_paper_config_shapes_match_method():
    config = hand_config("paper")
    c = config.c
    model = build_hand_net(config).eval()
    names = ["sshfr", "msff.0.branches.0", "msff.0.branches.1", "msff.0.branches.2", "msff.0.tp",
             "msff.0.attention", "msff.0.head", "msff.1"]
    shapes, _ = _capture(model, names)
    with torch.no_grad():
        out = model(torch.zeros(1, 3, 256, 256))
    assert shapes["sshfr"] == (1, 256, 64, 64)
    assert shapes["msff.0.branches.0"] == (1, c, 64, 64)
    assert shapes["msff.0.branches.1"] == (1, c, 32, 32)
    assert shapes["msff.0.branches.2"] == (1, c, 16, 16)
    assert shapes["msff.0.tp:in"] == (1, 3 * c, 64, 64)  # fusion of the three branches
    assert shapes["msff.0.tp"] == (1, 6 * c, 64, 64)  # TP doubles the channels
    assert shapes["msff.0.attention"] == (1, 6 * c, 64, 64)
    assert shapes["msff.0.head"] == (1, 21, 64, 64)
    assert shapes["msff.1:in"] == (1, 256, 64, 64)  # the CPM hand-off keeps MSFF inputs alike
    assert tuple(out.shape) == (1, 21, 64, 64)
    assert len(model.msff) == 3
    assert all(len(block) == config.q for branch in model.msff[0].branches for block in branch[-1])
    sshfr_kernels = [layer[0].kernel_size[0] for layer in model.sshfr]
    assert sshfr_kernels == [5] * 5 + [3] * 5


def test_aomr_matrix_is_skeleton_L_and_mixes_neighbours():
    aomr = AOMR(learnable=False)
    np.testing.assert_allclose(aomr.matrix().numpy(), normalized_adjacency())
    heatmaps = torch.zeros(1, 21, 4, 4)
    heatmaps[:, 0] = 1.0  # only the wrist lights up
    mixed = aomr(heatmaps)[0, :, 0, 0].numpy()
    expected = np.eye(21, dtype=np.float32)[0] + normalized_adjacency()[:, 0]
    np.testing.assert_allclose(mixed, expected, atol=1e-6)
    assert mixed[1] > 0 and mixed[2] == 0  # thumb CMC is the wrist's neighbour, thumb MCP is not


def test_learnable_aomr_starts_at_L_and_learns_one_scale_per_bone():
    aomr = AOMR(learnable=True)
    np.testing.assert_allclose(aomr.matrix().detach().numpy(), normalized_adjacency(), atol=1e-7)
    assert aomr.edge_scale.shape == (len(BONES),)
    aomr(torch.rand(2, 21, 4, 4)).sum().backward()
    assert aomr.edge_scale.grad is not None and torch.all(aomr.edge_scale.grad != 0)


def test_tp_interleaves_the_three_scales_and_keeps_the_original():
    c = 4
    x = torch.arange(3 * c, dtype=torch.float32).view(1, 3 * c, 1, 1).expand(2, 3 * c, 2, 2)
    out = ChannelShuffleTP(c)(x)
    channels = out[0, :, 0, 0].tolist()
    assert channels[: 3 * c] == list(range(3 * c))
    assert channels[3 * c:] == [scale * c + k for k in range(c) for scale in range(3)]  # 0, c, 2c, 1, c+1, ...


# ---------------------------------------------------------------- ablation switches

ABLATIONS = {
    "use_sshfr": SSHFR,
    "use_tp": ChannelShuffleTP,
    "use_at": ChannelAttention,
    "use_aomr": AOMR,
}
MODULE_TYPES = (SSHFR, MinimalStem, ChannelShuffleTP, ChannelAttention, AOMR, MSFF)


@pytest.mark.parametrize("switch", sorted(ABLATIONS))
def test_each_ablation_removes_exactly_its_module(switch):
    full = build_hand_net(hand_config("lite", aomr_learnable=True))
    ablated = build_hand_net(hand_config("lite", aomr_learnable=True, **{switch: False}))
    removed = ABLATIONS[switch]
    assert _count(full, removed) > 0 and _count(ablated, removed) == 0
    for kind in MODULE_TYPES:
        if kind is removed or (switch == "use_sshfr" and kind is MinimalStem):
            continue
        assert _count(ablated, kind) == _count(full, kind), kind.__name__
    if switch == "use_sshfr":
        assert _count(ablated, MinimalStem) == 1 and _count(full, MinimalStem) == 0
    if switch in ("use_at", "use_aomr"):  # nothing else depends on their channels: exactly their params go
        removed_params = sum(_params(m) for m in full.modules() if isinstance(m, removed))
        assert _params(ablated) == _params(full) - removed_params


def test_without_tp_the_fusion_has_3c_channels():
    config = hand_config("lite", use_tp=False)
    model = build_hand_net(config)
    assert model.msff[0].head.in_channels == 3 * config.c
    assert model.msff[0].attention.f[0].in_channels == 3 * config.c
    assert build_hand_net("lite").msff[0].head.in_channels == 6 * config.c


def test_without_sshfr_the_stem_reaches_the_heatmap_size():
    model = build_hand_net(hand_config("lite", use_sshfr=False)).eval()
    with torch.no_grad():
        assert tuple(model.features(torch.zeros(1, 3, 128, 128)).shape) == (1, 32, 32, 32)
        assert tuple(model(torch.zeros(1, 3, 128, 128)).shape) == (1, 21, 32, 32)


@pytest.mark.parametrize("num_msff", [1, 2, 3, 4, 5])
def test_cascade_length_follows_num_msff(num_msff):
    model = build_hand_net(hand_config("lite", num_msff=num_msff, crop_size=64)).eval()
    with torch.no_grad():
        outputs = model(torch.zeros(2, 3, 64, 64), return_all=True)
    assert len(outputs) == num_msff == len(model.msff) and len(model.handoff) == num_msff - 1
    assert all(tuple(o.shape) == (2, 21, 16, 16) for o in outputs)


# ---------------------------------------------------------------- training-facing behaviour

def test_gradients_reach_every_parameter():
    model = build_hand_net(hand_config("lite", aomr_learnable=True)).train()
    outputs = model(torch.randn(2, 3, 128, 128), return_all=True,
                    handoff_weights=lambda index, hm: torch.rand(hm.shape[0], hm.shape[1]))
    sum(o.square().mean() for o in outputs).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


def test_handoff_weights_scale_what_the_next_msff_sees():
    model = build_hand_net(hand_config("lite", crop_size=64)).eval()
    x = torch.randn(2, 3, 64, 64)
    seen = {}
    model.handoff[0].heatmaps_conv.register_forward_hook(
        lambda m, inputs, out: seen.__setitem__("in", inputs[0].clone()))
    calls = []

    def zero_weights(index, heatmaps):
        calls.append(index)
        weights = torch.ones(heatmaps.shape[:2])
        weights[:, 3] = 0.0
        return weights

    with torch.no_grad():
        plain = model(x, return_all=True)
        plain_input = seen["in"]
        weighted = model(x, return_all=True, handoff_weights=zero_weights)
        weighted_input = seen["in"]
        unweighted = model(x, return_all=True, handoff_weights=lambda i, hm: None)
    assert calls == [0, 1]  # every MSFF that hands on (not the last)
    assert torch.equal(weighted[0], plain[0])  # returned heatmaps are never weighted
    assert torch.equal(plain_input, plain[0])  # handoff[0] receives MSFF_1's heatmaps
    assert torch.all(weighted_input[:, 3] == 0) and torch.any(plain_input[:, 3] != 0)
    assert torch.equal(weighted_input[:, 4], weighted[0][:, 4])  # weight 1: passed unchanged
    assert not torch.allclose(weighted[1], plain[1])
    assert all(torch.equal(a, b) for a, b in zip(unweighted, plain))  # fn returning None = unweighted


def test_handoff_weights_of_the_wrong_shape_are_rejected():
    model = build_hand_net(hand_config("lite", crop_size=64))
    with pytest.raises(ValueError, match=r"handoff_weights.*\(B, K\)"):
        model(torch.zeros(2, 3, 64, 64), handoff_weights=lambda i, hm: torch.ones(2))


# ---------------------------------------------------------------- configs

@pytest.mark.parametrize("overrides, field", [
    ({"p": 0}, "p"), ({"p": 5}, "p"), ({"q": 0}, "q"), ({"q": 5}, "q"), ({"num_msff": 0}, "num_msff"),
    ({"crop_size": 100}, "crop_size"), ({"stride": 3}, "stride"), ({"sshfr_channels": (8,) * 9}, "sshfr_channels"),
    ({"c": 0}, "c"), ({"use_tp": 1}, "use_tp"), ({"num_joints": 14}, "use_aomr"),
])
def test_bad_hand_configs_raise_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        hand_config("lite", **overrides)


def test_unknown_keys_and_presets_are_rejected():
    with pytest.raises(ValueError, match="unknown HandNetConfig field.*'cc'"):
        HandNetConfig.from_dict({**hand_config("lite").to_dict(), "cc": 3})
    with pytest.raises(ValueError, match="preset 'huge'"):
        hand_config("huge")
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("pose", "lite")


@pytest.mark.parametrize("overrides, field", [
    ({"input_size": (100, 96)}, "input_size"), ({"num_stages": 0}, "num_stages"), ({"stage_depth": 0}, "stage_depth"),
    ({"backbone_channels": (8, 8)}, "backbone_channels"), ({"backbone_depth": (0, -1, 0, 0)}, "backbone_depth"),
])
def test_bad_localizer_configs_raise_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        localizer_config("lite", **overrides)


def test_configs_round_trip_through_json():
    for config in (hand_config("paper"), hand_config("lite", use_tp=False, num_msff=5)):
        assert HandNetConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    for config in (localizer_config("lite"), localizer_config("paper")):
        assert LocalizerConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_configs_import_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from handjoints_trt.models import hand_config, localizer_config\n"
            "print(hand_config('lite').heatmap_size, localizer_config('lite').input_size)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["32", "(384,", "384)"]


# ---------------------------------------------------------------- localizer

@pytest.mark.parametrize("height, width", [(320, 320), (384, 384), (288, 512), (96, 64)])
def test_localizer_output_shapes(height, width):
    model = build_localizer("lite").eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, height, width))
    assert set(out) == {"centers", "sizes", "offsets"}
    assert tuple(out["centers"].shape) == (1, 1, height // 4, width // 4)
    assert tuple(out["sizes"].shape) == (1, 2, height // 4, width // 4)
    assert tuple(out["offsets"].shape) == (1, 2, height // 4, width // 4)
    for key in ("centers", "offsets"):
        assert 0.0 <= float(out[key].min()) and float(out[key].max()) <= 1.0


def test_localizer_stages_logits_and_prior():
    model = build_localizer(localizer_config("lite", num_stages=3, stage_depth=2)).eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        stages = model(x, return_all=True)
        logit_stages = model(x, return_all=True, logits=True)
    assert len(stages) == 3
    for probs, logits in zip(stages, logit_stages):
        torch.testing.assert_close(torch.sigmoid(logits["centers"]), probs["centers"])
        torch.testing.assert_close(logits["sizes"], probs["sizes"])
    # CenterNet prior: centre bias -2.19, so an untrained net says ~0.1 everywhere
    assert abs(float(stages[0]["centers"].mean()) - 0.1) < 0.02
    assert all(abs(float(stage.head.bias[0].detach()) + 2.19) < 0.01 for stage in model.stages)


@pytest.mark.parametrize("preset", ["lite", "paper"])
def test_localizer_gradients_reach_every_parameter(preset):
    model = build_localizer(preset).train()
    stages = model(torch.randn(2, 3, 64, 64), return_all=True, logits=True)
    sum(sum(v.square().mean() for v in stage.values()) for stage in stages).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert missing == []


# ---------------------------------------------------------------- FLOPs

def test_count_flops_matches_hand_arithmetic():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 10 * 10, 5))
    params, flops = count_flops(model, (1, 3, 10, 10))
    assert params == (8 * 27 + 8) + (800 * 5 + 5)
    assert flops == 2 * (8 * 10 * 10 * 3 * 9 + 5 * 800)


def test_lite_presets_meet_their_budgets():
    lite = hand_config("lite")
    _, hand_flops = count_flops(build_hand_net(lite), (1, 3, lite.crop_size, lite.crop_size))
    _, localizer_flops = count_flops(build_localizer("lite"), (1, 3, 384, 384))
    assert hand_flops <= 0.6e9
    assert localizer_flops <= 1.0e9
