"""The ground truth as JSON: every quantity a later analysis estimates, with its true value."""

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes import __version__, laws
from atlas_bayes.published import published_value
from atlas_bayes.simulate.design import FINETUNE_SIZES, SIZES, PlannedRun
from atlas_bayes.simulate.languages import BY_CODE, CROSSOVER_LANGUAGES
from atlas_bayes.simulate.truth import (
    CROSSOVER_PARAMS,
    CURSE_PARAMS_EXPONENT,
    CURSE_TOTAL_TOKENS_EXPONENT,
    OTHER_TRANSFER,
    PAIR_EFFECTS,
    PARAMS_REF,
    SOURCE_EFFECTS,
    TOKENS_REF,
    TRANSFER_FLOOR,
    LossLaw,
    Truth,
    crossover_tokens_for,
    fit_power_law,
)

LAW_TEXT = {
    "atlas": (
        "monolingual, bilingual and unimax runs: L = E + A/N^alpha + B/D_eff^beta, "
        "D_eff = (S_t + P) exp(-Q/(S_t + P)) with P the positive and Q the negative transfer "
        "contributions tau[t,s] S_s, S = repetition saturation with the shared lambda"
    ),
    "curse": (
        "capacity runs: L = E + A K^phi / N^alpha + B K^psi / D_t^beta (curse-law exponents; "
        "same loss as the ATLAS law at K = 1 and the reference scales)"
    ),
    "finetune": (
        "finetune runs: L = E + A/N^alpha + B/(H + S(D))^beta + penalty_2b (N/2e9)^-gamma, "
        "H = the base Unimax checkpoint's D_eff for the language"
    ),
}


def _law_values(law: LossLaw, i: int) -> dict[str, float]:
    """E, A, B, alpha, beta of entry ``i`` of a loss law (also of a curse truth)."""
    return {name: float(getattr(law, name)[i]) for name in ("E", "A", "B", "alpha", "beta")}


def _size_key(params: float) -> str:
    return f"{params:.3g}"


def summarise_truth(
    truth: Truth,
    runs_by_id: dict[str, PlannedRun],
    evals: pd.DataFrame,
    true_log_loss: np.ndarray,
) -> dict[str, Any]:
    """JSON-ready truth: parameters, transfer, curse, finetune, crossovers and their summaries.

    Parameters
    ----------
    truth
        The truth the study was generated from.
    runs_by_id
        The run design.
    evals
        The evaluation table (with noisy ``loss``).
    true_log_loss
        Noise-free log-loss of each evaluation, aligned with ``evals``.

    Returns
    -------
    dict
        Plain numbers, strings, lists and dicts.
    """
    from atlas_bayes.simulate.generate import head_start_tokens

    law = truth.law
    languages = {
        code: {
            **_law_values(law, i),
            "params_term_at_ref": float(law.params_term[i]),
            "data_term_at_ref": float(law.data_term[i]),
            "unique_tokens": BY_CODE[code].unique_tokens,
            "script": BY_CODE[code].script,
            "family": BY_CODE[code].family,
        }
        for i, code in enumerate(truth.languages)
    }
    residual = np.log(evals["loss"].to_numpy()) - true_log_loss
    kinds = Counter(run.kind for run in runs_by_id.values())
    return {
        "about": (
            "SIMULATED ground truth of the atlas_bayes simulated ATLAS study. No real training "
            "run is behind these numbers: they were chosen so that ATLAS's published findings "
            "hold, then the study's losses were generated from them with noise."
        ),
        "generator": {
            "package": "atlas_bayes",
            "version": __version__,
            "function": "atlas_bayes.simulate.simulate_atlas_study",
            "seed": truth.seed,
        },
        "reference_scales": {"params": PARAMS_REF, "tokens": TOKENS_REF},
        "laws": LAW_TEXT,
        "noise": {
            "on": "log-loss",
            "distribution": "student_t",
            "df": truth.noise_df,
            "scale": truth.noise_scale,
            "sd": truth.noise_scale * float(np.sqrt(truth.noise_df / (truth.noise_df - 2))),
            "realised_sd": float(residual.std()),
            "realised_max_abs": float(np.abs(residual).max()),
        },
        "repetition": {
            "decay_lambda": truth.repetition_decay,
            "R_D_star": 1.0 / truth.repetition_decay,
            "shared_across_languages": True,
        },
        "languages": languages,
        "transfer": _transfer_summary(truth, runs_by_id),
        "curse": _curse_summary(truth),
        **_finetune_summary(truth, runs_by_id, head_start_tokens),
        "design": {
            "runs": len(runs_by_id),
            "runs_by_kind": dict(sorted(kinds.items())),
            "evaluations": len(evals),
            "model_sizes": list(SIZES),
        },
    }


