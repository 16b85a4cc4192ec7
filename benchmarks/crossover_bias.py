"""Why do the crossover posteriors sit above the truth, and is it the method or the data?

Issue 4: on the bundled study the ``crossover`` fit covers 92.5 % of the 107 true crossovers
with its 90 % intervals, but its medians sit above the truth in 93 of them (x1.41). The finetuned
curve has three ingredients besides the language's loss law: the checkpoint's head start ``H``,
the penalty ``P(N) = exp(log_penalty) (N / N_ref)^-gamma`` and the repetition decay. This
script

1. **decomposes** the bias on one fit: for every (language, size) cell with a true crossover it
   recomputes the crossover draw by draw with each ingredient (law, H, P, decay) taken either
   from the posterior or from the truth (all 16 combinations), and reports the geometric mean
   over cells of (median crossover / true crossover) for each; plus the posterior median of H
   and of P against their true values, by model size;
2. **repeats the fit on other simulation seeds** (``--seeds``: new truth, design draws and
   noise, each calibrated to the same published 2B crossovers), to tell a shared error of one
   realisation (the cells share gamma and the penalties' population mean, so their errors are
   not independent) from a bias of the model: per seed, the geometric mean ratio, the share of
   medians above the truth, the coverage of the 90 % equal-tailed intervals and the P ratio.

Run: .venv/bin/python benchmarks/crossover_bias.py --fit FIT.nc [--truth data/atlas_sim/truth.json]
     [--seeds 1 2 3 --chains 2 --draws 600 --tune 1000] [--out F.json]
"""

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes import laws
from atlas_bayes.findings.crossover import finetune_settings
from atlas_bayes.findings.recovery import crossover_recovery
from atlas_bayes.inference import SamplerSettings, fit_variant, load_fit
from atlas_bayes.modeling.mean import head_start_tokens
from atlas_bayes.simulate import simulate_atlas_study
from atlas_bayes.study import load_study
from atlas_bayes.variants import load_variant

CI_PROB = 0.9
CI_KIND = "eti"
SEARCH = (1e7, 1e15)
INGREDIENTS = ("law", "head_start", "penalty", "decay")
#: The truth's penalties are given at this size (``truth.json``: ``finetune.penalty_at_2b``).
TRUTH_PENALTY_PARAMS = 2e9


def _at_size(values: dict, params: float) -> float | None:
    for size, value in values.items():
        if np.isclose(float(size), params):
            return value
    return None


def _draws(fit: Any, name: str, language: str) -> np.ndarray:
    values = fit.posterior[name]
    if "language" in values.dims:
        values = values.sel(language=language)
    return values.values.ravel()


