"""Out-of-sample R^2 table (ATLAS's Table 1 splits) on the bundled study, with coverage.

Grouped cross-validation (atlas_bayes.validation) of the variants on the bundled simulated
study: each split holds out whole runs (largest model sizes, top 20 % of tokens or of compute,
a random 20 %, mixtures other than monolingual/bilingual/Unimax), the variant is refitted
with NUTS on the rest, and the held-out log-losses are scored. The issue's check: the
transfer-aware laws (atlas, atlas_matrix) should be far ahead on held-out sizes and mixtures,
and the Bayesian 90 % predictive intervals should cover 85-95 % of held-out points. The
verdicts are printed and stored, not asserted.

Each variant's splits are made on its own fit data (chinchilla and data_constrained fit
monolingual runs only, atlas and atlas_matrix every pretraining run but the capacity runs),
so the held-out sets differ between variants except for unseen_mixtures, where every variant
predicts the same capacity runs (those the variant can predict; see the notes).

Writes benchmarks/results-crossval-<date>.json (everything: per-fold table, summary,
settings, verdicts) and benchmarks/results-crossval-<date>.md (the R^2 table beside the
paper's).

Full run (hours on 2 cores; use --workers to spread folds over more cores or --scheduler for
a cluster):
    .venv/bin/python benchmarks/crossval_study.py
Quick check:
    .venv/bin/python benchmarks/crossval_study.py --draws 100 --tune 100 \
        --variants chinchilla --splits top_tokens --workers 1 --out-dir /tmp
"""

import argparse
import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd

from atlas_bayes.inference import SamplerSettings
from atlas_bayes.published import published_value
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import load_study
from atlas_bayes.validation import cross_validate
from atlas_bayes.validation.cluster import connect, local_client

VARIANTS = ("chinchilla", "data_constrained", "he_multilingual", "atlas", "atlas_matrix")
SPLITS = ("random_runs", "largest_params", "top_tokens", "largest_compute", "unseen_mixtures")
TRANSFER_AWARE = ("atlas", "atlas_matrix")
#: The paper's Table 1 row nearest each variant, and its column for each split.
PAPER_ROW = {
    "chinchilla": "multilingual.chinchilla",
    "data_constrained": "monolingual.data_constrained",
    "he_multilingual": "multilingual.he2024",
    "atlas": "multilingual.atlas_full",
}
PAPER_COLUMN = {
    "random_runs": "r2",
    "largest_params": "r2_n",
    "top_tokens": "r2_d",
    "largest_compute": "r2_c",
    "unseen_mixtures": "r2_m",
}
#: The issue's band for the 90 % intervals' coverage of held-out points.
COVERAGE_BAND = (0.85, 0.95)


def paper_value(variant: str, split: str) -> float | None:
    row = PAPER_ROW.get(variant)
    if row is None:
        return None
    return published_value(f"table1_r2.{row}").get(PAPER_COLUMN[split])


def fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def verdicts(summary: pd.DataFrame) -> dict:
    """The issue's checks, as numbers and yes/no (None where a split was not scored)."""
    r2 = summary.pivot(index="variant", columns="split", values="r2")
    out = {}
    for split in ("largest_params", "unseen_mixtures"):
        if split not in r2:
            continue
        transfer = r2.loc[r2.index.isin(TRANSFER_AWARE), split].dropna()
        plain = r2.loc[~r2.index.isin(TRANSFER_AWARE), split].dropna()
        out[f"transfer_aware_ahead_{split}"] = (
            None
            if transfer.empty or plain.empty
            else {
                "best_transfer_aware": float(transfer.max()),
                "best_other": float(plain.max()),
                "ahead": bool(transfer.max() > plain.max()),
            }
        )
    cover = summary.dropna(subset=["cover90"])
    low, high = COVERAGE_BAND
    out["cover90_in_band"] = {
        f"{r.variant}/{r.split}": {
            "cover90": float(r.cover90),
            "in_band": bool(low <= r.cover90 <= high),
        }
        for r in cover.itertuples()
    }
    return out


