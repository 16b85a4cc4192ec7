"""Speed of the mixture optimiser on a 30-language study with 4000 posterior draws.

Issue 5's check: "the mixture optimiser for a 30-language study in under 10 s". The fit is
fake (no sampling): an ``atlas_matrix`` posterior of 4 chains x 1000 draws built from chosen
values, on a fit-data layout of 30 languages. Each language has its own law parameters
(spread around the shipped variant's hyperprior means) and unique tokens (log-uniform from
1e8 to 1e12, so a 1e11-token budget repeats the small ones); 80% of the (target, source)
pairs are measured, with a per-pair mean transfer and per-draw spread, and the rest come
from the feature model, as in a real fit. The target's data is scarce (2e9 unique tokens).

The whole call is timed (the transfer matrix, the optimisation from every start, the final
distributions over all draws), for the mean objective and the 0.9 quantile; each is repeated
and the median reported.

Run: .venv/bin/python benchmarks/mixture_speed.py [--repeats 3] [--out F.json]
"""

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import xarray as xr

from atlas_bayes.decisions.mixture import optimise_mixture
from atlas_bayes.variants import load_variant

N_LANGUAGES = 30
CHAINS, DRAWS = 4, 1000
TOKENS, PARAMS = 1e11, 2e9
TARGET = "l00"
TARGET_UNIQUE = 2e9
MEASURED_SHARE = 0.8


def fake_fit(seed: int) -> SimpleNamespace:
    """A fake 30-language atlas_matrix fit (data layout and posterior), see the module doc."""
    rng = np.random.default_rng(seed)
    spec = load_variant("atlas_matrix")
    n = N_LANGUAGES
    languages = [f"l{i:02d}" for i in range(n)]
    unique = 10 ** rng.uniform(8, 12, n)
    unique[0] = TARGET_UNIQUE
    features = list(spec.transfer.features)
    off_diagonal = [(t, s) for t in range(n) for s in range(n) if t != s]
    measured = rng.random(len(off_diagonal)) < MEASURED_SHARE
    pairs = [pair for pair, keep in zip(off_diagonal, measured, strict=True) if keep]
    pair_index = np.full((n, n), -1)
    for p, (t, s) in enumerate(pairs):
        pair_index[t, s] = p
    # One monolingual run per language at two sizes, one epoch of its data (at most 1e11).
    tokens = np.diag(np.minimum(unique, 1e11)).repeat(2, axis=0)
    data = xr.Dataset(
        {
            "log_params": ("obs", np.log(np.tile([1e8, 8e9], n))),
            "target": ("obs", np.arange(n).repeat(2)),
            "tokens": (("obs", "source"), tokens),
            "unique_tokens": (("obs", "source"), np.tile(unique, (2 * n, 1))),
            "top_source": (("language", "slot"), np.full((n, 1), -1)),
            "pair_index": (("language", "source"), pair_index),
            "pair_target": ("pair", np.array([t for t, _ in pairs], dtype=np.int64)),
            "pair_source": ("pair", np.array([s for _, s in pairs], dtype=np.int64)),
            "pair_direct": ("pair", np.ones(len(pairs), dtype=bool)),
            "pair_pooled": ("pair", np.zeros(len(pairs), dtype=bool)),
            "pair_features": (
                ("language", "source", "feature"),
                rng.normal(0.0, 1.0, (n, n, len(features))),
            ),
        },
        coords={"language": languages, "source": languages, "feature": features},
    )
    shape = (CHAINS, DRAWS)
    sample = ("chain", "draw")
    pair_mean = rng.normal(0.05, 0.15, len(pairs))
    pair_sd = rng.uniform(0.02, 0.1, len(pairs))
    posterior = {
        "tau_intercept": (sample, rng.normal(0.02, 0.02, shape)),
        "tau_coefficient": (
            (*sample, "transfer_feature"),
            rng.normal(0.03, 0.01, (*shape, len(features))),
        ),
        "tau_source_scale": (sample, rng.uniform(0.03, 0.06, shape)),
        "tau_source_z": ((*sample, "source"), rng.normal(0.0, 1.0, (*shape, n))),
        "tau_residual_scale": (sample, rng.uniform(0.05, 0.1, shape)),
        "tau_direct": (
            (*sample, "pair_direct"),
            pair_mean + pair_sd * rng.standard_normal((*shape, len(pairs))),
        ),
        "tau_residual_z": ((*sample, "pair_indirect"), np.zeros((*shape, 0))),
        "tau_pooled_mu": (sample, np.zeros(shape)),
        "tau_pooled_sigma": (sample, np.full(shape, 0.01)),
        "tau_pooled": ((*sample, "pooled_pair"), np.zeros((*shape, 0))),
    }
    # Law parameters: a per-language value near the hyperprior means, and posterior spread.
    for name, centre, between, within in (
        ("log_E", 0.59, 0.1, 0.02),
        ("log_a", -1.05, 0.2, 0.05),
        ("log_b", -0.69, 0.2, 0.05),
        ("alpha", 0.35, 0.03, 0.01),
        ("beta", 0.32, 0.03, 0.01),
    ):
        per_language = centre + between * rng.standard_normal(n)
        posterior[name] = (
            (*sample, "language"),
            per_language + within * rng.standard_normal((*shape, n)),
        )
    posterior["log_decay"] = (sample, rng.normal(-2.73, 0.2, shape))
    dataset = xr.Dataset(
        posterior,
        coords={
            "chain": np.arange(CHAINS),
            "draw": np.arange(DRAWS),
            "language": languages,
            "transfer_feature": features,
        },
    )
    return SimpleNamespace(spec=spec, posterior=dataset, data=data, meta={"seed": seed})


def time_call(fit: SimpleNamespace, quantile: float | None, repeats: int) -> dict:
    """Median wall time of ``optimise_mixture`` and a description of its answer."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        decision = optimise_mixture(fit, TARGET, TOKENS, PARAMS, quantile=quantile)
        seconds.append(time.perf_counter() - start)
    comparison = decision.comparison.set_index("mixture")
    chosen = decision.mixture[decision.mixture["weight"] > 1e-4]
    return {
        "quantile": quantile,
        "median_seconds": statistics.median(seconds),
        "seconds": seconds,
        "objective": str(comparison.loc["optimum", "objective"]),
        "objective_value": float(comparison.loc["optimum", "value"]),
        "improvement_over_target_only": float(comparison.loc["target_only", "improvement"]),
        "improvement_over_unimax": float(comparison.loc["unimax", "improvement"]),
        "p_better_than_target_only": float(comparison.loc["target_only", "p_optimum_better"]),
        "p_better_than_unimax": float(comparison.loc["unimax", "p_optimum_better"]),
        "languages_with_share_above_1e-4": int(len(chosen)),
        "target_share": float(decision.weights.get(TARGET, 0.0)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    fit = fake_fit(args.seed)
    results = {
        "languages": N_LANGUAGES,
        "draws": CHAINS * DRAWS,
        "tokens": TOKENS,
        "params": PARAMS,
        "repeats": args.repeats,
        "machine": platform.platform(),
        "runs": [],
    }
    for quantile in (None, 0.9):
        result = time_call(fit, quantile, args.repeats)
        results["runs"].append(result)
        print(json.dumps(result), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
