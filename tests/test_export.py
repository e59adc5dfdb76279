"""ONNX export of both stages for real: dynamic axes, metadata, parity with PyTorch, atomic writes."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxscript")
import onnxruntime as ort  # noqa: E402

from handjoints_trt.fileio import default_file_mode  # noqa: E402
from handjoints_trt.export import onnx_export as E  # noqa: E402
from handjoints_trt.models import build_model  # noqa: E402
from handjoints_trt.models.config import hand_config, localizer_config  # noqa: E402
from handjoints_trt.training.loop import save_checkpoint  # noqa: E402


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    torch.manual_seed(0)
    cfg = hand_config("lite").to_dict()
    model = build_model("hand", cfg).eval()
    path = tmp_path_factory.mktemp("export") / "hand.onnx"
    report = E.export_hand(model, cfg, path, recipe_hash="abc123")
    return model, cfg, path, report


@pytest.fixture(scope="module")
def localizer(tmp_path_factory):
    torch.manual_seed(0)
    cfg = localizer_config("lite").to_dict()
    model = build_model("localizer", cfg).eval()
    path = tmp_path_factory.mktemp("export") / "localizer.onnx"
    return model, cfg, path, E.export_localizer(model, cfg, path)


def test_hand_export_has_a_dynamic_batch_and_matches_pytorch(hand):
    model, cfg, path, report = hand
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, out.name) == ("crops", "heatmaps")
    assert not isinstance(inp.shape[0], int)            # symbolic batch axis
    for batch in (1, 5):
        x = np.random.default_rng(batch).uniform(-0.5, 0.5, (batch, 3, 128, 128)).astype(np.float32)
        got = session.run(None, {"crops": x})[0]
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        assert got.shape == (batch, 21, 32, 32)
        np.testing.assert_allclose(got, ref, atol=1e-4 * max(1.0, np.abs(ref).max()))
    assert report.max_abs < 1e-4 and report.joint_max_cells < 0.1


def test_localizer_export_takes_any_multiple_of_32(localizer):
    model, cfg, path, report = localizer
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["centers", "sizes", "offsets"]
    x = np.zeros((1, 3, 224, 384), np.float32)
    centers, sizes, offsets = session.run(None, {"frame": x})
    assert centers.shape == (1, 1, 56, 96) and sizes.shape == (1, 2, 56, 96) and offsets.shape == (1, 2, 56, 96)
    with torch.no_grad():
        ref = model(torch.from_numpy(x))
    np.testing.assert_allclose(centers, ref["centers"].numpy(), atol=1e-4)


def test_metadata_tells_a_runtime_everything(hand, localizer):
    meta = E.read_metadata(hand[2])
    assert meta["kind"] == "hand" and meta["input_size"] == "128" and meta["stride"] == "4"
    assert meta["recipe_hash"] == "abc123" and meta["normalization"].startswith("float32 NCHW BGR")
    assert meta["joints"].startswith('["wrist", "thumb_cmc"')
    assert hand_config(__import__("json").loads(meta["config"])).to_dict() == hand[1]
    # The runtime reads it through ONNX Runtime alone (no onnx package needed).
    custom = ort.InferenceSession(str(hand[2])).get_modelmeta().custom_metadata_map
    assert custom["handjoints.kind"] == "hand"
    assert E.read_metadata(localizer[2])["input_size"] == "384x384"


def test_parity_check_fails_loudly_when_the_onnx_file_is_wrong(hand, tmp_path):
    model, cfg, path, _ = hand
    other = build_model("hand", cfg).eval()               # different random weights
    with pytest.raises(E.ExportParityError, match="differs from PyTorch"):
        E.check_parity(other, path, "hand", tolerance=1e-3)


def test_export_checkpoint_writes_atomically_and_leaves_nothing_behind(tmp_path):
    cfg = hand_config("lite", crop_size=64, sshfr_channels=(16,) * 10, c=16, num_msff=1).to_dict()
    model = build_model("hand", cfg)
    save_checkpoint(tmp_path / "best.pt", {"model": model.state_dict(), "model_config": cfg, "stage": "hand",
                                           "recipe_hash": "r1"})
    out = tmp_path / "out" / "hand.onnx"
    report = E.export_checkpoint(tmp_path / "best.pt", out)
    assert out.is_file() and report.max_abs < 1e-4
    assert sorted(p.name for p in out.parent.iterdir()) == ["hand.onnx"]
    assert out.stat().st_mode & 0o777 == default_file_mode()  # as readable as any new file, not owner-only
    assert E.read_metadata(out)["recipe_hash"] == "r1"


def test_export_checkpoint_refuses_a_foreign_file(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"weights": 1}, bad)
    with pytest.raises(ValueError, match="not a handjoints_trt checkpoint"):
        E.export_checkpoint(bad, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()
