"""Phantoms: label maps, channels, determinism, any resolution, anatomy-level facts."""

from __future__ import annotations

import numpy as np
import pytest

from medgan_lib.data.phantoms import PHANTOMS, generate
from medgan_lib.data.sources import DATASETS

EXPECTED = {
    "cardiac_phantom": (1, ("background", "rv_cavity", "myocardium", "lv_cavity")),
    "liver_phantom": (1, ("background", "liver")),
    "retina_phantom": (3, ("background", "optic_disc")),
    "chest_phantom": (1, ("background", "lung")),
    "elbow_phantom": (1, ("background",)),
    "liver_mr_phantom": (1, ("background", "liver")),
    "liver_mr_ct_phantom": (2, ("background", "liver")),
    "cardiac_mr_ct_phantom": (2, ("background", "rv_cavity", "myocardium", "lv_cavity")),
}


def _load(name, count=24, resolution=32, seed=0):
    source = DATASETS[name]
    return source.load(None, count, resolution, seed, source.preprocessing)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_phantom_shapes_labels_and_range(name):
    channels, labels = EXPECTED[name]
    assert PHANTOMS[name].label_names == labels and PHANTOMS[name].image_channels == channels
    for resolution in (32, 48):
        s = _load(name, resolution=resolution)
        assert s.images.shape == (24, channels, resolution, resolution) and s.images.dtype == np.float32
        assert s.masks.shape == (24, resolution, resolution) and s.masks.dtype == np.uint8
        assert np.isfinite(s.images).all() and s.images.min() >= -1 and s.images.max() <= 1
        assert int(s.masks.max()) < len(labels)
        assert s.images.std() > 0.2  # a structured image, not a flat field


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_phantom_is_deterministic_and_seeded(name):
    a, b, c = _load(name), _load(name), _load(name, seed=1)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)


def test_patients_do_not_depend_on_count():
    phantom = PHANTOMS["cardiac_phantom"]
    small = generate(phantom, 12, 32, seed=3)
    large = generate(phantom, 30, 32, seed=3)
    np.testing.assert_array_equal(small[0], large[0][:12])
    assert list(large[2]).count(large[2][-1]) == 30 - 24  # the last patient keeps the remainder


def test_foreground_fractions_match_the_mimicked_datasets():
    liver = _load("liver_phantom", count=240, resolution=32)
    assert 0.03 < (liver.masks == 1).mean() < 0.08  # SLiver07: about 5 % liver pixels
    assert (liver.masks.reshape(240, -1).max(1) == 0).mean() > 0.2  # many slices miss the liver
    chest = _load("chest_phantom", count=24, resolution=32)
    assert 0.1 < chest.masks.mean() < 0.35
    retina = _load("retina_phantom", count=24, resolution=32)
    assert 0.005 < retina.masks.mean() < 0.03
    assert (retina.masks.reshape(24, -1).max(1) == 1).all()  # every photo shows its optic disc
    assert retina.images[:, 0][retina.masks == 1].mean() > retina.images[:, 0][retina.masks == 0].mean()
    cardiac = _load("cardiac_phantom", count=24, resolution=32)
    assert np.all((cardiac.masks == 3).reshape(24, -1).any(1))  # the LV cavity is on every level


def test_label_notes_are_written_from_the_label_table():
    import pandas as pd

    from medgan_lib.data.plots import label_notes

    table = pd.DataFrame({"split": ["train"] * 3, "label": ["background", "lv", "rv"],
                          "pixel fraction": [0.9, 0.08, 0.02], "slices with label": [1.0, 1.0, 0.7]}).set_index(["split", "label"])
    notes = label_notes(table)
    assert "cover 10.0% of the pixels; the smallest, rv, 2.00%" in notes[0]
    assert notes[1].startswith("rv is absent from 30% of the train slices")
    assert label_notes(table, split="test") == []


@pytest.mark.parametrize("pair, mr, ct", [("liver_mr_ct_phantom", "liver_mr_phantom", "liver_phantom"),
                                          ("cardiac_mr_ct_phantom", "cardiac_phantom", None)])
def test_two_modality_phantoms_show_one_anatomy_as_the_single_modality_phantoms_do(pair, mr, ct):
    both, masks, _ = generate(PHANTOMS[pair], 30, 32, 3)
    mr_only, mr_masks, _ = generate(PHANTOMS[mr], 30, 32, 3)
    np.testing.assert_array_equal(both[:, :1], mr_only)
    np.testing.assert_array_equal(masks, mr_masks)
    if ct is not None:
        np.testing.assert_array_equal(both[:, 1:], generate(PHANTOMS[ct], 30, 32, 3)[0])
    assert PHANTOMS[pair].channel_names == ("MR", "CT")


def test_liver_mr_has_t2_fat_suppressed_contrast_and_ct_has_enhanced_organs():
    from medgan_lib.data.phantoms.liver import liver_anatomy, render_ct, render_mr

    rng = np.random.default_rng(5)
    parts = liver_anatomy(rng, 24, 64)
    ct, mr = render_ct(rng, parts)[:, 0], render_mr(rng, parts)[:, 0]
    mean = lambda image, name: image[np.broadcast_to(parts[name], image.shape)].mean()  # noqa: E731
    fat = lambda image: image[np.broadcast_to(parts["body"] & ~parts["inner"], image.shape)].mean()  # noqa: E731
    liver_only = parts["liver"] & ~parts["vessels"] & ~parts["lesions"]
    liver_mr, liver_ct = mr[liver_only].mean(), ct[liver_only].mean()
    assert mean(mr, "spleen") > liver_mr > fat(mr) and mean(mr, "canal") > mean(mr, "spleen")  # T2-SPIR
    assert mr[parts["vessels"]].mean() < liver_mr < mr[parts["lesions"]].mean()  # flow voids, T2-bright lesions
    assert liver_ct > fat(ct) + 100 and mean(ct, "aorta") > liver_ct  # portal-venous CT
