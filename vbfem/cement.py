"""Bone cements: presets, curing (viscosity vs time since mixing), and the cement–bone composite.

Viscosity model: ``μ(t) = μ_ref · exp((t - t_ref) / τ)`` for ``t`` s after mixing,
until the setting time, after which injection is refused. Defaults fitted to
Boger et al. 2008 (100–145 Pa·s during the working phase): μ_ref = 100 Pa·s at
t_ref = 5 min and τ = 13.4 min give 145 Pa·s at 10 min (the anchoring times are
an assumption, unverified). Setting time 20 min: "medical-grade cement hardens in
about 20 minutes" (project seed; make it a parameter).

Composite rule (:func:`with_cement`): Kinzl et al. 2011 found that the modulus of
cement-augmented trabecular bone is governed by the cement and the bone hardly
adds. We therefore use a cement-governed rule: ``E = E_bone + c (E_cement - E_bone)``
where ``c`` is the cement volume fraction of the cell divided by the cell's
porosity (the filled fraction of the pore space, i.e. the saturation) — a Voigt
mix between bone-with-marrow and fully cemented bone whose end point is the
cement modulus itself (bone "switched off"). Cells with saturation >= 0.5 are
labelled "composite", others keep their tissue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .records import TISSUES, MaterialMap


@dataclass(frozen=True)
class Cement:
    """An injectable bone cement.

    Parameters
    ----------
    name : str
    E : float
        Young's modulus when set, MPa.
    nu : float
        Poisson's ratio.
    viscosity_ref : float
        Viscosity at ``t_ref``, Pa·s.
    t_ref : float
        Time after mixing of ``viscosity_ref``, s.
    tau : float
        e-folding time of the viscosity rise, s (``inf``: constant).
    setting_time : float
        Time after mixing after which the cement cannot be injected, s.
    """

    name: str = "pmma"
    E: float = 2000.0
    nu: float = 0.35
    viscosity_ref: float = 100.0
    t_ref: float = 300.0
    tau: float = 804.0
    setting_time: float = 1200.0

    def __post_init__(self):
        for k in ("E", "viscosity_ref", "tau", "setting_time"):
            v = getattr(self, k)
            if not v > 0:
                raise ValueError(f"Cement {k}={v!r} must be > 0")
        if not -1 < self.nu < 0.5:
            raise ValueError(f"Cement nu={self.nu!r} must lie in (-1, 0.5)")

    def viscosity(self, t):
        """Viscosity (Pa·s) at ``t`` s after mixing; ValueError after the setting time."""
        t = np.asarray(t, float)
        if np.any(t > self.setting_time):
            raise ValueError(f"t={float(np.max(t)):.0f} s after mixing is after the setting time "
                             f"{self.setting_time:.0f} s of cement {self.name!r}: it has set")
        out = self.viscosity_ref * np.exp((t - self.t_ref) / self.tau)
        return float(out) if out.ndim == 0 else out


#: Presets. PMMA 2.0 GPa (2.0–2.7 GPa, Jasper 2002; Kolb 2013), ν 0.35 (0.3–0.4,
#: unverified); low-modulus PMMA 1.0 GPa (0.95–1.13 GPa, Kolb 2013; Boger 2008);
#: calcium phosphate cement 1.0 GPa is an assumption (unverified: reported CPC
#: moduli span ~0.5–5 GPa), with a lower working viscosity (assumption).
CEMENTS = {
    "pmma": Cement("pmma"),
    "low_modulus_pmma": Cement("low_modulus_pmma", E=1000.0),
    "calcium_phosphate": Cement("calcium_phosphate", E=1000.0, nu=0.3, viscosity_ref=50.0),
}


def cement_preset(cement) -> Cement:
    """A :class:`Cement` from a preset name or a Cement."""
    if isinstance(cement, Cement):
        return cement
    if isinstance(cement, str) and cement in CEMENTS:
        return CEMENTS[cement]
    raise ValueError(f"cement={cement!r}; allowed: a Cement or one of {', '.join(CEMENTS)}")


def with_cement(materials: MaterialMap, fill, cement="pmma") -> MaterialMap:
    """Material map of the augmented vertebra (rule in the module docstring).

    Parameters
    ----------
    materials : MaterialMap
    fill : CementFill
    cement : Cement or str
    """
    cement = cement_preset(cement)
    s = np.asarray(fill.saturation, float)
    if s.shape != (materials.n_cells,):
        raise ValueError(f"fill has {s.size} cells, materials {materials.n_cells}")
    E = materials.E + s * (cement.E - materials.E)
    nu = materials.nu + s * (cement.nu - materials.nu)
    tissue = (materials.tissue if materials.tissue is not None else np.zeros(materials.n_cells, np.int8)).copy()
    tissue[s >= 0.5] = TISSUES.index("composite")
    params = dict(materials.params)
    params.update(cement=cement.name, cement_E=cement.E, cement_rule="cement-governed Voigt on saturation (Kinzl 2011)")
    return materials.replace(E=E, nu=nu, tissue=tissue, params=params)
