"""Convergence diagnostics of a fit and the gate that says whether to trust it."""

from dataclasses import asdict, dataclass, field
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

#: The convergence gate (Vehtari et al. 2021 for R-hat and ESS; Betancourt 2016 for E-BFMI).
MAX_RHAT = 1.01
MIN_ESS = 400.0
MIN_EBFMI = 0.3
MAX_DIVERGENCES = 0
#: Draws that may hit the maximum tree depth before the fit gets a warning. Hitting it is an
#: efficiency problem, not a validity one (the draws are still from the posterior; Stan's
#: guidance), so it warns and does not fail the gate: R-hat and ESS say whether the
#: truncated trajectories still mixed.
MAX_TREEDEPTH_HITS = 0


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health of one fit, over every free parameter.

    Attributes
    ----------
    max_rhat, min_ess_bulk, min_ess_tail : float
        Worst rank-normalised split R-hat and effective sample sizes over all parameters.
    worst_rhat_parameter, worst_ess_parameter : str
        Where those worst values are.
    divergences : int
        Divergent transitions after tuning.
    treedepth_hits : int
        Draws that hit the maximum tree depth.
    min_ebfmi : float
        Lowest energy Bayesian fraction of missing information over chains.
    mean_steps_per_draw : float
        Leapfrog steps (gradient evaluations) per draw: the cost of the geometry.
    draws, chains : int
    problems : list of str
        Plain-language failures of the gate, with what to do; empty when it passes.
    warnings : list of str
        What slowed the sampler without making its draws untrustworthy (tree-depth hits).
    """

    max_rhat: float
    worst_rhat_parameter: str
    min_ess_bulk: float
    min_ess_tail: float
    worst_ess_parameter: str
    divergences: int
    treedepth_hits: int
    min_ebfmi: float
    mean_steps_per_draw: float
    draws: int
    chains: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the convergence gate passed."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, with ``passed``."""
        return {**asdict(self), "passed": self.passed}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Diagnostics":
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: v for k, v in raw.items() if k != "passed"})


def _worst(values: xr.Dataset, reduce: str) -> tuple[float, str]:
    best_value, best_name = (np.inf if reduce == "min" else -np.inf), ""
    for name, array in values.data_vars.items():
        data = np.asarray(array.values, dtype=float)
        if data.size == 0 or np.all(np.isnan(data)):
            continue
        index = np.nanargmin(data) if reduce == "min" else np.nanargmax(data)
        value = float(data.flat[index])
        if (reduce == "min" and value < best_value) or (reduce == "max" and value > best_value):
            label = name
            if data.ndim:
                coords = np.unravel_index(index, data.shape)
                label += (
                    "["
                    + ", ".join(
                        str(array[dim].values[i]) if dim in array.coords else str(i)
                        for dim, i in zip(array.dims, coords, strict=True)
                    )
                    + "]"
                )
            best_value, best_name = value, label
    return best_value, best_name


def compute_diagnostics(fit: xr.DataTree, var_names: list[str]) -> Diagnostics:
    """Diagnose the free parameters ``var_names`` of a sampled DataTree.

    Parameters
    ----------
    fit
        Result with ``posterior`` and ``sample_stats`` groups.
    var_names
        Free parameters to check (deterministics follow from them).

    Returns
    -------
    Diagnostics
    """
    posterior = fit["posterior"].dataset[var_names]
    rhat = az.rhat(posterior)
    ess_bulk = az.ess(posterior, method="bulk")
    ess_tail = az.ess(posterior, method="tail")
    rhat = rhat.dataset if isinstance(rhat, xr.DataTree) else rhat
    ess_bulk = ess_bulk.dataset if isinstance(ess_bulk, xr.DataTree) else ess_bulk
    ess_tail = ess_tail.dataset if isinstance(ess_tail, xr.DataTree) else ess_tail
    max_rhat, rhat_name = _worst(rhat, "max")
    min_bulk, bulk_name = _worst(ess_bulk, "min")
    min_tail, tail_name = _worst(ess_tail, "min")
    stats = fit["sample_stats"].dataset
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    depth_key = next((k for k in ("maxdepth_reached", "reached_max_treedepth") if k in stats), None)
    treedepth_hits = int(stats[depth_key].sum()) if depth_key else 0
    steps_key = next((k for k in ("n_steps", "tree_size") if k in stats), None)
    steps = float(stats[steps_key].mean()) if steps_key else float("nan")
    if "energy" in stats:
        bfmi = az.bfmi(fit)
        bfmi = bfmi.dataset if isinstance(bfmi, xr.DataTree) else bfmi
        min_ebfmi = float(np.min(bfmi["energy"].values))
    else:
        min_ebfmi = float("nan")
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    worst_ess_name = bulk_name if min_bulk <= min_tail else tail_name
    problems = []
    if chains < 2:
        problems.append("only one chain: R-hat cannot detect non-convergence; run >= 2 chains")
    if not max_rhat <= MAX_RHAT:
        problems.append(
            f"R-hat {max_rhat:.3f} > {MAX_RHAT} (worst: {rhat_name}): the chains disagree. "
            "Run longer (more --tune and --draws) or check the priors of that parameter."
        )
    if not min(min_bulk, min_tail) >= MIN_ESS:
        problems.append(
            f"effective sample size {min(min_bulk, min_tail):.0f} < {MIN_ESS:.0f} "
            f"(worst: {worst_ess_name}): too few independent draws for stable intervals. "
            "Increase --draws."
        )
    if divergences > MAX_DIVERGENCES:
        problems.append(
            f"{divergences} divergent transitions: the sampler could not follow the posterior's "
            "geometry, so the draws may be biased. Tighten weak priors or try the other "
            "parameterization (model.parameterization) of the variant."
        )
    warnings = []
    if treedepth_hits > MAX_TREEDEPTH_HITS:
        warnings.append(
            f"{treedepth_hits} draws hit the maximum tree depth: the posterior is badly scaled "
            "or correlated in places, so sampling was slow (R-hat and ESS say whether it "
            "still mixed). More tuning (--tune) often gives a better-adapted step size."
        )
    # E-BFMI needs the energy; samplers that do not record it leave it NaN (not a failure).
    if np.isfinite(min_ebfmi) and min_ebfmi < MIN_EBFMI:
        problems.append(
            f"E-BFMI {min_ebfmi:.2f} < {MIN_EBFMI}: the energy distribution is poorly explored "
            "(often a funnel); try the non-centred parameterization."
        )
    return Diagnostics(
        max_rhat=max_rhat,
        worst_rhat_parameter=rhat_name,
        min_ess_bulk=min_bulk,
        min_ess_tail=min_tail,
        worst_ess_parameter=worst_ess_name,
        divergences=divergences,
        treedepth_hits=treedepth_hits,
        min_ebfmi=min_ebfmi,
        mean_steps_per_draw=steps,
        draws=draws,
        chains=chains,
        problems=problems,
        warnings=warnings,
    )
