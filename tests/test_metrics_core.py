"""Known-value, determinism, cache, grayscale and weight-hash tests of the standard metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from medgan_lib.metrics import (WeightsError, bootstrap_fid, compare_features, distort, extract_features,
                                frechet_distance, get_extractor, kernel_inception_distance, load_inception,
                                precision_recall, to_uint8_rgb)
from medgan_lib.metrics import features as features_module
from medgan_lib.metrics.fidelity import _fid_symmetric
from medgan_lib.metrics.inception import STANDARD_SHA256, TFInceptionFeatures, standard_weights_path


@pytest.fixture(autouse=True)
def clean_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


def smooth_images(n: int, seed: int, channels: int = 1, side: int = 32) -> np.ndarray:
    """Random smooth blobs in [-1, 1] (a stand-in for medical images)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    cx, cy, r = rng.uniform(0.3, 0.7, (3, n, 1, 1)) * np.array([1, 1, 0.5])[:, None, None, None]
    img = np.tanh(8 * (r - np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)))
    return np.repeat(img[:, None], channels, axis=1).astype(np.float32)


def test_fid_of_identical_sets_is_zero_and_of_shifted_sets_is_the_squared_shift():
    rng = np.random.default_rng(0)
    for n, d in ((50, 64), (400, 8)):  # low-rank path (n < d) and torch-fidelity's full-rank path
        real = rng.normal(size=(n, d))
        shift = rng.normal(size=d)
        assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)
        # same covariance, means differ by `shift`: FID = |shift|^2 exactly
        assert frechet_distance(real, real + shift) == pytest.approx(float(shift @ shift), rel=1e-6)
        # scaled copy: FID = (1 - s)^2 (|mu|^2 + tr Sigma)
        s = 0.5
        cov_trace = np.trace(np.cov(real, rowvar=False))
        mu = real.mean(0)
        assert frechet_distance(real, s * real) == pytest.approx((1 - s) ** 2 * (mu @ mu + cov_trace), rel=1e-5)


def test_low_rank_fid_agrees_with_torch_fidelity():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(30, 48)), rng.normal(0.3, 1.2, size=(20, 48))
    stats = [fid_features_to_statistics(torch.from_numpy(x.astype(np.float32))) for x in (real, fake)]
    expected = fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"]
    assert frechet_distance(real.astype(np.float32), fake.astype(np.float32)) == pytest.approx(expected, rel=1e-4)
    big_real, big_fake = rng.normal(size=(200, 16)), rng.normal(0.2, 1.1, size=(150, 16))
    assert _fid_symmetric(big_real, big_fake) == pytest.approx(frechet_distance(big_real, big_fake), rel=1e-6)


def test_kid_closed_form_and_identical_sets():
    # constant sets a = 0, b = 1: polynomial kernel (x.y/d + 1)^3 gives MMD^2 = 1 + 8 - 2 = 7
    a, b = np.zeros((10, 16), np.float32), np.ones((10, 16), np.float32)
    with pytest.warns(UserWarning, match="KID subset size is 5"):
        kid, std, size = kernel_inception_distance(a, b, subsets=5)
    assert (kid, std, size) == (pytest.approx(7.0), pytest.approx(0.0), 5)
    # two samples of one distribution: KID (unbiased) near 0, far below that of a shifted sample
    x, y = np.random.default_rng(0).normal(size=(2, 200, 16)).astype(np.float32)
    kid_same, _, size = kernel_inception_distance(x, y, subsets=20)
    kid_shifted, _, _ = kernel_inception_distance(x, y + 1.0, subsets=20)
    assert size == 100 and abs(kid_same) < 0.02 * kid_shifted


def test_precision_recall_and_bootstrap_are_sane_and_deterministic():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(120, 8)).astype(np.float32)
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)
    p, r = precision_recall(real, rng.normal(size=(120, 8)).astype(np.float32))
    assert p > 0.7 and r > 0.7
    fake = real[:60] + 0.5
    low, high = bootstrap_fid(real, fake, reps=30, seed=3)
    assert low <= frechet_distance(real, fake) <= high
    with pytest.warns(UserWarning, match="KID subset size is 30"):
        assert compare_features(real, fake, seed=4, bootstrap_reps=20) == compare_features(real, fake, seed=4,
                                                                                            bootstrap_reps=20)


