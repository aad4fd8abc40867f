"""The enhanced-assumed-strain (incompatible-mode) hex8 of the elastic–plastic analysis.

The strain at a Gauss point of a hex8 is ``B u + Bt a``: the compatible strain plus the gradients of
three element-internal "bubble" modes per displacement component (9 parameters ``a``), in vbfem's
reference cube [-1, 1]^3

    M_1 = 1 - xi^2,   M_2 = 1 - eta^2,   M_3 = 1 - zeta^2

(the incompatible modes of Wilson's element). Their reference gradients are mapped with the
Jacobian ``J0`` at the element centre and scaled by ``det J0 / det J``, so that their integral over
any element vanishes and a distorted element still reproduces a constant strain exactly (the patch
test): the incompatible-mode element as a mixed enhanced-strain method (Simo & Rifai, A class of mixed
assumed strain methods and the method of incompatible modes, Int J Numer Meth Eng 1990;29:1595-1638:
derived from the Hu–Washizu principle, the patch test from the orthogonality of the enhanced strains
to constant stresses, applied there to elastic–plastic analysis), in the form of Abaqus'
incompatible-mode elements (Abaqus Theory Manual, "Incompatible mode elements": the parametric
gradients mapped with the centre Jacobian J0 and scaled by det J0 / det J). The modes remove the
hex8's parasitic shear in bending (``tests/fem/test_eas.py``: pure bending of a coarse beam exact,
plain hex8 24 % of it). Around a stiff inclusion in constrained plastic flow they make the hex8
softer, but do not stop the strength falling with refinement: on a fixed two-ball PMMA inclusion in
the osteoporotic L1 (issue 18, the strength test to 3 % travel) the strength was 4221 / 4209 / 4176 /
4146 N at 3 / 2.5 / 2 / 1.5 mm with EAS, 4287 / 4266 / 4219 / 4179 N with B-bar, 4508 / 4463 / 4382 N
(3 / 2.5 / 2 mm) with the plain hex8 and 4189 / 4177 / 4147 N with tet10: each formulation falls at
about the same rate, so the fall is not the hex8's locking alone. On a 20 mm bone cube (100 MPa) with a
mesh-aligned 10 mm cement cube (2000 MPa) compressed 3 % between frictionless supports, EAS and B-bar
agree within 0.5 % at every size and both fall at first order (EAS 484 / 476 / 472 / 469 / 468 N at
2.5 / 1.67 / 1.25 / 1 / 0.83 mm; the plain hex8 547 N at 2.5 mm). EAS curves took 1.2 times the
B-bar's time on the loaded machine (``benchmarks/bench_nonlinear.py --element eas``).

``a`` is condensed out element by element (:mod:`vbfem.fem._kernels.eas`); it is a state variable of
the curve like the plastic strain (:func:`vbfem.fem.nonlinear.elastoplastic_curve`, ``eas=True``).
"""

from __future__ import annotations

import numpy as np

from .elements import element

__all__ = ["EAS_CELL_TYPES", "N_ENHANCED", "mode_gradients"]

#: Cell types with an enhanced-strain formulation.
EAS_CELL_TYPES = ("hex8",)

#: Enhanced parameters per element: three modes times three displacement components.
N_ENHANCED = 9


def mode_gradients(cell_type: str = "hex8") -> tuple[np.ndarray, np.ndarray]:
    """Reference gradients of the incompatible modes at the Gauss points and the shape-function
    gradients at the element centre.

    Returns
    -------
    dM : ndarray (nq, 3, 3)
        ``dM[q, i, j] = dM_i / dxi_j`` at Gauss point ``q`` (``-2 xi_i`` on the diagonal).
    dN0 : ndarray (k, 3)
        ``dN_a / dxi_j`` at the centre ``xi = 0``, for ``J0``.
    """
    if cell_type not in EAS_CELL_TYPES:
        raise ValueError(f"cell_type = {cell_type!r}: the enhanced-strain element exists for "
                         f"{', '.join(map(repr, EAS_CELL_TYPES))} only")
    el = element(cell_type)
    xq = el.quad_points
    dM = np.zeros((xq.shape[0], 3, 3))
    for i in range(3):
        dM[:, i, i] = -2.0 * xq[:, i]
    dN0 = np.ascontiguousarray(el.grad(np.zeros((1, 3)))[0])
    return dM, dN0
