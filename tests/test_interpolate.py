"""Checkpoint interpolation (model soup): real trainer checkpoints of a small hand network, exported after."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt.cli import main  # noqa: E402
from handjoints_trt.models import build_model  # noqa: E402
from handjoints_trt.models.config import hand_config  # noqa: E402
from handjoints_trt.training.handedness import graft_head  # noqa: E402
from handjoints_trt.training.interpolate import interpolate_checkpoints, interpolate_states  # noqa: E402
from handjoints_trt.training.loop import load_checkpoint, save_checkpoint  # noqa: E402

SMALL = dict(crop_size=64, sshfr_channels=(16,) * 10, c=16, num_msff=1)


def small_checkpoint(path, seed: int, **config) -> dict:
    torch.manual_seed(seed)
    cfg = hand_config("lite", **{**SMALL, **config}).to_dict()
    model = build_model("hand", cfg)
    model.train()(torch.rand(2, 3, 64, 64))          # moves BatchNorm's running statistics off their start
    state = {"model": model.state_dict(), "model_config": cfg, "stage": "hand", "step": seed * 100,
             "recipe_hash": f"r{seed}"}
    save_checkpoint(path, state)
    return state


def test_interpolated_weights_lie_between_the_two(tmp_path):
    base = small_checkpoint(tmp_path / "base.pt", 1)
    tuned = small_checkpoint(tmp_path / "tuned.pt", 2)
    written = interpolate_checkpoints(tmp_path / "base.pt", tmp_path / "tuned.pt", 0.7, tmp_path / "soup.pt")
    soup = load_checkpoint(tmp_path / "soup.pt")
    assert soup["interpolated"]["alpha"] == 0.7 and soup["step"] == 200 and written["recipe_hash"] == "r2"
    floats = [k for k, v in tuned["model"].items() if v.is_floating_point()]
    assert any("running_mean" in k for k in floats)                  # BatchNorm statistics are averaged too
    for key in floats:
        expected = 0.3 * base["model"][key] + 0.7 * tuned["model"][key]
        torch.testing.assert_close(soup["model"][key], expected, rtol=1e-6, atol=1e-7)
    counters = [k for k, v in tuned["model"].items() if not v.is_floating_point()]
    assert counters and all(torch.equal(soup["model"][k], tuned["model"][k]) for k in counters)
    ends = interpolate_states(base["model"], tuned["model"], 0.0)
    assert all(torch.equal(ends[k], base["model"][k]) for k in floats)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.pt", "soup.pt", "tuned.pt"]   # no temp left


def test_a_base_with_a_head_soups_with_its_headless_fine_tune(tmp_path):
    """Training a network that has a handedness head drops the head; its soup with the base leaves the base's head out
    (the joints' weights interpolated as always), and the other way round is still refused."""
    base = small_checkpoint(tmp_path / "base.pt", 1, handedness_head=True)
    tuned = small_checkpoint(tmp_path / "tuned.pt", 2)
    assert any(k.startswith("handedness.") for k in base["model"])
    interpolate_checkpoints(tmp_path / "base.pt", tmp_path / "tuned.pt", 0.25, tmp_path / "soup.pt")
    soup = load_checkpoint(tmp_path / "soup.pt")
    assert set(soup["model"]) == set(tuned["model"]) and not soup["model_config"].get("handedness_head")
    for key, value in tuned["model"].items():
        if value.is_floating_point():
            torch.testing.assert_close(soup["model"][key], 0.75 * base["model"][key] + 0.25 * value,
                                       rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="differ in model_config"):
        interpolate_checkpoints(tmp_path / "tuned.pt", tmp_path / "base.pt", 0.5, tmp_path / "out.pt")


def test_interpolate_refuses_different_networks_and_bad_alpha(tmp_path):
    small_checkpoint(tmp_path / "a.pt", 1)
    small_checkpoint(tmp_path / "b.pt", 2, c=24)
    with pytest.raises(ValueError, match="differ in model_config"):
        interpolate_checkpoints(tmp_path / "a.pt", tmp_path / "b.pt", 0.5, tmp_path / "out.pt")
    base = small_checkpoint(tmp_path / "c.pt", 3)["model"]
    with pytest.raises(ValueError, match="alpha must be in 0..1"):
        interpolate_states(base, base, 1.5)
    with pytest.raises(ValueError, match="in only one of them"):
        interpolate_states(base, {**base, "extra": torch.zeros(1)}, 0.5)
    assert not (tmp_path / "out.pt").exists()


def test_a_checkpoint_older_than_a_config_field_interpolates_with_a_newer_one(tmp_path):
    """Session 18 added handedness_head (default off) to the hand config: a checkpoint written before it (no such
    key) holds the same network as one written after with the field off, and soups with it. The fine-tune's
    weight average (best.pt of a run with --ema-decay) is not carried into the soup."""
    old = small_checkpoint(tmp_path / "old.pt", 1)
    old["model_config"].pop("handedness_head")
    save_checkpoint(tmp_path / "old.pt", old)
    new = small_checkpoint(tmp_path / "new.pt", 2)
    new.update(ema={"weights": new["model"], "updates": 5, "decay": 0.99}, weights="ema")
    save_checkpoint(tmp_path / "new.pt", new)
    soup = interpolate_checkpoints(tmp_path / "old.pt", tmp_path / "new.pt", 0.5, tmp_path / "soup.pt")
    assert "ema" not in soup and "weights" not in soup
    key = next(k for k, v in new["model"].items() if v.is_floating_point())
    torch.testing.assert_close(soup["model"][key], 0.5 * (old["model"][key] + new["model"][key]))
    with_head = small_checkpoint(tmp_path / "head.pt", 3, handedness_head=True)
    assert with_head["model_config"]["handedness_head"] is True
    with pytest.raises(ValueError, match="differ in model_config"):
        interpolate_checkpoints(tmp_path / "old.pt", tmp_path / "head.pt", 0.5, tmp_path / "out.pt")


def test_cli_interpolate_then_export_runs_in_onnxruntime(tmp_path, capsys):
    small_checkpoint(tmp_path / "base.pt", 1)
    small_checkpoint(tmp_path / "tuned.pt", 2)
    assert main(["interpolate", str(tmp_path / "base.pt"), str(tmp_path / "tuned.pt"), "--alpha", "0.5",
                 "--out", str(tmp_path / "soup.pt")]) == 0
    assert "alpha 0.5" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "soup.pt"), "--out", str(tmp_path / "soup.onnx")]) == 0
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "soup.onnx"), providers=["CPUExecutionProvider"])
    heatmaps = session.run(["heatmaps"], {"crops": np.zeros((1, 3, 64, 64), np.float32)})[0]
    assert heatmaps.shape[:2] == (1, 21) and np.isfinite(heatmaps).all()
    assert main(["interpolate", str(tmp_path / "missing.pt"), str(tmp_path / "tuned.pt"), "--out",
                 str(tmp_path / "x.pt")]) == 2


