"""The outputs of a plan: ranked table, simulations, sensitivity indices, Pareto picture, HTML report,
provenance.

:func:`write_plan` writes into a folder

- ``ranking.csv``: every candidate strategy, ranked (verified ones that meet the targets first, by
  objective), with the surrogate's probabilities and, for verified ones, the simulated probabilities
  with their Wilson intervals;
- ``simulations.csv``: every full simulation (stage, inputs, the modelled columns);
- ``sensitivity.csv``: Sobol indices of the target columns to the uncertain inputs;
- ``surrogate_cv.csv``: the surrogate's cross-validated error per column;
- ``pareto.png``: objective against probability of meeting the targets, with the Pareto front;
- ``plan.json`` (the outcome) and ``provenance.json``; ``report.html`` (all of it, one file).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from .spec import PlanSpec

log = logging.getLogger(__name__)


def plan_to_dict(spec: PlanSpec) -> dict:
    """The plan as plain data (design levels, distributions, targets, objective, settings, state)."""
    import dataclasses

    return {
        "state": spec.state,
        "design": {v.key: list(v.values) for v in spec.design.variables},
        "uncertainty": {u.key: {"dist": u.dist, **dict(u.params), **({"error": True} if u.error else {})}
                        for u in spec.uncertainty},
        "targets": [{k: v for k, v in dataclasses.asdict(t).items() if v is not None} for t in spec.targets],
        "objective": {"weights": dict(spec.objective.weights)},
        "settings": dataclasses.asdict(spec.settings),
    }


def plan_provenance(spec: PlanSpec) -> dict:
    """:func:`vbfem.study.pipeline.provenance` of the base study (versions, git commit, command line,
    UTC start, study hash) plus the plan, its hash and the versions of the statistics libraries."""
    import importlib.metadata as md

    from ..study.pipeline import git_revision, provenance

    text = json.dumps(plan_to_dict(spec), sort_keys=True, default=str)
    if spec.study is not None:
        record = provenance(spec.study)
    else:
        import datetime
        import platform
        import sys

        from .. import __version__

        record = {"vbfem": __version__, "python": platform.python_version(), "platform": platform.platform(),
                  **git_revision(Path(__file__).resolve().parents[1]), "command": list(sys.argv),
                  "started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    for name in ("scikit-learn", "scipy", "matplotlib"):
        try:
            record[name] = md.version(name)
        except md.PackageNotFoundError:
            record[name] = None
    record.update({"plan": plan_to_dict(spec), "plan_hash": hashlib.sha256(text.encode()).hexdigest(),
                   "plan_seed": spec.settings.seed})
    return record


def _objective_label(spec: PlanSpec) -> str:
    return " + ".join(f"{w:g} x {k}" if w != 1 else k for k, w in spec.objective.weights)


def _front(x, y) -> list[int]:
    """Indices of the Pareto front of least ``x`` and largest ``y``, by increasing ``x``."""
    front, best = [], -np.inf
    for i in np.lexsort((-y, x)):  # least x first: a point is on the front if no cheaper one is higher
        if y[i] > best:
            front.append(i)
            best = y[i]
    return front


def plot_pareto(result, path) -> Path:
    """Two panels. Left: objective against the probability of meeting the targets, every candidate on
    the surrogate (grey), the surrogate's Pareto front, the verified candidates with their Wilson
    intervals, the required probability. Right: objective against the mean of the first target's column
    over the uncertain inputs (e.g. the stiffness restored), with its front and the verified means."""
    from ..output.plots import _figure, _save

    spec = result.spec
    r = result.ranking
    col = spec.targets[0].column
    obj = np.array([row["surrogate_objective"] for row in r])
    p = np.array([row["surrogate_p_met"] for row in r])
    val = np.array([row[f"surrogate_mean_{col}"] for row in r])
    fig = _figure((11.0, 4.4))
    ax, bx = fig.add_subplot(121), fig.add_subplot(122)
    ax.scatter(obj, p, s=14, c="0.65", label="candidates (surrogate)")
    f = _front(obj, p)
    ax.plot(obj[f], p[f], "-", color="tab:blue", lw=1.2, label="Pareto front (surrogate)")
    bx.scatter(obj, val, s=14, c="0.65", label="candidates (surrogate mean)")
    f = _front(obj, val if spec.targets[0].min is not None else -val)
    bx.plot(obj[f], val[f], "-", color="tab:blue", lw=1.2, label="Pareto front (surrogate)")
    for v in result.verified:
        color = "tab:green" if v.meets else "tab:red"
        ax.errorbar([v.objective], [v.p_met], yerr=[[v.p_met - v.p_met_ci[0]], [v.p_met_ci[1] - v.p_met]],
                    fmt="o", color=color, capsize=3, ms=6)
        bx.plot([v.objective], [v.means[col]], "o", color=color, ms=6)
    for axis in (ax, bx):
        axis.plot([], [], "o", color="tab:green", label="verified: meets")
        axis.plot([], [], "o", color="tab:red", label="verified: fails")
        axis.set_xlabel(f"objective ({_objective_label(spec)})")
        axis.grid(True, alpha=0.3)
    ax.axhline(spec.settings.probability, color="k", ls="--", lw=0.8, label="required probability")
    for b in (spec.targets[0].min, spec.targets[0].max):
        if b is not None:
            bx.axhline(b, color="k", ls="--", lw=0.8, label="target")
    ax.set_ylabel("probability of meeting the targets")
    ax.set_ylim(-0.03, 1.03)
    bx.set_ylabel(f"mean {col} over the uncertain inputs")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    bx.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return _save(fig, path)


def _summary(result) -> dict:
    spec = result.spec
    rec = result.recommended
    return {"status": result.status, "required_probability": spec.settings.probability,
            "recommended": None if rec is None else {
                "design": rec.design, "p_met": rec.p_met, "p_met_ci": list(rec.p_met_ci), "p_leak": rec.p_leak,
                "p_leak_ci": list(rec.p_leak_ci), "n": rec.n, "objective": rec.objective, "means": rec.means},
            "shortfall": list(result.shortfall), "n_simulations": result.n_simulations,
            "candidates": spec.design.size, "surrogate_cv": result.cv}


def write_plan(result, out, *, extra: dict | None = None) -> dict:
    """Write the plan's outputs into folder ``out`` (module docstring); returns ``{role: path}``."""
    from ..output.atomic import write_table, write_text
    from ..output.report import Report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = result.spec
    files = {"ranking": write_table(list(result.ranking), out, stem="ranking")[0],
             "simulations": write_table(list(result.simulations), out, stem="simulations")[0]}
    if result.sensitivity:
        files["sensitivity"] = write_table(list(result.sensitivity), out, stem="sensitivity")[0]
    cv_rows = [{"column": c, **v} for c, v in result.cv.items()]
    files["cv"] = write_table(cv_rows, out, stem="surrogate_cv")[0]
    summary = {**_summary(result), **(extra or {})}
    files["summary"] = write_text(out / "plan.json", json.dumps(summary, indent=1, default=str))
    record = plan_provenance(spec)
    files["provenance"] = write_text(out / "provenance.json", json.dumps(record, indent=1, default=str))
    files["pareto"] = plot_pareto(result, out / "pareto.png")

    rep = Report("vbfem treatment plan")
    rec = result.recommended
    req = spec.settings.probability
    targets = "; ".join(t.text() for t in spec.targets)
    rep.add_text(f"Targets ({spec.state or 'outputs'}): {targets}, in at least {100 * req:.0f} % of the uncertain "
                 f"cases; objective: least {_objective_label(spec)}. {spec.design.size} candidate strategies, "
                 f"{len(spec.uncertainty)} uncertain input(s); {result.n_simulations} full simulations.")
    rep.add_heading("Result")
    if rec is not None:
        design = ", ".join(f"{k} = {v}" for k, v in rec.design.items())
        rep.add_text(f"Recommended: {design}. Verified by {rec.n} full simulations: meets the targets in "
                     f"{100 * rec.p_met:.0f} % (95 % Wilson interval {100 * rec.p_met_ci[0]:.0f}-"
                     f"{100 * rec.p_met_ci[1]:.0f} %), leaks in {100 * rec.p_leak:.0f} % "
                     f"({100 * rec.p_leak_ci[0]:.0f}-{100 * rec.p_leak_ci[1]:.0f} %).")
    else:
        rep.add_text("No strategy meets the targets: none of the verified strategies met every target in the "
                     f"required {100 * req:.0f} % of its simulations. The best achievable and the shortfall per "
                     "target are below.")
    rep.add_table(list(result.shortfall), caption="per target: the best value of all simulations; of the verified "
                  "strategies, the value reached in the required share of the cases and the gap to the bound "
                  "(0: met)")
    rep.add_heading("Ranked strategies")
    shown = [r for r in result.ranking if r["verified"] != "no"] + [r for r in result.ranking
                                                                    if r["verified"] == "no"][:10]
    rep.add_table(shown, caption="verified strategies (probabilities from full simulations, Wilson intervals at "
                  f"{100 * spec.settings.confidence:.0f} %) then the best 10 by the surrogate alone, never "
                  "recommended on it; all candidates: ranking.csv")
    rep.add_image(files["pareto"], caption="objective against the probability of meeting the targets (left) and "
                  "against the mean of the first target's column (right); grey: every candidate on the surrogate, "
                  "blue: the surrogate's Pareto front, green / red: verified by full simulations (meets / fails)")
    rep.add_heading("Surrogate")
    rep.add_table(cv_rows, caption=f"{spec.settings.folds}-fold cross-validated error of the Gaussian-process "
                  "surrogate per column (rmse in the column's unit; relative = rmse / standard deviation)")
    if result.sensitivity:
        rep.add_heading("Sensitivity to the uncertain inputs")
        rep.add_table(list(result.sensitivity), caption="Sobol first-order (S1) and total (ST) indices at the "
                      "recommended (or best verified) strategy, on the surrogate; conf: bootstrap half-width at "
                      "95 %; consistent: S1 <= ST within the intervals")
    rep.add_heading("Plan and provenance")
    rep.add_code(json.dumps(plan_to_dict(spec), indent=1, default=str), caption="the resolved plan")
    facts = {k: v for k, v in record.items() if k not in ("study", "plan", "timings_s")}
    facts["command"] = " ".join(facts.get("command") or [])
    rep.add_table([{"item": k, "value": "–" if v is None else str(v)} for k, v in facts.items()],
                  caption="provenance.json")
    files["report"] = rep.to_html(out / "report.html")
    log.info("plan outputs in %s", out)
    return files
