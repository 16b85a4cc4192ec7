"""How many of each target's true top-5 sources can any fit find, given the study's design?

Issue 5 asks that "the top-5 sources per target agree with the truth's top 5 on at least 4 of 5
for most targets" on fits of the bundled simulated study. The posterior of ``atlas_matrix``
reaches 4 of 5 for 26 % of targets (``decisions_recovery.py``). This script asks what the best
possible fit would reach on the same design, without sampling anything.

The oracle
----------
The truth's transfer matrix (``simulate.truth.draw_transfer``) is a feature mean (same script,
same family, source and target size), plus per-source effects, a few named pair effects, and a
sparse residual: 20 % of pairs get a Normal(0, 0.2) shift that nothing but a measurement of
that pair can reveal. The oracle estimate of ``tau[t, s]`` is

- the true ``tau[t, s]``, exactly, where the design has bilingual runs of the pair (both
  directions: a bilingual run is evaluated on both of its languages), and
- otherwise the truth's expected ``tau`` given everything but the pair's own residual: the exact
  feature mean plus the exact per-source effect, with Urdu's and Pashto's interference cap.
  (Adding the named pair effects changes nothing on the bundled design.)

Any fit of the bundled study knows less than this: it estimates the measured pairs with noise,
and learns the feature coefficients and source effects from data. The oracle's share of
targets with 4 or more of the truth's top 5 is therefore an upper bound on what a posterior
can reach on this design. The named sources are ranked, as in ``decisions_recovery.py``: the
pooled "other" source is not a language one can choose.

Then it adds random unmeasured pairs to the design (``--repeats`` random draws per size) to say
how many bilingual pairs the check would need even with perfect inference.

Run: .venv/bin/python benchmarks/top5_design_bound.py [--seed 11] [--repeats 20]
     [--out benchmarks/results-top5_design_bound-2026-11-30.json]
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from atlas_bayes.simulate import simulate_atlas_study
from atlas_bayes.simulate.truth import SOURCE_EFFECTS

TOP = 5
AGREEMENT = 4
OTHER = "other"
#: Urdu and Pashto interfere with every target in the truth (``draw_transfer``).
ALWAYS_INTERFERING = ("ur", "ps")
INTERFERENCE_CAP = -0.05


def oracle_prior_mean(transfer) -> pd.DataFrame:
    """The truth's expected tau of a pair without its own residual: features + source effect."""
    mean = pd.DataFrame(transfer.feature_mean, index=transfer.targets, columns=transfer.sources)
    for source, effect in SOURCE_EFFECTS.items():
        if source in mean.columns:
            mean[source] += effect
    for source in ALWAYS_INTERFERING:
        mean[source] = np.minimum(mean[source], INTERFERENCE_CAP)
    return mean


def agreement(true_tau: pd.DataFrame, prior_mean: pd.DataFrame, measured: set) -> np.ndarray:
    """Per target: how many of the truth's top-5 named sources the oracle's top 5 holds."""
    overlaps = []
    for target in true_tau.index:
        true_row = true_tau.loc[target].drop([target, OTHER])
        estimate = prior_mean.loc[target].drop([target, OTHER]).copy()
        known = [s for s in estimate.index if (target, s) in measured]
        estimate[known] = true_row[known]
        top_true = true_row.sort_values(ascending=False, kind="stable").index[:TOP]
        top_oracle = estimate.sort_values(ascending=False, kind="stable").index[:TOP]
        overlaps.append(len(set(top_true) & set(top_oracle)))
    return np.array(overlaps)


def both_directions(pairs) -> set:
    """Ordered pairs of both directions: a bilingual run is evaluated on both languages."""
    pairs = list(pairs)
    return {(a, b) for a, b in pairs} | {(b, a) for a, b in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11, help="simulation seed (bundled: 11)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    simulation = simulate_atlas_study(args.seed)
    transfer = simulation.truth.transfer
    true_tau = pd.DataFrame(transfer.matrix, index=transfer.targets, columns=transfer.sources)
    prior_mean = oracle_prior_mean(transfer)
    design_pairs = [tuple(p) for p in simulation.truth_summary["transfer"]["measured_pairs"]]
    languages = list(transfer.targets)
    all_pairs = [(a, b) for i, a in enumerate(languages) for b in languages[i + 1 :]]
    designed = both_directions(design_pairs)
    unmeasured = [p for p in all_pairs if p not in designed]

    bundled = agreement(true_tau, prior_mean, designed)
    print(
        f"bundled design: {len(design_pairs)} of {len(all_pairs)} unordered pairs measured; "
        f"oracle agreement >= {AGREEMENT}/{TOP} for {np.mean(bundled >= AGREEMENT):.1%} of "
        f"{len(bundled)} targets (mean overlap {bundled.mean():.2f}; distribution "
        f"{np.bincount(bundled, minlength=TOP + 1).tolist()})"
    )
    rng = np.random.default_rng(0)
    denser = []
    print(f"{'pairs':>6} {'median':>7} {'min':>6} {'max':>6}  (share of targets)")
    for extra in (0, 50, 100, 200, 300, 400, 500, len(unmeasured)):
        repeats = 1 if extra in (0, len(unmeasured)) else args.repeats
        shares = []
        for _ in range(repeats):
            chosen = rng.permutation(len(unmeasured))[:extra]
            measured = designed | both_directions(unmeasured[i] for i in chosen)
            shares.append(float(np.mean(agreement(true_tau, prior_mean, measured) >= AGREEMENT)))
        row = {
            "unordered_pairs": len(design_pairs) + extra,
            "median_share": float(np.median(shares)),
            "min_share": min(shares),
            "max_share": max(shares),
            "designs": repeats,
        }
        denser.append(row)
        print(
            f"{row['unordered_pairs']:6d} {row['median_share']:7.3f} {row['min_share']:6.3f} "
            f"{row['max_share']:6.3f}"
        )
    if args.out:
        result = {
            "seed": args.seed,
            "top": TOP,
            "agreement": AGREEMENT,
            "oracle": "true tau on measured pairs; feature mean + source effect elsewhere",
            "bundled": {
                "unordered_pairs": len(design_pairs),
                "all_unordered_pairs": len(all_pairs),
                "share_at_least_4": float(np.mean(bundled >= AGREEMENT)),
                "mean_overlap": float(bundled.mean()),
                "overlap_distribution": np.bincount(bundled, minlength=TOP + 1).tolist(),
            },
            "denser_designs": denser,
        }
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
