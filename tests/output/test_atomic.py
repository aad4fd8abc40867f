"""The results table writer: digits, and a clear word when Parquet cannot be written (issue 23)."""

import csv
import logging
import sys

import pytest

from vbfem.output import atomic
from vbfem.output.atomic import write_table


def test_csv_numbers_have_six_significant_digits(tmp_path):
    rows = [{"state": "intact", "stiffness": 15060.53950640438, "elastic_recovery_mm": 0.4454325914784625,
             "bridging": True, "n": 3, "x": float("nan")}]
    path, _ = write_table(rows, tmp_path)
    lines = path.read_text().splitlines()
    assert lines[1] == "intact,15060.5,0.445433,True,3,nan"
    full, _ = write_table(rows, tmp_path, stem="full", digits=None)
    with open(full) as fh:
        assert next(csv.DictReader(fh))["stiffness"] == "15060.53950640438"
    with pytest.raises(ValueError, match=r"digits = 0: must be an integer in \[1, 17\] or None"):
        write_table(rows, tmp_path, digits=0)


def test_without_pyarrow_a_warning_says_parquet_is_not_written(tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow raises ImportError
    monkeypatch.setattr(atomic, "_warned_no_pyarrow", False)
    with caplog.at_level(logging.INFO, logger="vbfem.output.atomic"):
        path, pq = write_table([{"a": 1.0}], tmp_path)
        write_table([{"a": 1.0}], tmp_path)
    assert pq is None and path.is_file() and not (tmp_path / "results.parquet").exists()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "results.parquet not written (pip install pyarrow)" in warnings[0].getMessage()