def decompose(fit: Any, truth: dict) -> dict:
    """Crossover medians against the truth with each ingredient from posterior or truth."""
    spec = fit.spec
    gamma_true = truth["finetune"]["gamma"]
    decay_true = truth["repetition"]["decay_lambda"]
    rows = []
    for _, cell in finetune_settings(fit).iterrows():
        language, params = cell["language"], float(cell["params"])
        true_crossover = _at_size(truth["crossover"]["tokens"].get(language, {}), params)
        if true_crossover is None:
            continue
        law_true = truth["languages"][language]
        alpha, beta = _draws(fit, "alpha", language), _draws(fit, "beta", language)
        posterior_law = {
            "E": np.exp(_draws(fit, "log_E", language)),
            "A": np.exp(_draws(fit, "log_a", language)) * spec.params_ref**alpha,
            "B": np.exp(_draws(fit, "log_b", language)) * spec.tokens_ref**beta,
            "alpha": alpha,
            "beta": beta,
        }
        n = len(alpha)
        options = {
            "law": (
                posterior_law,
                {k: np.full(n, law_true[k]) for k in ("E", "A", "B", "alpha", "beta")},
            ),
            "head_start": (
                head_start_tokens(
                    {k: _draws(fit, k, language) for k in ("tau_named", "tau_pooled", "log_decay")},
                    {
                        "finetuned": 1.0,
                        "own_unique": cell["unique_tokens"],
                        **{
                            k: cell[k]
                            for k in ("base_own_tokens", "base_named_tokens", "base_pooled_tokens")
                        },
                    },
                ),
                np.full(n, _at_size(truth["finetune"]["head_start_tokens"][language], params)),
            ),
            "penalty": (
                np.exp(_draws(fit, "log_penalty", language))
                * (params / spec.params_ref) ** (-_draws(fit, "gamma", language)),
                np.full(
                    n,
                    truth["finetune"]["penalty_at_2b"][language]
                    * (params / TRUTH_PENALTY_PARAMS) ** (-gamma_true),
                ),
            ),
            "decay": (np.exp(_draws(fit, "log_decay", language)), np.full(n, decay_true)),
        }
        row = {
            "language": language,
            "params": params,
            "truth": float(true_crossover),
            "head_start_ratio": float(np.median(options["head_start"][0]))
            / float(options["head_start"][1][0]),
            "penalty_ratio": float(np.median(options["penalty"][0]))
            / float(options["penalty"][1][0]),
        }
        for combo in itertools.product((0, 1), repeat=len(INGREDIENTS)):
            law, head, penalty, decay = (
                options[k][c] for k, c in zip(INGREDIENTS, combo, strict=True)
            )

            def difference(
                tokens, law=law, head=head, penalty=penalty, decay=decay, params=params, cell=cell
            ):
                saturated = laws.repetition_saturation(tokens, cell["unique_tokens"], decay)
                scratch = laws.chinchilla_loss(params, saturated, **law)
                finetuned = laws.finetuned_loss(params, saturated, head, penalty, **law)
                return scratch - finetuned

            crossover = laws.crossover_tokens(difference, *SEARCH)
            key = "+".join(k for k, c in zip(INGREDIENTS, combo, strict=True) if c) or "none"
            row[f"truth:{key}"] = float(np.nanmedian(crossover)) / float(true_crossover)
        rows.append(row)
    frame = pd.DataFrame(rows)
    combos = [c for c in frame.columns if c.startswith("truth:")]

    def geo(values: pd.Series) -> float:
        return float(np.exp(np.nanmean(np.log(values))))

    by_size = frame.groupby("params")[["head_start_ratio", "penalty_ratio", "truth:none"]]
    return {
        "cells": len(frame),
        "median_over_truth": {
            c.removeprefix("truth:") + " from truth": {
                "geometric_mean": geo(frame[c]),
                "cells_above": int((frame[c] > 1).sum()),
            }
            for c in combos
        },
        "head_start_ratio_geometric_mean": geo(frame["head_start_ratio"]),
        "penalty_ratio_geometric_mean": geo(frame["penalty_ratio"]),
        "by_size": {
            f"{size:.3g}": {k: geo(v) for k, v in group.items()} for size, group in by_size
        },
    }


def seed_summary(fit: Any, truth: dict, parts: dict | None = None) -> dict:
    recovery = crossover_recovery(fit, truth, CI_PROB)
    table = recovery["table"]
    known = table[table["truth"].notna()]
    ratio = known["median"] / known["truth"]
    parts = decompose(fit, truth) if parts is None else parts
    return {
        "coverage90": float(recovery["coverage"]),
        "cells": len(known),
        "median_over_truth_geometric_mean": float(np.exp(np.log(ratio).mean())),
        "medians_above_truth": int((ratio > 1).sum()),
        "penalty_ratio_geometric_mean": parts["penalty_ratio_geometric_mean"],
        "head_start_ratio_geometric_mean": parts["head_start_ratio_geometric_mean"],
        "gamma_posterior_median": float(np.median(fit.posterior["gamma"].values)),
        "gamma_truth": truth["finetune"]["gamma"],
        "max_rhat": float(fit.diagnostics.max_rhat),
        "divergences": int(fit.diagnostics.divergences),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", help="a crossover fit of the study whose truth is --truth")
    parser.add_argument("--truth", default="data/atlas_sim/truth.json")
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=600)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    result: dict[str, Any] = {"ci_prob": CI_PROB, "ci_kind": CI_KIND}
    if args.fit:
        truth = json.loads(Path(args.truth).read_text())
        fit = load_fit(args.fit)
        parts = decompose(fit, truth)
        result["decomposition"] = {"fit": args.fit, **parts}
        result["fit_summary"] = seed_summary(fit, truth, parts)
        print(json.dumps(result["decomposition"], indent=1))
    spec = load_variant("crossover")
    settings = SamplerSettings(chains=args.chains, draws=args.draws, tune=args.tune, seed=0)
    result["seeds"] = {}
    for seed in args.seeds:
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            try:
                simulation = simulate_atlas_study(seed)
            except ValueError as error:
                # The generator's gamma calibration can fail for a seed (seen for seed 2:
                # no crossover at the bracket's end); record it and go on.
                result["seeds"][str(seed)] = {"simulation_failed": str(error)}
                print(f"seed {seed}: simulation failed: {error}", flush=True)
                continue
            path = simulation.write(Path(folder) / f"sim{seed}")
            truth = json.loads((path / "truth.json").read_text())
            fit = fit_variant(load_study(path), spec, settings)
        summary = {**seed_summary(fit, truth), "seconds": time.perf_counter() - start}
        result["seeds"][str(seed)] = summary
        print(f"seed {seed}: {json.dumps(summary)}", flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    result["settings"] = vars(args)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
