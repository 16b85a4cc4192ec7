"""Cost of one log-density + gradient evaluation of each variant on the bundled study.

A fit's sampling time is about (gradient evaluations per draw) x (draws, tuning included) x
chains / cores x (cost of one evaluation). ``benchmarks/fit_variants.py`` reports the first
factors; this script measures the last: the variant's model is built on the bundled study,
its log-density and gradient compiled with PyTensor's Numba backend (nutpie's default), and
evaluated at the model's initial point in batches. It reports the median over batches of the
time per evaluation, and the compile time (PyTensor's rewrites and Numba's compilation on
the first call; PyTensor caches Numba code on disk, so a second run compiles faster). The
call goes through PyMC's compiled function, whose Python wrapper adds some overhead that
nutpie's own calls skip, so the figure is an upper bound of what nutpie pays.

Run: .venv/bin/python benchmarks/gradient_cost.py [--variants curse crossover atlas_matrix]
     [--batches 20] [--calls 50] [--out F]
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import pytensor

from atlas_bayes.modeling.build import build_model
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import load_study
from atlas_bayes.variants import load_variant


def gradient_cost(variant: str, batches: int, calls: int) -> dict:
    """Compile seconds and median milliseconds per log-density + gradient of ``variant``."""
    spec = load_variant(variant)
    data = build_model_data(load_study(bundled_study_path()), spec)
    model = build_model(data, spec)
    logp = model.logp()
    start = time.perf_counter()
    function = model.compile_fn(
        [logp, *pytensor.grad(logp, model.value_vars)], inputs=model.value_vars, mode="NUMBA"
    )
    point = model.initial_point()
    function(point)  # the first call runs Numba's just-in-time compilation
    compile_seconds = time.perf_counter() - start
    per_call = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            function(point)
        per_call.append((time.perf_counter() - start) / calls * 1e3)
    return {
        "variant": variant,
        "observations": int(data.sizes["obs"]),
        "free_values": int(sum(value.size for value in point.values())),
        "compile_seconds": compile_seconds,
        "ms_per_evaluation_median": statistics.median(per_call),
        "ms_per_evaluation_min": min(per_call),
        "ms_per_evaluation_max": max(per_call),
        "batches": batches,
        "calls_per_batch": calls,
    }


def main() -> None:
    """Measure each variant in turn and print one line each (and JSON with --out)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=["curse", "crossover", "atlas_matrix"])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = {}
    for variant in args.variants:
        result = gradient_cost(variant, args.batches, args.calls)
        results[variant] = result
        print(
            f"{variant:16s} {result['observations']:6d} obs {result['free_values']:6d} values "
            f"compile {result['compile_seconds']:5.1f} s  "
            f"{result['ms_per_evaluation_median']:.3f} ms per evaluation (median of "
            f"{args.batches} batches; {result['ms_per_evaluation_min']:.3f}-"
            f"{result['ms_per_evaluation_max']:.3f})"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
