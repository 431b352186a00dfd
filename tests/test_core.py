"""Core utilities: registry, typed configs, atomic writes, joint encoding, sample sets."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pytest

from medgan_lib.atomic import atomic_open, write_json
from medgan_lib.config import ConfigError, from_dict, replace
from medgan_lib.data.dataset import DatasetError, PreparedDataset, from_joint, to_joint
from medgan_lib.hashing import hash_inputs
from medgan_lib.registry import Registry, UnknownNameError
from medgan_lib.samples import SampleSet, write_samples


def test_registry_lists_valid_names_on_unknown():
    reg: Registry[int] = Registry("widget")
    reg.register("b")(2)
    reg.register("a")(1)
    assert reg["a"] == 1 and reg.names() == ["a", "b"]
    with pytest.raises(UnknownNameError, match="unknown widget 'c'; valid names: a, b"):
        reg["c"]
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a")(3)


@dataclasses.dataclass
class _Inner:
    lr: float = 1e-3


@dataclasses.dataclass
class _Cfg:
    name: str = "x"
    steps: int = 10
    mode: Literal["a", "b"] = "a"
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    seeds: list[int] = dataclasses.field(default_factory=lambda: [0])


def test_config_from_dict_checks_keys_types_and_literals():
    cfg = from_dict(_Cfg, {"steps": 5, "inner": {"lr": 1}, "seeds": [1, 2]})
    assert cfg.steps == 5 and cfg.inner.lr == 1.0 and isinstance(cfg.inner.lr, float) and cfg.seeds == [1, 2]
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['stepz'\]"):
        from_dict(_Cfg, {"stepz": 5})
    with pytest.raises(ConfigError, match=r"config.steps: expected int"):
        from_dict(_Cfg, {"steps": "5"})
    with pytest.raises(ConfigError, match=r"config.mode: 'c' is not one of \['a', 'b'\]"):
        from_dict(_Cfg, {"mode": "c"})
    with pytest.raises(ConfigError, match=r"inner.lr"):
        replace(cfg, inner={"lr": "fast"})


def test_atomic_open_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "x.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text().strip().startswith("{") and '"a": 1' in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_atomic_writes_keep_the_umask_mode(tmp_path):
    """Shared reports must be readable by others: 0666 less the umask, as open() gives, not mkstemp's 0600."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "index.json", {"a": 1})
        assert stat.S_IMODE((tmp_path / "index.json").stat().st_mode) == 0o644
        os.umask(0o027)
        write_json(tmp_path / "group.json", {"a": 1})
        assert stat.S_IMODE((tmp_path / "group.json").stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_hash_inputs_is_order_free_and_value_sensitive():
    assert hash_inputs({"a": 1, "b": 2}) == hash_inputs({"b": 2, "a": 1})
    assert hash_inputs({"a": 1}) != hash_inputs({"a": 2})


def _dataset(n=6, k=4, c=1, size=8, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (n, c, size, size)).astype(np.float32)
    masks = rng.integers(0, k, (n, size, size)).astype(np.uint8)
    labels = ("background",) + tuple(f"l{i}" for i in range(1, k))
    return PreparedDataset("toy", "train", images, masks, np.array([f"p{i // 2}" for i in range(n)]), labels)


def test_joint_roundtrip_recovers_images_and_masks():
    ds = _dataset()
    joint = ds.joint()
    assert joint.shape == (6, 1 + 4, 8, 8) and ds.joint_channels == 5
    assert set(np.unique(joint[:, 1:])) == {-1.0, 1.0}
    images, masks = from_joint(joint, 1, 4)
    np.testing.assert_array_equal(masks, ds.masks)
    np.testing.assert_allclose(images, ds.images)


def test_joint_without_mask_has_only_image_channels():
    ds = _dataset(k=1)
    assert ds.joint().shape == (6, 1, 8, 8)
    _, masks = from_joint(ds.joint(), 1, 1)
    assert masks.sum() == 0


def test_dataset_validation_names_the_problem():
    ds = _dataset()
    with pytest.raises(DatasetError, match=r"mask values \[7\] are not in the label map"):
        PreparedDataset("toy", "train", ds.images, np.full_like(ds.masks, 7), ds.patient_ids, ds.label_names)
    bad = ds.images.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(DatasetError, match="NaN"):
        PreparedDataset("toy", "train", bad, ds.masks, ds.patient_ids, ds.label_names)
    with pytest.raises(DatasetError, match="masks must be"):
        PreparedDataset("toy", "train", ds.images, ds.masks[:, :4], ds.patient_ids, ds.label_names)


def test_dataset_save_load_roundtrip(tmp_path):
    ds = _dataset()
    ds.meta["source"] = "toy"
    back = PreparedDataset.load(ds.save(tmp_path / "d.npz"))
    np.testing.assert_array_equal(back.images, ds.images)
    np.testing.assert_array_equal(back.masks, ds.masks)
    assert back.label_names == ds.label_names and back.meta == {"source": "toy"}
    with pytest.raises(DatasetError, match="does not exist"):
        PreparedDataset.load(tmp_path / "missing.npz")


def test_sample_set_shards_and_reads_back_in_batches(tmp_path):
    ds = _dataset(n=25)
    batches = ((ds.images[i:i + 7], ds.masks[i:i + 7]) for i in range(0, 25, 7))
    samples = write_samples(tmp_path / "s", batches, {"run": "toy"}, shard_size=10)
    assert len(samples) == 25 and len(samples.shards) == 3 and samples.meta["run"] == "toy"
    images, masks = SampleSet(tmp_path / "s").load()
    np.testing.assert_array_equal(masks, ds.masks)
    assert np.abs(images - ds.images).max() <= 1 / 127.5 + 1e-6
    assert sum(len(b[0]) for b in samples.iter_batches(limit=13)) == 13
