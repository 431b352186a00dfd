"""Visual Turing test: kit building, answer reading, scoring against known answers, machine observer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from medgan_lib.turing import (build_turing_test, machine_observer, read_answers, save_kit, score, score_readers,
                                 score_table)


def _sets(seed=0, n=40, shift=0.0):
    rng = np.random.default_rng(seed)
    real = rng.uniform(-1, 1, (n, 1, 16, 16)).astype(np.float32) * 0.5
    fake = rng.uniform(-1, 1, (n, 1, 16, 16)).astype(np.float32) * 0.5 + shift
    return real, np.clip(fake, -1, 1)


def test_test_is_half_real_shuffled_and_seeded():
    real, fake = _sets()
    real[:, 0, 0, 0], fake[:, 0, 0, 0] = 0.9, -0.9  # tag the sources
    a, b = build_turing_test(real, fake, n=20, seed=3), build_turing_test(real, fake, n=20, seed=3)
    assert a.is_real.sum() == 10 and len(a.images) == 20
    np.testing.assert_array_equal(a.is_real, b.is_real)
    np.testing.assert_array_equal(a.is_real, a.images[:, 0, 0, 0] > 0)  # key matches what was drawn
    assert not (a.is_real[:10].all() and not a.is_real[10:].any())  # shuffled
    with pytest.raises(ValueError, match="even number"):
        build_turing_test(real, fake, n=7)
    with pytest.raises(ValueError, match="fake images: 40 available, 50 needed"):
        build_turing_test(np.concatenate([real, real]), fake, n=100)


def test_kit_roundtrip_and_perfect_reader(tmp_path):
    real, fake = _sets()
    test = build_turing_test(real, fake, n=10, seed=1)
    paths = save_kit(test, tmp_path)
    key = json.loads(paths["key"].read_text())["answers"]
    filled = tmp_path / "alice.csv"
    filled.write_text("image,answer\n" + "".join(f"{i + 1},{a}\n" for i, a in enumerate(key)))
    said = read_answers(filled, 10)
    result = score(test.is_real, said, "alice")
    assert result.accuracy == 1.0 and result.real_called_real == 1.0 and result.fake_called_fake == 1.0
    assert result.p_value == pytest.approx(stats.binomtest(10, 10, 0.5).pvalue)
    assert paths["quiz"].stat().st_size > 1000 and paths["answers"].stat().st_size > 1000  # answers apart


def test_read_answers_names_bad_rows(tmp_path):
    sheet = tmp_path / "bob.csv"
    sheet.write_text("image,answer\n1,real\n2,maybe\n")
    with pytest.raises(ValueError, match=r"bob.csv:3: answer 'maybe' for image 2"):
        read_answers(sheet, 2)
    sheet.write_text("image,answer\n1,real\n7,fake\n")
    with pytest.raises(ValueError, match=r"bob.csv:3: image 7 is not in the quiz \(1..2\)"):
        read_answers(sheet, 2)


def test_answers_accept_every_word_for_synthetic_and_blanks_are_skipped(tmp_path):
    sheet = tmp_path / "carol.csv"
    sheet.write_text("image,answer\n1,Real\n2,SYNTHETIC\n3,s\n4,\n5,F\n")  # image 6 left out
    said = read_answers(sheet, 6)
    np.testing.assert_array_equal(said, [1.0, 0.0, 0.0, np.nan, 0.0, np.nan])
    result = score(np.array([True, False, True, True, False, False]), said, "carol")
    assert (result.n, result.skipped, result.accuracy) == (4, 2, 0.75)  # image 3 wrong, 4 and 6 skipped
    assert result.real_called_real == 0.5 and result.fake_called_fake == 1.0


def test_one_unreadable_sheet_does_not_stop_the_class_being_scored(tmp_path):
    real, fake = _sets()
    test = build_turing_test(real, fake, n=10, seed=1)
    (tmp_path / "good.csv").write_text("image,answer\n" + "".join(f"{i + 1},synthetic\n" for i in range(10)))
    (tmp_path / "bad.csv").write_text("image,answer\n1,perhaps\n")
    with pytest.warns(UserWarning, match=r"bad.csv:2: answer 'perhaps'"):
        scores = score_readers(test, tmp_path)
    assert [s.reader for s in scores] == ["good"] and scores[0].accuracy == 0.5


def test_score_matches_hand_counts():
    is_real = np.array([True, True, False, False, True, False])
    said = np.array([True, False, False, True, True, False])
    result = score(is_real, said)
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.real_called_real == pytest.approx(2 / 3) and result.fake_called_fake == pytest.approx(2 / 3)
    assert result.ci_low < 4 / 6 < result.ci_high


def test_machine_observer_separates_shifted_sets_but_not_identical_ones():
    real, fake = _sets(shift=0.4)
    assert machine_observer(real, fake).accuracy > 0.9
    same_real, same_fake = _sets(seed=5)
    assert machine_observer(same_real, same_fake).accuracy < 0.75


def test_score_readers_reads_each_sheet_and_table_labels_paper_row(tmp_path):
    real, fake = _sets()
    test = build_turing_test(real, fake, n=10, seed=2)
    key = ["real" if r else "fake" for r in test.is_real]
    (tmp_path / "good.csv").write_text("image,answer\n" + "".join(f"{i + 1},{a}\n" for i, a in enumerate(key)))
    (tmp_path / "bad.csv").write_text("image,answer\n" + "".join(
        f"{i + 1},{'fake' if a == 'real' else 'real'}\n" for i, a in enumerate(key)))
    scores = score_readers(test, tmp_path)
    assert [(s.reader, s.accuracy) for s in scores] == [("bad", 0.0), ("good", 1.0)]
    assert score_readers(test, "") == []
    table = score_table(scores)
    assert list(table["source"])[-1].startswith("paper") and table["accuracy"].iloc[-1] == 0.60


def test_quiz_size_fits_a_small_test_split(capsys):
    from medgan_lib import turing

    real, fake = np.zeros((7, 1, 4, 4)), np.zeros((40, 1, 4, 4))
    assert turing.quiz_size(20, real, fake) == 14 and "quiz of 14 images instead of 20" in capsys.readouterr().out
    assert turing.quiz_size(10, real, fake) == 10 and capsys.readouterr().out == ""
    assert turing.quiz_size(9, real, fake) == 8  # even: half real, half synthetic
    with pytest.raises(ValueError, match="at least one real and one synthetic"):
        turing.quiz_size(20, real[:0], fake)
