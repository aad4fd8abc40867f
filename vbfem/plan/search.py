"""The planner's search: space-filling design, surrogate, sequential design, verification.

:func:`plan` works over any simulator: ``evaluate(points) -> rows``, ``points`` a list of
``{key: value}`` (the design keys and the uncertain keys of one case each), ``rows`` one dict of
output columns per point (a row with ``"error"`` is a failed case). The study route
(:func:`vbfem.plan.plan_treatment`) plugs in the sweep machinery (:class:`vbfem.plan.simulate.SweepSimulator`);
the tests plug in analytic functions.

Steps (every random number from ``settings.seed``):

1. ``n_initial`` cases of a scrambled Sobol design over the unit cube of design x uncertainty
   (``scipy.stats.qmc``); design coordinates snap to the grid of levels, uncertain ones map through
   the inverse CDFs.
2. A GP surrogate per modelled column (:mod:`vbfem.plan.surrogate`), cross-validated.
3. ``rounds`` of sequential design: each candidate strategy's probability of meeting the targets is
   estimated on the surrogate over ``n_mc`` Sobol samples of the uncertain inputs; the ``batch``
   cheapest candidates that may still meet the probability (surrogate probability above it minus
   a margin, else the most likely ones) get one new case each, at the uncertain sample the surrogate
   classifies worst (smallest U, Echard 2011): the frontier of the targets is learnt where it matters.
4. Verification: candidates in the surrogate's order (meets the probability, then least objective)
   are simulated at ``n_verify`` independent seeded samples of the uncertain inputs; the share that
   meets every target (Wilson interval) decides. A candidate is recommended only from these full
   simulations; a failed verification goes into the training data and the next candidate is tried,
   up to ``max_verify``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ..treatment.leakage import wilson_interval
from .probability import closeness, probability_above, probability_met
from .spec import LEAK_PROBABILITY, PlanSpec
from .surrogate import fit_surrogate, require_sklearn

log = logging.getLogger(__name__)

#: On the surrogate a case leaks when its leak column exceeds the threshold by more than this (in the
#: column's unit, relative to max(1, |threshold|)): a surrogate of a column that is 0 wherever the
#: simulations did not leak predicts 0 there, which must read as "no leak", not as a coin toss.
LEAK_TOLERANCE = 1e-6

#: Candidates within this margin below the required probability (on the surrogate) are still refined.
MARGIN = 0.25


@dataclass(frozen=True)
class Verification:
    """A candidate strategy checked by full simulations.

    Attributes
    ----------
    design : dict
    n : int
        Simulations (failed ones count as missing the targets).
    met : int
        Simulations meeting every target.
    leaked : int
        Simulations whose leak column exceeds the threshold.
    p_met, p_met_ci, p_leak, p_leak_ci : float, (float, float)
    means : dict
        Mean of every modelled column over the simulations that ran.
    objective : float
    surrogate_p_met : float
        The surrogate's estimate before verification.
    meets : bool
        ``p_met >= settings.probability``.
    """

    design: dict
    n: int
    met: int
    leaked: int
    p_met: float
    p_met_ci: tuple
    p_leak: float
    p_leak_ci: tuple
    means: dict
    objective: float
    surrogate_p_met: float
    meets: bool
    failed: int = 0


@dataclass(frozen=True)
class PlanResult:
    """The outcome of a plan.

    Attributes
    ----------
    status : {"met", "unreachable"}
        "unreachable": no verified strategy meets the targets (see ``shortfall``).
    recommended : Verification or None
    verified : tuple of Verification
        In the order they were verified.
    ranking : tuple of dict
        Every candidate with the surrogate's probabilities and objective, verified ones with their
        simulated values and intervals; ranked (verified meeting first, by objective).
    shortfall : tuple of dict
        Per target: the best value of all simulations, the value reached in the required share of
        the best verified strategy's simulations, and by how much it falls short (0 when met).
    cv : dict
        Cross-validated error of the final surrogate per column.
    simulations : tuple of dict
        Every simulated case: stage, its inputs and outputs.
    n_simulations : int
    spec : PlanSpec
    sensitivity : tuple of dict
        Sobol indices (filled by :func:`vbfem.plan.sensitivity.plan_sensitivity`).
    """

    status: str
    recommended: Verification | None
    verified: tuple
    ranking: tuple
    shortfall: tuple
    cv: dict
    simulations: tuple
    n_simulations: int
    spec: PlanSpec = field(repr=False)
    surrogate: object = field(default=None, repr=False, compare=False)
    sensitivity: tuple = ()


class _Data:
    """The simulated cases so far: unit inputs, points, outputs."""

    def __init__(self, spec: PlanSpec):
        self.spec = spec
        self.x, self.points, self.rows, self.stage = [], [], [], []

    def add(self, x, points, rows, stage):
        for xi, p, r in zip(x, points, rows):
            self.x.append(np.asarray(xi, float))
            self.points.append(dict(p))
            self.rows.append(dict(r))
            self.stage.append(stage)

    def training(self):
        cols = self.spec.columns
        keep = [i for i, r in enumerate(self.rows)
                if "error" not in r and all(np.isfinite(_num(r.get(c))) for c in cols)]
        x = np.array([self.x[i] for i in keep])
        return x, {c: np.array([_num(self.rows[i][c]) for i in keep]) for c in cols}


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _points(spec: PlanSpec, design_unit, unc_unit) -> tuple[np.ndarray, list[dict]]:
    """Snap unit coordinates to strategies and uncertain values: the GP inputs and the simulator's points."""
    designs, pts = [], []
    for du, uu in zip(design_unit, unc_unit):
        d = spec.design.snap(du)
        p = dict(d)
        for u, val in zip(spec.uncertainty, uu):
            p[u.point_key] = u.from_unit([val])[0].item()
        pts.append(p)
        designs.append(d)
    return _gp_inputs(spec, designs, np.asarray(unc_unit, float).reshape(len(designs), -1)), pts


