"""Speed and health of each variant on the bundled study (a benchmark, not a test).

For each variant: compile seconds, sampling seconds, gradient evaluations (leapfrog steps),
steps per draw, min ESS and ESS per second, and the convergence diagnostics; then a refit of
the compiled variant on new data with the same inputs (the bundled study with re-drawn noise)
and its time as a share of the cold fit. Medians over --repeats runs, measured side by side in
one process.

For the curse, crossover and atlas_matrix variants it also reports how the findings recover the
truth (multipliers, crossovers and the compute law, the transfer matrix).

Run: .venv/bin/python benchmarks/fit_variants.py [--variants chinchilla data_constrained atlas]
     [--draws N] [--tune N] (default: each variant's) [--repeats 1] [--no-refit] [--out F]
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from atlas_bayes.findings.recovery import crossover_recovery, curse_recovery, transfer_recovery
from atlas_bayes.inference import SamplerSettings, save_fit
from atlas_bayes.inference.fit import assemble_fit, sample_variant
from atlas_bayes.inference.recovery import recovery_table
from atlas_bayes.inference.refit import CompiledVariant
from atlas_bayes.inference.sampling import compile_nutpie
from atlas_bayes.modeling.build import build_model
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import load_study
from atlas_bayes.variants import load_variant


def renoised(data, seed: int):
    """The same inputs with fresh noise on log-loss (scale of the simulated noise)."""
    rng = np.random.default_rng(seed)
    noise = 0.003 * rng.standard_t(5, data.sizes["obs"])
    return data.assign(log_loss=data["log_loss"] + noise)


def findings_recovery(fit) -> dict:
    """The findings' recovery figures for the laws that have findings (tables left out)."""
    truth = bundled_study_path() / "truth.json"
    recover = {
        "curse": curse_recovery,
        "crossover": crossover_recovery,
        "crossover_exponent": crossover_recovery,
        "atlas_matrix": transfer_recovery,
    }.get(fit.spec.law)
    if recover is None:
        return {}
    result = recover(fit, truth)
    return {k: v for k, v in result.items() if k != "table"}


def one_run(
    name: str,
    study,
    settings: SamplerSettings,
    seed: int,
    refit: bool = True,
    fit_dir: str | None = None,
) -> dict:
    import datetime as dt

    spec = load_variant(name)
    settings = settings.for_variant(spec)
    t0 = time.perf_counter()
    data = build_model_data(study, spec)
    model = build_model(data, spec)
    t1 = time.perf_counter()
    compiled = compile_nutpie(model, spec.initialization)
    t2 = time.perf_counter()
    started = dt.datetime.now(dt.UTC)
    tree = sample_variant(model, spec, settings, compiled=compiled)
    t3 = time.perf_counter()
    fit = assemble_fit(tree, model, data, spec, settings, study, started)
    t4 = time.perf_counter()
    coverage = recovery_table(fit, bundled_study_path() / "truth.json")["covered"].mean()
    stats = fit.tree["sample_stats"].to_dataset()
    gradients = int(stats["n_steps"].sum())
    d = fit.diagnostics
    cold = t4 - t0
    findings = findings_recovery(fit)
    if fit_dir:
        save_fit(fit, Path(fit_dir) / f"{name}-seed{seed}.nc", overwrite=True)
    refit_seconds, refit_converged = float("nan"), None
    if refit:
        # Refit: compile once (not timed as part of the refit), then swap in new data, sample.
        variant = CompiledVariant(data, spec)
        new_data = renoised(data, seed + 1000)
        t5 = time.perf_counter()
        refitted = variant.fit(new_data, settings)
        refit_seconds = time.perf_counter() - t5
        refit_converged = refitted.diagnostics.passed
    return {
        "variant": name,
        "observations": data.sizes["obs"],
        "free_parameters": int(sum(np.prod(v.shape) for v in model.initial_point().values())),
        "build_seconds": t1 - t0,
        "compile_seconds": t2 - t1,
        "sampling_seconds": t3 - t2,
        "postprocess_seconds": t4 - t3,
        "cold_fit_seconds": cold,
        "gradient_evaluations": gradients,
        "steps_per_draw": d.mean_steps_per_draw,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "ess_per_second": min(d.min_ess_bulk, d.min_ess_tail) / (t3 - t2),
        "max_rhat": d.max_rhat,
        "divergences": d.divergences,
        "treedepth_hits": d.treedepth_hits,
        "min_ebfmi": d.min_ebfmi,
        "converged": d.passed,
        "problems": d.problems,
        "coverage_of_truth_90": float(coverage),
        "refit_seconds": refit_seconds,
        "refit_share_of_cold": refit_seconds / cold,
        "refit_converged": refit_converged,
        "findings_recovery": findings,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--variants", nargs="+", default=["chinchilla", "data_constrained", "atlas"]
    )
    parser.add_argument("--draws", type=int, default=None, help="default: the variant's")
    parser.add_argument("--tune", type=int, default=None, help="default: the variant's")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    parser.add_argument("--no-refit", action="store_true", help="skip the refit timing")
    parser.add_argument("--fit-dir", default=None, help="save each cold fit in DIR")
    args = parser.parse_args()
    study = load_study(bundled_study_path())
    results = {}
    for name in args.variants:
        runs = []
        for r in range(args.repeats):
            settings = SamplerSettings(
                chains=args.chains, draws=args.draws, tune=args.tune, seed=args.seed + r
            )
            runs.append(
                one_run(name, study, settings, args.seed + r, not args.no_refit, args.fit_dir)
            )
            print(json.dumps(runs[-1]), flush=True)
        numeric = [
            k for k, v in runs[0].items() if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        results[name] = {
            "median": {k: statistics.median(run[k] for run in runs) for k in numeric},
            "runs": runs,
        }
    print(
        "\nvariant            cold s  compile  sample  steps/draw  minESS  ESS/s"
        "  refit share  coverage  converged"
    )
    for name, result in results.items():
        m = result["median"]
        print(
            f"{name:18s} {m['cold_fit_seconds']:6.1f} {m['compile_seconds']:8.1f} "
            f"{m['sampling_seconds']:7.1f} {m['steps_per_draw']:11.1f} "
            f"{min(m['min_ess_bulk'], m['min_ess_tail']):7.0f} {m['ess_per_second']:6.1f} "
            f"{m['refit_share_of_cold']:12.2f} {m['coverage_of_truth_90']:9.2f}"
            f"  {all(r['converged'] for r in result['runs'])}"
        )
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
