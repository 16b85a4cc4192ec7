"""The grid-Huber point fit and its run-level bootstrap: the frequentist baseline.

The procedure of Hoffmann et al. (2022) and Besiroglu et al. (2024), which the ATLAS authors'
public fitting code follows: minimise the Huber loss (``delta = 1e-3``) of log-loss
residuals, ``log L = logsumexp(log E, log a - alpha log N, log b - beta log D_eff)``, with
L-BFGS-B from the best points of a grid, and give intervals by the bootstrap. Here:

1. Each language is fitted on its own (the paper fits E, A, B, alpha and beta per target
   language); a variant with a shared parameter (lambda) is fitted jointly over languages,
   sharing it, as the paper does.
2. Replicate 0 is the full data (the point estimate); replicates 1..B resample runs
   (:mod:`atlas_bayes.baselines.resample`).
3. For every replicate the grid (:mod:`atlas_bayes.baselines.grid`) is ranked by the
   replicate's objective, and L-BFGS-B runs from its ``starts`` best points (with a shared
   parameter: the best shared values, each with every language's best point for it). The
   lowest objective reached is the replicate's estimate.

Parameter names and layout are the variant's, so the bootstrap replicates form a Dataset
shaped like a posterior (``chain`` = 1, ``draw`` = replicate) that the prediction and
summary code of the Bayesian fits reads unchanged.
"""

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from atlas_bayes.baselines.grid import DEFAULT_GRID, best_grid_points, grid_points
from atlas_bayes.baselines.layout import ParameterLayout
from atlas_bayes.baselines.objective import HUBER_DELTA, block_arrays, compile_objective
from atlas_bayes.baselines.resample import bootstrap_weights
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.study import Study
from atlas_bayes.summaries import summarise_draws
from atlas_bayes.variants import SpecError, VariantSpec, load_variant

#: Laws with a published point-fit procedure (the paper's Table 1 laws fitted per language).
BASELINE_LAWS = ("chinchilla", "data_constrained", "atlas", "he_multilingual")

#: Bounds of log lambda: float64 evaluates the repetition term and its gradient in between.
LOG_DECAY_BOUNDS = (-15.0, 5.0)
#: Bounds of He et al.'s gamma: beyond them ``p^-gamma`` multiplies (or divides) the loss of a
#: target at a 1 % share by more than 100, far outside any fitted mixture's effect; inside
#: them L-BFGS-B cannot run off along a direction the data barely constrain (few mixed runs).
GAMMA_BOUNDS = (-1.0, 1.0)
#: Parameters with bounds; the others are unbounded, as in the published procedure. (Only
#: he_multilingual has a ``gamma`` among the laws of :data:`BASELINE_LAWS`.)
PARAMETER_BOUNDS = {"log_decay": LOG_DECAY_BOUNDS, "gamma": GAMMA_BOUNDS}


class BaselineError(ValueError):
    """A baseline cannot be fitted: unsupported variant or settings out of range."""


@dataclass(frozen=True)
class BaselineSettings:
    """How to fit the grid-Huber baseline.

    Attributes
    ----------
    n_bootstrap : int
        Bootstrap replicates (0: the point estimate only).
    seed : int
        Seed of the resampling; the same seed gives the same numbers.
    delta : float
        Huber threshold on log-loss residuals.
    starts : int
        L-BFGS-B runs per replicate (and language block), from the best grid points.
    grid : dict
        Starting values per parameter (:data:`~atlas_bayes.baselines.grid.DEFAULT_GRID`).
    max_iterations : int
        L-BFGS-B iteration limit per run (scipy's default; the joint atlas fit needs ~2,000).
    """

    n_bootstrap: int = 1000
    seed: int = 0
    delta: float = HUBER_DELTA
    starts: int = 3
    grid: dict[str, tuple[float, ...]] = field(default_factory=lambda: dict(DEFAULT_GRID))
    max_iterations: int = 15000

    def __post_init__(self) -> None:
        if self.n_bootstrap < 0:
            raise BaselineError(f"n_bootstrap must be >= 0, got {self.n_bootstrap}")
        if self.starts < 1:
            raise BaselineError(f"starts must be >= 1, got {self.starts}")
        if not self.delta > 0:
            raise BaselineError(f"delta must be > 0, got {self.delta}")
        if self.max_iterations < 1:
            raise BaselineError(f"max_iterations must be >= 1, got {self.max_iterations}")


