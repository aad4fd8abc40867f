"""The records of a treatment plan: design space, uncertain inputs, targets, objective, settings.

A plan file (TOML) names a base study, the treatment keys the planner may choose (the design space,
with bounds and steps or a list of values), the inputs nobody controls (distributions of
``scipy.stats``), the targets on output columns of the treated state, and what to minimise::

    version = 1
    study = "../vp_vs_kp.toml"        # or an inline [base] table with the study keys
    state = "VP"                      # the treated state whose row the targets read (default: the first treatment)

    [design]                          # study key -> {low, high, step} or {values = [...]}
    "treatments[0].volume" = { low = 2.0, high = 6.0, step = 1.0 }
    "treatments[0].approach" = { values = ["unipedicular", "bipedicular"] }

    [uncertainty]                     # study key -> a scipy.stats distribution and its parameters
    "bone.bmd" = { dist = "norm", loc = 0.10, scale = 0.015 }
    "treatments[0].start_time" = { dist = "uniform", loc = 180.0, scale = 240.0 }
    "treatments[0].tip_offset_x" = { dist = "norm", loc = 0.0, scale = 1.57, error = true }  # added to the planned offset

    [[targets]]                       # a results column with min and/or max
    column = "stiffness_pct_intact"
    min = 90.0

    [objective]                       # minimise one column's mean, "leak_probability", or a weighted sum
    weights = { cement_ml = 1.0, leak_probability = 4.0 }

    [settings]                        # see PlanSettings
    probability = 0.9
    seed = 1

Every value is checked when the file is read (:func:`load_plan`), before any simulation.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

#: The columns of a study's results row that a plan may target (the comparison row of
#: :class:`vbfem.mechanics.compare.ComparisonRow`, the fill and height information of a treated state
#: written by :func:`vbfem.study.pipeline.run_study`, and the strength-curve columns).
#: ``tests/plan/test_study_route.py`` (slow) and ``tests/study/test_placement.py`` (the VP and KP
#: rows of a run without strength) check that a real run's columns are all listed here.
STUDY_COLUMNS = (
    "stiffness", "strength", "stiffness_pct_intact", "strength_pct_intact", "stiffness_pct_restored",
    "strength_pct_restored", "yield_N", "curve_travel_mm", "peak_travel_mm",
    "anterior_height_mm", "middle_height_mm", "posterior_height_mm", "height_restored_mm", "height_restored_pct",
    "cement_ml", "fill_pct", "bridging", "leaked_ml", "posterior_distance_mm", "needle_pressure_kPa",
    "syringe_pressure_kPa", "cannula_share_pct", "leak", "leaked_venous_ml", "leaked_cortical_ml",
    "leaked_disc_ml", "first_leak_s",
    "cavity_ml", "cavity_unfilled_pct", "interdigitation_mm",
    "tip_offset_x_mm", "tip_offset_y_mm", "tip_offset_z_mm", "balloon_start_mm",
)


def study_columns(study=None) -> tuple:
    """The results columns of a study's treated state: :data:`STUDY_COLUMNS`, and with a ``[spine]``
    section the adjacent-level measures of its unit (:func:`vbfem.study.spine.study_unit_columns`): the
    cement's load share, each disc's intradiscal pressure, the mean and peak pressure on each endplate
    next to the treated body, the bulge of every endplate facing a disc, and each body's peak strain,
    yielded volume and risk ratio, the rotations."""
    if study is None or not study.spine.on:
        return STUDY_COLUMNS
    from itertools import pairwise

    from ..mechanics.spinal_unit import adjacent_levels, unit_levels

    sp = study.spine
    names = unit_levels(study.geometry.level, levels=sp.levels or 3, segments=sp.segment_list())
    t = study.geometry.level
    cols = ["cement_load_share"] + [f"idp_{up}_{lo}_MPa" for up, lo in pairwise(names)]
    for lv in adjacent_levels(names, t):
        side = "inferior" if names.index(lv) < names.index(t) else "superior"
        cols += [f"endplate_{lv}:{side}_mean_MPa", f"endplate_{lv}:{side}_peak_MPa"]
    for up, lo in pairwise(names):
        cols += [f"endplate_bulge_{up}:inferior_mm", f"endplate_bulge_{lo}:superior_mm"]
    for lv in names:
        cols += [f"peak_strain_{lv}", f"yield_volume_{lv}_mm3", f"risk_ratio_{lv}"]
    cols += [f"rotation_{a}_deg" for a in "xyz"]
    return STUDY_COLUMNS + tuple(f"spine_{c}" for c in cols)


#: Suffix of an uncertain input's name in a simulation's point when it is an error added to a key
#: (``UncertainInput.error``): ``"treatments[0].tip_offset_x error"``.
ERROR_SUFFIX = " error"

#: Pseudo-column of an objective: the probability that a strategy leaks (see ``PlanSettings.leak_column``).
LEAK_PROBABILITY = "leak_probability"

PLAN_SCHEMA_VERSION = 1


def _bad(name: str, value, allowed: str) -> ValueError:
    return ValueError(f"{name} = {value!r}: {allowed}")


def _check_key(key, where: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise _bad(where, key, "must be a non-empty name (a study key path such as 'treatments[0].volume' on the "
                   "study route)")
    return key


@dataclass(frozen=True)
class DesignVariable:
    """One choice of the plan: a study key and the values it may take.

    Attributes
    ----------
    key : str
        Study key path (``"treatments[0].volume"``).
    values : tuple
        The levels, in order (numbers from ``low`` to ``high`` by ``step``, or the listed values).
    """

    key: str
    values: tuple

    def __post_init__(self):
        _check_key(self.key, "design key")
        if not isinstance(self.values, tuple) or not self.values:
            raise _bad(f"design.{self.key}", self.values, "needs at least one value")
        if len(set(self.values)) != len(self.values):
            raise _bad(f"design.{self.key}", self.values, "values must be distinct")

    @classmethod
    def from_dict(cls, key: str, spec) -> DesignVariable:
        """From ``{low, high, step}`` or ``{values = [...]}``."""
        where = f"design.{key}"
        if not isinstance(spec, dict):
            raise _bad(where, spec, "must be a table {low, high, step} or {values = [...]}")
        if set(spec) == {"values"}:
            vals = spec["values"]
            if not isinstance(vals, list) or not vals:
                raise _bad(f"{where}.values", vals, "must be a non-empty list")
            return cls(key, tuple(vals))
        if set(spec) != {"low", "high", "step"}:
            raise _bad(where, spec, "give exactly low, high and step, or values")
        lo, hi, step = (spec[k] for k in ("low", "high", "step"))
        for name, v in (("low", lo), ("high", hi), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _bad(f"{where}.{name}", v, "must be a finite number")
        if not hi >= lo:
            raise _bad(f"{where}.high", hi, f"must be >= low = {lo}")
        if not step > 0:
            raise _bad(f"{where}.step", step, "must be > 0")
        n = math.floor((hi - lo) / step + 1e-9) + 1
        if n > 1000:
            raise _bad(f"{where}.step", step, f"gives {n} levels; at most 1000")
        ints = all(isinstance(v, int) for v in (lo, hi, step))
        vals = tuple(lo + i * step if ints else round(lo + i * step, 12) for i in range(n))
        return cls(key, vals)

    @property
    def numeric(self) -> bool:
        """True when every value is a number (a bounded variable), False for words (a choice)."""
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True)
class DesignSpace:
    """The choices of the plan: the full grid of their levels is the set of candidate strategies.

    Attributes
    ----------
    variables : tuple of DesignVariable
    """

    variables: tuple

    def __post_init__(self):
        object.__setattr__(self, "variables", tuple(self.variables))
        if not self.variables:
            raise ValueError("design: the design space is empty; give at least one study key with its values")
        keys = [v.key for v in self.variables]
        if len(set(keys)) != len(keys):
            raise ValueError(f"design: key {min(k for k in keys if keys.count(k) > 1)!r} is given twice")
        if self.size > 100_000:
            raise ValueError(f"design: {self.size} candidate strategies; at most 100000 (coarsen the steps)")

    @property
    def keys(self) -> tuple:
        return tuple(v.key for v in self.variables)

    @property
    def size(self) -> int:
        """Number of candidate strategies (the grid of levels)."""
        return math.prod(len(v.values) for v in self.variables)

    def candidates(self) -> list[dict]:
        """Every strategy of the grid, ``{key: value}``, in lexicographic order of the levels."""
        return [dict(zip(self.keys, combo)) for combo in itertools.product(*(v.values for v in self.variables))]

    def encode(self, design: dict) -> np.ndarray:
        """Unit coordinates of a strategy: each level's index over the number of levels - 1 (0 for one level)."""
        return np.array([v.values.index(design[v.key]) / max(1, len(v.values) - 1) for v in self.variables])

    def snap(self, unit) -> dict:
        """The strategy nearest to unit coordinates ``unit`` (each in [0, 1])."""
        out = {}
        for v, u in zip(self.variables, np.asarray(unit, float)):
            i = int(np.clip(np.floor(u * len(v.values)), 0, len(v.values) - 1))
            out[v.key] = v.values[i]
        return out


