"""Treatment planning under uncertainty: the strategy that meets targets with the least objective.

``plan_treatment`` (the study route, simulations on the sweep machinery) and ``plan`` (any
simulator as a callable). Optional dependency: scikit-learn (``pip install 'vbfem[plan]'``),
imported only when a surrogate is fitted.
"""

from .spec import (DesignSpace, DesignVariable, Objective, PlanSettings, PlanSpec, Target, UncertainInput,
                   load_plan, plan_from_dict)
from .search import PlanResult, Verification, plan

__all__ = ["DesignSpace", "DesignVariable", "Objective", "PlanSettings", "PlanSpec", "Target", "UncertainInput",
           "load_plan", "plan_from_dict", "plan", "PlanResult", "Verification"]
