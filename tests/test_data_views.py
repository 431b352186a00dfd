"""Radiograph views: the elbow rule tells the phantom's frontal films from its lateral ones, and a DataSpec with a
view keeps only that view's films, says how many, and refuses datasets without a view rule."""

from __future__ import annotations

import numpy as np
import pytest

from medgan_lib.data import DataSpec
from medgan_lib.data.dataset import DatasetError
from medgan_lib.data.phantoms.xray import elbow_patient, elbow_views
from medgan_lib.data.views import elbow_view, view_note


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDGAN_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("resolution", [64, 128])
def test_the_elbow_rule_tells_bent_from_straight_films(resolution):
    truth, said = [], []
    for patient in range(40):
        films, _ = elbow_patient(np.random.default_rng(patient), 3, resolution)
        truth += list(elbow_views(3))
        said += [elbow_view(film) for film in films]
    truth, said = np.array(truth), np.array(said)
    assert (truth == said).mean() >= 0.9  # the heuristic's accuracy on films whose view is known
    assert (said[truth == "lateral"] == "lateral").mean() >= 0.85


def test_a_view_spec_keeps_that_view_and_says_how_many(tmp_path):
    every = DataSpec("elbow_phantom", resolution=64, count=150)
    lateral = DataSpec("elbow_phantom", resolution=64, count=150, view="lateral")
    assert "view" not in every.to_dict() and lateral.to_dict()["view"] == "lateral"  # old specs keep their hash
    assert lateral.hash != every.hash and "lateral views only" in lateral.label()
    assert DataSpec.from_dict(lateral.to_dict()) == lateral
    kept = lateral.splits()
    views = kept["train"].meta["view"]
    assert views["read"] == 150 and 35 <= views["kept"] <= 65  # one film in three is lateral
    assert sum(len(ds) for ds in kept.values()) == views["kept"]
    assert all(elbow_view(image) == "lateral" for image in kept["train"].images[:, 0])
    assert view_note(kept["train"]).startswith(f"view filter: kept {views['kept']} lateral films of the 150 read")
    assert view_note(every.prepare("train")) == ""


def test_views_are_refused_where_there_is_no_rule():
    with pytest.raises(DatasetError, match="DataSpec.view: expected one of"):
        DataSpec("elbow_phantom", view="oblique")
    with pytest.raises(DatasetError, match="dataset 'cardiac_phantom' has no view rule"):
        DataSpec("cardiac_phantom", count=60, view="lateral").prepare("train")
