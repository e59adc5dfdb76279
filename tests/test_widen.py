"""Widening a trained localizer (models/widen.py, train --init-from): the wider network computes the same maps."""
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt.models import build_localizer, localizer_config  # noqa: E402
from handjoints_trt.models.widen import widen_localizer_state  # noqa: E402
from handjoints_trt.training.loop import TrainConfig, Trainer, load_checkpoint, save_checkpoint  # noqa: E402
from handjoints_trt.training.recipes import RECIPES  # noqa: E402

WIDER = dict(backbone_channels=(16, 32, 64, 96, 128), neck_channels=(96, 64, 32), stage_channels=48)


def trained_like(config):
    """A localizer with random weights *and* random BatchNorm statistics (a fresh one has 0/1 stats, which
    would hide a statistic copied to the wrong channel)."""
    torch.manual_seed(0)
    model = build_localizer(config).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model


def maps(model, x):
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize("stages", [1, 2])
def test_widened_localizer_computes_the_same_maps(stages):
    old = localizer_config("lite", num_stages=stages, stage_depth=2)
    new = localizer_config(old, **WIDER)
    narrow = trained_like(old)
    wide = build_localizer(new).eval()
    wide.load_state_dict(widen_localizer_state(narrow.state_dict(), old, new, noise=0.0))
    x = torch.randn(2, 3, 96, 128)
    a, b = maps(narrow, x), maps(wide, x)
    for key in ("centers", "sizes", "offsets"):
        torch.testing.assert_close(b[key], a[key], atol=1e-4, rtol=1e-4)
    assert sum(p.numel() for p in wide.parameters()) > 1.5 * sum(p.numel() for p in narrow.parameters())


def test_noise_breaks_the_copies_symmetry_and_keeps_the_function_close():
    old, new = localizer_config("lite"), localizer_config("lite", **WIDER)
    narrow = trained_like(old)
    state = widen_localizer_state(narrow.state_dict(), old, new, noise=0.01, seed=3)
    w = state["backbone.levels.2.0.0.weight"]                    # 32 -> 64 output channels
    copies = [j for j in range(32, 64) if any(torch.allclose(w[j], w[i]) for i in range(32))]
    assert copies == []                                          # no copy is identical to its original
    wide = build_localizer(new).eval()
    wide.load_state_dict(state)
    x = torch.randn(1, 3, 96, 96)
    a, b = maps(narrow, x), maps(wide, x)
    assert 0 < float((a["centers"] - b["centers"]).abs().max()) < 0.05


def test_widen_refuses_what_it_cannot_preserve():
    old = localizer_config("lite")
    state = build_localizer(old).state_dict()
    with pytest.raises(ValueError, match="backbone_depth"):
        widen_localizer_state(state, old, localizer_config("lite", backbone_depth=(0, 3, 2, 2)))
    with pytest.raises(ValueError, match="shrink"):
        widen_localizer_state(state, old, localizer_config("lite", neck_channels=(64, 32, 16)))


def test_trainer_init_from_widens_a_narrower_checkpoint_once(tmp_path):
    old = localizer_config("lite")
    narrow = trained_like(old)
    source = tmp_path / "narrow.pt"
    save_checkpoint(source, {"model": narrow.state_dict(), "model_config": old.to_dict(), "stage": "localizer",
                             "step": 123, "best": 0.5})
    cfg = TrainConfig(stage="localizer", out_dir=str(tmp_path / "wide"), model="wide",
                      recipe=RECIPES["localizer-synthetic"], epochs=1, epoch_size=4, val_size=2, batch_size=2,
                      num_workers=0, threads=1, progress=False, init_from=str(source))
    trainer = Trainer(cfg)
    try:
        x = torch.randn(1, 3, 64, 96)
        trainer.model.eval()
        a, b = maps(narrow, x), maps(trainer.model, x)
        assert float((a["centers"] - b["centers"]).abs().max()) < 0.05      # widened, noise 0.01
        trainer._checkpoint()
    finally:
        trainer.close()
    assert load_checkpoint(tmp_path / "wide" / "last.pt")["model_config"]["backbone_channels"] == [16, 32, 64, 96, 128]
    with pytest.raises(ValueError, match="hand"):
        Trainer(TrainConfig(stage="hand", out_dir=str(tmp_path / "h"), recipe=RECIPES["hand-synthetic"],
                            num_workers=0, progress=False, init_from=str(source))).close()
