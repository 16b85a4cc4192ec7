"""How long each decision takes over 4,000 posterior draws (and a 100-point budget grid).

Fake fits pair posteriors built from the simulated truth (4 chains x 1,000 draws, a small
spread around the truth's values) with the bundled study's fit data, so no sampling is needed.
Each decision is timed 5 times and the median printed, once for computing the draws and once
for their summary table (``Decision.summary``, the ArviZ intervals).

Run: .venv/bin/python benchmarks/decisions_speed.py [--chains 4] [--draws 1000] [--repeats 5]
"""

import argparse
import json
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import xarray as xr

from atlas_bayes import decisions, laws
from atlas_bayes.findings.crossover import finetune_settings
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.modeling.transfer import TRANSFER_VARIABLES, transfer_matrix
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import load_study
from atlas_bayes.variants import load_variant

TRUTH = json.loads((bundled_study_path() / "truth.json").read_text(encoding="utf-8"))
LAW = ("E", "A", "B", "alpha", "beta")


def posterior(values: dict, languages: list[str], chains: int, draws: int) -> xr.Dataset:
    data_vars = {
        name: (("chain", "draw", "language")[: np.ndim(value)], np.asarray(value, dtype=float))
        for name, value in values.items()
    }
    coords = {"chain": np.arange(chains), "draw": np.arange(draws), "language": languages}
    return xr.Dataset(data_vars, coords=coords)


def law_draws(spec, law: dict, languages: list[str], shape: tuple, rng) -> dict:
    """log_E, log_a, log_b, alpha, beta from absolute values spread by 2 % per draw."""
    values = {
        n: np.array([law[c][n] for c in languages]) * np.exp(0.02 * rng.standard_normal(shape))
        for n in LAW
    }
    return {
        "log_E": np.log(values["E"]),
        "log_a": np.log(values["A"]) - values["alpha"] * np.log(spec.params_ref),
        "log_b": np.log(values["B"]) - values["beta"] * np.log(spec.tokens_ref),
        "alpha": values["alpha"],
        "beta": values["beta"],
    }


def fake_fit(name: str, study, chains: int, draws: int, rng) -> SimpleNamespace:
    spec = load_variant(name)
    data = build_model_data(study, spec)
    languages = [str(x) for x in data["language"].values]
    shape = (chains, draws, len(languages))
    if name == "chinchilla":
        values = law_draws(spec, TRUTH["languages"], languages, shape, rng)
    elif name == "curse":
        by_language = TRUTH["curse"]["by_language"]
        values = law_draws(spec, by_language, languages, shape, rng)
        for exponent in ("phi", "psi"):
            values[exponent] = np.broadcast_to([by_language[c][exponent] for c in languages], shape)
        population = TRUTH["curse"]["population"]
        for n in ("phi", "psi", "alpha", "beta"):
            values[f"{n}_mu"] = population[n] * np.exp(0.02 * rng.standard_normal(shape[:2]))
    elif name == "crossover":
        values = law_draws(spec, TRUTH["languages"], languages, shape, rng)
        cells = finetune_settings(SimpleNamespace(spec=spec, data=data))
        decay = TRUTH["repetition"]["decay_lambda"]
        finetune = TRUTH["finetune"]
        pooled = []
        for code in languages:
            cell = cells[(cells["language"] == code) & (cells["params"] == 2e9)].iloc[0]
            own = laws.repetition_saturation(cell["base_own_tokens"], cell["unique_tokens"], decay)
            head = finetune["head_start_tokens"][code]["2e+09"]
            pooled.append((head - own) / cell["base_pooled_tokens"])
        values["tau_named"] = np.zeros(shape)
        values["tau_pooled"] = np.broadcast_to(pooled, shape)
        values["log_decay"] = np.full(shape[:2], np.log(decay))
        penalty = [finetune["penalty_at_2b"][c] * 2.0 ** finetune["gamma"] for c in languages]
        values["log_penalty"] = np.log(penalty) + 0.02 * rng.standard_normal(shape)
        values["gamma"] = np.full(shape[:2], finetune["gamma"])
    else:
        return SimpleNamespace(
            spec=spec, posterior=transfer_posterior(spec, data, chains, draws, rng), data=data,
            meta={"seed": 0},
        )  # fmt: skip
    return SimpleNamespace(
        spec=spec, posterior=posterior(values, languages, chains, draws), data=data, meta={}
    )


def transfer_posterior(spec, data, chains: int, draws: int, rng) -> xr.Dataset:
    direct, pooled = data["pair_direct"].values, data["pair_pooled"].values
    sizes = {
        "tau_coefficient": ("transfer_feature", len(spec.transfer.features)),
        "tau_source_z": ("source", data.sizes["source"]),
        "tau_direct": ("pair_direct", int((direct & ~pooled).sum())),
        "tau_residual_z": ("pair_indirect", int((~direct & ~pooled).sum())),
        "tau_pooled": ("pooled_pair", int(pooled.sum())),
    }
    data_vars = {}
    for name in TRANSFER_VARIABLES:
        dim, size = sizes.get(name, (None, None))
        extra = () if dim is None else (size,)
        if name.endswith(("_scale", "_sigma")):
            value = rng.uniform(0.02, 0.08, (chains, draws, *extra))
        else:
            value = rng.normal(-0.05, 0.1, (chains, draws, *extra))
        data_vars[name] = (("chain", "draw", *(() if dim is None else (dim,))), value)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    return xr.Dataset(data_vars, coords=coords | {"transfer_feature": list(spec.transfer.features)})


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budgets", type=int, default=100)
    args = parser.parse_args()
    study = load_study(bundled_study_path())
    rng = np.random.default_rng(0)
    fits = {
        name: fake_fit(name, study, args.chains, args.draws, rng)
        for name in ("chinchilla", "curse", "crossover", "atlas_matrix")
    }
    grid = np.geomspace(1e18, 1e24, args.budgets)
    matrix = transfer_matrix(fits["atlas_matrix"])
    requests = {
        "compute_optimal": lambda: decisions.compute_optimal(fits["chinchilla"], "en", 1e21),
        "compute_for_target_loss": lambda: decisions.compute_for_target_loss(
            fits["chinchilla"], "en", 2.1
        ),
        f"compute_frontier ({args.budgets} budgets)": lambda: decisions.compute_frontier(
            fits["chinchilla"], "en", grid
        ),
        "add_languages": lambda: decisions.add_languages(fits["curse"], 8, 16),
        "pretrain_or_finetune": lambda: decisions.pretrain_or_finetune(
            fits["crossover"], "en", 2e9, tokens=1e11
        ),
        "rank_sources": lambda: decisions.rank_sources(fits["atlas_matrix"], "fr"),
        # The full transfer matrix dominates rank_sources; with it computed once per fit:
        "rank_sources (matrix precomputed)": lambda: decisions.rank_sources(
            fits["atlas_matrix"], "fr", tau=matrix
        ),
    }
    draws = args.chains * args.draws
    print(f"{draws} draws, median of {args.repeats} repeats (seconds)")
    print(f"{'decision':38s} {'draws':>8s} {'summary':>8s}")
    for name, request in requests.items():
        decision = request()
        compute = median_seconds(request, args.repeats)
        summary = median_seconds(lambda d=decision: d.summary(), args.repeats)
        print(f"{name:38s} {compute:8.3f} {summary:8.3f}", flush=True)


if __name__ == "__main__":
    main()
