"""Gaussian-process surrogates of the simulator's outputs, with their k-fold cross-validated error.

One scikit-learn ``GaussianProcessRegressor`` per output column, over the unit coordinates of the
design variables and the probabilities of the uncertain inputs (all in [0, 1]): an anisotropic
Matérn 5/2 kernel times a constant plus a white-noise term, targets normalised. The fit is
deterministic for given data and seed (one optimiser start from the default hyper-parameters plus
``restarts`` seeded ones), so seeded plans are reproducible bit for bit on one machine.

The cross-validated error (root mean square error of the held-out predictions, also relative to
the standard deviation of the column) says how far the surrogate may be trusted; the planner
never recommends a strategy on it alone (:mod:`vbfem.plan.search` verifies by full simulations).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

log = logging.getLogger(__name__)


def require_sklearn() -> None:
    """ImportError with the install command unless scikit-learn can be imported."""
    try:
        import sklearn.gaussian_process  # noqa: F401
    except ImportError:
        raise ImportError("the planner needs scikit-learn: pip install 'vbfem[plan]'") from None


def _gp(dim: int, seed: int, restarts: int):
    require_sklearn()
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(length_scale=np.full(dim, 0.5), length_scale_bounds=(1e-2, 1e2),
                                                         nu=2.5)
              + WhiteKernel(1e-4, (1e-10, 1e-1)))
    return GaussianProcessRegressor(kernel=kernel, normalize_y=True, n_restarts_optimizer=restarts,
                                    random_state=seed)


def _fit_one(x, y, seed, restarts):
    import warnings

    from threadpoolctl import threadpool_limits

    gp = _gp(x.shape[1], seed, restarts)
    from sklearn.exceptions import ConvergenceWarning

    # one BLAS thread: the small dense solves of the fit only lose time to threads (and the planner's
    # simulations run beside it); a length scale at its bound is reported by the cross-validated error
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(x, y)
    return gp


@dataclass(frozen=True)
class Surrogate:
    """Fitted surrogates of some output columns.

    Attributes
    ----------
    columns : tuple of str
    models : mapping of str to GaussianProcessRegressor or float
        A column that is constant on the training points (e.g. no simulation leaked) is that constant,
        predicted with zero standard deviation: nothing in the data says it varies.
    cv : mapping of str to dict
        Per column: ``rmse`` (the column's unit), ``relative`` (rmse over the column's standard
        deviation; 0 for a constant column), ``folds`` and ``n`` (training points).
    """

    columns: tuple
    models: MappingProxyType = field(repr=False)
    cv: MappingProxyType

    def predict(self, x) -> dict:
        """``{column: (mean, sd)}`` at points ``x`` (n, dim)."""
        from threadpoolctl import threadpool_limits

        x = np.atleast_2d(np.asarray(x, float))
        with threadpool_limits(1):  # small triangular solves: threads only cost (and compete with the simulations)
            return self._predict(x)

    def _predict(self, x) -> dict:
        out = {}
        for c in self.columns:
            model = self.models[c]
            if isinstance(model, float):
                out[c] = (np.full(len(x), model), np.zeros(len(x)))
                continue
            mean, sd = model.predict(x, return_std=True)
            out[c] = (np.asarray(mean, float), np.asarray(sd, float))
        return out


def cross_validate(x, y, *, folds: int, seed: int = 0, restarts: int = 0) -> dict:
    """k-fold cross-validated error of the GP surrogate of one column.

    Parameters
    ----------
    x : array (n, dim)
        Inputs in unit coordinates.
    y : array (n,)
    folds : int, keyword-only
    seed : int, keyword-only
        Seeds the shuffle of the folds and the optimiser.
    restarts : int, keyword-only

    Returns
    -------
    dict
        ``rmse``, ``relative``, ``folds``, ``n``.
    """
    from sklearn.model_selection import KFold

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    folds = min(folds, len(y))
    pred = np.empty_like(y)
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=seed).split(x):
        pred[test] = _fit_one(x[train], y[train], seed, restarts).predict(x[test])
    rmse = float(np.sqrt(np.mean((pred - y) ** 2)))
    sd = float(np.std(y))
    return {"rmse": rmse, "relative": rmse / sd if sd > 0 else 0.0, "folds": folds, "n": len(y)}


def fit_surrogate(x, outputs: dict, *, folds: int = 5, seed: int = 0, restarts: int = 0,
                  validate: bool = True) -> Surrogate:
    """Fit one GP per column of ``outputs`` on ``x`` and cross-validate it.

    Parameters
    ----------
    x : array (n, dim)
        Inputs in unit coordinates ([0, 1]).
    outputs : dict of str to array (n,)
        Finite values of each column at ``x``.
    folds : int, keyword-only
    seed : int, keyword-only
    restarts : int, keyword-only
        Seeded restarts of the hyper-parameter optimiser (besides the default start).
    validate : bool, keyword-only
        Cross-validate (``folds`` more fits per column); False leaves ``cv`` empty (the planner's
        intermediate surrogates).

    Returns
    -------
    Surrogate
    """
    x = np.asarray(x, float)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"x: needs at least 2 points of shape (n, dim), got {x.shape}")
    models, cv = {}, {}
    for c, y in outputs.items():
        y = np.asarray(y, float)
        if y.shape != (len(x),) or not np.all(np.isfinite(y)):
            raise ValueError(f"outputs[{c!r}]: needs {len(x)} finite values")
        if np.all(y == y[0]):
            models[c] = float(y[0])
            if validate:
                cv[c] = {"rmse": 0.0, "relative": 0.0, "folds": 0, "n": len(y)}
            continue
        models[c] = _fit_one(x, y, seed, restarts)
        if not validate:
            continue
        cv[c] = cross_validate(x, y, folds=folds, seed=seed, restarts=0)
        log.info("surrogate %s: %d points, cross-validated rmse %.4g (%.1f %% of its sd)", c, len(y),
                 cv[c]["rmse"], 100 * cv[c]["relative"])
    return Surrogate(tuple(outputs), MappingProxyType(models), MappingProxyType(cv))