@dataclass(frozen=True)
class UncertainInput:
    """An input nobody controls: a study key and a ``scipy.stats`` distribution.

    Attributes
    ----------
    key : str
    dist : str
        Name of a ``scipy.stats`` distribution (``"norm"``, ``"uniform"``, ``"lognorm"``, ``"truncnorm"``,
        ``"randint"`` ...).
    params : tuple of (str, float)
        Its parameters by name (``loc``, ``scale`` and the shape parameters).
    error : bool
        False: the sample is the key's value. True: the sample is an error added to the key's value, the
        design level when the key is also a design variable (e.g. a placement error on a planned needle-tip
        offset ``treatments[0].tip_offset_x``), else the base study's; the simulator receives it as
        :attr:`point_key` (``"<key> error"``) beside the planned value (:func:`study_point`).
    """

    key: str
    dist: str
    params: tuple = ()
    error: bool = False

    def __post_init__(self):
        from scipy import stats

        _check_key(self.key, "uncertainty key")
        where = f"uncertainty.{self.key}"
        if not isinstance(self.error, bool):
            raise _bad(f"{where}.error", self.error, "must be true (an error added to the key's value) or false")
        gen = getattr(stats, self.dist, None) if isinstance(self.dist, str) else None
        if not isinstance(gen, (stats.rv_continuous, stats.rv_discrete)):
            raise _bad(f"{where}.dist", self.dist, "must name a scipy.stats distribution (e.g. 'norm', 'uniform', "
                       "'lognorm', 'truncnorm')")
        params = tuple((str(k), v) for k, v in self.params)
        object.__setattr__(self, "params", params)
        for k, v in params:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _bad(f"{where}.{k}", v, "must be a finite number")
        try:
            rv = gen(**dict(params))
            q = rv.ppf([0.01, 0.5, 0.99])
        except TypeError as exc:
            names = ", ".join(["loc", "scale"] * isinstance(gen, stats.rv_continuous) + ["loc"] * isinstance(
                gen, stats.rv_discrete) + (gen.shapes.split(", ") if gen.shapes else []))
            raise ValueError(f"{where}: parameters {dict(params)} do not fit scipy.stats.{self.dist} "
                             f"(its parameters: {names}): {exc}") from None
        if not np.all(np.isfinite(q)):
            raise ValueError(f"{where}: parameters {dict(params)} are invalid for scipy.stats.{self.dist} "
                             "(e.g. a scale <= 0 or a shape outside its range)")

    @property
    def point_key(self) -> str:
        """The name of this input in a simulation's point: the key, or ``"<key> error"`` for an error."""
        return self.key + ERROR_SUFFIX if self.error else self.key

    @property
    def discrete(self) -> bool:
        from scipy import stats

        return isinstance(getattr(stats, self.dist), stats.rv_discrete)

    def frozen(self):
        """The frozen ``scipy.stats`` distribution."""
        from scipy import stats

        return getattr(stats, self.dist)(**dict(self.params))

    def from_unit(self, u) -> np.ndarray:
        """Values at probabilities ``u`` (inverse CDF); integers for a discrete distribution."""
        x = self.frozen().ppf(np.clip(np.asarray(u, float), 1e-12, 1.0 - 1e-12))
        return x.astype(int) if self.discrete else x

    @classmethod
    def from_dict(cls, key: str, spec) -> UncertainInput:
        if not isinstance(spec, dict) or "dist" not in spec:
            raise _bad(f"uncertainty.{key}", spec, "must be a table with dist = '<scipy.stats name>' and its "
                       "parameters")
        return cls(key, spec["dist"], tuple((k, v) for k, v in spec.items() if k not in ("dist", "error")),
                   error=spec.get("error", False))