def test_grayscale_is_replicated_and_mask_channels_are_refused():
    gray = smooth_images(4, 0)
    rgb = to_uint8_rgb(gray)
    assert rgb.shape == (4, 3, 32, 32) and (rgb[:, 0] == rgb[:, 2]).all()
    ext = get_extractor("pixels")
    np.testing.assert_array_equal(extract_features(gray, ext), extract_features(np.repeat(gray, 3, axis=1), ext))
    with pytest.raises(ValueError, match="no mask channels"):
        to_uint8_rgb(np.zeros((2, 5, 8, 8), np.float32))


def test_feature_cache_hits_and_invalidates(monkeypatch):
    calls = []
    real_loop = features_module.get_featuresdict_from_dataset
    monkeypatch.setattr(features_module, "get_featuresdict_from_dataset",
                        lambda *a, **k: calls.append(1) or real_loop(*a, **k))
    images, ext = smooth_images(6, 0), get_extractor("pixels")
    first = extract_features(images, ext)
    np.testing.assert_array_equal(extract_features(images, ext), first)
    assert len(calls) == 1  # cache hit
    changed = images.copy()
    changed[0, 0, 0, 0] = -changed[0, 0, 0, 0]
    extract_features(changed, ext)
    assert len(calls) == 2  # different pixels -> miss
    extract_features(images, get_extractor("pixels", side=4))
    assert len(calls) == 3  # different extractor identity (its "weights") -> miss


def test_distorted_set_scores_worse_than_clean():
    ext = get_extractor("pixels")
    reference, test = smooth_images(60, 0), smooth_images(60, 1)
    clean = frechet_distance(extract_features(reference, ext), extract_features(test, ext))
    for name in ("gaussian_blur", "gaussian_noise", "salt_and_pepper", "black_blocks"):
        worse = frechet_distance(extract_features(reference, ext), extract_features(distort(test, name, 1.0), ext))
        assert worse > clean, name


def test_wrong_weights_file_fails_loudly(tmp_path):
    bad = tmp_path / "inception.pt"
    bad.write_bytes(b"not the FID network")
    with pytest.raises(WeightsError, match="WRONG WEIGHTS FILE"):
        load_inception(bad, expected_sha256=STANDARD_SHA256)
    with pytest.raises(WeightsError, match="does not exist"):
        get_extractor("inception", weights_path=tmp_path / "missing.pt")
    with pytest.raises(WeightsError, match="not a TorchScript"):
        load_inception(bad)


def test_standard_inception_features_on_two_images():
    assert get_extractor("inception").weights_sha256 == STANDARD_SHA256
    module = TFInceptionFeatures("t", ["2048"], feature_extractor_weights_path=str(standard_weights_path()))
    x = torch.from_numpy(to_uint8_rgb(smooth_images(2, 0)))
    with torch.inference_mode():
        (a,), (b,) = module(x), module(x)
    assert a.shape == (2, 2048) and (a >= 0).all() and torch.equal(a, b)
    assert not torch.allclose(a[0], a[1])


def test_frozen_inception_is_built_on_the_device_it_runs_on(monkeypatch):
    # torch.jit.freeze turns weights into graph constants that .to(device) leaves behind, so the extractor must load
    # them onto its device; recorded here with the real file loaded on the CPU (no GPU in tests).
    load, places = torch.jit.load, []
    monkeypatch.setattr(torch.jit, "load", lambda path, map_location=None: places.append(map_location) or load(path))
    TFInceptionFeatures("t", ["2048"], feature_extractor_weights_path=str(standard_weights_path()),
                        feature_device="cuda:1")
    built = []
    monkeypatch.setattr(features_module, "_MODULES", {})
    monkeypatch.setattr(features_module, "create_feature_extractor",
                        lambda *args, **kwargs: built.append(kwargs["feature_device"]) or torch.nn.Identity())
    features_module.feature_module(get_extractor("pixels", side=3), torch.device("cpu"))
    assert places == ["cuda:1"] and built == ["cpu"]


def test_inception_features_do_not_depend_on_the_batch_size():
    ext = get_extractor("inception")
    assert ext.cpu_batch_size == 8
    images = smooth_images(10, 3)  # 10 images: batches of 8 + 2 against one batch of 10
    small = extract_features(images, ext, cache=False, device="cpu")
    whole = extract_features(images, ext, batch_size=10, cache=False, device="cpu")
    np.testing.assert_allclose(small, whole, rtol=1e-4, atol=1e-4)


