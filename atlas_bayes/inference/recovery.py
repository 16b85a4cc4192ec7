"""Parameter recovery against a simulated study's truth: do the intervals contain it."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_bayes.inference.fit import Fit
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.simulate.truth import CROSSOVER_PARAMS
from atlas_bayes.variants import VariantSpec


def true_law_parameters(
    truth: dict, spec: VariantSpec | None = None
) -> dict[str, dict[str, float]]:
    """True per-language values in a variant's parameterisation (log_E, log_a, ...).

    The truth's reference scales must be the variant's (1e9 parameters, 1e10 tokens). For the
    ``curse`` law the values are the curse truth's, with ``log_a``/``log_b`` taken at the
    variant's ``K_ref`` languages; for ``crossover`` the penalty's ``log_penalty`` (at N_ref)
    and ``gamma`` are added. Parameters without a true value in this parameterisation (the
    crossover laws' ``tau_named``/``tau_pooled``, which the truth defines through the full
    transfer matrix) are left out.
    """
    decay = truth["repetition"]["decay_lambda"]
    scales = truth["reference_scales"]
    if spec is not None and spec.law == "curse":
        log_k_ref = np.log(spec.languages_ref)
        log_n_ref, log_d_ref = np.log(scales["params"]), np.log(scales["tokens"])
        return {
            language: {
                "log_E": float(np.log(p["E"])),
                "log_a": float(np.log(p["A"]) + p["phi"] * log_k_ref - p["alpha"] * log_n_ref),
                "log_b": float(np.log(p["B"]) + p["psi"] * log_k_ref - p["beta"] * log_d_ref),
                "alpha": p["alpha"],
                "beta": p["beta"],
                "phi": p["phi"],
                "psi": p["psi"],
            }
            for language, p in truth["curse"]["by_language"].items()
        }
    values = {
        language: {
            "log_E": float(np.log(p["E"])),
            "log_a": float(np.log(p["params_term_at_ref"])),
            "log_b": float(np.log(p["data_term_at_ref"])),
            "alpha": p["alpha"],
            "beta": p["beta"],
            "log_decay": float(np.log(decay)),
        }
        for language, p in truth["languages"].items()
    }
    if spec is not None and spec.law == "crossover":
        gamma = truth["finetune"]["gamma"]
        for language, penalty in truth["finetune"]["penalty_at_2b"].items():
            values[language]["gamma"] = gamma
            # penalty_2b (N / 2e9)^-gamma at N = N_ref.
            values[language]["log_penalty"] = float(
                np.log(penalty) - gamma * np.log(spec.params_ref / CROSSOVER_PARAMS)
            )
    return values


def recovery_table(
    fit: Fit, truth: dict | str | Path, ci_prob: float = CI_PROB, ci_kind: str = CI_KIND
) -> pd.DataFrame:
    """Truth against posterior for every per-language (and shared) law parameter of ``fit``.

    Parameters
    ----------
    fit
        A fit of a variant to a simulated study.
    truth
        The study's ``truth.json`` (parsed, or its path).
    ci_prob, ci_kind
        The interval that must contain the truth (``eti`` only).

    Returns
    -------
    pandas.DataFrame
        One row per (parameter, language): ``truth``, posterior ``mean``, ``ci_low``,
        ``ci_high``, ``covered``, ``ci_prob``, ``ci_kind``. Shared parameters appear once
        (language ``"*"``).
    """
    if ci_kind != "eti":
        raise ValueError("recovery uses equal-tailed intervals")
    if not isinstance(truth, dict):
        truth = json.loads(Path(truth).read_text(encoding="utf-8"))
    values = true_law_parameters(truth, fit.spec)
    if (fit.spec.params_ref, fit.spec.tokens_ref) != (
        truth["reference_scales"]["params"],
        truth["reference_scales"]["tokens"],
    ):
        raise ValueError("the fit's reference scales differ from the truth's")
    posterior = fit.posterior
    tail = (1 - ci_prob) / 2
    rows = []
    for name in fit.spec.parameters:
        if name not in values[fit.languages[0]]:
            continue
        draws = posterior[name]
        languages = fit.languages if "language" in draws.dims else ["*"]
        for language in languages:
            if language != "*" and name not in values.get(language, {}):
                continue
            sample = draws.sel(language=language) if language != "*" else draws
            sample = sample.values.ravel()
            low, high = np.quantile(sample, [tail, 1 - tail])
            true = values[fit.languages[0] if language == "*" else language][name]
            rows.append(
                {
                    "parameter": name,
                    "language": language,
                    "truth": true,
                    "mean": float(sample.mean()),
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "covered": bool(low <= true <= high),
                    "ci_prob": ci_prob,
                    "ci_kind": ci_kind,
                }
            )
    return pd.DataFrame(rows)