@dataclass(frozen=True)
class Target:
    """A bound on an output column of the treated state: ``min <= value`` and/or ``value <= max``."""

    column: str
    min: float | None = None
    max: float | None = None

    def __post_init__(self):
        if not isinstance(self.column, str) or not self.column:
            raise _bad("targets.column", self.column, "must name a results column")
        if self.min is None and self.max is None:
            raise ValueError(f"targets: column {self.column!r} needs min and/or max")
        for name in ("min", "max"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise _bad(f"targets.{self.column}.{name}", v, "must be a finite number")
        if self.min is not None and self.max is not None and not self.min <= self.max:
            raise _bad(f"targets.{self.column}.max", self.max, f"must be >= min = {self.min}")

    def met(self, values) -> np.ndarray:
        """Whether each value meets the target (NaN never does)."""
        v = np.asarray(values, float)
        ok = np.isfinite(v)
        if self.min is not None:
            ok &= v >= self.min
        if self.max is not None:
            ok &= v <= self.max
        return ok

    def text(self) -> str:
        if self.min is not None and self.max is not None:
            return f"{self.min:g} <= {self.column} <= {self.max:g}"
        return f"{self.column} >= {self.min:g}" if self.min is not None else f"{self.column} <= {self.max:g}"


@dataclass(frozen=True)
class Objective:
    """What to minimise among the strategies that meet the targets: a weighted sum of the mean of
    columns over the uncertain inputs and of ``"leak_probability"``.

    Attributes
    ----------
    weights : tuple of (str, float)
    """

    weights: tuple = (("cement_ml", 1.0),)

    def __post_init__(self):
        w = tuple((str(k), v) for k, v in (self.weights.items() if isinstance(self.weights, dict) else self.weights))
        if not w:
            raise ValueError("objective.weights: empty; give at least one column (or 'leak_probability')")
        for k, v in w:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise _bad(f"objective.weights.{k}", v, "must be a number > 0")
        object.__setattr__(self, "weights", w)

    @property
    def columns(self) -> tuple:
        """The results columns of the objective (without the leak probability)."""
        return tuple(k for k, _ in self.weights if k != LEAK_PROBABILITY)

    def value(self, means: dict, leak_probability: float) -> float:
        return float(sum(w * (leak_probability if k == LEAK_PROBABILITY else means[k]) for k, w in self.weights))

    @classmethod
    def from_dict(cls, spec) -> Objective:
        if not isinstance(spec, dict) or len(spec) != 1 or not ({"minimize", "weights"} & set(spec)):
            raise _bad("objective", spec, "give minimize = '<column or leak_probability>' or weights = {column = "
                       "weight, ...}")
        if "minimize" in spec:
            return cls(((spec["minimize"], 1.0),))
        if not isinstance(spec["weights"], dict):
            raise _bad("objective.weights", spec["weights"], "must be a table column = weight")
        return cls(tuple(spec["weights"].items()))


@dataclass(frozen=True)
class PlanSettings:
    """How the planner samples, learns and verifies (every count is of full simulations unless stated).

    Attributes
    ----------
    probability : float
        Share of the uncertain cases in which a strategy must meet every target (0-1).
    n_initial : int
        Simulations of the first, space-filling design (scrambled Sobol over design x uncertainty).
    rounds : int
        Rounds of sequential design after it.
    batch : int
        Simulations added per round.
    n_mc : int
        Monte Carlo samples of the uncertain inputs per candidate on the surrogate (cheap).
    n_verify : int
        Full simulations that verify a candidate (independent seeded samples of the uncertain inputs).
    max_verify : int
        Most candidates verified before the planner gives up ("no strategy meets the targets").
    folds : int
        Folds of the surrogate's cross-validation.
    confidence : float
        Level of the Wilson intervals of the probabilities (0-1).
    leak_column : str
        Column that says a case leaked when it exceeds ``leak_threshold``.
    leak_threshold : float
        In the unit of ``leak_column`` (mL for ``leaked_ml``).
    seed : int
    """

    probability: float = 0.9
    n_initial: int = 32
    rounds: int = 2
    batch: int = 8
    n_mc: int = 512
    n_verify: int = 16
    max_verify: int = 3
    folds: int = 5
    confidence: float = 0.95
    leak_column: str = "leaked_ml"
    leak_threshold: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for name, lo in (("n_initial", 4), ("rounds", 0), ("batch", 1), ("n_mc", 16), ("n_verify", 1),
                         ("max_verify", 1), ("folds", 2), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise _bad(f"settings.{name}", v, f"must be an integer >= {lo}")
        for name in ("probability", "confidence"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < v < 1.0:
                raise _bad(f"settings.{name}", v, "must be a number in (0, 1)")
        if self.folds > self.n_initial:
            raise _bad("settings.folds", self.folds, f"must be <= n_initial = {self.n_initial}")
        v = self.leak_threshold
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _bad("settings.leak_threshold", v, "must be a finite number")


@dataclass(frozen=True)
class PlanSpec:
    """Everything a plan needs but the simulator.

    Attributes
    ----------
    design : DesignSpace
    uncertainty : tuple of UncertainInput
    targets : tuple of Target
    objective : Objective
    settings : PlanSettings
    study : Study or None
        The base study (the study route); None for a plan over another simulator.
    state : str or None
        The treated state whose results row the targets read (the study route).
    """

    design: DesignSpace
    uncertainty: tuple
    targets: tuple
    objective: Objective = field(default_factory=Objective)
    settings: PlanSettings = field(default_factory=PlanSettings)
    study: object = None
    state: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "uncertainty", tuple(self.uncertainty))
        object.__setattr__(self, "targets", tuple(self.targets))
        if not self.targets:
            raise ValueError("targets: none given; a plan needs at least one target on a results column")
        keys = [u.key for u in self.uncertainty]
        both = sorted({u.key for u in self.uncertainty if not u.error} & set(self.design.keys))
        if both:
            raise ValueError(f"uncertainty.{both[0]}: the key is also a design variable; a key is either chosen "
                             "or uncertain (or give error = true: an error added to the chosen value)")
        for u in self.uncertainty:
            if u.error and u.key in self.design.keys:
                var = self.design.variables[self.design.keys.index(u.key)]
                if not var.numeric or u.discrete != all(isinstance(v, int) for v in var.values):
                    raise ValueError(f"uncertainty.{u.key}.error = true: the design variable's values "
                                     f"{list(var.values)} must be numbers an error of scipy.stats.{u.dist} adds to "
                                     "(continuous errors on real values, integer errors on integers)")
        if len(set(keys)) != len(keys):
            raise ValueError("uncertainty: a key is given twice")

    @property
    def columns(self) -> tuple:
        """The output columns the planner models: the targets', the objective's and the leak column."""
        cols = [t.column for t in self.targets] + list(self.objective.columns) + [self.settings.leak_column]
        return tuple(dict.fromkeys(cols))


def check_columns(spec: PlanSpec, columns) -> None:
    """ValueError naming the first target, objective or leak column that is not in ``columns``."""
    known = set(columns)
    for where, col in ([("targets.column", t.column) for t in spec.targets]
                       + [("objective.weights", c) for c in spec.objective.columns]
                       + [("settings.leak_column", spec.settings.leak_column)]):
        if col not in known:
            raise _bad(where, col, f"is not a results column; known columns: {', '.join(sorted(known))}")


def study_point(study, point: dict):
    """The study of one simulation: ``study`` with the point's keys set (:func:`vbfem.study.sweep.set_key`),
    each ``"<key> error"`` added to the key's value (the point's design level, else the study's).

    Raises
    ------
    StudyError
        A value the study cannot take, or an error on a key the study leaves unset (give it a value).
    """
    from ..study.schema import StudyError
    from ..study.sweep import get_key, set_key

    s = study
    for k, v in point.items():
        if not k.endswith(ERROR_SUFFIX):
            s = set_key(s, k, v)
    for k, err in point.items():
        if k.endswith(ERROR_SUFFIX):
            key = k[: -len(ERROR_SUFFIX)]
            value = get_key(s, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise StudyError(f"{key} = {value!r}: an error ({err!r}) is added to a number; set the key in the "
                                 "base study or make it a design variable")
            s = set_key(s, key, value + err)
    return s


def check_study_keys(spec: PlanSpec) -> None:
    """ValueError naming a design or uncertain key the study cannot take (tried on the base study with
    every level of each design variable, then with the median of each uncertain input), and a design
    level that puts a needle tip or a balloon out of the body's trabecular core (a parametric level:
    :func:`vbfem.study.pipeline.check_placement`)."""
    from ..study.sweep import set_key

    s = spec.study
    placement = _placement_check(s)
    for v in spec.design.variables:
        for value in v.values:
            try:
                placement(set_key(s, v.key, value))
            except ValueError as exc:
                raise ValueError(f"design.{v.key} = {value!r}: {exc}") from None
    for u in spec.uncertainty:
        value = u.from_unit([0.5])[0].item()
        try:
            study_point(s, {u.point_key: value} if u.key not in spec.design.keys
                        else {u.key: spec.design.variables[spec.design.keys.index(u.key)].values[0],
                              u.point_key: value})
        except ValueError as exc:
            raise ValueError(f"uncertainty.{u.key} (median {value!r}): {exc}") from None


def _placement_check(study):
    """``check(study)``: the placement check of a parametric level's studies (nothing for a surface or image)."""
    if study.geometry.surface is not None or study.geometry.image is not None:
        return lambda s: None
    from ..study.pipeline import check_placement, make_geometry

    geometry = make_geometry(level=study.geometry.level)
    return lambda s: check_placement(s, geometry)


def plan_from_dict(data: dict, *, root: Path = Path("."), study=None, columns=None) -> PlanSpec:
    """Build a :class:`PlanSpec` from the plan-file layout (module docstring) and check it.

    Parameters
    ----------
    data : dict
    root : Path, keyword-only
        Folder a relative ``study`` path resolves against.
    study : Study, optional, keyword-only
        The base study when ``data`` names none (a plan over another simulator leaves both out).
    columns : iterable of str, optional, keyword-only
        The known output columns (default :data:`STUDY_COLUMNS` with a study, no check without).
    """
    from ..study.schema import Study, load_study, with_paths_from

    if not isinstance(data, dict):
        raise _bad("plan", data, "must be a table")
    allowed = {"version", "study", "base", "state", "design", "uncertainty", "targets", "objective", "settings"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key; allowed plan keys: {', '.join(sorted(allowed))}")
    if data.get("version", PLAN_SCHEMA_VERSION) != PLAN_SCHEMA_VERSION:
        raise _bad("version", data["version"], f"this vbfem reads plan schema {PLAN_SCHEMA_VERSION}")
    if "study" in data and "base" in data:
        raise ValueError("plan: give one of study = 'file.toml' or a [base] table, not both")
    if "study" in data:
        study = load_study(Path(root) / data["study"])
    elif "base" in data:
        study = Study.from_dict(with_paths_from(data["base"], root))
    design = data.get("design", {})
    if not isinstance(design, dict):
        raise _bad("design", design, "must be a table of study key -> values")
    space = DesignSpace(tuple(DesignVariable.from_dict(k, v) for k, v in design.items()))
    unc = data.get("uncertainty", {})
    if not isinstance(unc, dict):
        raise _bad("uncertainty", unc, "must be a table of study key -> distribution")
    targets = data.get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise _bad("targets", targets, "must be a list of tables ([[targets]])")
    for t in targets:
        extra = sorted(set(t) - {"column", "min", "max"})
        if extra:
            raise ValueError(f"targets.{extra[0]}: unknown key; a target has column, min and max")
    settings = data.get("settings", {})
    names = {f.name for f in fields(PlanSettings)}
    if not isinstance(settings, dict) or set(settings) - names:
        bad = sorted(set(settings) - names) if isinstance(settings, dict) else settings
        raise _bad("settings", bad, f"unknown; allowed: {', '.join(sorted(names))}")
    state = data.get("state")
    if study is not None:
        names_t = [t.name for t in study.treatments]
        if state is None:
            if not names_t:
                raise ValueError("state: the study has no treatment; a plan chooses a treatment")
            state = names_t[0]
        if state not in names_t:
            raise _bad("state", state, f"must be a treated state of the study ({', '.join(names_t) or 'none'})")
    spec = PlanSpec(design=space, uncertainty=tuple(UncertainInput.from_dict(k, v) for k, v in unc.items()),
                    targets=tuple(Target(**t) for t in targets),
                    objective=Objective.from_dict(data["objective"]) if "objective" in data else Objective(),
                    settings=PlanSettings(**settings), study=study, state=state)
    if columns is None and study is not None:
        columns = study_columns(spec.study)
    if columns is not None:
        check_columns(spec, columns)
    if study is not None:
        check_study_keys(spec)
    return spec


def load_plan(path) -> PlanSpec:
    """Read and check a plan file (a study file it names is read relative to it)."""
    from ..study.schema import read_toml

    path = Path(path)
    return plan_from_dict(read_toml(path, what="plan file"), root=path.parent)