def _gp_inputs(spec: PlanSpec, designs, unc_unit) -> np.ndarray:
    """The surrogate's inputs of strategies ``designs`` at uncertain unit coordinates ``unc_unit`` (one row
    each): the design's unit coordinates (:meth:`DesignSpace.encode`) and the uncertain ones; a design
    variable with an error on it (``UncertainInput.error``) enters as the value the simulation gets,
    planned plus error, on the levels' linear scale (``(value - low) / (high - low)``), so that the
    surrogate sees the offset where the tip lands, not two unrelated coordinates."""
    enc = np.array([spec.design.encode(d) for d in designs], float).reshape(len(designs), -1)
    x = np.hstack([enc, unc_unit]) if unc_unit.shape[1] else enc
    for k, u in enumerate(spec.uncertainty):
        if not (u.error and u.key in spec.design.keys):
            continue
        j = spec.design.keys.index(u.key)
        vals = np.asarray(spec.design.variables[j].values, float)
        span = float(vals.max() - vals.min()) or 1.0
        err = u.from_unit(unc_unit[:, k]).astype(float)
        x[:, j] = (np.array([float(d[u.key]) for d in designs]) + err - vals.min()) / span
    return x


def _evaluate(evaluate, points):
    rows = list(evaluate(points))
    if len(rows) != len(points):
        raise RuntimeError(f"evaluate returned {len(rows)} rows for {len(points)} points")
    return rows


