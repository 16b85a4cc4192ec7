"""Is the crossover fit's too-steep gamma in the likelihood or in the priors?

Issue 4: ``benchmarks/crossover_bias.py`` traced the crossover medians' upward bias to the
penalty's size exponent ``gamma`` (posterior steeper than the truth on 5 of 6 simulation seeds).
This script takes the priors out and looks at the likelihood alone. For a study it maximises
the crossover variant's log-likelihood (no priors, no Jacobians) over every other free variable
with ``gamma`` held fixed: the **profile log-likelihood** of gamma, its maximum (the MLE) and the
likelihood-ratio statistic ``2 (max - profile at the true gamma)``. It does so on

* ``--seeds``: simulated studies as the generator makes them (new truth, design and noise);
* ``--replicates K``: K new noise draws (the generator's Student-t, df 5, scale 0.003 on
  log-loss) added to the noise-free losses of one truth and design (``--replicate-seed``), so
  the spread and mean of the MLE over them are the estimator's own, with nothing else changing;
* ``--low-noise``: one study of that truth with the noise scale divided by 10; a model that
  could not represent the truth would put the profile's peak away from the truth here too;
* ``--subset`` (with ``--study``): the study again after dropping finetune runs: of the
  languages whose penalty was not calibrated (``calibrated``), or also those below 1e9
  parameters (``calibrated_large``), to see which runs pull gamma;
* ``--design`` (with ``--replicates`` or ``--low-noise``): the replicates on another design
  of the finetune runs, to see what information removes the bias. ``all_sizes`` finetunes
  the 30 other matrix languages at the crossover languages' five sizes (85M-4B, against
  three) and all 8 crossover languages also at 8.45B (against 4 of them); ``longer`` makes
  every crossover curve (scratch and finetune) 2.4x longer (span 6 x the planned crossover,
  against 2.5) and the other languages' finetune runs 100 tokens per parameter (against 40).
  The truth is the same: the penalties are calibrated on the crossover languages' five sizes
  whatever the design.

The optimiser is scipy's L-BFGS-B on the unconstrained values; the per-language hierarchies'
redundant directions (mu + sigma z) are flat in the likelihood and leave the maximum unchanged.
A one-dimensional bounded search over gamma on top gives the MLE (to +/- 0.02).

Run: .venv/bin/python benchmarks/crossover_gamma_likelihood.py --study data/atlas_sim
     --subset calibrated calibrated_large --seeds 1 2 3 4 5 --replicates 8 --low-noise --out F
Designs: ... --replicates 6 --low-noise --design all_sizes --out F (and --design longer);
measured 2026-12-01 (results-crossover_gamma_likelihood-designs-2026-12-01.json): MLE minus
truth -0.037 and -0.030 (standard errors 0.048, 0.047) against -0.029 for the bundled design on
the same six noise draws; neither design removes the lean or the spread (docs/findings.md).
"""

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace
from scipy import optimize

import atlas_bayes.simulate.design as design
import atlas_bayes.simulate.generate as generator
from atlas_bayes.modeling.build import build_model
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.simulate import simulate_atlas_study
from atlas_bayes.study import load_study
from atlas_bayes.variants import load_variant

#: gamma's search interval for the MLE, and the grid of the printed profile.
GAMMA_BOUNDS = (-1.2, 0.6)
PROFILE_GRID = (-0.8, -0.6, -0.5, -0.4, -0.3, -0.244, -0.2, -0.1, 0.0)
#: Noise of the generator (atlas_bayes.simulate.generate): Student-t on log-loss.
NOISE_SCALE, NOISE_DF = generator.NOISE_SCALE, generator.NOISE_DF
#: Below this size a finetune run's penalty is at most ~0.003 nats on the bundled study.
LARGE_PARAMS = 1e9
#: Designs of the finetune runs (``--design``): the design module's constants they change.
DESIGNS: dict[str, dict[str, Any]] = {
    "bundled": {},
    "all_sizes": {
        "FINETUNE_OTHER_SIZES": design.FINETUNE_SIZES,
        "FINETUNE_LARGEST": design.CROSSOVER_LANGUAGES,
    },
    "longer": {"CROSSOVER_SPAN": 6.0, "FINETUNE_OTHER_TOKENS_PER_PARAM": 100.0},
}


