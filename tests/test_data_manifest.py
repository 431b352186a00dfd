"""Manifests: every dataset of the papers has one, it passes the schema, and bad ones fail by key."""

from __future__ import annotations

import pytest
import yaml

from medgan_lib.config import ConfigError, from_dict
from medgan_lib.data import DATASETS, describe
from medgan_lib.data.manifest import MANIFEST_DIR, Manifest, load_manifest, manifest_names
from medgan_lib.data.phantoms import PHANTOMS

PAPER_FACTS = {  # dataset: (labels, channels, {subset: (files, patients, slices)})
    "acdc": ({0: "background", 1: "rv_cavity", 2: "myocardium", 3: "lv_cavity"}, 1,
             {"training": (200, 100, 1902), "testing": (100, 50, 1078)}),
    "sliver07": ({0: "background", 1: "liver"}, 1, {"training": (20, 20, 4159)}),
    "idrid": ({0: "background", 1: "optic_disc"}, 3, {"training": (54, 54, None), "testing": (27, 27, None)}),
    "chest_xray": ({0: "background"}, 1, {"train": (15000, 15000, None)}),
    "mura_elbow": ({0: "background"}, 1, {"train": (4931, None, None), "valid": (465, None, None)}),
    # not a paper's dataset: the real CT and MR of section 08's translation (slice totals not published reliably)
    "chaos_ct": ({0: "background", 1: "liver"}, 1, {"training": (None, 20, None)}),
    "chaos_mr": ({0: "background", 1: "liver"}, 1, {"training": (None, 20, None)}),
}


def test_every_paper_dataset_has_a_valid_manifest_and_a_phantom():
    assert manifest_names() == sorted(PAPER_FACTS)
    for name, (labels, channels, subsets) in PAPER_FACTS.items():
        m = load_manifest(name)
        assert m.labels == labels and m.image_channels == channels
        assert {s.name: (s.files, s.patients, s.slices) for s in m.layout.subsets} == subsets
        assert m.obtain.url.startswith("https://") and m.obtain.steps and m.licence and m.doi
        assert abs(sum(m.split.values()) - 1) < 1e-9
        # the phantom standing in mimics this dataset, or one of the same modality and labels (CHAOS CT: SLiver07's)
        mimics = load_manifest(PHANTOMS[m.phantom].mimics)
        assert mimics.name == name or (mimics.modality, mimics.labels) == (m.modality, m.labels)
        if name != "chest_xray":  # VinBigData has no lung masks; its phantom adds them
            assert PHANTOMS[m.phantom].label_names == m.label_names
        assert name in DATASETS and m.title in describe(name)
    assert load_manifest("sliver07").preprocessing.intensity == "ct_window"
    assert load_manifest("acdc").preprocessing.intensity == "mri_percentile"
    assert {s.split for s in load_manifest("acdc").layout.subsets} == {"", "test"}


def _raw(name):
    return yaml.safe_load((MANIFEST_DIR / f"{name}.yaml").read_text())


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(licence_url="x"), r"unknown key\(s\) \['licence_url'\]"),
    (lambda d: d.update(modality="PET"), r"modality: 'PET' is not one of"),
    (lambda d: d["layout"].update(format="hdf5"), r"layout.format: 'hdf5' is not one of"),
    (lambda d: d["layout"]["subsets"][0].update(files="many"), r"subsets\[0\].files: expected int"),
    (lambda d: d.update(labels={0: "background", 2: "liver"}), r"labels must map 0..K-1"),
    (lambda d: d.update(split={"train": 0.9, "val": 0.2}), r"fractions summing to 1"),
    (lambda d: d["layout"].update(image_key="liver-orig"), r"layout.image_key needs one regex group"),
    (lambda d: d["preprocessing"].update(intensity="zscore"), r"preprocessing.intensity: 'zscore' is not one of"),
])
def test_schema_rejects_bad_manifests_by_key(change, message):
    values = _raw("sliver07")
    change(values)
    with pytest.raises(ConfigError, match=message):
        from_dict(Manifest, values, "sliver07.yaml")
