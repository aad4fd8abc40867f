"""Treatment planning under uncertainty: the strategy that meets targets with the least objective.

``plan_treatment`` (the study route, simulations on the sweep machinery) and ``plan`` (any
simulator as a callable). Optional dependency: scikit-learn (``pip install 'vbfem[plan]'``),
imported only when a surrogate is fitted.
"""

from .search import PlanResult, Verification, plan
from .simulate import SweepSimulator, plan_treatment
from .spec import DesignSpace, DesignVariable, Objective, PlanSettings, PlanSpec, Target, UncertainInput
from .spec import load_plan, plan_from_dict

__all__ = ["DesignSpace", "DesignVariable", "Objective", "PlanResult", "PlanSettings", "PlanSpec", "SweepSimulator",
           "Target", "UncertainInput", "Verification", "load_plan", "plan", "plan_from_dict", "plan_treatment"]
