"""Sample a variant's posterior with NUTS and assemble the fit."""

import importlib.util
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr

from atlas_bayes.modeling.build import OBSERVED, free_variable_names
from atlas_bayes.variants.spec import DEFAULT_DRAWS, DEFAULT_TUNE

SAMPLERS = ("nutpie", "pymc", "numpyro")


class SamplerUnavailable(ValueError):
    """The requested NUTS implementation is not installed."""


class SettingsError(ValueError):
    """Sampler settings out of range (chains, draws, tune)."""


@dataclass(frozen=True)
class SamplerSettings:
    """How to run NUTS.

    Attributes
    ----------
    sampler : str
        ``nutpie`` (default; Rust NUTS on a Numba-compiled model), ``pymc`` or ``numpyro``.
    chains : int
        Chains.
    draws, tune : int or None
        Kept draws and tuning draws per chain. None: the variant's ``model.draws`` and
        ``model.tune`` (1000 and 500 unless the variant says otherwise), filled in by
        :meth:`for_variant`.
    seed : int
        The one seed; the same seed (and versions) gives the same draws.
    cores : int or None
        Parallel chains; default ``min(chains, CPU count)``.
    target_accept : float or None
        Target acceptance rate of step-size adaptation, in (0, 1); raise it (0.9, 0.95) for
        smaller steps when a fit reports divergences (more gradient evaluations per draw).
        None: the variant's ``model.target_accept`` (0.8 unless the variant says otherwise).
    mass_matrix : str or None
        nutpie's mass-matrix adaptation: ``diag`` or ``low_rank`` (learns the strongest
        posterior correlations too; costlier per step). None: the variant's
        ``model.mass_matrix``. Other samplers always adapt a diagonal.
    """

    sampler: str = "nutpie"
    chains: int = 4
    draws: int | None = None
    tune: int | None = None
    seed: int = 0
    cores: int | None = None
    target_accept: float | None = None
    mass_matrix: str | None = None

    def __post_init__(self) -> None:
        if self.mass_matrix not in (None, "diag", "low_rank"):
            raise SettingsError(
                f"mass_matrix must be 'diag' or 'low_rank', got {self.mass_matrix!r}"
            )
        if self.target_accept is not None and not 0 < self.target_accept < 1:
            raise SettingsError(f"target_accept must be in (0, 1), got {self.target_accept}")
        if self.sampler not in SAMPLERS:
            raise SettingsError(
                f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}"
            )
        for name in ("chains", "draws"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise SettingsError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.tune is not None and self.tune < 0:
            raise SettingsError(f"tune must be >= 0, got {self.tune}")
        module = {"nutpie": "nutpie", "numpyro": "numpyro", "pymc": "pymc"}[self.sampler]
        if importlib.util.find_spec(module) is None:
            raise SamplerUnavailable(
                f"sampler {self.sampler!r} needs the {module} package, which is not installed"
            )

    def for_variant(self, spec: Any) -> "SamplerSettings":
        """These settings with the draws and tuning the variant asks for where unset."""
        return replace(
            self,
            draws=spec.draws if self.draws is None else self.draws,
            tune=spec.tune if self.tune is None else self.tune,
        )

    def n_cores(self) -> int:
        """Parallel chains to run."""
        return self.cores or max(1, min(self.chains, os.cpu_count() or 1))


def compile_nutpie(model: pm.Model, initialization: str = "jitter") -> Any:
    """Compile ``model`` for nutpie once; swap data later with ``compiled.with_data``.

    ``initialization`` is where chains start: ``jitter`` (the prior's mean plus U(-1, 1) in
    the unconstrained space, PyMC's default) or ``prior`` (a prior draw per chain, so each
    parameter starts on its own scale; a jitter of 1 on an exponent of scale 0.1 can start a
    chain in a far mode).
    """
    import nutpie

    if initialization == "prior":
        return nutpie.compile_pymc_model(
            model,
            var_names=free_variable_names(model),
            default_initialization_strategy="prior",
            jitter_rvs=set(),
        )
    return nutpie.compile_pymc_model(model, var_names=free_variable_names(model))


def _prior_initvals(model: pm.Model, chains: int, seed: int) -> list[dict[str, np.ndarray]]:
    """One prior draw of every free variable per chain (PyMC's and NumPyro's samplers)."""
    names = [rv.name for rv in model.free_RVs]
    prior = pm.sample_prior_predictive(draws=chains, var_names=names, model=model, random_seed=seed)
    group = prior["prior"]
    return [
        {name: group[name].isel(chain=0, draw=i).values for name in names} for i in range(chains)
    ]


def run_sampler(
    model: pm.Model,
    settings: SamplerSettings,
    progress: bool = False,
    compiled: Any = None,
    mass_matrix: str = "diag",
    target_accept: float = 0.8,
    initialization: str = "jitter",
) -> xr.DataTree:
    """Draw from the posterior of ``model``; only free variables are stored.

    Parameters
    ----------
    model
        The PyMC model.
    settings
        Sampler, chains, draws, tune, seed.
    progress
        Show the sampler's progress bar.
    compiled
        A nutpie compiled model to reuse (refits); compiled from ``model`` if None.
    mass_matrix, target_accept
        The variant's mass-matrix adaptation and acceptance target, used unless ``settings``
        sets its own.
    initialization
        The variant's chain starts, ``jitter`` or ``prior`` (see :func:`compile_nutpie`).

    Returns
    -------
    xarray.DataTree
        ``posterior`` (free variables) and ``sample_stats``.
    """
    if settings.draws is None or settings.tune is None:
        # Unresolved settings (no variant at hand): the package defaults.
        settings = replace(
            settings,
            draws=DEFAULT_DRAWS if settings.draws is None else settings.draws,
            tune=DEFAULT_TUNE if settings.tune is None else settings.tune,
        )
    if settings.sampler == "nutpie":
        import nutpie

        compiled = compiled if compiled is not None else compile_nutpie(model, initialization)
        tree = nutpie.sample(
            compiled,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.n_cores(),
            seed=settings.seed,
            save_warmup=False,
            progress_bar=progress,
            target_accept=settings.target_accept or target_accept,
            adaptation=settings.mass_matrix or mass_matrix,
        )
    else:
        tree = pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=settings.n_cores(),
            random_seed=settings.seed,
            nuts_sampler=settings.sampler,
            target_accept=settings.target_accept or target_accept,
            var_names=free_variable_names(model),
            progressbar=progress,
            compute_convergence_checks=False,
            initvals=(
                _prior_initvals(model, settings.chains, settings.seed)
                if initialization == "prior"
                else None
            ),
            model=model,
        )
    return xr.DataTree.from_dict(
        {
            "posterior": tree["posterior"].to_dataset(),
            "sample_stats": tree["sample_stats"].to_dataset(),
        }
    )


def complete_posterior(tree: xr.DataTree, model: pm.Model) -> xr.DataTree:
    """Add deterministics (per-language law parameters) and the pointwise log-likelihood."""
    posterior = pm.compute_deterministics(
        tree["posterior"].to_dataset().copy(), model=model, extend_dataset=True, progressbar=False
    )
    tree["posterior"] = posterior
    pm.compute_log_likelihood(
        tree, var_names=[OBSERVED], model=model, extend_inferencedata=True, progressbar=False
    )
    return tree