@dataclass
class BaselineFit:
    """A grid-Huber point fit with its bootstrap replicates.

    Attributes
    ----------
    spec : VariantSpec
        The variant whose law and parameter names were used.
    point : xarray.Dataset
        The estimate on the full data, dimensions ``language`` (and ``slot``).
    posterior : xarray.Dataset
        The bootstrap replicates shaped like a posterior: ``(chain=1, draw=B, language)``,
        the variant's parameter names. Quantiles over ``draw`` are percentile bootstrap
        intervals; a replicate whose fit failed is NaN.
    stats : xarray.Dataset
        Per replicate ``(chain, draw)``: ``objective`` (the Huber objective over ``delta``,
        summed over blocks) and ``converged`` (L-BFGS-B reported success in every block).
    data : xarray.Dataset
        The fit data (same layout as a Bayesian fit's).
    meta : dict
        Settings, timings, study hash, counts of unconverged fits.
    """

    spec: VariantSpec
    point: xr.Dataset
    posterior: xr.Dataset
    stats: xr.Dataset
    data: xr.Dataset
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        """Languages with per-language parameters."""
        return [str(x) for x in self.data["language"].values]

    @property
    def tree(self) -> xr.DataTree:
        """``posterior`` (replicates), ``point_estimate``, ``bootstrap_stats``, ``fit_data``."""
        return xr.DataTree.from_dict(
            {
                "posterior": self.posterior,
                "point_estimate": self.point,
                "bootstrap_stats": self.stats,
                "fit_data": self.data,
            }
        )

    def parameter_table(self, ci_prob: float = CI_PROB, ci_kind: str = CI_KIND) -> pd.DataFrame:
        """The point estimate and bootstrap interval of every parameter.

        Parameters
        ----------
        ci_prob, ci_kind
            Interval probability and kind over the replicates (``eti``: the percentile
            bootstrap interval; ``hdi``: the narrowest interval holding ``ci_prob``).

        Returns
        -------
        pandas.DataFrame
            One row per parameter (and language, slot): ``parameter``, ``language``,
            ``point``, the bootstrap ``mean``, ``median``, ``ci_prob``, ``ci_kind``,
            ``ci_low``, ``ci_high`` and ``draws`` (replicates that converged to a number).
        """
        frames = []
        for name in self.spec.parameters:
            if self.posterior.sizes["draw"] == 0:
                continue
            table = summarise_draws(self.posterior[name], name, "", ci_prob, ci_kind)
            point = self.point[name]
            if point.dims:
                point = point.to_dataframe().reset_index()
                keys = [c for c in point.columns if c != name]
                table = table.merge(point.rename(columns={name: "point"}), on=keys, how="left")
            else:
                table = table.assign(point=float(point))
            frames.append(table.rename(columns={"quantity": "parameter"}).drop(columns="unit"))
        table = pd.concat(frames, ignore_index=True)
        first = ["parameter", *[c for c in ("language", "slot") if c in table], "point"]
        return table[first + [c for c in table.columns if c not in first]]


def fit_baseline(
    study: Study, variant: str | VariantSpec, settings: BaselineSettings | None = None
) -> BaselineFit:
    """Fit the grid-Huber baseline of ``variant`` to ``study``, with bootstrap intervals.

    Parameters
    ----------
    study
        A validated study; the variant's ``[data]`` section selects its runs, as for a
        Bayesian fit.
    variant
        A variant name or spec whose law is one of :data:`BASELINE_LAWS` (``chinchilla``,
        ``data_constrained``, ``atlas``); its priors are ignored, its pooling says which
        parameters are shared across languages.
    settings
        Replicates, seed, Huber threshold, grid and starts.

    Returns
    -------
    BaselineFit

    Raises
    ------
    BaselineError
        For an unknown variant or a law without a baseline.
    """
    spec = _baseline_spec(variant)
    data = build_model_data(study, spec)
    return fit_baseline_to_data(data, spec, settings, study_hash=study.content_hash())


def _baseline_spec(variant: str | VariantSpec) -> VariantSpec:
    if isinstance(variant, VariantSpec):
        spec = variant
    else:
        try:
            spec = load_variant(variant)
        except SpecError as err:
            raise BaselineError(
                f"{err}; the grid-Huber baseline fits variants of the laws "
                f"{', '.join(BASELINE_LAWS)}"
            ) from None
    if spec.law not in BASELINE_LAWS:
        raise BaselineError(
            f"variant {spec.name!r} has law {spec.law!r}, which has no grid-Huber baseline; "
            f"choose a variant of the laws {', '.join(BASELINE_LAWS)} (the laws the paper "
            "fits per language by Huber regression)"
        )
    return spec