def _screen(spec: PlanSpec, surrogate, candidates, u_mc):
    """Surrogate estimates per candidate: p_met, p_leak, objective, means (one prediction for all)."""
    s = spec.settings
    n = max(1, len(u_mc))
    if u_mc.shape[1]:
        x = _gp_inputs(spec, [c for c in candidates for _ in range(n)], np.tile(u_mc, (len(candidates), 1)))
    else:
        x = _gp_inputs(spec, candidates, np.zeros((len(candidates), 0)))
    allpred = surrogate.predict(x)
    thr = s.leak_threshold + LEAK_TOLERANCE * max(1.0, abs(s.leak_threshold))
    out = []
    for k in range(len(candidates)):
        pred = {c: (mean[k * n:(k + 1) * n], sd[k * n:(k + 1) * n]) for c, (mean, sd) in allpred.items()}
        p_met = float(np.mean(probability_met(spec.targets, pred)))
        p_leak = float(np.mean(probability_above(pred[s.leak_column], thr)))
        means = {col: float(np.mean(pred[col][0])) for col in spec.columns}
        out.append({"p_met": p_met, "p_leak": p_leak, "means": means, "margin": _margin(spec.targets, pred),
                    "objective": spec.objective.value(means, p_leak), "pred": pred})
    return out


def _tie(objective: float) -> float:
    """The objective to 4 significant digits: strategies whose objectives differ by less (e.g. the same
    cement at different start times, where the surrogate's prediction of the cement differs in the 5th
    digit) tie, and the more likely to meet the targets goes first."""
    return float(f"{objective:.4g}")


def _margin(targets, pred) -> float:
    """How far the surrogate's mean is inside (> 0) or outside (< 0) the targets, relative to each bound,
    averaged over the samples (the worst target per sample): orders candidates of equal, vanishing
    probability (unreachable targets) by how close they come."""
    worst = None
    for t in targets:
        mean = pred[t.column][0]
        for b, sign in ((t.min, 1.0), (t.max, -1.0)):
            if b is not None:
                v = sign * (mean - b) / max(abs(b), 1e-12)
                worst = v if worst is None else np.minimum(worst, v)
    return float(np.mean(worst))


def _order(spec: PlanSpec, screened) -> list[int]:
    """Candidates in the order they are verified: those meeting the probability on the surrogate by
    objective, then the others by decreasing probability."""
    req = spec.settings.probability
    ok = sorted((i for i, r in enumerate(screened) if r["p_met"] >= req),
                key=lambda i: (_tie(screened[i]["objective"]), -screened[i]["p_met"], i))
    rest = sorted((i for i, r in enumerate(screened) if r["p_met"] < req),
                  key=lambda i: (-screened[i]["p_met"], -screened[i]["margin"], i))
    return ok + rest


