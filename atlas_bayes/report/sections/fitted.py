"""Section 1, what was fitted: the study or each fit's data, the variants, provenance."""

from collections.abc import Sequence
from typing import Any

import pandas as pd

from atlas_bayes.inference import Fit
from atlas_bayes.report.sections.common import (
    observation_frame,
)
from atlas_bayes.study import Study
from atlas_bayes.variants.spec import LAW_PARAMETERS


def _run_kind(row: pd.Series) -> str:
    if row["finetuned"]:
        return "finetuned from a checkpoint"
    count = int(row["n_languages"])
    return {1: "monolingual", 2: "bilingual"}.get(count, "multilingual (3+ languages)")


def data_overview(fit: Fit) -> dict[str, Any]:
    """What a fit was fitted to, from its own data (no study needed)."""
    obs = observation_frame(fit)
    runs = obs.drop_duplicates("run_id")
    return {
        "observations": len(obs),
        "runs": len(runs),
        "runs_by_kind": runs.apply(_run_kind, axis=1).value_counts().to_dict(),
        "languages": len(fit.languages),
        "evaluation_languages": int(obs["language"].nunique()),
        "params_range": (float(obs["params"].min()), float(obs["params"].max())),
        "model_sizes": int(obs["params"].round().nunique()),
        "tokens_range": (float(obs["total_tokens"].min()), float(obs["total_tokens"].max())),
        "study_hash": str(fit.meta.get("study_hash", "")),
    }


def prior_rows(fit: Fit) -> pd.DataFrame:
    """The variant's priors in words: one row per law parameter, then the likelihood."""
    spec = fit.spec
    meaning = LAW_PARAMETERS.get(spec.law, {})
    rows = []
    for name, p in spec.parameters.items():
        if p.pooling == "hierarchical":
            prior = f"population mean ~ {p.mu.describe()}, spread ~ {p.sigma.describe()}"
            if p.parameterization:
                prior += f" ({p.parameterization})"
        else:
            prior = p.prior.describe()
        rows.append(
            {"parameter": name, "pooling": p.pooling, "prior": prior, "meaning": meaning.get(name)}
        )
    likelihood = spec.likelihood
    rows.append(
        {
            "parameter": "sigma",
            "pooling": "shared",
            "prior": likelihood.sigma.describe(),
            "meaning": f"noise scale of the {likelihood.family} likelihood on log-loss",
        }
    )
    if likelihood.nu is not None:
        rows.append(
            {
                "parameter": "nu",
                "pooling": "shared",
                "prior": likelihood.nu.describe(),
                "meaning": "degrees of freedom of the Student-t likelihood",
            }
        )
    if spec.transfer is not None:
        transfer = spec.transfer
        meanings = {
            "intercept": "transfer of a pair whose features are all 0",
            "coefficient": f"effect of each pair feature ({', '.join(transfer.features)})",
            "source_scale": "spread of the per-source effects (sources that help or hurt all)",
            "residual_scale": (
                f"scale of the per-pair Student-t residuals (nu = {transfer.residual_nu:g})"
            ),
            "pooled_mean": "mean transfer from the pooled 'other' source",
            "pooled_scale": "spread over targets of the transfer from the pooled source",
        }
        for name, meaning in meanings.items():
            rows.append(
                {
                    "parameter": f"tau_{name}",
                    "pooling": "transfer matrix",
                    "prior": getattr(transfer, name).describe(),
                    "meaning": meaning,
                }
            )
    return pd.DataFrame(rows).fillna("")


def variant_overview(fit: Fit) -> dict[str, Any]:
    """The variant, its priors (from ``spec.to_dict()``) and how the fit was made."""
    spec = fit.spec
    raw = spec.to_dict()
    meta = fit.meta
    versions = meta.get("versions", {}) or {}
    return {
        "name": spec.name,
        "law": spec.law,
        "description": spec.description,
        "reference": raw["reference"],
        "data_selection": raw["data"],
        "model": raw["model"],
        "priors": prior_rows(fit),
        "seed": meta.get("seed"),
        "sampler": meta.get("sampler", ""),
        "chains": meta.get("chains"),
        "draws": meta.get("draws"),
        "tune": meta.get("tune"),
        "target_accept": meta.get("target_accept"),
        "created": meta.get("created", ""),
        "fit_seconds": meta.get("fit_seconds"),
        "study_hash": str(meta.get("study_hash", "")),
        "study_source": str(meta.get("study_source", "")),
        "versions": dict(versions),
    }


def fitted_data(fits: Sequence[Fit], labels: Sequence[str], study: Study | None) -> dict[str, Any]:
    """Section 1: the study (or each fit's data), the variants, seeds, versions, hashes.

    Returns
    -------
    dict
        ``study`` (``Study.summary()`` or None), ``study_matches`` (label to whether the fit
        records the study's hash), ``data`` (label to :func:`data_overview`), ``variants``
        (label to :func:`variant_overview`), ``study_hashes`` (distinct hashes of the fits).
    """
    summary = study.summary() if study is not None else None
    matches = {}
    if summary is not None:
        matches = {
            label: fit.meta.get("study_hash", "") == summary["content_hash"]
            for label, fit in zip(labels, fits, strict=True)
        }
    return {
        "study": summary,
        "study_matches": matches,
        "data": {label: data_overview(fit) for label, fit in zip(labels, fits, strict=True)},
        "variants": {label: variant_overview(fit) for label, fit in zip(labels, fits, strict=True)},
        "study_hashes": sorted({str(fit.meta.get("study_hash", "")) for fit in fits}),
    }


__all__ = [
    "data_overview",
    "fitted_data",
    "prior_rows",
    "variant_overview",
]