def fit_baseline_to_data(
    data: xr.Dataset,
    spec: VariantSpec,
    settings: BaselineSettings | None = None,
    study_hash: str = "",
) -> BaselineFit:
    """Fit the baseline to fit data (for instance a Bayesian fit's ``fit.data``).

    Parameters
    ----------
    data
        Fit data (:func:`~atlas_bayes.modeling.data.build_model_data`).
    spec
        The variant (law in :data:`BASELINE_LAWS`).
    settings
        See :class:`BaselineSettings`.
    study_hash
        Content hash of the study, recorded in ``meta``.

    Returns
    -------
    BaselineFit
    """
    spec = _baseline_spec(spec)
    settings = settings or BaselineSettings()
    missing = sorted(set(spec.parameters) - set(settings.grid))
    if missing:
        raise BaselineError(f"the grid has no starting values for {', '.join(missing)}")
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    layout = ParameterLayout.from_spec(spec, data.sizes["slot"])
    n_languages = data.sizes["language"]
    weights = np.vstack(
        [
            np.ones((1, data.sizes["obs"])),
            bootstrap_weights(
                data["run_id"].values,
                data["eval_language"].values,
                settings.n_bootstrap,
                settings.seed,
            ),
        ]
    )
    n_replicates = len(weights)
    per_language = np.full((n_replicates, n_languages, layout.n_columns), np.nan)
    shared = np.full((n_replicates, layout.n_shared), np.nan)
    objective = np.zeros(n_replicates)
    converged = np.ones(n_replicates, dtype=bool)
    # A shared parameter couples the languages: one block of all; otherwise one per language.
    blocks = [list(range(n_languages))] if layout.n_shared else [[i] for i in range(n_languages)]
    single = all(len(block) == 1 for block in blocks)
    function = compile_objective(spec, layout, data, settings.delta, single)
    compile_seconds = time.perf_counter() - clock
    grid_seconds = 0.0
    evaluations = 0
    for block in blocks:
        observations = np.flatnonzero(np.isin(data["target"].values, block))
        local = data.isel(obs=observations, language=block)
        local["target"] = ("obs", pd.Index(block).get_indexer(local["target"].values))
        tick = time.perf_counter()
        starts = _starts(spec, layout, local, weights[:, observations], settings)
        grid_seconds += time.perf_counter() - tick
        result = _fit_block(function, layout, local, weights[:, observations], starts, settings)
        per_language[:, block] = result["per_language"]
        if layout.n_shared:
            shared[:] = result["shared"]
        objective += result["objective"]
        converged &= result["converged"]
        evaluations += result["evaluations"]
    fit = _assemble(spec, layout, data, per_language, shared, objective, converged)
    fit.meta = {
        "method": "grid-Huber point fit, L-BFGS-B from the best grid points, run bootstrap",
        "seed": settings.seed,
        "n_bootstrap": settings.n_bootstrap,
        "delta": settings.delta,
        "starts": settings.starts,
        "max_iterations": settings.max_iterations,
        "grid": json.dumps({k: list(settings.grid[k]) for k in spec.parameters}),
        "blocks": [[fit.languages[i] for i in block] for block in blocks],
        "study_hash": study_hash or str(data.attrs.get("study_hash", "")),
        "created": started.isoformat(timespec="seconds"),
        "compile_seconds": compile_seconds,
        "grid_seconds": grid_seconds,
        "fit_seconds": time.perf_counter() - clock,
        "objective_evaluations": int(evaluations),
        "point_converged": bool(converged[0]),
        "replicates_not_converged": int((~converged[1:]).sum()),
    }
    return fit


def _fit_block(
    function: Any,
    layout: ParameterLayout,
    data: xr.Dataset,
    weights: np.ndarray,
    starts: np.ndarray,
    settings: BaselineSettings,
) -> dict[str, Any]:
    """L-BFGS-B from each start of each replicate of one block; the best run per replicate.

    Returns
    -------
    dict
        ``per_language`` ``(replicates, languages, columns)``, ``shared``
        ``(replicates, n_shared)``, ``objective`` and ``converged`` ``(replicates,)`` (NaN and
        False where every start failed), ``evaluations`` (objective calls).
    """
    n_languages = data.sizes["language"]
    n_replicates = len(weights)
    out = {
        "per_language": np.full((n_replicates, n_languages, layout.n_columns), np.nan),
        "shared": np.full((n_replicates, layout.n_shared), np.nan),
        "objective": np.full(n_replicates, np.nan),
        "converged": np.zeros(n_replicates, dtype=bool),
        "evaluations": 0,
    }
    arrays = block_arrays(data)
    bounds = _bounds(layout, n_languages)
    # L-BFGS-B's small linear algebra on several BLAS threads spends its time waking them:
    # one thread made a 5-parameter run 10x faster (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        for r in range(n_replicates):
            w = np.ascontiguousarray(weights[r])
            best = None
            for x0 in starts[r]:
                result = minimize(
                    _objective_and_gradient,
                    x0,
                    args=(function, layout, n_languages, w, arrays),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={"maxiter": settings.max_iterations},
                )
                out["evaluations"] += int(result.nfev)
                if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
                    best = result
            if best is None:
                continue
            out["per_language"][r], out["shared"][r] = layout.split(best.x, n_languages)
            out["objective"][r] = best.fun
            out["converged"][r] = bool(best.success)
    return out


