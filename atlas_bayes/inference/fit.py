"""A fitted variant: posterior, diagnostics, the data it was fitted to, and how it was made."""

import datetime as dt
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import arviz as az
import pandas as pd
import xarray as xr

from atlas_bayes import __version__
from atlas_bayes.inference.diagnostics import Diagnostics, compute_diagnostics
from atlas_bayes.inference.sampling import (
    SamplerSettings,
    complete_posterior,
    run_sampler,
)
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.modeling.build import OBSERVED, build_model, free_variable_names
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.study import Study
from atlas_bayes.variants import VariantSpec

#: Identifies fit files of this package, and the layout version of their contents.
FORMAT = "atlas_bayes.fit"
FORMAT_VERSION = 1
#: Libraries whose versions a fit records.
RECORDED_PACKAGES = ("pymc", "pytensor", "arviz", "nutpie", "numpy", "xarray", "numba")


def _versions() -> dict[str, str]:
    out = {"atlas_bayes": __version__}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class Fit:
    """A fitted variant.

    Attributes
    ----------
    tree : xarray.DataTree
        ``posterior``, ``sample_stats``, ``log_likelihood``, ``observed_data`` and
        ``fit_data`` (the arrays the model was fitted to).
    spec : VariantSpec
        The variant.
    diagnostics : Diagnostics
        Sampler health and the convergence gate.
    meta : dict
        Seed, sampler settings, study hash and source, versions, creation time.
    """

    tree: xr.DataTree
    spec: VariantSpec
    diagnostics: Diagnostics
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> xr.Dataset:
        """The fit data (observations the posterior conditions on)."""
        return self.tree["fit_data"].to_dataset()

    @property
    def posterior(self) -> xr.Dataset:
        """Posterior draws, dimensions ``chain`` and ``draw`` first."""
        return self.tree["posterior"].to_dataset()

    @property
    def languages(self) -> list[str]:
        """Languages with per-language parameters."""
        return [str(x) for x in self.data["language"].values]

    def law_parameter_names(self) -> list[str]:
        """The law's parameters, as named in the posterior."""
        return list(self.spec.parameters)

    def parameter_summary(
        self, ci_prob: float = CI_PROB, ci_kind: str = CI_KIND, hyper: bool = True
    ) -> pd.DataFrame:
        """Posterior summary of the law parameters (and hyperparameters).

        Parameters
        ----------
        ci_prob, ci_kind
            Credible interval probability and kind (``"eti"`` or ``"hdi"``), passed to ArviZ
            explicitly.
        hyper
            Include population means/scales and the likelihood's parameters.

        Returns
        -------
        pandas.DataFrame
            One row per parameter (and language): mean, sd, interval bounds, ``ci_prob``,
            ``ci_kind``, bulk and tail ESS, R-hat.
        """
        names = self.law_parameter_names()
        if hyper:
            available = set(self.posterior.data_vars)
            for name in list(self.spec.parameters):
                names += [n for n in (f"{name}_mu", f"{name}_sigma") if n in available]
            names += [n for n in ("sigma", "nu") if n in available]
        table = az.summary(
            self.tree,
            var_names=names,
            kind="all",
            ci_prob=ci_prob,
            ci_kind=ci_kind,
            round_to="none",
        )
        low, high = (c for c in table.columns if c.endswith("_lb") or c.endswith("_ub"))
        table = table.rename(columns={low: "ci_low", high: "ci_high"})
        table.insert(table.columns.get_loc("ci_high") + 1, "ci_prob", ci_prob)
        table.insert(table.columns.get_loc("ci_prob") + 1, "ci_kind", ci_kind)
        return table

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the fit to one netCDF file, atomically (see ``inference.fitfile``)."""
        from atlas_bayes.inference.fitfile import save_fit

        return save_fit(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path) -> "Fit":
        """Read a fit saved by :meth:`save`."""
        from atlas_bayes.inference.fitfile import load_fit

        return load_fit(path)


def fit_variant(
    study: Study,
    spec: VariantSpec,
    settings: SamplerSettings | None = None,
    progress: bool = False,
) -> Fit:
    """Fit ``spec`` to ``study`` with NUTS.

    Parameters
    ----------
    study
        A validated study.
    spec
        The variant.
    settings
        Sampler settings (defaults: nutpie, 4 chains, the variant's draws and tuning, seed 0).
    progress
        Show the sampler's progress.

    Returns
    -------
    Fit
        With diagnostics; check ``fit.diagnostics.passed`` before trusting it.
    """
    settings = (settings or SamplerSettings()).for_variant(spec)
    data = build_model_data(study, spec)
    model = build_model(data, spec)
    started = dt.datetime.now(dt.UTC)
    tree = sample_variant(model, spec, settings, progress=progress)
    return assemble_fit(tree, model, data, spec, settings, study, started)


def sample_variant(
    model: Any,
    spec: VariantSpec,
    settings: SamplerSettings,
    compiled: Any = None,
    progress: bool = False,
) -> xr.DataTree:
    """Sample ``model`` with the variant's sampler hints: the one call every fit path makes.

    Parameters
    ----------
    model
        The variant's PyMC model.
    spec
        The variant: its mass-matrix adaptation and acceptance target (used unless
        ``settings`` sets its own) and its chain starts.
    settings
        Sampler settings, draws and tuning already resolved (``settings.for_variant(spec)``).
    compiled
        A nutpie compiled model to reuse (compiled from ``model`` if None).
    progress
        Show the sampler's progress.

    Returns
    -------
    xarray.DataTree
        ``posterior`` (free variables) and ``sample_stats``.
    """
    return run_sampler(
        model,
        settings,
        progress=progress,
        compiled=compiled,
        mass_matrix=spec.mass_matrix,
        target_accept=spec.target_accept,
        initialization=spec.initialization,
    )


def assemble_fit(
    tree: xr.DataTree,
    model: Any,
    data: xr.Dataset,
    spec: VariantSpec,
    settings: SamplerSettings,
    study: Study | None,
    started: dt.datetime,
) -> Fit:
    """Complete a sampled tree (deterministics, log-likelihood, data, provenance) into a Fit."""
    diagnostics = compute_diagnostics(tree, free_variable_names(model))
    tree = complete_posterior(tree, model)
    tree["observed_data"] = xr.Dataset(
        {OBSERVED: ("obs", data["log_loss"].values)}, coords={"obs": data["obs"].values}
    )
    tree["fit_data"] = data
    meta = {
        "seed": settings.seed,
        "sampler": settings.sampler,
        "chains": settings.chains,
        "draws": settings.draws,
        "tune": settings.tune,
        "target_accept": settings.target_accept or spec.target_accept,
        "mass_matrix": settings.mass_matrix or spec.mass_matrix,
        "initialization": spec.initialization,
        "study_hash": study.content_hash()
        if study is not None
        else data.attrs.get("study_hash", ""),
        "study_source": str(study.source) if study is not None and study.source else "",
        "versions": _versions(),
        "created": started.isoformat(timespec="seconds"),
        # Compilation (if any), sampling and post-processing, from the fit's start.
        "fit_seconds": (dt.datetime.now(dt.UTC) - started).total_seconds(),
    }
    return Fit(tree=tree, spec=spec, diagnostics=diagnostics, meta=meta)


__all__ = ["FORMAT", "FORMAT_VERSION", "Fit", "assemble_fit", "fit_variant", "sample_variant"]