def _transfer_summary(truth: Truth, runs_by_id: dict[str, PlannedRun]) -> dict[str, Any]:
    transfer = truth.transfer
    targets = list(transfer.targets)
    n = len(targets)
    tau = transfer.matrix[:, :n]
    bts = laws.transfer_to_bts(tau)
    off = ~np.eye(n, dtype=bool)
    same_script = np.array(
        [[BY_CODE[a].script == BY_CODE[b].script for b in targets] for a in targets]
    )
    upper = np.triu_indices(n, 1)
    top5 = {}
    for i, t in enumerate(targets):
        row = np.where(off[i], tau[i], -np.inf)
        top5[t] = [targets[j] for j in np.argsort(-row, kind="stable")[:5]]
    counts = Counter(s for sources in top5.values() for s in sources)
    measured = sorted(
        {tuple(run.mixture) for run in runs_by_id.values() if run.kind == "bilingual"}
    )

    def pair(t: str, s: str) -> float:
        return float(tau[targets.index(t), targets.index(s)])

    scandinavian = ["no", "sv", "da"]
    matrix_json = [
        [None if i == j else float(v) for j, v in enumerate(row)]
        for i, row in enumerate(transfer.matrix)
    ]
    return {
        "targets": targets,
        "sources": list(transfer.sources),
        "tau": matrix_json,
        "tau_note": "tau[target][source]; null on the diagonal (own tokens always count 1)",
        "interference": "damped",
        "floor": TRANSFER_FLOOR,
        "feature_coefficients": transfer.coefficients,
        "source_effects": SOURCE_EFFECTS,
        "pair_effects": {f"{t}<-{s}": v for (t, s), v in PAIR_EFFECTS.items()},
        "other_transfer": OTHER_TRANSFER,
        "sparse_residual_share": float(transfer.residual_is_sparse[:, :n][off].mean()),
        "measured_pairs": [list(p) for p in measured],
        "summary": {
            "mean_bts_same_script": float(bts[same_script & off].mean()),
            "mean_bts_different_script": float(bts[~same_script & off].mean()),
            "mean_tau_same_script": float(tau[same_script & off].mean()),
            "mean_tau_different_script": float(tau[~same_script & off].mean()),
            "bts_asymmetry_corr": float(np.corrcoef(bts[upper], bts.T[upper])[0, 1]),
            "share_positive": float((tau[off] > 0).mean()),
            "top5_sources": top5,
            "top5_counts": dict(counts.most_common()),
            "ur_ps_interfere_with_all": bool(
                (tau[:, targets.index("ur")][off[:, targets.index("ur")]] < 0).all()
                and (tau[:, targets.index("ps")][off[:, targets.index("ps")]] < 0).all()
            ),
            "scandinavian_tau": {
                f"{t}<-{s}": pair(t, s) for t in scandinavian for s in scandinavian if t != s
            },
            "ms_id_tau": {"ms<-id": pair("ms", "id"), "id<-ms": pair("id", "ms")},
            "published": {
                "mean_bts_same_script": published_value("transfer.mean_bts_same_script"),
                "mean_bts_different_script": published_value("transfer.mean_bts_different_script"),
                "bts_asymmetry_corr": published_value("transfer.bts_asymmetry_corr"),
            },
        },
    }


