"""fileio: atomic writes keep the old file on failure, leave no debris, and give files the umask's mode
(mkstemp alone makes them owner-only, which breaks a shared engine cache or a model read by a service user)."""
import os

import pytest

from handjoints_trt.fileio import atomic_path, atomic_write, default_file_mode


@pytest.fixture
def umask():
    def set_umask(value):
        os.umask(value)
    old = os.umask(0o022)
    yield set_umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask, mask, mode):
    umask(mask)
    assert default_file_mode() == mode
    path = atomic_write(tmp_path / "a.json", "{}")
    assert path.stat().st_mode & 0o777 == mode
    assert os.umask(mask) == mask  # reading the mode left the umask as it was


def test_text_and_bytes_round_trip_and_parents_are_made(tmp_path):
    atomic_write(tmp_path / "sub" / "t.txt", "héllo")
    atomic_write(tmp_path / "sub" / "b.bin", b"\x00\x01")
    assert (tmp_path / "sub" / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"


def test_a_failing_writer_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "model.onnx"
    atomic_write(target, b"old")
    with pytest.raises(RuntimeError, match="crashed"):
        with atomic_path(target, ".onnx") as tmp:
            tmp.write_bytes(b"half a mod")
            raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_the_temporary_file_sits_beside_the_target_with_its_suffix(tmp_path):
    with atomic_path(tmp_path / "best.pt", ".pt") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".pt" and tmp.name.startswith(".best.pt.")
        assert not (tmp_path / "best.pt").exists()  # nothing under the final name until the rename
        tmp.write_bytes(b"x")
    assert (tmp_path / "best.pt").read_bytes() == b"x"
