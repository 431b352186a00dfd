"""The one table formatter: significant digits, p-values, mean ± SD, headers, missing values, index, escaping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medgan_lib.tables import CSS_CLASS, MISSING, formatted, header, mean_sd, number, p_text, to_html


@pytest.mark.parametrize("value, text", [
    (0.00297, "0.00297"), (0.8481, "0.848"), (246.33, "246"), (1234.5, "1,234"), (3, "3"), (120000, "120,000"),
    (np.float32(0.25), "0.25"), (np.int64(7), "7"), (-0.0421, "-0.0421"), (1.0, "1"), (12345678.0, "1.23e+07"),
    (True, "yes"), (np.bool_(False), "no"), (np.nan, MISSING), (None, MISSING), ("dcgan", "dcgan"),
    (float("inf"), "∞")])
def test_number_gives_three_significant_digits(value, text):
    assert number(value) == text


def test_p_values_and_mean_sd():
    assert p_text(0.0004) == "<0.001" and p_text(0.04321) == "0.043" and p_text(np.nan) == MISSING
    assert mean_sd(0.00297, 0.0042) == "0.003 ± 0.004"  # the index's old "0.00297 ± 0.0042"
    assert mean_sd(0.848, 0.0123) == "0.85 ± 0.01" and mean_sd(246.3, 12.1) == "246 ± 12"
    assert mean_sd(0.5, np.nan) == "0.5" and mean_sd(0.5, 0.0) == "0.5"


def test_headers_are_readable_and_written_ones_kept():
    assert header("fid_ci_low") == "FID CI low" and header("kid_std") == "KID SD"
    assert header("summary_mb_per_image") == "summary MB per image" and header("gan") == "GAN"
    assert header("p vs real (Wilcoxon)") == "p vs real (Wilcoxon)" and header("Dice") == "Dice"


def test_formatted_tables_keep_row_labels_and_format_p_columns():
    frame = pd.DataFrame({"fid": [246.33, np.nan], "p_value": [0.0004, 0.2]}, index=pd.Index(["a", "b"], name="gan"))
    out = formatted(frame)
    assert list(out.columns) == ["GAN", "FID", "p value"]
    assert out.values.tolist() == [["a", "246", "<0.001"], ["b", MISSING, "0.200"]]
    plain = formatted(pd.DataFrame({"x": [1.5]}))
    assert list(plain.columns) == ["x"]  # a RangeIndex is not a column


def test_html_escapes_hides_the_index_and_is_deterministic():
    frame = pd.DataFrame({"run<": ["<b>x</b>"], "fid": [1.0]})
    page = to_html(frame)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "run&lt;" in page and "<b>x</b>" not in page
    assert f'class="{CSS_CLASS}"' in page and "overflow-x: auto" in page
    assert "row_heading" not in page  # no index column
    assert to_html(frame) == page  # no random id: re-rendering an index changes nothing