def _sobol(dim: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    if dim == 0:
        return np.zeros((n, 0))
    import warnings

    with warnings.catch_warnings():  # balance needs n a power of two; other n still fill the cube evenly
        warnings.filterwarnings("ignore", "The balance properties of Sobol", UserWarning)
        return qmc.Sobol(d=dim, scramble=True, seed=np.random.default_rng(seed)).random(n)


def plan(spec: PlanSpec, evaluate, *, progress=None) -> PlanResult:
    """Find the strategy of least objective that meets the targets in the required share of cases.

    Parameters
    ----------
    spec : PlanSpec
    evaluate : callable
        ``evaluate(points) -> rows`` (module docstring); called with batches, each a list of dicts.
    progress : callable, optional, keyword-only
        ``progress(stage: str, simulations_so_far: int)`` after each batch.

    Returns
    -------
    PlanResult
    """
    require_sklearn()  # before any simulation
    s = spec.settings
    d, m = len(spec.design.variables), len(spec.uncertainty)
    candidates = spec.design.candidates()
    data = _Data(spec)

    def run(x, pts, stage):
        rows = _evaluate(evaluate, pts)
        data.add(x, pts, rows, stage)
        log.info("plan %s: %d simulation(s), %d in all", stage, len(pts), len(data.rows))
        if progress:
            progress(stage, len(data.rows))
        return rows

    # 1. space-filling design (Sobol; its balance needs a power of two, which n_initial need not be)
    u0 = _sobol(d + m, s.n_initial, s.seed)
    x0, p0 = _points(spec, u0[:, :d], u0[:, d:])
    run(x0, p0, "initial")
    u_mc = _sobol(m, s.n_mc, s.seed + 1)

    def fit(validate=False):
        x, y = data.training()
        if len(x) < max(4, s.folds):
            raise RuntimeError(f"only {len(x)} of {len(data.rows)} simulations gave finite values of "
                               f"{', '.join(spec.columns)}; the surrogate needs at least {max(4, s.folds)}")
        return fit_surrogate(x, y, folds=s.folds, seed=s.seed, validate=validate)

    # 2-3. surrogate and sequential design
    sur = fit()
    seen = {tuple(np.round(x, 12)) for x in data.x}
    for r in range(s.rounds):
        screened = _screen(spec, sur, candidates, u_mc)
        req = s.probability
        near = [i for i, c in enumerate(screened) if c["p_met"] >= req - MARGIN]
        pick = (sorted(near, key=lambda i: (_tie(screened[i]["objective"]), -screened[i]["p_met"], i)) if near
                else sorted(range(len(candidates)), key=lambda i: (-screened[i]["p_met"], i)))
        xs, pts = [], []
        for i in pick:
            if len(xs) == s.batch:
                break
            c = candidates[i]
            order = np.argsort(closeness(spec.targets, screened[i]["pred"]), kind="stable") if m else [0]
            for j in order:
                uu = u_mc[j] if m else np.zeros(0)
                x1, p1 = _points(spec, [_unit_mid(spec, c)], [uu])
                key = tuple(np.round(x1[0], 12))
                if key not in seen:
                    seen.add(key)
                    xs.append(x1[0])
                    pts.append(p1[0])
                    break
        if not xs:
            log.info("plan: round %d found nothing new to simulate", r + 1)
            break
        run(np.array(xs), pts, f"refine {r + 1}")
        sur = fit()

    # 4. verification by full simulations (the surrogate that chooses the candidates is cross-validated)
    sur = fit(validate=True)
    screened = _screen(spec, sur, candidates, u_mc)
    rng = np.random.default_rng([s.seed, 2])
    u_ver = rng.random((s.n_verify, m))  # independent samples: a binomial count, a Wilson interval
    verified, tried = [], set()
    while len(verified) < s.max_verify:
        left = [j for j in _order(spec, screened) if j not in tried]
        if not left:
            break
        i = left[0]
        tried.add(i)
        c = candidates[i]
        xs, pts = _points(spec, [_unit_mid(spec, c)] * s.n_verify, u_ver)
        rows = run(xs, pts, f"verify {len(verified) + 1}")
        v = _verification(spec, c, rows, screened[i]["p_met"])
        verified.append(v)
        log.info("plan: verified %s: p_met %.3f [%.3f, %.3f] (surrogate %.3f)", c, v.p_met, *v.p_met_ci,
                 v.surrogate_p_met)
        if v.meets:
            break
        sur = fit(validate=True)  # the failed verification teaches the surrogate
        screened = _screen(spec, sur, candidates, u_mc)
    good = [v for v in verified if v.meets]
    recommended = min(good, key=lambda v: v.objective) if good else None
    ranking = _ranking(spec, candidates, screened, verified)
    return PlanResult(status="met" if recommended else "unreachable", recommended=recommended,
                      verified=tuple(verified), ranking=tuple(ranking),
                      shortfall=tuple(_shortfall(spec, data, verified)), cv=dict(sur.cv),
                      simulations=tuple({"stage": st, **p, **{k: v for k, v in r.items() if k not in p}}
                                        for st, p, r in zip(data.stage, data.points, data.rows)),
                      n_simulations=len(data.rows), spec=spec, surrogate=sur)


def _unit_mid(spec: PlanSpec, design: dict) -> np.ndarray:
    """Unit coordinates that :meth:`DesignSpace.snap` maps back to ``design`` (the middle of its cell)."""
    return np.array([(v.values.index(design[v.key]) + 0.5) / len(v.values) for v in spec.design.variables])


def _met(spec: PlanSpec, row) -> bool:
    if "error" in row:
        return False
    return all(bool(t.met([_num(row.get(t.column))])[0]) for t in spec.targets)


def _verification(spec: PlanSpec, design, rows, surrogate_p) -> Verification:
    s = spec.settings
    n = len(rows)
    ok = [r for r in rows if "error" not in r]
    met = sum(_met(spec, r) for r in rows)
    leaked = sum(_num(r.get(s.leak_column)) > s.leak_threshold for r in ok)
    means = {c: float(np.nanmean([_num(r.get(c)) for r in ok])) if ok else float("nan") for c in spec.columns}
    p_leak = leaked / n
    return Verification(design=dict(design), n=n, met=met, leaked=leaked, p_met=met / n,
                        p_met_ci=wilson_interval(met, n, confidence=s.confidence), p_leak=p_leak,
                        p_leak_ci=wilson_interval(leaked, n, confidence=s.confidence), means=means,
                        objective=spec.objective.value(means, p_leak), surrogate_p_met=surrogate_p,
                        meets=met / n >= s.probability, failed=n - len(ok))


def _ranking(spec, candidates, screened, verified) -> list[dict]:
    ver = {tuple(sorted(v.design.items())): v for v in verified}
    rows = []
    for c, sc in zip(candidates, screened):
        row = {**c, "surrogate_p_met": sc["p_met"], "surrogate_p_leak": sc["p_leak"],
               "surrogate_objective": sc["objective"], **{f"surrogate_mean_{k}": v for k, v in sc["means"].items()}}
        v = ver.get(tuple(sorted(c.items())))
        if v is None:
            row.update(verified="no")
        else:
            row.update(verified="meets" if v.meets else "fails", n_sims=v.n, p_met=v.p_met, p_met_low=v.p_met_ci[0],
                       p_met_high=v.p_met_ci[1], p_leak=v.p_leak, p_leak_low=v.p_leak_ci[0],
                       p_leak_high=v.p_leak_ci[1], objective=v.objective,
                       **{f"mean_{k}": val for k, val in v.means.items()})
        rows.append(row)
    req = spec.settings.probability

    def key(r):
        group = {"meets": 0, "fails": 2}.get(r["verified"], 1)
        if group == 1:  # not verified: by the surrogate, those meeting the probability first
            return (1, r["surrogate_p_met"] < req, r["surrogate_objective"] if r["surrogate_p_met"] >= req
                    else -r["surrogate_p_met"])
        return (group, 0, r["objective"] if group == 0 else -r["p_met"])

    rows.sort(key=key)
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return [{"rank": r.pop("rank"), **r} for r in rows]


def _shortfall(spec: PlanSpec, data: _Data, verified) -> list[dict]:
    """Per target: the best value any simulation reached and, over the verified strategies, the best
    value reached in the required share of a strategy's simulations, and its gap to the bound (0 when met)."""
    req = spec.settings.probability
    out = []
    for t in spec.targets:
        vals = np.array([_num(r.get(t.column)) for r in data.rows if "error" not in r])
        vals = vals[np.isfinite(vals)]
        row = {"target": t.text(), "column": t.column}
        row["best_simulated"] = (float("nan") if not vals.size else float(vals.max()) if t.min is not None
                                 else float(vals.min()))
        best = None
        for v in verified:
            got = np.array([_num(data.rows[i].get(t.column)) for i in range(len(data.rows))
                            if data.stage[i].startswith("verify") and data.points[i].items() >= v.design.items()
                            and "error" not in data.rows[i]])
            got = got[np.isfinite(got)]
            if not got.size:
                continue
            # the value reached in the required share of this strategy's cases
            q = float(np.quantile(got, 1 - req)) if t.min is not None else float(np.quantile(got, req))
            gap = max(0.0, t.min - q) if t.min is not None else 0.0
            if t.max is not None:
                gap = max(gap, q - t.max)
            if best is None or gap < best[0]:
                best = (gap, q, v.design)
        if best is not None:
            row.update(reached_in_share=best[1], shortfall=best[0],
                       strategy=", ".join(f"{k}={val}" for k, val in best[2].items()))
        out.append(row)
    return out


#: Names of the pseudo-columns of :data:`LEAK_PROBABILITY`, re-exported for the report.
__all__ = ["LEAK_PROBABILITY", "PlanResult", "Verification", "plan"]
