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
    said = read_answers(filled, 10).said
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
    said = read_answers(sheet, 6).said
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


def test_fleiss_kappa_matches_the_published_example_and_its_limits():
    from medgan_lib.stats import fleiss_kappa

    # Fleiss (1971)-style worked example (10 items, 14 raters, 5 categories): kappa = 0.210
    counts = np.array([[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                       [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]])
    kappa = fleiss_kappa(counts)
    assert kappa.value == pytest.approx(0.210, abs=5e-4) and kappa.low < 0.210 < kappa.high and kappa.n == 10
    assert fleiss_kappa(np.array([[3, 0], [0, 3], [3, 0], [0, 3]])).value == pytest.approx(1.0)
    # items rated by fewer than two readers (skipped answers) are left out, not counted as agreement
    assert fleiss_kappa(np.array([[3, 0], [0, 3], [1, 0], [0, 0]])).n == 2
    with pytest.raises(ValueError, match="at least 2 items"):
        fleiss_kappa(np.array([[1, 0], [0, 1]]))


def test_bootstrap_ratio_pools_over_units():
    from medgan_lib.stats import bootstrap_ratio

    pooled = bootstrap_ratio([9, 5, 7], [10, 10, 10])
    assert pooled.value == pytest.approx(0.7) and pooled.low < 0.7 < pooled.high and pooled.n == 3
    assert np.isnan(bootstrap_ratio([3], [4]).low)  # one reader: no spread between readers to resample
    with pytest.raises(ValueError, match="positive denominator"):
        bootstrap_ratio([0, 0], [0, 0])


def _sheet(reader, said, confidence=None):
    from medgan_lib.turing import Sheet

    said = np.array(said, dtype=float)
    levels = np.full(len(said), np.nan) if confidence is None else np.array(confidence, dtype=float)
    return Sheet(reader, said, levels, np.full(len(said), np.nan))


def test_class_result_counts_by_hand():
    from medgan_lib.turing import class_result

    is_real = np.array([True, True, False, False])
    nan = np.nan
    sheets = [_sheet("a", [1, 1, 0, 0], [5, 5, 4, 4]),   # 4/4
              _sheet("b", [1, 0, 1, nan], [1, 1, 1, nan]),  # 1/3, image 4 skipped
              _sheet("c", [0, 1, 1, 0])]                  # 2/4, no confidence
    result = class_result(is_real, sheets)
    assert [r.accuracy for r in result.readers] == pytest.approx([1.0, 1 / 3, 0.5])
    assert result.pooled.value == pytest.approx(7 / 11) and result.pooled.n == 3
    assert result.spread == pytest.approx(np.std([1.0, 1 / 3, 0.5], ddof=1))
    image = result.per_image.set_index("image")
    assert list(image["answers"]) == [3, 3, 3, 2]
    assert image.loc[3, "wrong share"] == pytest.approx(2 / 3)  # synthetic image 3: b and c called it real
    assert image.loc[4, "wrong share"] == 0.0
    levels = result.by_confidence.set_index("confidence")
    assert levels.loc["5", "accuracy"] == 1.0 and levels.loc["1", "answers"] == 3
    assert levels.loc["1", "accuracy"] == pytest.approx(1 / 3) and levels.loc["not given", "answers"] == 4
    assert result.readers[0].mean_confidence == 4.5 and np.isnan(result.readers[2].mean_confidence)
    assert result.kappa is not None and result.kappa.n == 4
    same = class_result(is_real, [_sheet("x", [1, 0, 1, 0]), _sheet("y", [1, 0, 1, 0])])
    assert same.kappa.value == pytest.approx(1.0)  # two readers who agree on every image
    assert class_result(is_real, [_sheet("solo", [1, 1, 0, 0])]).kappa is None


def test_paper_spread_is_not_shown_as_an_interval():
    real, fake = _sets()
    test = build_turing_test(real, fake, n=10, seed=2)
    table = score_table([score(test.is_real, test.is_real, "alice")], spread=0.05)
    paper = table.iloc[-1]
    assert paper["spread across readers"] == 0.10 and np.isnan(paper["ci_low"]) and np.isnan(paper["ci_high"])
    assert table.iloc[0]["spread across readers"] == 0.05


def test_quiz_page_embeds_images_but_not_the_key(tmp_path):
    real, fake = _sets()
    test = build_turing_test(real, fake, n=10, seed=1)
    flipped = type(test)(test.images, ~test.is_real, test.seed)
    a, b = save_kit(test, tmp_path / "a"), save_kit(flipped, tmp_path / "b")
    page = a["quiz_html"].read_text()
    assert page == b["quiz_html"].read_text()  # the page is the same whatever the key: it cannot hold it
    assert page.count("data:image/png;base64,") == 10 and "http" not in page.replace("http-equiv", "")
    assert json.loads(a["key"].read_text())["answers"] != json.loads(b["key"].read_text())["answers"]
    assert a["key"].parent != a["quiz_html"].parent and a["answers"].parent == a["key"].parent  # kept apart
    assert len(list((tmp_path / "a" / "quiz" / "images").glob("*.png"))) == 10


def test_sheet_columns_from_the_page_are_read_and_checked(tmp_path):
    sheet = tmp_path / "x.csv"
    sheet.write_text("image,answer,confidence,seconds,position,reader,answered_at\n"
                     "1,real,4,1.5,2,Ada,t\n2,synthetic,,0.5,1,Ada,t\n")
    read = read_answers(sheet, 3)
    assert read.reader == "Ada" and list(read.confidence[:2]) == [4.0] + [pytest.approx(np.nan, nan_ok=True)]
    np.testing.assert_array_equal(read.seconds, [1.5, 0.5, np.nan])
    sheet.write_text("image,answer,confidence\n1,real,7\n")
    with pytest.raises(ValueError, match=r"x.csv:2: confidence '7' for image 1; expected 1-5"):
        read_answers(sheet, 3)
    sheet.write_text("image,answer,reader\n1,real,Ada\n2,real,Bob\n")
    with pytest.raises(ValueError, match="several readers"):
        read_answers(sheet, 3)


def _kit(tmp_path, n=10, seed=1):
    real, fake = _sets()
    test = build_turing_test(real, fake, n=n, seed=seed)
    save_kit(test, tmp_path / "kit")
    return test, tmp_path / "kit"


def test_cli_scores_a_class_and_writes_the_teacher_figures(tmp_path, capsys):
    from medgan_lib.cli import main

    test, kit = _kit(tmp_path)
    key = ["real" if r else "synthetic" for r in test.is_real]
    (kit / "answers" / "ada.csv").write_text("image,answer\n" + "".join(f"{i + 1},{a}\n" for i, a in enumerate(key)))
    (kit / "answers" / "bob.csv").write_text("image,answer\n" + "".join(f"{i + 1},real\n" for i in range(10)))
    assert main(["turing", "score", str(kit)]) == 0
    out = capsys.readouterr().out
    assert "2 readers; class accuracy 75%" in out and "ada" in out and "bob" in out
    assert (kit / "teacher" / "class_result.png").stat().st_size > 1000
    assert (kit / "teacher" / "fooled.png").stat().st_size > 1000  # bob called every synthetic image real
    assert main(["turing", "score", str(tmp_path)]) == 2 and "answer_key.json is missing" in capsys.readouterr().err


def test_live_server_stores_simultaneous_submissions_apart_and_guards_results(tmp_path):
    import threading
    import urllib.error
    import urllib.request

    from medgan_lib.turing.serve import make_server

    test, kit = _kit(tmp_path)
    server = make_server(kit, port=0, token="secret")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = server.url
        sheet = "image,answer,reader\n" + "".join(f"{i + 1},real,Sam\n" for i in range(10))
        start, replies = threading.Barrier(4), []

        def submit():
            start.wait()
            request = urllib.request.Request(url + "submit", data=sheet.encode(), method="POST",
                                             headers={"Content-Type": "text/csv"})
            with urllib.request.urlopen(request, timeout=10) as reply:
                replies.append(json.loads(reply.read())["saved"])

        threads = [threading.Thread(target=submit) for _ in range(4)]  # four readers named Sam, same second
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert len(set(replies)) == 4 and len(list((kit / "answers").glob("*.csv"))) == 4
        bad = urllib.request.Request(url + "submit", data=b"image,answer\n1,maybe\n", method="POST")
        with pytest.raises(urllib.error.HTTPError, match="400"):
            urllib.request.urlopen(bad, timeout=10)
        assert len(list((kit / "answers").glob("*.csv"))) == 4  # a refused submission stores nothing
        with pytest.raises(urllib.error.HTTPError, match="403"):
            urllib.request.urlopen(url + "results?token=guess", timeout=10)
        with urllib.request.urlopen(server.results_url, timeout=10) as reply:
            assert "4 readers; class accuracy 50%" in reply.read().decode()
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert '"/submit"' in reply.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert server.server_address[0] == "127.0.0.1"  # localhost unless asked for the LAN


def test_what_to_notice_is_written_from_the_scores():
    from medgan_lib.turing import class_result, turing_notes

    real, fake = _sets(shift=0.4)
    separated = turing_notes(machine_observer(real, fake))
    assert "the sets differ in their pixels" in separated[0] and "No answer sheets yet" in separated[1]
    same_real, same_fake = _sets(seed=5)
    assert "cannot tell the sets apart either" in turing_notes(machine_observer(same_real, same_fake))[0]
    is_real = np.array([True, True, False, False] * 3)
    fooled = [_sheet(name, [0, 0, 1, 1] * 3, [5] * 12) for name in ("a", "b")]  # all wrong, all certain
    notes = turing_notes(machine_observer(real, fake), class_result(is_real, fooled))
    assert any("confidence 5 of 5 were mostly wrong" in line for line in notes)
    told = turing_notes(machine_observer(real, fake),
                        class_result(is_real, [_sheet(n, [1, 1, 0, 0] * 3) for n in "abcd"]))
    assert any("above chance, the readers can tell" in line for line in told)
