"""The two finetuned-curve forms side by side on the bundled study: LOO, speed and recovery.

``crossover`` (head start plus a loss penalty that scales with model size) and
``crossover_exponent`` (head start and a changed data exponent) are fitted to the same
observations, compared by PSIS-LOO (ArviZ's ``loo``/``compare``), and checked against the
simulated truth's crossovers (which follow the first form).

Run: .venv/bin/python benchmarks/crossover_forms.py [--draws 1000] [--tune 500] [--out F.json]
"""

import argparse
import json
import time
from pathlib import Path

import arviz as az

from atlas_bayes.findings.recovery import crossover_recovery
from atlas_bayes.inference import SamplerSettings, fit_variant, save_fit
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import load_study
from atlas_bayes.variants import load_variant

FORMS = ("crossover", "crossover_exponent")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    parser.add_argument("--fit-dir", default=None, help="save each fit as DIR/<variant>.nc")
    args = parser.parse_args()
    study = load_study(bundled_study_path())
    settings = SamplerSettings(chains=args.chains, draws=args.draws, tune=args.tune, seed=args.seed)
    fits, results = {}, {}
    for name in FORMS:
        start = time.perf_counter()
        fit = fit_variant(study, load_variant(name), settings)
        seconds = time.perf_counter() - start
        if args.fit_dir:
            save_fit(fit, Path(args.fit_dir) / f"{name}.nc", overwrite=True)
        recovery = crossover_recovery(fit, bundled_study_path() / "truth.json")
        d = fit.diagnostics
        fits[name] = fit.tree
        results[name] = {
            "cold_fit_seconds": seconds,
            "steps_per_draw": d.mean_steps_per_draw,
            "max_rhat": d.max_rhat,
            "min_ess_bulk": d.min_ess_bulk,
            "min_ess_tail": d.min_ess_tail,
            "divergences": d.divergences,
            "converged": d.passed,
            **{k: v for k, v in recovery.items() if k != "table"},
        }
        print(name, json.dumps(results[name]), flush=True)
    comparison = az.compare(fits, method="stacking", var_name="log_loss")
    print(comparison.to_string())
    results["loo_compare"] = json.loads(comparison.to_json(orient="index"))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1, default=str)


if __name__ == "__main__":
    main()
