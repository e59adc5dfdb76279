"""The training runs' weight average (training/ema.py, TrainConfig.ema_decay, `train --ema-decay`)."""
import csv

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from handjoints_trt.cli import main as cli_main  # noqa: E402
from handjoints_trt.training.ema import WeightAverage  # noqa: E402
from handjoints_trt.training.loop import Trainer, load_checkpoint, validate_hand  # noqa: E402

from test_training_run import TINY_HAND, run, tiny_config  # noqa: E402


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))


def test_the_average_follows_its_formula_and_copies_integer_buffers():
    model = small_model()
    ema = WeightAverage(model, decay=0.9)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    for n in range(5):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(float(n + 1))
        model.train()(torch.randn(4, 3))   # moves BatchNorm's running statistics and its step counter
        d = min(0.9, (1 + n) / (10 + n))
        assert ema.current_decay() == pytest.approx(d)
        ema.update(model)
        for k, v in model.state_dict().items():
            expected[k] = d * expected[k] + (1 - d) * v if v.dtype.is_floating_point else v.clone()
    got = ema.module.state_dict()
    for k, v in expected.items():
        assert torch.allclose(got[k], v, atol=1e-5), k
    assert int(got["1.num_batches_tracked"]) == 5 and ema.updates == 5
    # The average is a copy: the model's own weights are not touched, and the copy takes no gradients.
    assert not torch.equal(got["0.weight"], model.state_dict()["0.weight"])
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_the_average_round_trips_through_its_state_dict():
    model = small_model()
    ema = WeightAverage(model, decay=0.99)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update(model)
    other = WeightAverage(small_model(), decay=0.99)
    other.load_state_dict(ema.state_dict())
    assert other.updates == 1
    assert torch.equal(other.module[0].weight, ema.module[0].weight)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="EMA decay must be in"):
        WeightAverage(small_model(), decay)


def test_a_run_with_the_average_validates_both_and_best_pt_holds_the_average(tmp_path):
    cfg = tiny_config(tmp_path, epochs=2, epoch_size=64, ema_decay=0.9)
    run(cfg)
    rows = list(csv.DictReader((tmp_path / "epochs.csv").open()))
    assert len(rows) == 2 and all("raw_val_pck@0.2" in r and "val_pck@0.2" in r for r in rows)
    last, best = load_checkpoint(tmp_path / "last.pt"), load_checkpoint(tmp_path / "best.pt")
    assert last["ema"]["updates"] == last["step"] == 8
    # last.pt goes on training the raw weights; its average is beside them, and differs from them.
    assert not torch.equal(last["model"]["sshfr.0.0.weight"], last["ema"]["weights"]["sshfr.0.0.weight"])
    # best.pt's weights are the average that was scored: validating them again gives its CSV row.
    assert best["weights"] == "ema"
    assert all(torch.equal(best["model"][k], best["ema"]["weights"][k]) for k in best["model"])
    row = rows[best["epoch"] - 1]
    trainer = Trainer(tiny_config(tmp_path / "rescore", epochs=2, epoch_size=64))
    try:
        trainer.model.load_state_dict(best["model"])
        again = validate_hand(trainer.model, trainer._loader(trainer.val_set, shuffle=False), trainer.device)
    finally:
        trainer.close()
    assert again["val_pck@0.2"] == pytest.approx(float(row["val_pck@0.2"]), abs=1e-9)
    assert again["val_epe_cells"] == pytest.approx(float(row["val_epe_cells"]), rel=1e-6)
    assert float(row["val_epe_cells"]) != float(row["raw_val_epe_cells"])


def test_a_resumed_run_carries_its_average_on(tmp_path):
    run(tiny_config(tmp_path / "whole", epochs=2, epoch_size=32, ema_decay=0.8))
    run(tiny_config(tmp_path / "split", epochs=1, epoch_size=32, ema_decay=0.8))
    run(tiny_config(tmp_path / "split", epochs=2, epoch_size=32, ema_decay=0.8))   # resumes at step 2
    whole = load_checkpoint(tmp_path / "whole" / "last.pt")["ema"]
    split = load_checkpoint(tmp_path / "split" / "last.pt")["ema"]
    assert whole["updates"] == split["updates"] == 4
    assert all(torch.equal(whole["weights"][k], split["weights"][k]) for k in whole["weights"])


def test_a_run_without_the_average_is_as_before(tmp_path):
    run(tiny_config(tmp_path, epochs=1, epoch_size=32))
    state = load_checkpoint(tmp_path / "best.pt")
    assert state["ema"] is None and "weights" not in state
    assert "raw_val_pck@0.2" not in next(csv.DictReader((tmp_path / "epochs.csv").open()))


def test_the_cli_passes_ema_decay(tmp_path):
    config = tmp_path / "model.json"
    config.write_text(__import__("json").dumps(TINY_HAND))
    out = tmp_path / "run"
    assert cli_main(["train", "hand", "--out", str(out), "--model", str(config), "--recipe", "hand-synthetic",
                     "--epochs", "1", "--epoch-size", "32", "--val-size", "16", "--batch-size", "16",
                     "--workers", "0", "--threads", "1", "--ema-decay", "0.95", "--quiet"]) == 0
    state = load_checkpoint(out / "last.pt")
    assert state["train_config"]["ema_decay"] == 0.95 and state["ema"]["updates"] == 2
    assert np.isclose(state["ema"]["decay"], 0.95)
