"""Files the study reads never run code, and damaged ones are found and named (issue 20).

A crafted pickle (its ``__reduce__`` creates a marker folder) at every user-loadable path is refused without
running; older checkpoints are refused until explicitly upgraded; truncated, bit-flipped or shortened
checkpoints and sample shards are refused with the file named; damaged caches are rebuilt with a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle

import numpy as np
import pytest
import torch

from medgan_lib.atomic import ArtefactError, save_npz
from medgan_lib.data import prepare
from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.metrics import MedFIDConfig, extract_features, fit_medfid, get_extractor
from medgan_lib.metrics import medfid as medfid_module
from medgan_lib.metrics.medfid import load_medfid
from medgan_lib.samples import SampleSet, write_samples
from medgan_lib.segmentation import build_unet, load_unet, save_unet
from medgan_lib.training import Run, sample, train_gan
from test_training import stats, tiny_config, tiny_data


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


class Payload:
    """Unpickling this calls ``os.mkdir(marker)``: the proof that a load ran code from the file."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def craft(path, marker, kind: str = "torch") -> None:
    """Write a malicious file at ``path``: a torch zip checkpoint or a plain (legacy) pickle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "torch":
        torch.save({"gan": Payload(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"gan": Payload(marker)}))


def record_as_valid(run: Run) -> None:
    """Point ``last.json`` at the current ``last.pt`` (as an attacker who shares the whole run folder would)."""
    from medgan_lib.hashing import sha256_file

    info = json.loads(run.checkpoint_info_file.read_text())
    info.update(size=run.checkpoint_file.stat().st_size, sha256=sha256_file(run.checkpoint_file), previous=None)
    run.checkpoint_info_file.write_text(json.dumps(info))


def flip_byte(path, where: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


@pytest.fixture
def run(tmp_path) -> Run:
    return Run(train_gan(tiny_config(iterations=2), tmp_path, data=tiny_data()))


# --- 1. no file the study loads can run code ---

def test_the_payload_is_live(tmp_path):
    """Guards the tests below: an unsafe load of a crafted file does create the marker."""
    for kind in ("torch", "pickle"):
        marker = tmp_path / f"ran-{kind}"
        craft(tmp_path / f"{kind}.pt", marker, kind)
        with contextlib.suppress(RuntimeError):  # a plain pickle runs, then fails torch's magic-number check
            torch.load(tmp_path / f"{kind}.pt", weights_only=False)
        assert marker.is_dir()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the plain pickle's protocol
@pytest.mark.parametrize("kind", ["torch", "pickle"])
@pytest.mark.parametrize("recorded", [False, True], ids=["stale-record", "matching-record"])
def test_crafted_gan_checkpoint_is_refused_by_load_and_resume(run, tmp_path, kind, recorded):
    marker = tmp_path / "ran"
    craft(run.checkpoint_file, marker, kind)
    if recorded:  # the hash check passes: only weights_only=True stands between the file and the payload
        record_as_valid(run)
    expected = "refused" if recorded else "damaged"
    with pytest.raises(ArtefactError, match=rf"{expected}(.|\n)*") as err:
        Run(run.path).load(device="cpu")
    assert str(run.checkpoint_file) in str(err.value)
    with pytest.raises(ArtefactError, match=expected) as err:
        train_gan(tiny_config(iterations=4), tmp_path, resume=run.path, data=tiny_data())
    assert str(run.checkpoint_file) in str(err.value)
    assert not marker.exists()


def test_crafted_unet_and_medfid_checkpoints_are_refused(tmp_path):
    marker = tmp_path / "ran"
    for path, load in ((tmp_path / "unet.pt", load_unet), (tmp_path / "medfid.pt", load_medfid)):
        craft(path, marker)
        with pytest.raises(ArtefactError, match="refused(.|\n)*unsupported GLOBAL posix.mkdir") as err:
            load(path)
        assert str(path) in str(err.value)
    assert not marker.exists()
    unet = build_unet(1, 3, "quick")
    model, info = load_unet(save_unet(tmp_path / "good.pt", unet, label_names=("background", "a", "b")))
    assert info["label_names"] == ("background", "a", "b") and not model.training


@pytest.fixture
def tiny_medfid(monkeypatch):
    """(images, labels, config, path) of a MedFID head trained in seconds on pixel features (not Inception)."""
    real_get = medfid_module.get_extractor
    monkeypatch.setattr(medfid_module, "get_extractor", lambda name, **kw: real_get("pixels"))
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (8, 3, 16, 16), dtype=np.uint8), np.repeat([0, 1], 4)
    config = MedFIDConfig(width=8, epochs=1)
    return images, labels, config, fit_medfid(images, labels, ("a", "b"), config, progress=False)


def test_crafted_medfid_cache_is_retrained_without_running(tmp_path, tiny_medfid):
    images, labels, config, path = tiny_medfid
    craft(path, tmp_path / "ran")
    with pytest.warns(UserWarning, match=rf"{path}(.|\n)*training the MedFID extractor again"):
        assert fit_medfid(images, labels, ("a", "b"), config, progress=False) == path
    assert not (tmp_path / "ran").exists() and load_medfid(path)[1]["classes"] == ["a", "b"]


def test_medfid_head_with_changed_weights_is_refused_and_retrained(tmp_path, tiny_medfid):
    images, labels, config, path = tiny_medfid
    good = load_medfid(path)[1]
    record = torch.load(path, weights_only=True)
    name = next(iter(record["head"]))
    record["head"][name].view(-1)[0] += 1.0  # one weight changed, the recorded hash kept: a silent corruption
    torch.save(record, path)
    with pytest.raises(ArtefactError, match=f"MedFID checkpoint {path} is damaged: its head's weights"):
        load_medfid(path)
    with pytest.warns(UserWarning, match="training the MedFID extractor again"):
        assert fit_medfid(images, labels, ("a", "b"), config, progress=False) == path
    assert torch.equal(load_medfid(path)[0].state_dict()[name], good["head"][name])


def test_old_checkpoint_is_refused_until_upgraded_and_then_resumes_exactly(tmp_path):
    straight = train_gan(tiny_config(iterations=4), tmp_path / "straight", data=tiny_data())
    half = Run(train_gan(tiny_config(iterations=2), tmp_path / "resumed", data=tiny_data()))
    state = half.read_checkpoint()  # rewrite it as an older medgan_lib did: NumPy state tuple, no hash
    name, keys, pos, has_gauss, gauss = state["rng"]["numpy"]
    state["rng"]["numpy"] = (name, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss)
    torch.save(state, half.checkpoint_file)
    half.checkpoint_info_file.write_text(json.dumps({"step": 2, "wall": state["wall"]}))
    with pytest.raises(ArtefactError, match=r"older medgan_lib(.|\n)*upgrade_checkpoint\(trusted=True\)") as err:
        half.load(device="cpu")
    assert str(half.checkpoint_file) in str(err.value)
    with pytest.raises(ArtefactError, match="older medgan_lib"):
        train_gan(tiny_config(iterations=4), tmp_path / "resumed", data=tiny_data())
    with pytest.raises(ValueError, match="trusted=True"):
        half.upgrade_checkpoint()
    half.upgrade_checkpoint(trusted=True)
    resumed = train_gan(tiny_config(iterations=4), tmp_path / "resumed", data=tiny_data())
    assert resumed == half.path and stats(resumed) == stats(straight)
    a, b = Run(straight).read_checkpoint()["gan"], Run(resumed).read_checkpoint()["gan"]
    assert all(torch.equal(a[k], b[k]) for k in a)


# --- 2. damaged artefacts are found and named ---

@pytest.mark.parametrize("damage", [truncate, flip_byte], ids=["truncated", "flipped"])
def test_damaged_checkpoint_is_refused_naming_the_file(run, tmp_path, damage):
    info = json.loads(run.checkpoint_info_file.read_text())
    damage(run.checkpoint_file)
    for attempt in (lambda: run.load(device="cpu"),
                    lambda: train_gan(tiny_config(iterations=4), tmp_path, resume=run.path, data=tiny_data())):
        with pytest.raises(ArtefactError, match=rf"damaged(.|\n)*expects {info['size']} bytes with SHA-256 "
                                                rf"{info['sha256']}") as err:
            attempt()
        assert str(run.checkpoint_file) in str(err.value)


def test_kill_between_record_and_checkpoint_keeps_the_previous_one(run, monkeypatch):
    import medgan_lib.atomic as atomic

    before = run.read_checkpoint()
    replace = os.replace

    def killed(src, dst):
        if str(dst).endswith("last.pt"):
            raise KeyboardInterrupt("killed before last.pt was replaced")
        replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        run.write_checkpoint({**before, "step": 3})
    monkeypatch.setattr(atomic.os, "replace", replace)
    assert json.loads(run.checkpoint_info_file.read_text())["step"] == 3  # the record went ahead ...
    assert run.read_checkpoint()["step"] == 2  # ... and the checkpoint on disk still verifies, as "previous"
    run.write_checkpoint({**before, "step": 4})
    assert json.loads(run.checkpoint_info_file.read_text())["previous"]["step"] == 2
    assert run.read_checkpoint()["step"] == 4


def test_stray_temporary_files_are_removed_on_resume(run, tmp_path):
    stray = [run.checkpoint_file.parent / ".last.pt.k1ll3d.tmp", run.checkpoint_file.parent / ".last.json.x.tmp"]
    for path in stray:
        path.write_bytes(b"half a checkpoint")
    train_gan(tiny_config(iterations=4), tmp_path, resume=run.path, data=tiny_data())
    assert not any(p.exists() for p in stray) and run.read_checkpoint()["step"] == 4


def sample_set(tmp_path, n: int = 25):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n, 1, 8, 8)).astype(np.float32)
    masks = rng.integers(0, 3, (n, 8, 8)).astype(np.uint8)
    return write_samples(tmp_path / "s", [(images, masks)], {"run": "toy"}, shard_size=10)


def test_sample_shards_carry_sizes_and_hashes_and_the_same_samples_give_the_same_bytes(tmp_path):
    samples = sample_set(tmp_path)
    assert [f["count"] for f in samples.meta["shard_files"]] == [10, 10, 5]
    assert all(len(f["sha256"]) == 64 and f["bytes"] == (samples.path / f["file"]).stat().st_size
               for f in samples.meta["shard_files"])
    first = samples.meta["shard_files"]
    assert sample_set(tmp_path).meta["shard_files"] == first  # rewritten: byte-identical shards
    assert len(samples.verify()) == 25 and len(samples.load()[0]) == 25


def test_truncated_or_shortened_shard_is_refused_naming_it(tmp_path):
    samples = sample_set(tmp_path)
    images, masks = samples.load()
    shard = samples.shards[1]
    truncate(shard)
    with pytest.raises(ArtefactError, match=rf"{shard} is damaged(.|\n)*expects \d+ bytes, found \d+"):
        SampleSet(samples.path)
    # a shorter but valid shard: 3 samples where meta.json lists 10
    save_npz(shard, images=(images[:3] * 127.5 + 127.5).astype(np.uint8), masks=masks[:3])
    with pytest.raises(ArtefactError, match=str(shard)):
        SampleSet(samples.path)
    meta = json.loads((samples.path / "meta.json").read_text())
    meta["shard_files"][1].update(bytes=shard.stat().st_size)  # the size matches: the hash still differs
    (samples.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtefactError, match=rf"{shard} is damaged: its SHA-256"):
        SampleSet(samples.path).load()


def test_flipped_shard_byte_is_found_on_first_read_and_by_verify(tmp_path):
    samples = sample_set(tmp_path)
    assert len(samples.load()[0]) == 25  # read and hashed once by this process
    flip_byte(samples.shards[2], 0.6)  # rewriting changes the mtime: hashed again on the next read
    for attempt in (SampleSet(samples.path).load, SampleSet(samples.path).verify):
        with pytest.raises(ArtefactError, match=rf"{samples.shards[2]} is damaged: its SHA-256"):
            attempt()


def test_sample_set_of_an_older_medgan_lib_is_refused(tmp_path):
    samples = sample_set(tmp_path)
    meta = json.loads((samples.path / "meta.json").read_text())
    del meta["shard_files"]
    (samples.path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ArtefactError, match="older medgan_lib"):
        SampleSet(samples.path)


@pytest.mark.parametrize("damage", [truncate, flip_byte], ids=["truncated", "flipped"])
def test_run_samples_rebuilds_a_damaged_sample_set(run, damage):
    samples = sample(run, 12, seed=1, batch_size=5)
    images, masks = samples.load()
    damage(samples.shards[0])
    with pytest.warns(UserWarning, match=rf"{samples.shards[0]} is damaged(.|\n)*sampling {samples.path} again"):
        again = run.samples(12, seed=1, batch_size=5)
    assert again.path == samples.path and again.meta["shard_files"] == samples.meta["shard_files"]
    rebuilt = again.verify().load()
    np.testing.assert_array_equal(rebuilt[0], images)
    np.testing.assert_array_equal(rebuilt[1], masks)


@pytest.mark.parametrize("damage", ["wrong-shape", "truncated", "flipped"])
def test_damaged_feature_cache_is_computed_again(tmp_path, damage):
    images, ext = np.random.default_rng(0).uniform(-1, 1, (20, 1, 16, 16)).astype(np.float32), get_extractor("pixels")
    expected = extract_features(images, ext)
    path, = (tmp_path / "cache" / "features").iterdir()
    if damage == "wrong-shape":
        save_npz(path, features=np.zeros((5, 7), np.float32))
    else:
        (truncate if damage == "truncated" else flip_byte)(path)
    with pytest.warns(UserWarning, match=rf"feature cache {path} (.|\n)*computing the features again"):
        np.testing.assert_array_equal(extract_features(images, ext), expected)
    with np.load(path) as data:
        np.testing.assert_array_equal(data["features"], expected)  # rewritten


@pytest.mark.parametrize("damage", [truncate, flip_byte], ids=["truncated", "flipped"])
def test_damaged_prepared_dataset_is_named_and_rebuilt(tmp_path, damage):
    first = prepare(count=60, seed=1, resolution=16)
    path = tmp_path / "cache" / "prepared" / f"{first.meta['hash']}.npz"
    damage(path)
    with pytest.raises(DatasetError, match=rf"{path} is not a readable prepared dataset"):
        PreparedDataset.load(path)
    with pytest.warns(UserWarning, match=rf"{path} (.|\n)*rebuilding the cached dataset"):
        again = prepare(count=60, seed=1, resolution=16)
    np.testing.assert_array_equal(again.images, first.images)
    np.testing.assert_array_equal(PreparedDataset.load(path).masks, first.masks)
