"""A plan's outputs: ranked CSV, simulations, sensitivity, Pareto PNG, HTML report with provenance; the CLI's
bad-input errors."""

import csv
import dataclasses
import json

import pytest

from vbfem.cli import main
from vbfem.plan import plan
from vbfem.plan.report import write_plan
from vbfem.plan.sensitivity import plan_sensitivity

from ._analytic import Counter, spec


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    res = plan(spec(seed=2, n_initial=16, rounds=0, n_verify=30, max_verify=2, folds=3, n_mc=128), Counter())
    res = dataclasses.replace(res, sensitivity=plan_sensitivity(res, n=1024))
    out = tmp_path_factory.mktemp("plan")
    return res, write_plan(res, out), out


def test_outputs_are_written_with_provenance(written):
    res, files, _out = written
    for role in ("ranking", "simulations", "sensitivity", "cv", "summary", "provenance", "pareto", "report"):
        assert files[role].is_file(), role
    with open(files["ranking"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 42 and rows[0]["rank"] == "1" and rows[0]["verified"] == res.ranking[0]["verified"]
    assert {"p_met_low", "p_met_high", "surrogate_p_met"} <= set(rows[0])
    summary = json.loads(files["summary"].read_text())
    assert summary["status"] == res.status and summary["n_simulations"] == res.n_simulations
    record = json.loads(files["provenance"].read_text())
    assert record["plan_seed"] == 2 and len(record["plan_hash"]) == 64 and "scikit-learn" in record
    assert files["pareto"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = files["report"].read_text()
    assert "Ranked strategies" in html and "cross-validated" in html and "Sobol" in html and "plan_hash" in html


def test_sensitivity_of_the_analytic_case(written):
    res, _, _ = written
    # stiffness = 2 v + bmd + bonus: at a fixed strategy all of its variance is bmd's, none timing's
    by = {r["input"]: r for r in res.sensitivity}
    assert by["bmd"]["S1"] == pytest.approx(1.0, abs=0.05) and by["bmd"]["ST"] == pytest.approx(1.0, abs=0.05)
    assert abs(by["timing"]["ST"]) < 0.05
    assert all(r["consistent"] for r in res.sensitivity)


def test_cli_refuses_bad_plans_before_any_simulation(tmp_path, capsys):
    bad = tmp_path / "plan.toml"
    bad.write_text("version = 1\n[base]\nversion = 1\n[[base.treatments]]\nname = 'VP'\n"
                   "[uncertainty]\n'bone.bmd' = { dist = 'norm', loc = 0.1, scale = 0.01 }\n"
                   "[[targets]]\ncolumn = 'stiffness_pct_intact'\nmin = 90.0\n")
    assert main(["plan", str(bad)]) == 2
    assert "design space is empty" in capsys.readouterr().err
    bad.write_text(bad.read_text() + "[design]\n'treatments[0].volume' = { values = [2.0] }\n"
                   "[[targets]]\ncolumn = 'height_gain'\nmax = 1.0\n")
    assert main(["plan", str(bad)]) == 2
    assert "targets.column = 'height_gain': is not a results column" in capsys.readouterr().err
    assert not any(tmp_path.glob("*-out"))


def test_cli_plan_max_memory_refuses_before_any_simulation(tmp_path, capsys):
    import os

    from .test_spec import EXAMPLE

    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(EXAMPLE.read_text())
    try:
        assert main(["plan", str(plan_file), "--workers", "2", "--max-memory", "0.01"]) == 2
    finally:
        os.environ.pop("VBFEM_MAX_MEMORY", None)
    err = capsys.readouterr().err
    assert "more than max_memory = 0.01 GiB" in err
    assert not any(tmp_path.glob("*-out"))
    assert main(["plan", str(plan_file), "--max-memory", "-1"]) == 2
    assert "--max-memory -1.0: must be a number of GiB > 0" in capsys.readouterr().err


def test_cli_plan_help(capsys):
    assert main(["plan", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and "--scheduler" in out and "vbfem[plan]" in out and "--max-memory" in out