def markdown(summary: pd.DataFrame, settings: SamplerSettings, meta: dict, sentence: str) -> str:
    splits = [s for s in SPLITS if s in set(summary["split"])]
    lines = [
        "# Out-of-sample R^2 on the bundled simulated study (ATLAS Table 1 splits)",
        "",
        f"{settings.chains} chains x {settings.draws} draws ({settings.tune} tuning) per fold, "
        f"target_accept {settings.target_accept or 'of each variant'}, "
        f"seed {settings.seed}; {meta['parallel']}; {meta['seconds'] / 60:.1f} min. R^2 of "
        "held-out log-loss (posterior-mean prediction, held-out mean as baseline), pooled over "
        "the held-out evaluations / mean of per-language R^2 (languages with >= 5 held-out "
        "points; the paper's monolingual rows are such means); in brackets "
        "the paper's Table 1 row nearest the variant (chinchilla: multilingual Chinchilla; "
        "data_constrained: monolingual Muennighoff; he_multilingual: multilingual He et al.; "
        "atlas: multilingual ATLAS full). The study "
        "is simulated, so the numbers are not comparable with the paper's measurements, only "
        "their ordering is.",
        "",
        "| variant | " + " | ".join(splits) + " |",
        "|---|" + "---|" * len(splits),
    ]
    by = summary.set_index(["variant", "split"])
    for variant in dict.fromkeys(summary["variant"]):
        cells = []
        for split in splits:
            pooled = by["r2"].get((variant, split), float("nan"))
            per_language = by["r2_language_mean"].get((variant, split), float("nan"))
            paper = paper_value(variant, split)
            cell = f"{fmt(pooled)} / {fmt(per_language)}"
            cells.append(cell + (f" ({fmt(paper)})" if paper is not None else ""))
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    lines += ["", "Coverage of the 90 % (50 %) equal-tailed posterior predictive intervals:", ""]
    lines += ["| variant | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for variant in dict.fromkeys(summary["variant"]):
        cells = []
        for split in splits:
            c90 = by["cover90"].get((variant, split), float("nan"))
            c50 = by["cover50"].get((variant, split), float("nan"))
            cells.append(f"{fmt(c90)} ({fmt(c50)})")
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    notes = summary[summary["note"].astype(bool)]
    if len(notes):
        lines += ["", "Notes:", ""]
        lines += [f"- {r.variant} / {r.split}: {r.note}" for r in notes.itertuples()]
    lines += ["", sentence, ""]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--splits", nargs="+", default=list(SPLITS))
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--target-accept",
        type=float,
        default=None,
        help="NUTS step-size target for every variant (default: each variant's own; "
        "atlas_matrix asks 0.9 for its full-length fits, which costs ~4x the gradient "
        "evaluations per draw of 0.8)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="local cluster (1: serial)")
    where.add_argument("--scheduler", default=None, help="a running Dask scheduler's address")
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--date", default=dt.date.today().isoformat(), help="file name's date")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    study = load_study(bundled_study_path())
    settings = SamplerSettings(
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        seed=args.seed,
        target_accept=args.target_accept,
    )
    if args.scheduler:
        with connect(args.scheduler) as client:
            result = cross_validate(study, args.variants, args.splits, settings, client)
    elif args.workers == 1:
        result = cross_validate(study, args.variants, args.splits, settings)
    else:
        with local_client(args.workers) as client:
            result = cross_validate(study, args.variants, args.splits, settings, client)
    summary = result.summary
    report = {
        "benchmark": "crossval_study",
        "study": "bundled simulated ATLAS study (seed 11)",
        **result.to_dict(),
        "checks": verdicts(summary),
        "paper": {v: published_value(f"table1_r2.{row}") for v, row in PAPER_ROW.items()},
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    stem = args.out_dir / f"results-crossval-{args.date}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1, allow_nan=False) + "\n")
    text = markdown(summary, settings, result.meta, result.sentence)
    stem.with_suffix(".md").write_text(text)
    pd.set_option("display.width", 200)
    print(
        result.table[
            ["variant", "split", "fold", "n_train", "n_heldout", "r2", "mae", "elpd", "cover50",
             "cover90", "converged", "fit_seconds"]
        ].to_string(index=False)
    )  # fmt: skip
    print()
    print(text)
    print(json.dumps(report["checks"], indent=1))
    print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}")


if __name__ == "__main__":
    main()