def test_preprocessing_is_bit_identical_to_torch_fidelity_inception_v3_compat():
    """Run torch-fidelity's own InceptionV3 forward up to its first convolution and capture its input."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    from medgan_lib.metrics.inception import preprocess_like_torch_fidelity

    class Captured(Exception):
        pass

    def capture(x):
        raise Captured(x)

    reference = FeatureExtractorInceptionV3.__new__(FeatureExtractorInceptionV3)
    torch.nn.Module.__init__(reference)
    reference.features_list, reference.feature_extractor_internal_dtype = ["2048"], torch.float32
    reference.Conv2d_1a_3x3 = capture
    x = torch.from_numpy(to_uint8_rgb(smooth_images(2, 0, side=64)))
    with pytest.raises(Captured) as caught:
        reference(x)
    assert torch.equal(caught.value.args[0], preprocess_like_torch_fidelity(x))


def test_registered_extractor_works_in_torch_fidelity_calculate_metrics():
    import torch_fidelity

    from medgan_lib.metrics.features import _Uint8Images

    ext = get_extractor("pixels")
    a, b = smooth_images(40, 0), distort(smooth_images(40, 1), "gaussian_noise", 0.5)
    out = torch_fidelity.calculate_metrics(input1=_Uint8Images(to_uint8_rgb(b)), input2=_Uint8Images(to_uint8_rgb(a)),
                                           feature_extractor=ext.tf_name, fid=True, cuda=False, verbose=False,
                                           cache=False, save_cpu_ram=True)
    ours = frechet_distance(extract_features(a, ext), extract_features(b, ext))
    assert out["frechet_inception_distance"] == pytest.approx(ours, rel=1e-3)


def test_chetty_distortion_levels():
    from medgan_lib.metrics.validation import chetty_blocks, chetty_blur, chetty_noise

    rng = np.random.default_rng(0)
    images = np.zeros((2, 1, 64, 64), dtype=np.float32)  # mid-grey in [-1, 1] units
    noised = chetty_noise(images, 0.5, rng)  # mean 0.5 x 1 and std 0.1 in [0, 1] units: x2 in [-1, 1]
    assert noised.mean() == pytest.approx(1 - 0.2 / np.sqrt(2 * np.pi), abs=0.01)  # N(1, 0.2) clipped at 1
    assert chetty_noise(images, 0.0, rng).std() == pytest.approx(0.2, abs=0.01)
    dot = np.zeros((1, 1, 64, 64), dtype=np.float32)
    dot[..., 32, 32] = 1.0
    assert np.array_equal(chetty_blur(dot, 0.0, rng), dot)  # kernel 0: unchanged
    width = lambda s: int((chetty_blur(dot, s, rng)[0, 0, 32] > 1e-6).sum())  # noqa: E731
    assert width(1.0) == 2 * (int(49 * 64 / 256) // 2) + 1 and width(0.5) < width(1.0)  # 49 px at 256 -> 13 px at 64
    covered = (chetty_blocks(np.ones((1, 1, 256, 256), np.float32), 1.0, rng) == -1).mean()
    assert 0.3 < covered < 0.5  # 10,000 blocks of 2 x 2 px on 256 x 256 (overlapping): 1 - exp(-0.61)
    with pytest.raises(ValueError, match="unknown distortion protocol 'theirs'"):
        distort(images, "gaussian_blur", 0.5, protocol="theirs")


def test_distortion_correlations_beside_chetty_table6():
    import pandas as pd

    from medgan_lib.metrics.study import beside_chetty
    from medgan_lib.metrics.validation import correlation_table

    sweep = pd.DataFrame([{"distortion": d, "strength": s, "extractor": "medfid", "fid": 10 + 5 * s + (d == "black_blocks")}
                          for d in ("gaussian_blur", "black_blocks") for s in (0.0, 0.5, 1.0)])
    table = beside_chetty(correlation_table(sweep))
    assert table.loc["gaussian_blur", ("pearson_r", "chetty2023 MedFID (theirs)")] == 0.816
    assert table.loc["black_blocks", ("p_value", "chetty2023 MedFID (theirs)")] == 0.2773
    assert table.loc["gaussian_blur", ("pearson_r", "medfid")] == pytest.approx(1.0)


def test_fid_bars_are_one_per_gan_with_a_dot_per_seed():
    import matplotlib

    matplotlib.use("Agg")
    from medgan_lib.metrics.plots import plot_fid

    rows = pd.DataFrame([dict(run=f"{gan}-s{seed}", gan=gan, extractor="inception", fid=fid, fid_ci=(fid - 5, fid + 5),
                              n=100) for gan, fids in (("DCGAN", (100.0, 120.0, 140.0)), ("WGAN", (200.0,)))
                         for seed, fid in enumerate(fids)])
    ax = plot_fid(rows)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["DCGAN", "WGAN"]  # not one bar per run on one label
    assert [bar.get_height() for bar in ax.patches] == [120.0, 200.0]  # the mean of DCGAN's three seeds
    assert "mean of 3 runs" in ax.get_title()


def test_efficientnet_lite0_is_a_second_hash_checked_imagenet_space(tmp_path):
    import torch_fidelity

    from medgan_lib.metrics.efficientnet import LITE0_SHA256, lite0_weights_path
    from medgan_lib.metrics.features import _Uint8Images

    ext = get_extractor("efficientnet_lite0")
    assert ext.weights_sha256 == LITE0_SHA256 and LITE0_SHA256.startswith(lite0_weights_path().stem.split("-")[-1])
    a, b = smooth_images(12, 0), smooth_images(12, 1)
    features = extract_features(a, ext, cache=False, device="cpu")
    assert features.shape == (12, 1280) and np.isfinite(features).all() and features.std(axis=0).max() > 0
    np.testing.assert_allclose(extract_features(a, ext, batch_size=5, cache=False, device="cpu"), features,
                               rtol=1e-4, atol=1e-5)  # batches of 5 + 5 + 2 give the same features
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    noisy = distort(b, "gaussian_noise", 1.0)
    clean_fid = frechet_distance(features, extract_features(b, ext, cache=False, device="cpu"))
    assert frechet_distance(features, extract_features(noisy, ext, cache=False, device="cpu")) > clean_fid
    out = torch_fidelity.calculate_metrics(input1=_Uint8Images(to_uint8_rgb(b)), input2=_Uint8Images(to_uint8_rgb(a)),
                                           feature_extractor=ext.tf_name, feature_extractor_weights_path=None,
                                           fid=True, cuda=False, verbose=False, cache=False, save_cpu_ram=True)
    assert out["frechet_inception_distance"] == pytest.approx(clean_fid, rel=1e-3)  # torch-fidelity's own loop
    changed = tmp_path / "lite0.pth"
    data = bytearray(lite0_weights_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=f"WRONG WEIGHTS FILE: {changed}"):
        get_extractor("efficientnet_lite0", weights_path=changed, weights_sha256=LITE0_SHA256)
    with pytest.raises(WeightsError, match="EfficientNet-Lite0 weights file .* does not exist"):
        get_extractor("efficientnet_lite0", weights_path=tmp_path / "missing.pth")


def test_feature_precision_switch_changes_identity_refuses_cpu_and_marks_rows(tmp_path, monkeypatch):
    from medgan_lib.metrics import fid_table
    from medgan_lib.metrics import study as ev
    from medgan_lib.metrics.extractors import Extractor, with_precision
    from medgan_lib.results import append_result, read_results

    standard = get_extractor("pixels")
    assert set(standard.identity()) == {"name", "tf_name", "layer", "weights_sha256"}  # fp32 cache keys unchanged
    half = get_extractor("pixels", precision="bf16")
    assert half.precision == "bf16" and not half.standard and half.identity()["precision"] == "bf16"
    derived = with_precision(Extractor("d", "t", "l", "0" * 64, derive=(standard, lambda f: f)), "fp16")
    assert derived.derive[0].precision == "fp16"  # the base network computes in the same precision
    with pytest.raises(ValueError, match="fp8"):
        with_precision(standard, "fp8")
    with pytest.raises(ValueError, match="pixels features in bf16 need a CUDA device"):
        extract_features(smooth_images(4, 0), half, device="cpu", cache=False)
    # 03's feature_amp: fp32 on a CPU, the GPU's autocast precision for every extractor on CUDA
    assert ev.domain_extractors(None, ["pixels"], device="cpu", feature_amp=True) == {}
    monkeypatch.setattr(ev, "precision", lambda amp, device: "bf16" if amp else "fp32")
    options = ev.domain_extractors(None, ["pixels", "inception"], device="cpu", feature_amp=True)
    assert options == {"pixels": {"precision": "bf16"}, "inception": {"precision": "bf16"}}
    # a row computed so says it in Table 2's FID column
    for precision, gan in (("fp32", "dcgan"), ("bf16", "hinge")):
        append_result(tmp_path, "fid", {"dataset": "cardiac_phantom", "gan": gan, "run": gan, "seed": 0,
                                        "extractor": "inception", "n": 10, "fid": 50.0, "fid_ci_low": 40.0,
                                        "fid_ci_high": 60.0, "kid": 0.1, "kid_std": 0.01,
                                        "data_spec_hash": "x", "feature_precision": precision})
    table = fid_table(read_results(tmp_path, "fid"), "cardiac_phantom").set_index("GAN")["FID"]
    assert table["dcgan"] == "50 [40, 60]" and table["hinge"] == "50 [40, 60] (bf16 features, not standard)"
