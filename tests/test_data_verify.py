"""``medgan data verify``: layout, counts, readability, label values; lock file written and compared."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_data_readers import write_acdc, write_nifti, write_sliver

from medgan_lib.cli import main
from medgan_lib.data.verify import LOCK_NAME, verify


@pytest.fixture
def small_manifest_counts(monkeypatch):
    """Our tiny copies hold fewer files than the real datasets: expect exactly what the writers made."""
    from medgan_lib.data.manifest import load_manifest

    def patched(name, **counts):
        manifest = load_manifest(name)
        for subset in manifest.layout.subsets:
            for key, value in counts.get(subset.name, {}).items():
                monkeypatch.setattr(subset, key, value)
        monkeypatch.setattr(manifest, "fixed_patients", {})  # nor the patients our fixed splits name
    return patched


def test_verify_reports_count_mismatch_file_by_file(tmp_path, capsys):
    root = write_sliver(tmp_path / "sliver", numbers=(1, 2))
    (root / "label" / "liver-seg002.mhd").unlink()
    code = main(["data", "verify", "sliver07", "--root", str(root)])
    out = capsys.readouterr().out
    assert code == 1
    assert "liver-orig002.mhd: mask file is missing" in out
    assert "subset 'training' has 1 files, the manifest expects 20" in out
    assert "has 4 slices, the manifest expects 4159" in out
    assert not (root / LOCK_NAME).exists()


def test_verify_locks_hashes_then_reports_changes(tmp_path, small_manifest_counts, capsys):
    root = write_acdc(tmp_path / "ACDC", train=(1, 2), test=(101,))
    small_manifest_counts("acdc", training={"files": 4, "patients": 2, "slices": 12},
                          testing={"files": 2, "patients": 1, "slices": 6})
    report = verify("acdc", root, progress=False)
    assert report.ok, report.problems
    assert report.counts == {"training": {"files": 4, "patients": 2, "slices": 12},
                             "testing": {"files": 2, "patients": 1, "slices": 6}}
    lock = json.loads((root / LOCK_NAME).read_text())
    assert len(lock["files"]) == 12  # 6 images + 6 masks; the 4-D cine and Info.cfg are not data of the study
    entry = lock["files"]["training/patient001/patient001_frame01.nii.gz"]
    assert len(entry["sha256"]) == 64 and entry["size"] > 0
    assert main(["data", "verify", "acdc", "--root", str(root)]) == 0
    capsys.readouterr()
    write_nifti(root / "training/patient002/patient002_frame12.nii.gz", np.full((20, 16, 3), 5, np.int16))
    assert main(["data", "verify", "acdc", "--root", str(root)]) == 1
    assert "patient002_frame12.nii.gz: changed since the lock file was written" in capsys.readouterr().out
    assert main(["data", "verify", "acdc", "--root", str(root), "--update-lock"]) == 0
    assert main(["data", "verify", "acdc", "--root", str(root)]) == 0


def test_verify_flags_unexpected_labels_and_unknown_names(tmp_path, capsys):
    root = write_acdc(tmp_path / "ACDC", train=(1,), test=())
    gt = np.zeros((20, 16, 3), np.uint8)
    gt[0, 0, 0] = 7
    write_nifti(root / "training/patient001/patient001_frame01_gt.nii.gz", gt)
    assert main(["data", "verify", "acdc", "--root", str(root)]) == 1
    assert "patient001_frame01_gt.nii.gz: unexpected label values [7]" in capsys.readouterr().out
    assert main(["data", "verify", "nope", "--root", str(root)]) == 2
    assert "valid names" in capsys.readouterr().out
    assert main(["data", "verify", "cardiac_phantom", "--root", str(root)]) == 2
    assert "no manifest to verify against" in capsys.readouterr().out


def test_verify_locks_metaimage_data_files(tmp_path, small_manifest_counts):
    root = write_sliver(tmp_path / "sliver", numbers=(1, 2))
    small_manifest_counts("sliver07", training={"files": 2, "patients": 2, "slices": 8})
    report = verify("sliver07", root, progress=False)
    assert report.ok, report.problems
    locked = json.loads(report.lock.read_text())["files"]
    assert {"scan/liver-orig001.raw", "label/liver-seg002.raw", "scan/liver-orig002.mhd"} <= set(locked)
    (root / "scan" / "liver-orig001.raw").write_bytes(b"\0" * locked["scan/liver-orig001.raw"]["size"])
    report = verify("sliver07", root, progress=False)
    assert report.problems == [f"{root / 'scan/liver-orig001.raw'}: changed since the lock file was written "
                               "(size/SHA-256 differ)"]


def test_cli_prepare_prints_each_split(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))
    assert main(["data", "prepare", "elbow_phantom", "--count", "30", "--resolution", "32"]) == 0
    spec, *out = capsys.readouterr().out.splitlines()
    assert spec.startswith("elbow_phantom at 32 px, 30 slices, split seed 0 (spec ") and spec.endswith("train")
    assert [line.split()[0] for line in out] == ["train", "val", "test"]
    assert "labels ('background',)" in out[0]
    assert main(["data", "prepare", "elbow_phantom", "--resolution", "48"]) == 2  # no GAN builds 48 px
    assert main(["data", "prepare", "nope"]) == 2
