"""A cheap analytic "simulator" with a known optimum and known probabilities, for the planner's tests.

Design: ``volume`` in 0, 0.05, ..., 1 and ``approach`` in {"a", "b"}; uncertain: ``bmd`` ~ N(0, 0.25),
``timing`` ~ U(0, 1). Outputs: ``stiffness = 2 volume + bmd + (0.2 if b)``, ``leaked = max(0, volume +
0.5 timing - 0.9)``, ``cement = volume``. Target stiffness >= 1 in 90 % of cases, least cement:
P(meet) = Phi((2 v + bonus - 1) / 0.25), so the least volume is 0.5602 with b (grid: 0.6, P = Phi(1.6)
= 0.9452; 0.55 gives Phi(1.2) = 0.8849) and 0.6602 with a. P(leak) = P(timing > 2 (0.9 - v)) = 0.4 at 0.6.
"""

import numpy as np
from scipy.stats import norm

from vbfem.plan.spec import DesignSpace, DesignVariable, Objective, PlanSettings, PlanSpec, Target, UncertainInput

COLUMNS = ("stiffness", "leaked", "cement")


def simulate_one(p):
    bonus = 0.2 if p["approach"] == "b" else 0.0
    return {"stiffness": 2 * p["volume"] + p["bmd"] + bonus,
            "leaked": max(0.0, p["volume"] + 0.5 * p["timing"] - 0.9), "cement": p["volume"]}


class Counter:
    """``evaluate`` for the planner, counting the simulations."""

    def __init__(self):
        self.calls = []

    def __call__(self, points):
        self.calls.append(list(points))
        return [simulate_one(p) for p in points]


def p_met(volume, approach, threshold=1.0):
    return float(norm.cdf((2 * volume + (0.2 if approach == "b" else 0.0) - threshold) / 0.25))


def p_leak(volume):
    return float(np.clip(1 - 2 * (0.9 - volume), 0, 1))


def spec(*, threshold=1.0, seed=0, **settings):
    kw = {"probability": 0.9, "n_initial": 32, "rounds": 3, "batch": 8, "n_mc": 512, "n_verify": 200, "max_verify": 4,
              "leak_column": "leaked", "leak_threshold": 0.0, "seed": seed}
    kw.update(settings)
    return PlanSpec(design=DesignSpace((DesignVariable.from_dict("volume", {"low": 0.0, "high": 1.0, "step": 0.05}),
                                        DesignVariable("approach", ("a", "b")))),
                    uncertainty=(UncertainInput("bmd", "norm", (("loc", 0.0), ("scale", 0.25))),
                                 UncertainInput("timing", "uniform", (("loc", 0.0), ("scale", 1.0)))),
                    targets=(Target("stiffness", min=threshold),), objective=Objective((("cement", 1.0),)),
                    settings=PlanSettings(**kw))