def _objective_and_gradient(
    x: np.ndarray,
    function: Any,
    layout: ParameterLayout,
    n_languages: int,
    weights: np.ndarray,
    arrays: list[np.ndarray],
) -> tuple[float, np.ndarray]:
    per, common = layout.split(x, n_languages)
    value, gradient_per, gradient_shared = function(
        np.ascontiguousarray(per), np.ascontiguousarray(common), weights, *arrays
    )
    return float(value), np.concatenate([gradient_per.ravel(), gradient_shared])


def _bounds(layout: ParameterLayout, n_languages: int) -> list[tuple[float | None, float | None]]:
    """Unbounded, as the published procedure, except :data:`PARAMETER_BOUNDS`."""
    per = [(None, None)] * layout.n_columns
    for name, cols in layout.columns.items():
        if name in PARAMETER_BOUNDS:
            per[cols] = [PARAMETER_BOUNDS[name]] * (cols.stop - cols.start)
    common = [(None, None)] * layout.n_shared
    for name, cols in layout.shared.items():
        if name in PARAMETER_BOUNDS:
            common[cols] = [PARAMETER_BOUNDS[name]] * (cols.stop - cols.start)
    return per * n_languages + common


def _starts(
    spec: VariantSpec,
    layout: ParameterLayout,
    data: xr.Dataset,
    weights: np.ndarray,
    settings: BaselineSettings,
) -> np.ndarray:
    """``(replicates, starts, parameters)`` L-BFGS-B starting vectors of one block."""
    points = grid_points(layout.columns, settings.grid, layout.n_columns)
    shared_points = grid_points(layout.shared, settings.grid, layout.n_shared)
    n_languages = data.sizes["language"]
    if not layout.n_shared:
        _, index = best_grid_points(
            spec, layout, data, points, shared_points[0], weights, settings.starts, settings.delta
        )
        # (k, 1, R) -> (R, k, columns): one language, its k best points.
        return np.transpose(points[index[:, 0, :]], (1, 0, 2))
    totals, choices = [], []
    for common in shared_points:
        value, index = best_grid_points(
            spec, layout, data, points, common, weights, 1, settings.delta
        )
        totals.append(value[0].sum(axis=0))  # (R,): sum of each language's best
        choices.append(index[0])  # (languages, R)
    totals = np.array(totals)  # (shared points, R)
    k = min(settings.starts, len(shared_points))
    top = np.argsort(totals, axis=0, kind="stable")[:k]  # (k, R)
    n_replicates = weights.shape[0]
    starts = np.empty((n_replicates, k, layout.size(n_languages)))
    for r in range(n_replicates):
        for j in range(k):
            s = top[j, r]
            starts[r, j] = np.concatenate([points[choices[s][:, r]].ravel(), shared_points[s]])
    return starts


def _assemble(
    spec: VariantSpec,
    layout: ParameterLayout,
    data: xr.Dataset,
    per_language: np.ndarray,
    shared: np.ndarray,
    objective: np.ndarray,
    converged: np.ndarray,
) -> BaselineFit:
    """The point estimate (replicate 0) and the replicates as a posterior-shaped Dataset."""
    coords = {"language": data["language"].values, "slot": data["slot"].values}
    named = layout.named(per_language[None], shared[None])  # (chain=1, replicate, ...)
    replicates = per_language.shape[0] - 1
    draws = {"chain": [0], "draw": np.arange(replicates)}

    def dataset(part: slice, drop_sample: bool) -> xr.Dataset:
        variables = {}
        for name, (dims, values) in named.items():
            values = values[:, part]
            if drop_sample:
                variables[name] = (dims[2:], values[0, 0])
            else:
                variables[name] = (dims, values)
        used = {d for dims, _ in variables.values() for d in dims}
        return xr.Dataset(
            variables,
            coords={
                **{k: v for k, v in coords.items() if k in used},
                **({} if drop_sample else draws),
            },
        )

    stats = xr.Dataset(
        {
            "objective": (("chain", "draw"), objective[None, 1:]),
            "converged": (("chain", "draw"), converged[None, 1:]),
        },
        coords=draws,
    )
    return BaselineFit(
        spec=spec,
        point=dataset(slice(0, 1), True),
        posterior=dataset(slice(1, None), False),
        stats=stats,
        data=data,
        meta={},
    )


__all__ = [
    "BASELINE_LAWS",
    "BaselineError",
    "BaselineFit",
    "BaselineSettings",
    "fit_baseline",
    "fit_baseline_to_data",
]