def profile_function(folder: Path) -> tuple[Callable[[float], float], dict]:
    """The profile log-likelihood of gamma on the study in ``folder`` (crossover variant).

    Returns the function (each call re-maximises from the previous call's optimum, so calls
    at nearby gammas are cheap) and a dict with the numbers of observations and free values.
    """
    spec = load_variant("crossover")
    data = build_model_data(load_study(folder), spec)
    model = build_model(data, spec)
    start = model.initial_point()
    gamma_value = model.rvs_to_values[model["gamma"]]
    others = [v for v in model.value_vars if v is not gamma_value]
    flat, gamma = pt.vector("flat"), pt.scalar("gamma")
    replacements, offset = {gamma_value: gamma}, 0
    for value in others:
        size = int(np.prod(start[value.name].shape))
        replacements[value] = flat[offset : offset + size].reshape(start[value.name].shape)
        offset += size
    loglik = model.logp(vars=model.observed_RVs, jacobian=False)
    # Hyperparameters of centred hierarchies do not enter the likelihood: strict=False.
    loglik = graph_replace(loglik, replacements, strict=False)
    value_and_grad = pytensor.function([flat, gamma], [loglik, pytensor.grad(loglik, flat)])
    state = {"x": np.concatenate([start[v.name].ravel() for v in others])}

    def profile(gamma_fixed: float) -> float:
        result = None
        for _ in range(2):  # a restart from the optimum tightens L-BFGS's stop
            result = optimize.minimize(
                lambda x: tuple(-part for part in value_and_grad(x, gamma_fixed)),
                state["x"],
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 5000, "ftol": 1e-14, "gtol": 1e-7},
            )
            state["x"] = result.x
        return float(-result.fun)

    return profile, {"observations": int(data.sizes["obs"]), "free_values": offset + 1}


def analyse(folder: Path, grid: bool = False) -> dict[str, Any]:
    """MLE of gamma, the likelihood-ratio statistic at the truth and (optionally) the profile."""
    started = time.perf_counter()
    gamma_true = json.loads((folder / "truth.json").read_text())["finetune"]["gamma"]
    profile, sizes = profile_function(folder)
    search = optimize.minimize_scalar(
        lambda g: -profile(g), bounds=GAMMA_BOUNDS, method="bounded", options={"xatol": 0.02}
    )
    at_mle = -float(search.fun)
    at_truth = profile(gamma_true)
    out = {
        "gamma_truth": gamma_true,
        "gamma_mle": float(search.x),
        "lr_at_truth": 2 * max(at_mle - at_truth, 0.0),
        **sizes,
    }
    if grid:
        out["profile"] = {f"{g:+.3f}": profile(g) - at_mle for g in PROFILE_GRID}
    out["seconds"] = time.perf_counter() - started
    return out


def write_simulation(
    seed: int, folder: Path, noise_scale: float = NOISE_SCALE, design_name: str = "bundled"
) -> Path:
    """Simulate seed ``seed`` with the given noise scale and design into ``folder``."""
    changes = DESIGNS[design_name]
    saved_design = {name: getattr(design, name) for name in changes}
    saved_noise = generator.NOISE_SCALE
    generator.NOISE_SCALE = noise_scale
    for name, value in changes.items():
        setattr(design, name, value)
    try:
        return simulate_atlas_study(seed).write(folder)
    finally:
        generator.NOISE_SCALE = saved_noise
        for name, value in saved_design.items():
            setattr(design, name, value)


def add_noise(clean: Path, folder: Path, replicate: int) -> Path:
    """A copy of the noise-free study ``clean`` with replicate ``replicate``'s noise added."""
    shutil.copytree(clean, folder)
    evals = pd.read_csv(clean / "evals.csv")
    rng = np.random.default_rng(1000 + replicate)
    noise = NOISE_SCALE * rng.standard_t(NOISE_DF, len(evals))
    evals["loss"] = np.exp(np.log(evals["loss"]) + noise)
    evals.to_csv(folder / "evals.csv", index=False)
    return folder


