"""U-Net FID, MedFID, memorisation audit, metric validation, D-loss correlation and the evaluate_run rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import segmentation_models_pytorch as smp
import torch

from medgan_lib.data.dataset import PreparedDataset
from medgan_lib.metrics import (MedFIDConfig, correlation_table, distortion_sweep, dloss_vs_fid, evaluate_run,
                                extract_features, fit_medfid, frechet_distance, get_extractor, memorization_audit)
from medgan_lib.segmentation import build_unet, save_unet, unet_features
from medgan_lib.metrics import medfid as medfid_module
from medgan_lib.metrics.medfid import MedFIDHead
from medgan_lib.results import append_result, read_results
from medgan_lib.samples import write_samples


@pytest.fixture(autouse=True)
def clean_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


def blobs(n: int, seed: int, side: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    cx, cy = rng.uniform(0.3, 0.7, (2, n, 1, 1))
    r = rng.uniform(0.1, 0.3, (n, 1, 1))
    return np.tanh(8 * (r - np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)))[:, None].astype(np.float32)


def dataset(n: int, seed: int, split: str = "train") -> PreparedDataset:
    images = blobs(n, seed)
    masks = (images[:, 0] > 0).astype(np.uint8)
    return PreparedDataset("blobs", split, images, masks, np.array([f"p{i}" for i in range(n)]),
                           ("background", "blob"), {"hash": f"blobs-{seed}-{n}"})


def test_unet_bottleneck_features_and_identity():
    torch.manual_seed(0)
    unet = smp.Unet("resnet18", encoder_weights=None, encoder_depth=3, decoder_channels=(32, 16, 8),
                    in_channels=1, classes=2)
    ext = get_extractor("unet", unet=unet)
    images = blobs(5, 0)
    feats = extract_features(images, ext)
    assert feats.shape == (5, 128)  # resnet18 stage 3 width, global-average-pooled
    with torch.no_grad():
        direct = unet.eval().encoder(torch.from_numpy(np.round((images + 1) * 127.5) / 127.5 - 1).float())[-1]
    np.testing.assert_allclose(feats, direct.mean(dim=(2, 3)).numpy(), rtol=1e-4, atol=1e-5)
    assert get_extractor("unet", unet=unet).weights_sha256 == ext.weights_sha256
    with torch.no_grad():
        unet.encoder.conv1.weight.add_(0.01)
    assert get_extractor("unet", unet=unet).weights_sha256 != ext.weights_sha256


def test_segmentation_checkpoint_loads_as_unet_extractor(tmp_path):
    real = dataset(12, 0)
    torch.manual_seed(0)
    model = build_unet(real.image_channels, real.num_classes, "quick").eval()
    path = save_unet(tmp_path / "unet.pt", model)
    features = extract_features(real.images[:3], get_extractor("unet", unet=path))
    expected = unet_features(model, real.images[:3]).numpy()
    # the extractor sees uint8-quantised images, so features agree up to that rounding
    assert features.shape == expected.shape and len(features) == 3
    np.testing.assert_allclose(features, expected, atol=0.05 * np.abs(expected).max())


def test_medfid_head_matches_chetty_table4():
    head = MedFIDHead(classes=7)
    assert sum(p.numel() for p in head.features.parameters()) == 4 * 4_196_352
    assert sum(p.numel() for p in head.classifier.parameters()) == 14_343


def test_medfid_training_and_features(monkeypatch):
    # stand-in base extractor (downsampled pixels) so the test does not run Inception-v3
    real_get = medfid_module.get_extractor
    monkeypatch.setattr(medfid_module, "get_extractor", lambda name, **kw: real_get("pixels"))
    blob_images, noise = blobs(40, 1), np.random.default_rng(2).uniform(-1, 1, (40, 1, 32, 32)).astype(np.float32)
    images, labels = np.concatenate([blob_images, noise]), np.repeat([0, 1], 40)
    config = MedFIDConfig(epochs=15, width=64, per_class=40)
    path = fit_medfid(images, labels, ("blobs", "noise"), config, progress=False)
    record = torch.load(path, weights_only=False)
    assert record["accuracy"]["test"] > 0.9
    assert fit_medfid(images, labels, ("blobs", "noise"), config, progress=False) == path  # reused
    ext = medfid_module.medfid_extractor(path)
    a, b, c = (extract_features(x, ext) for x in (blobs(30, 3), blobs(30, 4), noise[:30]))
    assert a.shape == (30, 64)
    assert frechet_distance(a, b) < frechet_distance(a, c)


def test_memorization_flags_copies_and_collapse():
    train, heldout = blobs(80, 0), blobs(40, 1)
    copies = memorization_audit(train[:30] + 0.001, train, heldout)
    assert copies.pixels.near_copy_share == 1.0 and copies.pixels.nn_ratio < 0.05
    assert copies.pixels.closest(3)[0][1] in range(30)
    fresh = memorization_audit(blobs(40, 2), train, heldout)
    assert fresh.pixels.near_copy_share < 0.3 and fresh.pixels.nn_ratio > 0.5
    assert not fresh.row()["pixel_mode_collapse"]
    collapsed = memorization_audit(np.repeat(blobs(1, 3), 20, axis=0), train, heldout)
    assert collapsed.row()["pixel_mode_collapse"] and collapsed.pixels.diversity_ratio < 0.01


def test_metric_validation_correlates_with_strength():
    ext = get_extractor("pixels")
    sweep = distortion_sweep(blobs(60, 0), blobs(60, 1), [ext], strengths=(0.0, 0.5, 1.0),
                             distortions=("gaussian_noise", "salt_and_pepper"))
    assert len(sweep) == 6 and set(sweep["extractor"]) == {"pixels"}
    table = correlation_table(sweep)
    assert (table[("pearson_r", "pixels")] > 0.8).all()


def test_chetty_protocol_distorts_one_random_image_and_measures_its_point_distance():
    from medgan_lib.metrics.features import extract_features
    from medgan_lib.metrics.validation import distort

    ext, test = get_extractor("pixels"), blobs(30, 1)
    sweep = distortion_sweep(blobs(60, 0), test, [ext], strengths=(0.0, 0.5, 1.0),
                             distortions=("gaussian_blur", "black_blocks"), seed=4, protocol="chetty")
    assert (sweep["n"] == 1).all() and (sweep["n_real"] == 1).all() and sweep["image"].nunique() == 1
    image = test[int(sweep["image"].iloc[0]): int(sweep["image"].iloc[0]) + 1]
    blurred = distort(image, "gaussian_blur", 1.0, 4, "chetty")
    # one point per side: no covariance, the squared distance of the two pixel vectors (as 32 x 32 uint8 RGB)
    expected = np.sum((extract_features(image, ext, cache=False) - extract_features(blurred, ext, cache=False)) ** 2)
    at = sweep[(sweep["distortion"] == "gaussian_blur") & (sweep["strength"] == 1.0)]["fid"].iloc[0]
    assert at == pytest.approx(expected, rel=1e-6)
    assert (sweep[sweep["strength"] == 0.0]["fid"] == 0.0).all()  # the clean image against itself
    assert (correlation_table(sweep)[("pearson_r", "pixels")] > 0.8).all()
    sets = distortion_sweep(blobs(60, 0), test, [ext], strengths=(0.0, 1.0), distortions=("gaussian_blur",),
                            seed=4, protocol="chetty_set")
    assert (sets["n"] == 30).all() and sets["image"].isna().all() and sets["fid"].iloc[0] > 0  # set vs reference


def test_dloss_correlation_matrix(tmp_path):
    for i, (dmean, fid) in enumerate([(0.2, 90.0), (0.5, 60.0), (0.9, 20.0)]):
        run = f"0000{i}-dcgan-blobs-s0"
        append_result(tmp_path, "gan_runs", {"run": run, "gan": "dcgan", "dataset": "blobs", "config_hash": str(i),
                                             "dloss_mean": dmean, "dloss_variance": 0.1 * (i + 1),
                                             "dloss_std": (0.1 * (i + 1)) ** 0.5})
        append_result(tmp_path, "fid", {"run": run, "gan": "dcgan", "dataset": "blobs", "data_spec_hash": "d",
                                        "seed": 0, "extractor": "inception", "n": 16, "fid": fid, "fid_ci_low": fid,
                                        "fid_ci_high": fid, "kid": 0.0, "kid_std": 0.0})
    table, corr = dloss_vs_fid(tmp_path)
    assert len(table) == 3 and corr.loc["fid", "dloss_mean"] < -0.95


def test_evaluate_run_writes_fid_and_memorization_rows(tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / "00000-dcgan-toy-s0"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps({"gan": "dcgan", "dataset": "toy", "seed": 0}))
    fake = blobs(24, 5)
    samples = write_samples(run_dir / "samples" / "n24-s0", [(fake, (fake[:, 0] > 0).astype(np.uint8))], {"n": 24})
    from medgan_lib.training import Run

    monkeypatch.setattr(Run, "samples", lambda self, n, seed=0, device="auto": samples)

    class Discriminator:  # the privacy probe's white-box attack reads the run's discriminator; this run has none
        def realness(self, images, masks):
            return images.mean(axis=(1, 2, 3))

    monkeypatch.setattr(Run, "load", lambda self, device="auto": Discriminator())
    torch.manual_seed(0)
    unet = save_unet(tmp_path / "unet.pt", build_unet(1, 2, "quick").eval())
    with pytest.warns(UserWarning, match="KID subset size is 12"):  # small n is reported, not hidden
        out = evaluate_run(run_dir, dataset(60, 0), n=24, extractors=("pixels", "unet"), study_dir=tmp_path,
                           n_real=40, heldout=dataset(20, 9, "test"), n_heldout=20, bootstrap_reps=10,
                           extractor_options={"unet": {"unet": unet}})
    fids = read_results(tmp_path, "fid")
    assert list(fids["extractor"]) == ["pixels", "unet"]
    fid = fids.iloc[0]
    assert fid["gan"] == "dcgan" and fid["run"] == run_dir.name and fid["n"] == 24 and fid["n_real"] == 40
    assert fid["dataset"] == "toy" and fid["data_spec_hash"] == Run(run_dir).data_spec.hash
    assert fid["extractor"] == "pixels" and len(fid["weights_sha256"]) == 64
    assert fid["fid_ci"][0] <= fid["fid"] <= fid["fid_ci"][1]
    memos = read_results(tmp_path, "memorization")
    assert list(memos["extractor"]) == ["pixels", "unet"]  # one audit per feature space
    memo = memos.iloc[0]
    assert 0.0 <= memo["pixel_near_copy_share"] <= 1.0 and "feature_nn_ratio" in memo
    assert memos["feature_diversity_ratio"].iloc[0] != memos["feature_diversity_ratio"].iloc[1]
    assert out["memorization"]["extractor"] == "pixels" and out["report"] is not None
    assert out["fid"][0]["fid"] == fid["fid"]
    privacy = read_results(tmp_path, "privacy").iloc[0]
    assert privacy["members"] == 16 and privacy["run"] == run_dir.name  # 20 held-out images, a multiple of 8
    assert 0 <= privacy["white_box_low"] <= privacy["white_box_auc"] <= privacy["white_box_high"] <= 1
    assert out["privacy"]["black_box_auc"] == privacy["black_box_auc"]


def test_figure7_and_memorisation_panels_use_the_images_the_fid_was_computed_on(tmp_path, monkeypatch):
    """A FID row's sample set may be larger than its n (one set per run, shared by the sections): the panels take
    its first n images, not the whole set (which once cost 03 four minutes of Inception passes)."""
    from medgan_lib.metrics import study as ev

    images = blobs(20, seed=3)
    samples = write_samples(tmp_path / "n20-s0", [(images, np.zeros((20, 32, 32), np.uint8))], {"seed": 0})
    runs = {name: {"fid": [{"gan": gan, "extractor": "pixels", "fid": fid, "samples": str(samples.path), "n": 8}]}
            for name, gan, fid in (("a", "dcgan", 10.0), ("b", "hinge", 20.0))}
    sizes = []
    monkeypatch.setattr("medgan_lib.metrics.study.umap_projection", lambda real, fake, seed: sizes.append(len(fake)))
    ev.figure7_panels("", dataset(12, seed=4), runs, {}, spaces=("pixels",))
    assert sizes == [8, 8]
    assert len(ev.sample_images(runs, "a")) == 8 and len(ev.sample_images(runs, "a", 5)) == 5


def test_memorization_notes_tell_collapse_from_copying():
    import pandas as pd

    from medgan_lib.metrics.study import memorization_notes
    from medgan_lib.rows import GAN, PIXEL_DIVERSITY_RATIO, PIXEL_NEAR_COPY_SHARE, QUANTILE, RUN

    summary = pd.DataFrame({GAN: ["vanilla", "spade", "wgan", "dcgan"], RUN: ["a", "b", "c", "d"],
                            PIXEL_NEAR_COPY_SHARE: [0.69, 0.40, 0.04, 0.05], QUANTILE: [0.05] * 4,
                            PIXEL_DIVERSITY_RATIO: [0.08, 0.95, 0.3, 0.9]})
    notes = memorization_notes(summary)
    assert "mode collapse, not memorisation" in notes[0] and "69%" in notes[0]
    assert "reproduces training images" in notes[1]
    assert "mode collapse, without copying" in notes[2]
    assert "no sign of copying" in notes[3]
