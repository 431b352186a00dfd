"""Result tables: rows survive concurrent writers and carry provenance (row types: tests/test_rows.py)."""

from __future__ import annotations

import json
import multiprocessing

from medgan_lib.results import append_result, read_results


def _write_rows(args):
    study, worker = args
    for i in range(5):
        append_result(study, "data", {"dataset": "demo", "data_spec": {}, "data_spec_hash": f"{worker}-{i}",
                                      "worker": worker, "i": i})


def test_concurrent_appends_keep_every_row(tmp_path):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_write_rows, [(str(tmp_path), w) for w in range(4)])
    table = read_results(tmp_path, "data")
    assert len(table) == 20
    assert sorted(zip(table["worker"], table["i"])) == [(w, i) for w in range(4) for i in range(5)]
    assert "code_version" in table["provenance"].iloc[0]


def test_read_results_of_a_kind_without_rows_is_empty_with_its_columns(tmp_path):
    table = read_results(tmp_path, "fid")
    assert table.empty and {"gan", "extractor", "fid", "n"} <= set(table.columns)


def test_a_damaged_row_is_skipped_with_its_line_named_and_the_next_row_starts_afresh(tmp_path):
    import pytest

    row = {"dataset": "demo", "data_spec": {}, "data_spec_hash": "a"}
    append_result(tmp_path, "data", row)
    path = tmp_path / "results" / "data.jsonl"
    path.write_text(path.read_text() + '{"dataset": "demo", "data_spe')  # a crash cut the last row
    append_result(tmp_path, "data", {**row, "data_spec_hash": "b"})
    with pytest.warns(UserWarning, match=r"data.jsonl, line 2: damaged result row skipped"):
        table = read_results(tmp_path, "data")
    assert list(table["data_spec_hash"]) == ["a", "b"]  # the row after the cut one is intact


def test_a_rerun_replaces_its_row_instead_of_appending_a_duplicate(tmp_path):
    row = {"dataset": "demo", "data_spec": {}, "data_spec_hash": "a", "value": 1}
    append_result(tmp_path, "data", row)
    append_result(tmp_path, "data", {**row, "data_spec_hash": "b"})  # another result: kept
    append_result(tmp_path, "data", {**row, "value": 2})  # the same result again: replaces the first
    path = tmp_path / "results" / "data.jsonl"
    assert len(path.read_text().splitlines()) == 2
    table = read_results(tmp_path, "data")
    assert list(zip(table["data_spec_hash"], table["value"])) == [("b", 1), ("a", 2)]
    # rows of an older study under a renamed key count as the same result
    memo = {"dataset": "demo", "gan": "dcgan", "run": "r", "seed": 0, "n": 4, "quantile": 0.05,
            "pixel_near_copy_share": 0.0, "pixel_nn_ratio": 1.0, "pixel_diversity_ratio": 1.0,
            "pixel_mode_collapse": False, "feature_near_copy_share": 0.0, "feature_nn_ratio": 1.0,
            "feature_mode_collapse": False}
    old = {**memo, "feature_extractor": "inception"}
    (tmp_path / "results" / "memorization.jsonl").write_text(json.dumps(old) + "\n")
    append_result(tmp_path, "memorization", {**memo, "extractor": "inception"})
    assert len(read_results(tmp_path, "memorization")) == 1