def drop_finetune_runs(folder: Path, subset: str) -> Path:
    """Drop the finetune evaluations ``subset`` leaves out (in place)."""
    truth = json.loads((folder / "truth.json").read_text())
    calibrated = set(truth["finetune"]["calibrated_languages"])
    runs, evals = pd.read_csv(folder / "runs.csv"), pd.read_csv(folder / "evals.csv")
    params = runs.set_index("run_id")["params"]
    finetune = evals["run_id"].isin(runs.loc[runs["kind"] == "finetune", "run_id"])
    drop = finetune & ~evals["language"].isin(calibrated)
    if subset == "calibrated_large":
        drop |= finetune & (evals["run_id"].map(params) < LARGE_PARAMS)
    evals = evals[~drop]
    kept = set(evals["run_id"])
    evals.to_csv(folder / "evals.csv", index=False)
    runs[runs["run_id"].isin(kept)].to_csv(folder / "runs.csv", index=False)
    mixture = pd.read_csv(folder / "mixture.csv")
    mixture[mixture["run_id"].isin(kept)].to_csv(folder / "mixture.csv", index=False)
    return folder


def design_summary(folder: Path, design_name: str) -> dict[str, Any]:
    """The design's finetune runs and evaluations, to set beside its replicates."""
    study = load_study(folder)
    runs, evals = study.runs, study.evals
    finetune = runs.loc[runs["kind"] == "finetune", "run_id"]
    return {
        "design": design_name,
        "changes": {name: str(value) for name, value in DESIGNS[design_name].items()},
        "finetune_runs": len(finetune),
        "finetune_evaluations": int(evals["run_id"].isin(set(finetune)).sum()),
        "evaluations": len(evals),
    }


def summarise(rows: list[dict]) -> dict[str, float]:
    """Mean and spread of the MLE's error and of the likelihood-ratio statistic."""
    error = np.array([r["gamma_mle"] - r["gamma_truth"] for r in rows])
    lr = np.array([r["lr_at_truth"] for r in rows])
    return {
        "n": len(rows),
        "mle_minus_truth_mean": float(error.mean()),
        "mle_minus_truth_sd": float(error.std(ddof=1)) if len(rows) > 1 else float("nan"),
        "mle_minus_truth_se": float(error.std(ddof=1) / np.sqrt(len(rows)))
        if len(rows) > 1
        else float("nan"),
        "mle_steeper_than_truth": int((error < 0).sum()),
        # A regular one-parameter problem gives a chi-squared(1) statistic: mean 1.
        "lr_at_truth_mean": float(lr.mean()),
    }


def main() -> None:
    """Run the requested analyses and print/write them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=None, help="a study folder with truth.json")
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--replicates", type=int, default=0)
    parser.add_argument("--replicate-seed", type=int, default=11)
    parser.add_argument("--low-noise", action="store_true")
    parser.add_argument(
        "--subset", nargs="*", default=[], choices=("calibrated", "calibrated_large")
    )
    parser.add_argument("--design", choices=tuple(DESIGNS), default="bundled")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result: dict[str, Any] = {"settings": {k: str(v) for k, v in vars(args).items()}}

    def save(key: str, value: Any) -> None:
        result[key] = value
        print(f"{key}: {json.dumps(value)}", flush=True)
        if args.out:
            args.out.write_text(json.dumps(result, indent=1) + "\n")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.study is not None:
            save("study", analyse(args.study, grid=True))
            for subset in args.subset:
                folder = shutil.copytree(args.study, work / f"study_{subset}")
                save(f"study_{subset}", analyse(drop_finetune_runs(folder, subset)))
        seeds = {}
        for seed in args.seeds:
            seeds[str(seed)] = analyse(write_simulation(seed, work / f"seed{seed}"))
            save("seeds", seeds)
        if args.seeds:
            # The study (if given) is one more realisation: the bundled one is seed 11.
            rows = [result["study"]] * (args.study is not None) + list(seeds.values())
            save("seeds_summary", summarise(rows))
        if args.replicates or args.low_noise:
            clean = write_simulation(
                args.replicate_seed, work / "clean", noise_scale=0.0, design_name=args.design
            )
            save("design", design_summary(clean, args.design))
        if args.low_noise:
            low = write_simulation(
                args.replicate_seed, work / "low", NOISE_SCALE / 10, design_name=args.design
            )
            save("low_noise", analyse(low, grid=True))
        replicates = []
        for k in range(args.replicates):
            folder = add_noise(clean, work / f"rep{k}", k)
            replicates.append({"replicate": k, **analyse(folder)})
            shutil.rmtree(folder)
            save("replicates", replicates)
        if args.replicates:
            save("replicates_summary", summarise(replicates))


if __name__ == "__main__":
    main()
