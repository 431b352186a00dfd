"""Image-level classes (issue 21): ACDC's diagnostic group from Info.cfg, the grouped cardiac phantom, and the
classes travelling through prepare, the cache and PreparedDataset."""

from __future__ import annotations

import numpy as np
import pytest
from test_data_readers import write_acdc

from medgan_lib.data.dataset import DatasetError, PreparedDataset
from medgan_lib.data.prepare import prepare
from medgan_lib.data.spec import DataSpec

GROUPS = ("NOR", "MINF", "DCM", "HCM", "RV")


def test_acdc_reads_each_patients_group_from_info_cfg(tmp_path):
    root = write_acdc(tmp_path / "ACDC", train=(1, 2, 3, 4, 5, 6), test=(101, 102))
    for number, group in ((2, "DCM"), (5, "RV"), (102, "HCM")):
        folder = root / ("testing" if number > 100 else "training") / f"patient{number:03d}"
        (folder / "Info.cfg").write_text(f"ED: 1\nES: 12\nGroup: {group}\nHeight: 180.0\n")
    splits = DataSpec("acdc", resolution=32, root=str(root)).splits()
    seen = {}
    for data in splits.values():
        assert data.class_names == GROUPS
        for pid, cls in zip(data.patient_ids.tolist(), data.classes.tolist()):
            assert seen.setdefault(pid, cls) == cls  # one group per patient, on every slice
    assert {pid: GROUPS[c] for pid, c in seen.items()} == {
        "patient001": "NOR", "patient002": "DCM", "patient003": "NOR", "patient004": "NOR", "patient005": "RV",
        "patient006": "NOR", "patient101": "NOR", "patient102": "HCM"}


@pytest.mark.parametrize("text, message", [("ED: 1\nGroup: XYZ\n", "Group 'XYZ' is not one of"),
                                           ("ED: 1\nES: 12\n", "no 'Group:' line"),
                                           (None, "missing")])
def test_acdc_bad_or_missing_group_names_the_file(tmp_path, text, message):
    root = write_acdc(tmp_path / "ACDC")
    info = root / "training" / "patient003" / "Info.cfg"
    if text is None:
        info.unlink()
    else:
        info.write_text(text)
    with pytest.raises(DatasetError, match=message) as err:
        prepare("acdc", "train", 16, root=root)
    assert str(info) in str(err.value)


def test_grouped_cardiac_phantom_draws_five_balanced_separable_groups():
    data = DataSpec("cardiac_groups_phantom", resolution=32, count=600).splits()
    full = PreparedDataset.concatenate(list(data.values()), "all", {})
    assert full.class_names == GROUPS
    per_patient = {pid: c for pid, c in zip(full.patient_ids.tolist(), full.classes.tolist())}
    assert np.bincount(list(per_patient.values())).tolist() == [10] * 5  # 50 patients, balanced
    area = {name: {k: float((full.masks[full.classes == i] == k).mean()) for k in (1, 2, 3)}
            for i, name in enumerate(GROUPS)}
    # the anatomy each group is defined by: dilated LV (DCM), thick wall and small cavity (HCM), large RV (RV)
    assert area["DCM"][3] > 1.5 * area["NOR"][3] > 1.5 * area["HCM"][3]
    assert area["HCM"][2] > 1.3 * max(area[g][2] for g in GROUPS if g != "HCM")
    assert area["RV"][1] > 2 * max(area[g][1] for g in GROUPS if g != "RV")
    assert DataSpec("cardiac_phantom", resolution=32, count=24).gan_train().classes is None  # the default: none


def test_classes_survive_the_cache_subsets_and_are_validated(tmp_path):
    data = DataSpec("cardiac_groups_phantom", resolution=32, count=120).gan_train()
    again = PreparedDataset.load(data.save(tmp_path / "d.npz"))
    np.testing.assert_array_equal(again.classes, data.classes)
    assert again.class_names == GROUPS and data.subset(slice(3, 7)).classes.tolist() == data.classes[3:7].tolist()
    with pytest.raises(DatasetError, match="class indices"):
        PreparedDataset("x", "train", data.images[:2], data.masks[:2], data.patient_ids[:2], data.label_names, {},
                        ("a",), np.array([0, 1]))
    with pytest.raises(DatasetError, match="come together"):
        PreparedDataset("x", "train", data.images[:2], data.masks[:2], data.patient_ids[:2], data.label_names, {},
                        (), np.array([0, 0]))
