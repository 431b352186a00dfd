"""MedFID second stage (fine-tuned top Inception blocks on cached trunk activations) and MURA body parts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from medgan_lib.data import prepare
from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.mura import mura_training_set
from medgan_lib.hashing import sha256_file
from medgan_lib.metrics import MedFIDConfig, extract_features, fit_medfid, get_extractor, to_uint8_rgb, train_medfid
from medgan_lib.metrics import medfid as medfid_module
from medgan_lib.metrics.inception import inception_trunk_extractor, load_inception, split_inception
from medgan_lib.metrics.medfid import load_finetuned_inception, load_medfid
from medgan_lib.metrics.unet_features import module_sha256


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def cache(shared_cache, monkeypatch):
    """One cache for the module: the Inception trunk activations of the test images are computed once."""
    monkeypatch.setenv("MEDGAN_CACHE", str(shared_cache))
    return shared_cache


def two_classes(per_class: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Bright discs vs uniform noise, uint8 RGB 32 x 32."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32]
    discs = [((xx - c) ** 2 + (yy - c) ** 2 < 64) * 255 for c in rng.integers(10, 22, per_class)]
    noise = rng.integers(0, 256, (per_class, 32, 32))
    images = np.repeat(np.concatenate([np.stack(discs), noise])[:, None], 3, axis=1).astype(np.uint8)
    return images, np.repeat([0, 1], per_class)


FINETUNE = MedFIDConfig(width=32, epochs=2, batch_size=4, test_per_class=2, finetune_blocks=2,
                        finetune_epochs=2, finetune_lr=1e-3)


def test_trunk_and_top_blocks_reproduce_standard_pool3():
    images, _ = two_classes(2)
    standard = extract_features(images, get_extractor("inception"))
    acts = extract_features(images, inception_trunk_extractor(2))
    assert acts.shape == (4, 1280 * 8 * 8)  # mixed_8's output feeds mixed_9 and mixed_10
    _, top, names = split_inception(load_inception(optimize=False)[0], 2)
    assert names == ("mixed_9", "mixed_10")
    with torch.no_grad():
        pool = top(torch.from_numpy(acts)).numpy()
    np.testing.assert_allclose(pool, standard, atol=1e-4)


def test_finetuning_changes_top_blocks_and_features_and_round_trips(cache):
    images, labels = two_classes()
    path = fit_medfid(images, labels, ("disc", "noise"), FINETUNE, progress=False)
    head, record = load_medfid(path)
    assert record["finetune"]["blocks"] == ["mixed_9", "mixed_10"]
    assert record["finetune"]["trainable_parameters"] == 11_114_880  # conv weights + BN offsets of Mixed_7b/7c
    _, original, _ = split_inception(load_inception(optimize=False)[0], 2)
    _, tuned = load_finetuned_inception(record)
    assert record["finetune"]["weights_sha256"] == module_sha256(tuned) != module_sha256(original)
    assert not torch.equal(tuned.blocks[0].conv.weight, original.blocks[0].conv.weight)
    assert torch.equal(tuned.blocks[0].conv.mean, original.blocks[0].conv.mean)  # BN statistics stay standard

    extractor = get_extractor("medfid", checkpoint=path)
    assert extractor.derive is None  # streamed: image -> trunk -> tuned blocks -> head, only the result cached
    assert extractor.weights_sha256 == sha256_file(path)  # the results' weights hash covers the tuned blocks
    features = extract_features(images, extractor)
    assert features.shape == (8, 32)
    acts = torch.from_numpy(extract_features(images, inception_trunk_extractor(2)))  # fit_medfid's cached trunk
    with torch.no_grad():
        on_cached_trunk = head.features(tuned(acts)).numpy()
        unchanged_blocks = head.features(original(acts)).numpy()
        logits = head(tuned(acts))
    np.testing.assert_allclose(features, on_cached_trunk, atol=1e-4)  # extraction == the training-time network
    assert np.abs(features - unchanged_blocks).max() > 1e-3  # the fine-tuned blocks change the features

    # the reloaded checkpoint is the model at the end of training: it reproduces the recorded test accuracy
    order = torch.randperm(8, generator=torch.Generator().manual_seed(FINETUNE.seed))
    test = order[:2]
    accuracy = float((logits.argmax(1)[test] == torch.from_numpy(labels)[test]).float().mean())
    assert accuracy == record["accuracy"]["test"]

    # same seed -> byte-identical fine-tuned weights
    path.unlink()
    assert fit_medfid(images, labels, ("disc", "noise"), FINETUNE, progress=False) == path
    assert torch.load(path, weights_only=False)["finetune"]["weights_sha256"] == record["finetune"]["weights_sha256"]


def test_head_only_stays_first_stage(monkeypatch):
    real_get = medfid_module.get_extractor
    monkeypatch.setattr(medfid_module, "get_extractor", lambda name, **kw: real_get("pixels"))
    images, labels = two_classes()
    path = fit_medfid(images, labels, ("disc", "noise"), MedFIDConfig(width=16, epochs=2), progress=False)
    head, record = load_medfid(path)
    assert record["finetune"] is None and "top_blocks" not in record
    with torch.no_grad():
        expected = head.features(torch.from_numpy(extract_features(images, real_get("pixels")))).numpy()
    np.testing.assert_array_equal(extract_features(images, medfid_module.medfid_extractor(path)), expected)


def write_png(path, rng, size, rgb=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    gray = rng.integers(0, 256, size, dtype=np.uint8)
    Image.fromarray(np.repeat(gray[..., None], 3, axis=2) if rgb else gray).save(path)


@pytest.fixture
def mura(tmp_path):
    """A MURA-v1.1-shaped tree: three parts, train/ and valid/, varying sizes, one gray image stored as RGB."""
    rng = np.random.default_rng(1)
    for part, n_train in (("ELBOW", 4), ("HAND", 3), ("WRIST", 5)):
        for subset, n in (("train", n_train), ("valid", 2)):
            for i in range(n):
                folder = tmp_path / subset / f"XR_{part}" / f"patient{i:05d}" / "study1_positive"
                write_png(folder / f"image{i + 1}.png", rng, (40 + 4 * i, 30 + 2 * i), rgb=(part == "HAND" and i == 0))
    return tmp_path


def test_mura_training_set_labels_shapes_and_seeding(mura):
    images, labels, names = mura_training_set(mura, ["elbow", "XR_HAND", "WRIST"], per_class=5, resolution=16,
                                              progress=False)
    assert names == ("XR_ELBOW", "XR_HAND", "XR_WRIST")
    assert images.dtype == np.uint8 and images.shape == (15, 3, 16, 16)
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 5))
    # same reader and preprocessing as the mura_elbow dataset: every elbow image is one of its slices
    elbow = np.concatenate([to_uint8_rgb(prepare("mura_elbow", split, 16, root=mura).images)
                            for split in ("train", "val", "test")])
    assert all((elbow == image).all(axis=(1, 2, 3)).any() for image in images[:5])
    again, _, _ = mura_training_set(mura, ["elbow", "hand", "wrist"], per_class=5, resolution=16, progress=False)
    np.testing.assert_array_equal(images, again)
    hand_only, hand_labels, _ = mura_training_set(mura, ["hand"], per_class=5, resolution=16, progress=False)
    np.testing.assert_array_equal(hand_only, images[5:10])  # each part draws with its own seed
    assert (hand_labels == 0).all()
    other, _, _ = mura_training_set(mura, ["elbow"], per_class=3, resolution=16, seed=1, progress=False)
    assert len(other) == 3


def test_mura_errors_name_the_path_and_the_download(mura, tmp_path):
    with pytest.raises(DatasetError, match=r"XR_FINGER.*train/XR_FINGER/patient\*/study\*/image\*\.png.*stanford"):
        mura_training_set(mura, ["finger"], progress=False)
    with pytest.raises(DatasetError, match=r"missing.*not an existing folder.*MURA-v1.1"):
        mura_training_set(tmp_path / "missing", progress=False)
    with pytest.raises(ValueError, match="KNEE"):
        mura_training_set(mura, ["knee"], progress=False)
    with pytest.raises(ValueError, match="mura_root"):
        MedFIDConfig(data="mura")
    with pytest.raises(ValueError, match="finetune_blocks"):
        MedFIDConfig(finetune_blocks=12)


def test_train_medfid_on_mura_body_parts(mura, monkeypatch):
    real_get = medfid_module.get_extractor
    monkeypatch.setattr(medfid_module, "get_extractor", lambda name, **kw: real_get("pixels"))
    config = MedFIDConfig(data="mura", mura_root=str(mura), mura_parts=("elbow", "wrist"), per_class=4,
                          resolution=16, width=16, epochs=1)
    assert config.mura_parts == ("ELBOW", "WRIST")
    _, record = load_medfid(train_medfid(config, progress=False))
    assert record["classes"] == ["XR_ELBOW", "XR_WRIST"] and record["n"] == 10  # 4 to train + 1 held out per class
    assert record["n_train"] == 8 and record["n_test"] == 2


def test_notebook_parameters_reach_medfid_through_domain_extractors(mura, monkeypatch):
    from medgan_lib.metrics import study

    real_get = medfid_module.get_extractor
    monkeypatch.setattr(medfid_module, "get_extractor", lambda name, **kw: real_get("pixels"))
    assert study.medfid_config("", per_class=4).data == "phantoms"
    config = study.medfid_config(str(mura), per_class=2, epochs=1, width=16, resolution=16, finetune_blocks=0,
                                 mura_parts=["hand", "wrist"])
    assert (config.data, config.mura_root, config.mura_parts) == ("mura", str(mura), ("HAND", "WRIST"))
    options = study.domain_extractors(None, ["medfid"], medfid_config=config, device="cpu")
    _, record = load_medfid(options["medfid"]["checkpoint"])
    assert record["classes"] == ["XR_HAND", "XR_WRIST"]


def test_held_out_images_are_counted_per_class_as_chetty():
    from medgan_lib.metrics.medfid import _split_per_class

    assert MedFIDConfig(per_class=400).held_out == 100 and MedFIDConfig(per_class=8, test_per_class=3).held_out == 3
    labels = np.array([0] * 10 + [1] * 4)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    test, train = _split_per_class(labels[order.numpy()], order, held_out=3)
    assert sorted(labels[test.numpy()].tolist()) == [0, 0, 0, 1, 1]  # at most half of the small class
    assert sorted(torch.cat([test, train]).tolist()) == list(range(len(labels)))
