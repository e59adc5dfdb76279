"""Deepening a trained hand network (models/widen.py deepen_hand_state, train --init-from): the first N MSFFs
are kept exactly and every added MSFF starts as a copy of the last one, refining its heatmaps."""
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt.models import build_hand_net, hand_config  # noqa: E402
from handjoints_trt.models.widen import deepen_hand_state  # noqa: E402
from handjoints_trt.training.loop import TrainConfig, Trainer, load_checkpoint, save_checkpoint  # noqa: E402
from handjoints_trt.training.recipes import RECIPES  # noqa: E402

SMALL = dict(crop_size=64)   # the lite channels on a small crop: fast, same module layout


def trained_like(config):
    """A hand network with random weights and random BatchNorm statistics (fresh 0/1 stats would hide a
    statistic copied from the wrong module)."""
    torch.manual_seed(0)
    model = build_hand_net(config).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model


@pytest.mark.parametrize("old_n, new_n", [(2, 3), (3, 5)])
def test_deepened_network_keeps_its_stages_and_refines_the_last(old_n, new_n):
    old_cfg, new_cfg = hand_config("lite", num_msff=old_n, **SMALL), hand_config("lite", num_msff=new_n, **SMALL)
    old = trained_like(old_cfg)
    deep = build_hand_net(new_cfg).eval()
    deep.load_state_dict(deepen_hand_state(old.state_dict(), old_cfg, new_cfg))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before, after = old(x, return_all=True), deep(x, return_all=True)
        assert len(after) == new_n
        for a, b in zip(before, after[:old_n]):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        # the first added MSFF is the last trained one applied to the last trained heatmaps
        shallow = old.features(x)
        expected = old.msff[-1](old.handoff[-1](shallow, before[-1]))
        torch.testing.assert_close(after[old_n], expected, rtol=1e-5, atol=1e-5)
        assert float((after[old_n] - before[-1]).abs().max()) > 0   # a new stage, not the old output passed on


def test_deepen_refuses_what_it_cannot_grow():
    old = hand_config("lite", **SMALL)
    state = build_hand_net(old).state_dict()
    with pytest.raises(ValueError, match=r"\['c'\]"):
        deepen_hand_state(state, old, hand_config("lite", c=48, num_msff=4, **SMALL))
    with pytest.raises(ValueError, match="only num_msff may grow"):
        deepen_hand_state(state, old, hand_config("lite", num_msff=2, **SMALL))
    single = hand_config("lite", num_msff=1, **SMALL)
    with pytest.raises(ValueError, match="single-MSFF"):
        deepen_hand_state(build_hand_net(single).state_dict(), single, old)


def test_trainer_init_from_deepens_a_shallower_checkpoint(tmp_path):
    old_cfg = hand_config("lite")
    old = trained_like(old_cfg)
    source = tmp_path / "lite.pt"
    save_checkpoint(source, {"model": old.state_dict(), "model_config": old_cfg.to_dict(), "stage": "hand",
                             "step": 7, "best": 0.5})
    cfg = TrainConfig(stage="hand", out_dir=str(tmp_path / "deep"), model="deep", recipe=RECIPES["hand-synthetic"],
                      epochs=1, epoch_size=4, val_size=2, batch_size=2, num_workers=0, threads=1, progress=False,
                      init_from=str(source))
    trainer = Trainer(cfg)
    try:
        trainer.model.eval()
        x = torch.randn(1, 3, 128, 128)
        with torch.no_grad():
            before, after = old(x, return_all=True), trainer.model(x, return_all=True)
        assert len(after) == 4
        torch.testing.assert_close(before[-1], after[2], rtol=0, atol=0)
        trainer._checkpoint()
    finally:
        trainer.close()
    assert load_checkpoint(tmp_path / "deep" / "last.pt")["model_config"]["num_msff"] == 4
    with pytest.raises(ValueError, match="only num_msff may grow"):
        Trainer(TrainConfig(stage="hand", out_dir=str(tmp_path / "paper"), model="paper",
                            recipe=RECIPES["hand-synthetic"], num_workers=0, progress=False,
                            init_from=str(source))).close()


@pytest.mark.parametrize("shallow, deeper", [("lite", "deep"), ("deep", "deep5")])
def test_deeper_presets_grow_from_the_one_before(shallow, deeper):
    """Each deeper preset is the one before it with one more MSFF, so train --init-from can grow a trained one."""
    old_cfg, new_cfg = hand_config(shallow), hand_config(deeper)
    assert new_cfg.num_msff == old_cfg.num_msff + 1
    assert {**new_cfg.to_dict(), "num_msff": 0} == {**old_cfg.to_dict(), "num_msff": 0}
    state = deepen_hand_state(build_hand_net(old_cfg).state_dict(), old_cfg, new_cfg)
    build_hand_net(new_cfg).load_state_dict(state)      # strict: every tensor present, every shape right