def _curse_summary(truth: Truth) -> dict[str, Any]:
    curse = truth.curse
    params_ratio = curse.phi / curse.alpha
    data_ratio = curse.psi / curse.beta
    population = {
        "phi": float(curse.phi.mean()),
        "psi": float(curse.psi.mean()),
        "alpha": float(curse.alpha.mean()),
        "beta": float(curse.beta.mean()),
        "params_exponent": float(params_ratio.mean()),
        "tokens_per_language_exponent": float(data_ratio.mean()),
    }
    multipliers = {}
    for r in (2, 4, 8, 16):
        m = laws.iso_loss_multipliers(
            float(r), population["params_exponent"], population["tokens_per_language_exponent"],
            1.0, 1.0,
        )  # fmt: skip
        multipliers[str(r)] = {key: float(v) for key, v in m._asdict().items()}
    by_language = {}
    for j, code in enumerate(curse.targets):
        m = laws.iso_loss_multipliers(
            2.0, curse.phi[j], curse.psi[j], curse.alpha[j], curse.beta[j]
        )
        by_language[code] = {
            **_law_values(curse, j),
            "phi": float(curse.phi[j]),
            "psi": float(curse.psi[j]),
            "doubling": {key: float(v) for key, v in m._asdict().items()},
        }
    return {
        "targets": list(curse.targets),
        "population": population,
        "population_note": (
            "means over the 8 targets; the multiplier exponents phi/alpha and psi/beta are "
            f"centred exactly on {CURSE_PARAMS_EXPONENT} and {CURSE_TOTAL_TOKENS_EXPONENT - 1:.5f}"
        ),
        "multipliers": multipliers,
        "by_language": by_language,
        "published": {
            "phi": published_value("curse.phi"),
            "psi": published_value("curse.psi"),
            "multipliers": {
                str(r): published_value(f"curse.multipliers.{r}") for r in (2, 4, 8, 16)
            },
        },
    }


def _finetune_summary(truth: Truth, runs_by_id: dict, head_start_tokens: Any) -> dict[str, Any]:
    finetune = truth.finetune
    languages = truth.languages
    sizes = sorted(set(FINETUNE_SIZES) | {CROSSOVER_PARAMS, SIZES[-1]})
    index = np.arange(len(languages))[:, None]
    head = np.array(
        [[head_start_tokens(truth, runs_by_id, code, n) for n in sizes] for code in languages]
    )
    params = np.array(sizes)[None, :]
    penalty = finetune.penalty(index, params)
    unique = np.array([BY_CODE[c].unique_tokens for c in languages])[:, None]
    crossover = crossover_tokens_for(
        truth.law, index, head, penalty, unique, truth.repetition_decay
    )
    crossover_json = {
        code: {_size_key(n): float(crossover[i, k]) for k, n in enumerate(sizes)}
        for i, code in enumerate(languages)
    }
    at_2b = {code: crossover_json[code][_size_key(CROSSOVER_PARAMS)] for code in languages}
    fit_sizes = np.array(FINETUNE_SIZES)
    columns = [sizes.index(n) for n in FINETUNE_SIZES]
    compute_fits = {}
    for code in CROSSOVER_LANGUAGES:
        i = languages.index(code)
        a, b = fit_power_law(fit_sizes, 6.0 * fit_sizes * crossover[i, columns])
        compute_fits[code] = {"a": a, "b": b}
    rows = [languages.index(c) for c in CROSSOVER_LANGUAGES]
    pooled_n = np.tile(fit_sizes, len(rows))
    pooled_c = (6.0 * fit_sizes * crossover[rows][:, columns]).ravel()
    a, b = fit_power_law(pooled_n, pooled_c)
    published = {c: published_value(f"crossover.tokens.{c}") for c in CROSSOVER_LANGUAGES}
    return {
        "finetune": {
            "form": LAW_TEXT["finetune"],
            "gamma": finetune.gamma,
            "penalty_at_2b": dict(zip(languages, map(float, finetune.penalty_2b), strict=True)),
            "calibrated_languages": [
                c for c, k in zip(languages, finetune.calibrated, strict=True) if k
            ],
            "head_start_tokens": {
                code: {_size_key(n): float(head[i, k]) for k, n in enumerate(sizes)}
                for i, code in enumerate(languages)
            },
        },
        "crossover": {
            "tokens": crossover_json,
            "tokens_at_2b": at_2b,
            "compute_at_2b": {c: 6.0 * CROSSOVER_PARAMS * v for c, v in at_2b.items()},
            "published_tokens_at_2b": published,
            "relative_error_vs_published": {
                c: at_2b[c] / published[c] - 1.0 for c in CROSSOVER_LANGUAGES
            },
            "compute_law": {
                "a": a,
                "b": b,
                "fitted_on": "crossover languages x finetune sizes, C = 6 N D, log-log OLS",
            },
            "compute_law_by_language": compute_fits,
        },
    }
