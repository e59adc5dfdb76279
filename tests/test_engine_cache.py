"""engines.cache: keys, file names, atomic writes, sidecars, and the precise errors for stale/foreign/damaged
engines. Pure Python: everything here runs for real on the CPU."""
from __future__ import annotations

import json
import os

import pytest

from handjoints_trt.engines.cache import (EngineCache, EngineFileError, EngineKey, EngineMismatchError,
                                          atomic_write_bytes, sidecar_path, validate_engine_file)

SHA = "ab" * 32
SHAPES = {"crops": ((1, 3, 128, 128), (2, 3, 128, 128), (16, 3, 128, 128))}


def key(**kw) -> EngineKey:
    args = dict(model_sha256=SHA, precision="fp16", shapes=SHAPES, trt_version="10.3.0",
                compute_capability="8.7", dla_core=None)
    args.update(kw)
    return EngineKey(**args)


def test_file_name_is_stable_readable_and_unique_per_field():
    k = key()
    assert k.file_name() == key().file_name()
    assert k.file_name().startswith("abababababababab-fp16-sm87-trt10.3.0-gpu-")
    assert k.file_name().endswith(".engine")
    variants = [key(model_sha256="cd" * 32), key(precision="int8"), key(trt_version="10.4.0"),
                key(compute_capability="8.6"), key(dla_core=0),
                key(shapes={"crops": ((1, 3, 128, 128), (2, 3, 128, 128), (32, 3, 128, 128))})]
    names = {v.file_name() for v in variants} | {k.file_name()}
    assert len(names) == len(variants) + 1
    assert "dla0" in key(dla_core=0).file_name()


def test_shapes_are_normalized_so_equal_profiles_give_equal_keys():
    as_lists = {"crops": [[1, 3, 128, 128], [2, 3, 128, 128], [16, 3, 128, 128]]}
    assert key(shapes=as_lists) == key()
    assert EngineKey.from_dict(key().to_dict()) == key()
    assert json.loads(json.dumps(key().to_dict())) == key().to_dict()


@pytest.mark.parametrize("kw, match", [
    ({"precision": "int4"}, "precision"),
    ({"model_sha256": "xyz"}, "model_sha256"),
    ({"dla_core": -1}, "dla_core"),
    ({"shapes": {"crops": ((1, 3), (4, 3), (2, 3))}}, "min <= opt <= max"),
    ({"shapes": {"crops": ((1, 3), (2, 3))}}, r"\(min, opt, max\)"),
])
def test_bad_keys_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        key(**kw)


def test_write_then_load_roundtrip_with_sidecar(tmp_path):
    cache = EngineCache(tmp_path / "engines")
    data = os.urandom(4096)
    path = cache.write(key(), data, {"build_seconds": 12.5, "builder_options": {"workspace_mb": 512}})
    assert path == cache.path_for(key()) and path.read_bytes() == data
    side = json.loads(sidecar_path(path).read_text())
    assert side["key"] == key().to_dict() and side["engine_bytes"] == 4096
    assert side["builder_options"] == {"workspace_mb": 512} and side["build_seconds"] == 12.5
    assert "built_at" in side and "handjoints_version" in side
    assert cache.load(key()) == data and cache.contains(key())
    assert [e["key"] for e in cache.entries()] == [key().to_dict()]
    # no temp files left behind
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, sidecar_path(path).name])


def test_load_missing_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no cached engine"):
        EngineCache(tmp_path).load(key())


def test_damaged_engine_is_detected(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.write(key(), b"x" * 100)
    path.write_bytes(b"x" * 50)  # a truncated copy
    with pytest.raises(EngineFileError, match="damaged or replaced"):
        cache.load(key())
    path.write_bytes(b"")
    with pytest.raises(EngineFileError, match="empty file"):
        cache.load(key())


def test_sidecar_for_another_key_names_the_field(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.write(key(), b"engine")
    side = json.loads(sidecar_path(path).read_text())
    side["key"]["trt_version"] = "8.5.2"
    sidecar_path(path).write_text(json.dumps(side))
    with pytest.raises(EngineMismatchError, match=r"trt_version: engine has '8.5.2', expected '10.3.0'.*rebuilt") as e:
        cache.load(key())
    assert e.value.fields == ("trt_version",)


def test_foreign_or_missing_sidecar(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.write(key(), b"engine")
    sidecar_path(path).write_text("{not json")
    with pytest.raises(EngineFileError, match="unreadable sidecar"):
        cache.load(key())
    sidecar_path(path).write_text(json.dumps({"format": "someone-else/3"}))
    with pytest.raises(EngineFileError, match="not a handjoints engine sidecar"):
        cache.load(key())
    sidecar_path(path).unlink()
    with pytest.raises(EngineFileError, match="no sidecar"):
        cache.load(key())


def test_validate_user_engine_file(tmp_path):
    cache = EngineCache(tmp_path)
    path = cache.write(key(), b"engine bytes")
    meta = validate_engine_file(path, {"trt_version": "10.3.0", "compute_capability": "8.7", "dla_core": None})
    assert meta["key"]["precision"] == "fp16"
    assert validate_engine_file(path, key())["engine_bytes"] == len(b"engine bytes")
    with pytest.raises(EngineMismatchError, match=r"compute_capability: engine has '8.7', expected '8.9' "
                                                  r"\(engines only run on the GPU architecture") as e:
        validate_engine_file(path, {"trt_version": "10.3.0", "compute_capability": "8.9"})
    assert e.value.fields == ("compute_capability",)
    with pytest.raises(EngineMismatchError) as e:
        validate_engine_file(path, key(trt_version="11.0.0", dla_core=1))
    assert set(e.value.fields) == {"trt_version", "dla_core"}
    assert "handjoints build" in str(e.value)


def test_validate_user_engine_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        validate_engine_file(tmp_path / "absent.engine")
    bare = tmp_path / "mine.engine"
    bare.write_bytes(b"\x00" * 64)
    with pytest.raises(EngineFileError, match="no sidecar mine.engine.json"):
        validate_engine_file(bare)


def test_atomic_write_keeps_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "a.engine"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.engine"]  # the temp file was removed


def test_default_folder_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDJOINTS_ENGINE_CACHE", str(tmp_path / "here"))
    assert EngineCache().folder == tmp_path / "here"
    monkeypatch.delenv("HANDJOINTS_ENGINE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert EngineCache().folder == tmp_path / "xdg" / "handjoints_trt" / "engines"


def test_empty_engine_is_not_cached(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        EngineCache(tmp_path).write(key(), b"")