def test_the_weight_average_of_a_last_checkpoint_exports_and_soups(tmp_path, capsys):
    """--average takes a last.pt's weight average (its run's EMA at that step) instead of its raw weights: the
    exported ONNX computes the average's heatmaps, the soup interpolates towards the average, and a checkpoint
    without an average is refused with the fix named."""
    raw = small_checkpoint(tmp_path / "raw.pt", 1)
    average = small_checkpoint(tmp_path / "average.pt", 2)["model"]
    last = {**raw, "ema": {"weights": average, "updates": 50, "decay": 0.998}, "optimizer": {"state": {}}}
    save_checkpoint(tmp_path / "last.pt", last)
    state = load_checkpoint(tmp_path / "last.pt", average=True)
    assert state["weights"] == "ema" and "optimizer" not in state and "ema" not in state
    key = next(k for k, v in average.items() if v.is_floating_point())
    assert torch.equal(state["model"][key], average[key]) and not torch.equal(raw["model"][key], average[key])

    crops = np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32)
    expected = {}
    for name, weights in (("raw", raw["model"]), ("average", average)):
        model = build_model("hand", raw["model_config"]).eval()
        model.load_state_dict(weights)
        with torch.no_grad():
            expected[name] = model(torch.from_numpy(crops)).numpy()
    assert main(["export", str(tmp_path / "last.pt"), "--average", "--out", str(tmp_path / "avg.onnx")]) == 0
    import onnxruntime as ort

    session = ort.InferenceSession(str(tmp_path / "avg.onnx"), providers=["CPUExecutionProvider"])
    heatmaps = session.run(["heatmaps"], {"crops": crops})[0]
    np.testing.assert_allclose(heatmaps, expected["average"], rtol=1e-4, atol=1e-5 * np.abs(heatmaps).max())
    assert np.abs(heatmaps - expected["raw"]).max() > 1e-3 * np.abs(heatmaps).max()

    base = small_checkpoint(tmp_path / "base.pt", 3)["model"]
    assert main(["interpolate", str(tmp_path / "base.pt"), str(tmp_path / "last.pt"), "--alpha", "0.5", "--average",
                 "--out", str(tmp_path / "soup.pt")]) == 0
    assert "its weight average" in capsys.readouterr().out
    soup = load_checkpoint(tmp_path / "soup.pt")
    torch.testing.assert_close(soup["model"][key], 0.5 * (base[key] + average[key]))
    assert soup["interpolated"]["tuned_average"] is True
    with pytest.raises(ValueError, match="holds no weight average.*--ema-decay"):
        load_checkpoint(tmp_path / "raw.pt", average=True)


def test_graft_head_keeps_the_network_and_takes_the_head(tmp_path, capsys):
    """handjoints graft-head: every weight but the head is NETWORK's (its heatmaps exactly), the head and its config
    are HEAD's; a head-less HEAD or another architecture is refused with the reason."""
    network = small_checkpoint(tmp_path / "net.pt", 1, handedness_head=True)
    head = small_checkpoint(tmp_path / "head.pt", 2, handedness_head=True, handedness_upright=True)
    out = tmp_path / "grafted.pt"
    assert main(["graft-head", str(tmp_path / "net.pt"), str(tmp_path / "head.pt"), "--out", str(out)]) == 0
    grafted = load_checkpoint(out)
    assert grafted["model_config"]["handedness_upright"] is True and "optimizer" not in grafted
    assert set(grafted["model"]) == set(head["model"])
    for key, value in grafted["model"].items():
        source = head if key.startswith("handedness.") else network
        assert torch.equal(value, source["model"][key]), key

    def outputs(state):
        model = build_model("hand", state["model_config"])
        model.load_state_dict(state["model"])
        with torch.no_grad():
            crops = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
            return model.eval().forward_with_handedness(crops)

    (net_maps, net_right), (maps, right) = outputs(network), outputs(grafted)
    torch.testing.assert_close(maps, net_maps, rtol=0, atol=0)
    assert not torch.equal(right, net_right)                         # the head is another one

    capsys.readouterr()
    small_checkpoint(tmp_path / "headless.pt", 3)
    assert main(["graft-head", str(tmp_path / "net.pt"), str(tmp_path / "headless.pt"), "--out", str(out)]) == 2
    assert "no handedness head to graft" in capsys.readouterr().err
    small_checkpoint(tmp_path / "wide.pt", 4, handedness_head=True, c=32)
    with pytest.raises(ValueError, match="different networks"):
        graft_head(tmp_path / "net.pt", tmp_path / "wide.pt", out)
