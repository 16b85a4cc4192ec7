"""Do the decisions' posteriors recover the bundled simulated study's truth and the paper's numbers?

The statistical checks of issue 5, on real posteriors (4 chains, each variant's draws and tuning,
seed 0) of the bundled simulated study, every interval a 90 % equal-tailed one (passed
explicitly as ``ci_prob=0.9, ci_kind="eti"``):

1. Curse of multilinguality (``curse`` fit): ``add_languages(fit, K, r K)`` for r = 2, 4, 8,
   16 (population exponents). For each multiplier, whether the interval contains the paper's
   value (its table prints the parameters and total-tokens multipliers; those of the tokens
   per language and of compute are derived from its exponents, -0.272 and 0.97, and marked
   so) and the truth's (``truth.json``: ``curse.multipliers``).
2. Pretrain or finetune (``crossover`` fit): ``pretrain_or_finetune(fit, language, 2e9)`` for
   each language with a published 2B crossover: the interval of the crossover tokens, whether
   it contains the published tokens and the truth's (``crossover.tokens_at_2b``; the truth
   was calibrated to equal the published ones), and the share of draws that cross. The other
   languages with finetune runs and a true 2B crossover are checked against the truth too,
   and the posterior medians against the truth (are they off in one direction?).
3. Ranking of sources (``atlas_matrix`` fit): for every target, the top 5 sources by
   posterior mean tau (the order of ``rank_sources``/``source_table``) against the truth's
   top 5 (``transfer.tau``, the target itself excluded). The headline ranks the named
   languages only, in both (the pooled "other" source, a mixture's remainder, is no language
   one can choose; its true tau, 0.25 for every target, ranks it 1st-3rd for every target,
   and the posterior puts it in every top 5 too, so counting it adds an agreement that says
   nothing about which languages to train with); the ranking that counts "other" in both is
   reported beside it. Reports the overlap per target, its distribution and the share of
   targets with overlap >= 4; and, to say why sources are missed, the rank correlation of
   posterior means and truth per target and how many of the truth's top-5 sources are found
   among pairs with bilingual runs and among the others (whose tau only the Unimax runs and
   the feature model inform).
4. Intervals shrink as the study grows (``chinchilla`` fits, the same sampler settings): the
   full study against a cut keeping a seeded random half (rounded up) of each language's
   monolingual runs, with their checkpoints (the only runs the ``chinchilla`` variant uses;
   ``--cut-seed``). Compares the interval widths of ``compute_optimal(fit, "en", 1e21)``
   (params, tokens, loss) and of en's law parameters (``law_parameters``: E, A, B, alpha,
   beta; and a, b, the terms' losses at the reference scales), as width(cut) / width(full),
   with the truth's values (``truth.json``: ``languages``) and whether each interval holds
   them; and the same ratios and truth checks for the compute-optimal allocation of every
   language.

Fits: ``--fit-dir`` (default /tmp/fits) is searched for ``curse.nc``, ``crossover.nc`` and
``atlas_matrix-seed0.nc``; a missing one is fitted (``fit_variant`` with the settings above)
and saved there. The two ``chinchilla`` fits are always made (about a minute each, alone).

Run: .venv/bin/python benchmarks/decisions_recovery.py [--fit-dir /tmp/fits]
     [--out benchmarks/results-decisions_recovery-2026-11-30.json] [--cut-seed 0]

It prints one table per check and writes every figure to ``--out`` (JSON).
"""

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes import laws
from atlas_bayes.decisions import (
    DecisionError,
    add_languages,
    compute_optimal,
    law_parameters,
    pretrain_or_finetune,
    rank_sources,
)
from atlas_bayes.inference import SamplerSettings, fit_variant, load_fit, save_fit
from atlas_bayes.laws import FLOPS_PER_PARAM_TOKEN
from atlas_bayes.modeling.transfer import transfer_matrix
from atlas_bayes.published import load_published, published_value
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import Study, load_study
from atlas_bayes.summaries import summarise_draws
from atlas_bayes.variants import load_variant

CI_PROB = 0.9
CI_KIND = "eti"
RATIOS = (2, 4, 8, 16)
#: K of the run languages are added to (the smallest K of the paper's capacity runs).
FROM_LANGUAGES = 4
CROSSOVER_PARAMS = 2e9
TOP = 5
OTHER = "other"
BUDGET = 1e21
LANGUAGE = "en"
MONOLINGUAL = ("monolingual", "monolingual_multilingual_vocab")
DEFAULT_OUT = "benchmarks/results-decisions_recovery-2026-11-30.json"


def settings(seed: int) -> SamplerSettings:
    return SamplerSettings(chains=4, seed=seed)  # each variant's draws and tuning


def fit_record(fit: Any, source: str, path: Path | None, seconds: float, study: Study) -> dict:
    """Where a fit came from, how it was sampled, and its convergence."""
    posterior = fit.posterior
    d = fit.diagnostics
    return {
        "variant": fit.spec.name,
        "source": source,
        "path": None if path is None else str(path),
        "seconds": seconds,
        "chains": int(posterior.sizes["chain"]),
        "draws": int(posterior.sizes["draw"]),
        "tune": fit.meta.get("tune"),
        "seed": fit.meta.get("seed"),
        "created": fit.meta.get("created"),
        "fit_seconds_recorded": fit.meta.get("fit_seconds"),
        "same_study": fit.meta.get("study_hash") == study.content_hash(),
        "converged": d.passed,
        "problems": list(d.problems),
        "max_rhat": d.max_rhat,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "divergences": d.divergences,
    }


def get_fit(name: str, file: str, fit_dir: Path, study: Study, seed: int) -> tuple[Any, dict]:
    """Load ``fit_dir/file`` if present, otherwise fit the variant and save it there."""
    path = fit_dir / file
    start = time.perf_counter()
    if path.is_file():
        fit = load_fit(path)
        source = "loaded"
    else:
        print(f"fitting {name} (not found at {path}) ...", flush=True)
        fit = fit_variant(study, load_variant(name), settings(seed))
        fit_dir.mkdir(parents=True, exist_ok=True)
        save_fit(fit, path)
        source = "fitted and saved"
    record = fit_record(fit, source, path, time.perf_counter() - start, study)
    if fit.spec.name != name:
        raise SystemExit(f"{path} is a fit of {fit.spec.name!r}, not {name!r}")
    if not record["same_study"]:
        print(f"WARNING: {path} was not fitted to the bundled study", flush=True)
    print(
        f"{name}: {source} in {record['seconds']:.0f} s; {record['chains']} x {record['draws']} "
        f"draws, converged {record['converged']} {record['problems'] or ''}",
        flush=True,
    )
    return fit, record


def inside(low: float, value: float | None, high: float) -> bool | None:
    if value is None or not math.isfinite(value):
        return None
    return bool(low <= value <= high)


def count(flags: pd.Series) -> str:
    """``"k of n"``: how many of the checks are true."""
    return f"{int(flags.astype(bool).sum())} of {len(flags)}"


def one_row(decision: Any, quantity: str) -> pd.Series:
    """The summary row of one quantity of a decision, with the interval stated explicitly."""
    table = decision.summary(ci_prob=CI_PROB, ci_kind=CI_KIND, quantities=[quantity])
    return table.iloc[0]


# ---------------------------------------------------------------------- 1. curse


def curse_check(fit: Any, truth: dict) -> dict:
    exponents = {
        "tokens_per_language": published_value("curse.exponent_tokens_per_language"),
        "compute": published_value("curse.exponent_compute"),
    }
    rows, notes = [], {}
    for ratio in RATIOS:
        decision = add_languages(fit, FROM_LANGUAGES, ratio * FROM_LANGUAGES)
        notes[str(ratio)] = list(decision.notes)
        table = decision.summary(ci_prob=CI_PROB, ci_kind=CI_KIND)
        printed = published_value(f"curse.multipliers.{ratio}")
        for _, row in table.iterrows():
            name = row["quantity"]
            if name in printed:
                value, kind = float(printed[name]), "table"
            else:
                value, kind = float(ratio ** exponents[name]), f"r^{exponents[name]:g} (derived)"
            true = float(truth["curse"]["multipliers"][str(ratio)][name])
            rows.append(
                {
                    "ratio": ratio,
                    "multiplier": name,
                    "mean": row["mean"],
                    "median": row["median"],
                    "ci_prob": row["ci_prob"],
                    "ci_kind": row["ci_kind"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "published": value,
                    "published_kind": kind,
                    "contains_published": inside(row["ci_low"], value, row["ci_high"]),
                    "truth": true,
                    "contains_truth": inside(row["ci_low"], true, row["ci_high"]),
                }
            )
    frame = pd.DataFrame(rows)
    printed = frame["published_kind"] == "table"
    doubling = frame[printed & (frame["ratio"] == 2)]
    return {
        "from_languages": FROM_LANGUAGES,
        "doubling_contains_published_1.18_1.66": bool(doubling["contains_published"].all()),
        "table_contains_published": count(frame.loc[printed, "contains_published"]),
        "derived_contains_published": count(frame.loc[~printed, "contains_published"]),
        "contains_truth": count(frame["contains_truth"]),
        "notes": notes,
        "rows": frame,
    }


def print_curse(result: dict) -> None:
    print(
        f"\n1. Curse: multipliers from K = {result['from_languages']} to r K languages "
        f"(population exponents), {CI_PROB:.0%} {CI_KIND} intervals"
    )
    print(
        f"{'r':>3} {'multiplier':20} {'median':>7} {'ci_low':>7} {'ci_high':>7} "
        f"{'published':>9} {'in':>3} {'truth':>7} {'in':>3}  published from"
    )
    for _, r in result["rows"].iterrows():
        print(
            f"{r['ratio']:>3} {r['multiplier']:20} {r['median']:7.3f} {r['ci_low']:7.3f} "
            f"{r['ci_high']:7.3f} {r['published']:9.3f} {yes(r['contains_published']):>3} "
            f"{r['truth']:7.3f} {yes(r['contains_truth']):>3}  {r['published_kind']}"
        )
    print(
        f"doubling contains 1.18 and 1.66: {result['doubling_contains_published_1.18_1.66']}; "
        f"published table inside: {result['table_contains_published']}; derived inside: "
        f"{result['derived_contains_published']}; truth inside: {result['contains_truth']}"
    )
    for ratio, notes in result["notes"].items():
        for note in notes:
            print(f"  note (r = {ratio}): {note}")


def yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


# ---------------------------------------------------------------------- 2. crossover


def crossover_row(fit: Any, language: str, published: float | None, true: float | None) -> dict:
    decision = pretrain_or_finetune(fit, language, CROSSOVER_PARAMS)
    row = one_row(decision, "crossover_tokens")
    draws = decision.draws["crossover_tokens"].values
    return {
        "language": language,
        "mean": row["mean"],
        "median": row["median"],
        "ci_prob": row["ci_prob"],
        "ci_kind": row["ci_kind"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "p_crossover": float(np.isfinite(draws).mean()),
        "published": published,
        "contains_published": inside(row["ci_low"], published, row["ci_high"]),
        "truth": true,
        "contains_truth": inside(row["ci_low"], true, row["ci_high"]),
        "median_over_truth": None if true is None else float(row["median"] / true),
        "checkpoint_params": decision.inputs["checkpoint_params"],
        "notes": list(decision.notes),
    }


def crossover_check(fit: Any, truth: dict) -> dict:
    true_2b = truth["crossover"]["tokens_at_2b"]
    published_languages = list(load_published()["crossover"]["tokens"])
    rows = []
    for language in published_languages:
        published = float(published_value(f"crossover.tokens.{language}"))
        true = true_2b.get(language)
        rows.append(crossover_row(fit, language, published, None if true is None else true))
    frame = pd.DataFrame(rows)
    others = []
    for language in fit.languages:
        if language in published_languages or true_2b.get(language) is None:
            continue
        try:
            others.append(crossover_row(fit, language, None, float(true_2b[language])))
        except DecisionError:  # no finetune runs for this language
            continue
    other_frame = pd.DataFrame(others)
    ratios = pd.concat([frame, other_frame])["median_over_truth"].dropna().astype(float)
    return {
        "params": CROSSOVER_PARAMS,
        "published_inside": f"{int(frame['contains_published'].sum())} of {len(frame)}",
        "published_outside": list(frame.loc[~frame["contains_published"], "language"]),
        "truth_inside": f"{int(frame['contains_truth'].sum())} of {len(frame)}",
        "other_languages_truth_inside": (
            f"{int(other_frame['contains_truth'].sum())} of {len(other_frame)}"
            if len(other_frame)
            else "0 of 0"
        ),
        # Is the posterior median off the truth in one direction (all languages above)?
        "median_above_truth": f"{int((ratios > 1).sum())} of {len(ratios)}",
        "geometric_mean_median_over_truth": float(np.exp(np.log(ratios).mean())),
        "rows": frame,
        "other_rows": other_frame,
    }


def print_crossover(result: dict) -> None:
    print(
        f"\n2. Pretrain or finetune at {result['params']:.3g} parameters: crossover tokens, "
        f"{CI_PROB:.0%} {CI_KIND} intervals"
    )
    header = (
        f"{'lang':4} {'median':>8} {'ci_low':>8} {'ci_high':>8} {'P(cross)':>8} "
        f"{'published':>9} {'in':>3} {'truth':>8} {'in':>3} {'ckpt N':>7}"
    )
    print(header)
    for _, r in result["rows"].iterrows():
        print(crossover_line(r))
    print(
        f"published inside: {result['published_inside']} (outside: "
        f"{', '.join(result['published_outside']) or 'none'}); truth inside: "
        f"{result['truth_inside']}"
    )
    if len(result["other_rows"]):
        print("other languages with finetune runs and a true 2B crossover (no published value):")
        print(header)
        for _, r in result["other_rows"].iterrows():
            print(crossover_line(r))
        print(f"truth inside: {result['other_languages_truth_inside']}")
    print(
        f"all languages: posterior median above the truth in {result['median_above_truth']}; "
        f"geometric mean of median / truth {result['geometric_mean_median_over_truth']:.2f}"
    )


def crossover_line(r: pd.Series) -> str:
    published = "-" if r["published"] is None else f"{r['published'] / 1e9:8.0f}B"
    true = "-" if r["truth"] is None else f"{r['truth'] / 1e9:7.0f}B"
    return (
        f"{r['language']:4} {r['median'] / 1e9:7.0f}B {r['ci_low'] / 1e9:7.0f}B "
        f"{r['ci_high'] / 1e9:7.0f}B {r['p_crossover']:8.4f} {published:>9} "
        f"{yes(r['contains_published']):>3} {true:>8} {yes(r['contains_truth']):>3} "
        f"{r['checkpoint_params']:7.3g}"
    )


# ---------------------------------------------------------------------- 3. sources


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Rank correlation of two series on the same index."""
    return float(np.corrcoef(a.rank(), b.loc[a.index].rank())[0, 1])


def sources_check(fit: Any, truth: dict) -> dict:
    start = time.perf_counter()
    tau = transfer_matrix(fit)
    matrix_seconds = time.perf_counter() - start
    true = truth["transfer"]
    true_tau = pd.DataFrame(true["tau"], index=true["targets"], columns=true["sources"])
    true_tau = true_tau.astype(float)
    if OTHER not in true_tau.columns:
        raise SystemExit("the truth has no pooled 'other' source")
    # Pairs with bilingual runs (evaluated on both languages, so both directions), as in
    # findings.recovery.transfer_recovery. The fit's own ``measured`` flag is true for almost
    # every pair, because the Unimax runs train every target with every source.
    bilingual = {(a, b) for a, b in true["measured_pairs"]} | {
        (b, a) for a, b in true["measured_pairs"]
    }
    rows = []
    targets = [t for t in tau["target"].values.astype(str) if t in true_tau.index]
    for target in targets:
        # With 'other': the ranking with and without it are both reported below.
        decision = rank_sources(fit, target, top=TOP, tau=tau, include_pooled=True)
        order = [str(s) for s in decision.draws["source"].values]
        mean = pd.Series(decision.draws["tau"].mean(("chain", "draw")).values, index=order)
        p_top = decision.draws["in_top"].mean(("chain", "draw")).values
        p_top = dict(zip(order, p_top.tolist(), strict=True))
        true_row = true_tau.loc[target].drop(target).sort_values(ascending=False, kind="stable")
        named_order = [s for s in order if s != OTHER]
        true_named = [s for s in true_row.index if s != OTHER]
        top_fit, top_true = named_order[:TOP], true_named[:TOP]
        all_fit, all_true = order[:TOP], list(true_row.index[:TOP])
        rows.append(
            {
                "target": target,
                "top5_posterior": top_fit,
                "top5_truth": top_true,
                "overlap": len(set(top_fit) & set(top_true)),
                "missed": [s for s in top_true if s not in top_fit],
                # Where the fit ranks the truth's top 5 (named sources), and which of those
                # pairs have bilingual runs.
                "posterior_rank_of_truth_top5": [named_order.index(s) + 1 for s in top_true],
                "truth_top5_bilingual": [(target, s) in bilingual for s in top_true],
                "bilingual_sources": sum((target, s) in bilingual for s in true_named),
                "spearman_named": spearman(mean.loc[true_named], true_row.loc[true_named]),
                "truth_5th_minus_6th_tau": float(
                    true_row[true_named[TOP - 1]] - true_row[true_named[TOP]]
                ),
                "top5_posterior_with_other": all_fit,
                "top5_truth_with_other": all_true,
                "overlap_with_other": len(set(all_fit) & set(all_true)),
                "p_top5_with_other_of_truth_top5": [p_top[s] for s in all_true],
                "posterior_rank_of_other": order.index(OTHER) + 1,
                "truth_rank_of_other": list(true_row.index).index(OTHER) + 1,
            }
        )
    frame = pd.DataFrame(rows)
    n_sources = len(true_named)

    def distribution(column: str) -> dict:
        counts = frame[column].value_counts()
        return {str(k): int(counts.get(k, 0)) for k in range(TOP + 1)}

    # Recall of the truth's top-5 sources, by whether the pair has bilingual runs.
    found = [
        (is_bilingual, source not in missed)
        for top_true, flags, missed in zip(
            frame["top5_truth"], frame["truth_top5_bilingual"], frame["missed"], strict=True
        )
        for source, is_bilingual in zip(top_true, flags, strict=True)
    ]
    found = pd.DataFrame(found, columns=["bilingual", "found"])
    recall = found.groupby("bilingual")["found"].agg(["sum", "count"])
    recall_of = {
        ("bilingual" if key else "no_bilingual_runs"): f"{int(v['sum'])} of {int(v['count'])}"
        for key, v in recall.iterrows()
    }
    return {
        "transfer_matrix_seconds": matrix_seconds,
        "targets": len(frame),
        "named_sources_per_target": n_sources,
        "share_overlap_ge4": float((frame["overlap"] >= 4).mean()),
        "overlap_distribution": distribution("overlap"),
        "mean_overlap": float(frame["overlap"].mean()),
        "chance_mean_overlap": TOP * TOP / n_sources,
        "truth_top5_found_by_pair_kind": recall_of,
        "share_truth_top5_bilingual": float(found["bilingual"].mean()),
        "mean_bilingual_sources_per_target": float(frame["bilingual_sources"].mean()),
        "median_spearman_named": float(frame["spearman_named"].median()),
        "with_other": {
            "share_overlap_ge4": float((frame["overlap_with_other"] >= 4).mean()),
            "overlap_distribution": distribution("overlap_with_other"),
            "mean_overlap": float(frame["overlap_with_other"].mean()),
            "share_other_in_posterior_top5": float(
                (frame["posterior_rank_of_other"] <= TOP).mean()
            ),
            "share_other_in_truth_top5": float((frame["truth_rank_of_other"] <= TOP).mean()),
        },
        "rows": frame,
    }


def print_sources(result: dict) -> None:
    print(
        f"\n3. Top {TOP} sources per target (named languages; posterior mean tau) vs the "
        f"truth's top {TOP}"
    )
    print(
        f"{'target':6} {'overlap':>7} {'rho':>5}  {'posterior top 5':18} {'truth top 5':18} "
        "missed (posterior rank; * = no bilingual runs)"
    )
    for _, r in result["rows"].iterrows():
        missed = ", ".join(
            f"{s} ({r['posterior_rank_of_truth_top5'][r['top5_truth'].index(s)]}"
            f"{'' if r['truth_top5_bilingual'][r['top5_truth'].index(s)] else '*'})"
            for s in r["missed"]
        )
        print(
            f"{r['target']:6} {r['overlap']:>7} {r['spearman_named']:5.2f}  "
            f"{' '.join(r['top5_posterior']):18} {' '.join(r['top5_truth']):18} {missed}"
        )
    print(
        f"targets with overlap >= 4: {result['share_overlap_ge4']:.0%} of {result['targets']}; "
        f"overlap distribution (0..5): {result['overlap_distribution']}; mean "
        f"{result['mean_overlap']:.2f} (chance {result['chance_mean_overlap']:.2f}); median "
        f"rank correlation over the {result['named_sources_per_target']} named sources "
        f"{result['median_spearman_named']:.2f}"
    )
    print(
        f"truth's top-5 sources found, by pair: {result['truth_top5_found_by_pair_kind']}; "
        f"share of the truth's top-5 pairs with bilingual runs "
        f"{result['share_truth_top5_bilingual']:.0%} (a target has "
        f"{result['mean_bilingual_sources_per_target']:.1f} bilingual sources on average)"
    )
    w = result["with_other"]
    print(
        f"counting the pooled 'other' source in both: overlap >= 4 for "
        f"{w['share_overlap_ge4']:.0%}; distribution {w['overlap_distribution']}; mean "
        f"{w['mean_overlap']:.2f}; 'other' in the top 5: posterior "
        f"{w['share_other_in_posterior_top5']:.0%}, truth {w['share_other_in_truth_top5']:.0%}"
    )


# ---------------------------------------------------------------------- 4. shrinkage


def half_study(study: Study, seed: int) -> tuple[Study, dict]:
    """A seeded random half (rounded up) of each language's monolingual runs; others kept."""
    rng = np.random.default_rng(seed)
    runs = study.runs
    mono = runs[runs["kind"].isin(MONOLINGUAL)]
    language = study.mixture[study.mixture["run_id"].isin(mono["run_id"])]
    by_language = language.groupby("language")["run_id"].apply(sorted)
    dropped = []
    for ids in by_language:
        keep = math.ceil(len(ids) / 2)
        dropped += list(rng.choice(ids, size=len(ids) - keep, replace=False))
    kept = [r for r in runs["run_id"] if r not in set(dropped)]
    cut = study.select_runs(kept)
    evals_mono = study.evals["run_id"].isin(mono["run_id"])
    info = {
        "rule": "seeded random half (rounded up) of each language's monolingual runs, with "
        "their checkpoints; other runs kept (the chinchilla variant uses monolingual runs only)",
        "seed": seed,
        "monolingual_runs_full": len(mono),
        "monolingual_runs_cut": len(mono) - len(dropped),
        "monolingual_evaluations_full": int(evals_mono.sum()),
        "monolingual_evaluations_cut": int(
            (evals_mono & ~study.evals["run_id"].isin(dropped)).sum()
        ),
        "dropped_en_runs": sorted(r for r in dropped if r in set(by_language.get(LANGUAGE, []))),
    }
    return cut, info


def true_values(truth: dict, language: str) -> dict[str, float]:
    """The truth's law of ``language`` and its compute-optimal allocation at BUDGET."""
    law = truth["languages"][language]
    values = {name: float(law[name]) for name in ("E", "A", "B", "alpha", "beta")}
    point = laws.compute_optimal_allocation(BUDGET, *values.values(), FLOPS_PER_PARAM_TOKEN)
    return {
        **{f"optimal {q}": float(getattr(point, q)) for q in ("params", "tokens", "loss")},
        **values,
        "a": float(law["params_term_at_ref"]),
        "b": float(law["data_term_at_ref"]),
    }


def widths(fit: Any, language: str, truth: dict) -> dict[str, dict]:
    """Interval of the compute-optimal allocation at BUDGET and of the language's law."""
    out = {}
    decision = compute_optimal(fit, language, BUDGET)
    for quantity in ("params", "tokens", "loss"):
        row = one_row(decision, quantity)
        out[f"optimal {quantity}"] = interval(row)
    law = law_parameters(fit, language)
    for name in ("E", "A", "B", "alpha", "beta"):
        out[name] = interval(summarise_draws(law[name], name, "", CI_PROB, CI_KIND).iloc[0])
    for name in ("log_a", "log_b"):
        draws = np.exp(fit.posterior[name].sel(language=language, drop=True))
        symbol = name[-1]
        out[symbol] = interval(summarise_draws(draws, symbol, "", CI_PROB, CI_KIND).iloc[0])
    for name, value in true_values(truth, language).items():
        out[name]["truth"] = value
        out[name]["contains_truth"] = inside(out[name]["ci_low"], value, out[name]["ci_high"])
    return out


def interval(row: pd.Series) -> dict:
    return {
        "median": float(row["median"]),
        "ci_low": float(row["ci_low"]),
        "ci_high": float(row["ci_high"]),
        "width": float(row["ci_high"] - row["ci_low"]),
        "ci_prob": float(row["ci_prob"]),
        "ci_kind": str(row["ci_kind"]),
    }


def shrinkage_check(study: Study, truth: dict, seed: int, cut_seed: int) -> dict:
    cut, info = half_study(study, cut_seed)
    fits, records = {}, {}
    for label, data in (("cut", cut), ("full", study)):
        start = time.perf_counter()
        print(f"fitting chinchilla to the {label} study ...", flush=True)
        fit = fit_variant(data, load_variant("chinchilla"), settings(seed))
        fits[label] = fit
        records[label] = fit_record(fit, "fitted", None, time.perf_counter() - start, data)
        records[label].pop("same_study")
        records[label]["observations"] = int(fit.data.sizes["obs"])
        print(
            f"chinchilla ({label}): {records[label]['seconds']:.0f} s, "
            f"{records[label]['observations']} observations, converged "
            f"{records[label]['converged']} {records[label]['problems'] or ''}",
            flush=True,
        )
    en = {label: widths(fit, LANGUAGE, truth) for label, fit in fits.items()}
    ratios = {q: en["cut"][q]["width"] / en["full"][q]["width"] for q in en["full"]}
    # Every language: width ratios of the compute-optimal allocation, and the truth's inside.
    per_language = []
    for language in fits["full"].languages:
        true = true_values(truth, language)
        row = {"language": language}
        for quantity in ("params", "tokens", "loss"):
            w = {
                label: one_row(compute_optimal(fits[label], language, BUDGET), quantity)
                for label in ("cut", "full")
            }
            row[quantity] = float(
                (w["cut"]["ci_high"] - w["cut"]["ci_low"])
                / (w["full"]["ci_high"] - w["full"]["ci_low"])
            )
            for label, r in w.items():
                value = true[f"optimal {quantity}"]
                row[f"{quantity}_truth_in_{label}"] = inside(r["ci_low"], value, r["ci_high"])
        per_language.append(row)
    languages = pd.DataFrame(per_language)
    coverage = {
        label: {q: count(languages[f"{q}_truth_in_{label}"]) for q in ("params", "tokens", "loss")}
        for label in ("cut", "full")
    }
    all_languages = {
        q: {
            "median_ratio": float(languages[q].median()),
            "min_ratio": float(languages[q].min()),
            "max_ratio": float(languages[q].max()),
            "share_shrinks": float((languages[q] > 1).mean()),
        }
        for q in ("params", "tokens", "loss")
    }
    return {
        "cut": info,
        "fits": records,
        "language": LANGUAGE,
        "budget": BUDGET,
        "intervals": en,
        "width_ratio_cut_over_full": ratios,
        "all_languages": all_languages,
        "all_languages_truth_inside": coverage,
        "per_language": languages,
    }


def print_shrinkage(result: dict) -> None:
    info = result["cut"]
    print(
        f"\n4. Intervals as the study grows: chinchilla on {info['monolingual_runs_cut']} of "
        f"{info['monolingual_runs_full']} monolingual runs ({info['monolingual_evaluations_cut']}"
        f" of {info['monolingual_evaluations_full']} evaluations) vs all of them"
    )
    print(f"{LANGUAGE} at {result['budget']:.0e} FLOPs and en's law, {CI_PROB:.0%} {CI_KIND}:")
    print(
        f"{'quantity':15} {'cut: ci_low':>11} {'ci_high':>10} {'full: ci_low':>12} "
        f"{'ci_high':>10} {'width cut/full':>14} {'truth':>10} {'in cut':>6} {'in full':>7}"
    )
    for q, ratio in result["width_ratio_cut_over_full"].items():
        c, f = result["intervals"]["cut"][q], result["intervals"]["full"][q]
        print(
            f"{q:15} {c['ci_low']:11.4g} {c['ci_high']:10.4g} {f['ci_low']:12.4g} "
            f"{f['ci_high']:10.4g} {ratio:14.2f} {f['truth']:10.4g} "
            f"{yes(c['contains_truth']):>6} {yes(f['contains_truth']):>7}"
        )
    print("every language, compute-optimal at the same budget, width cut/full:")
    for q, s in result["all_languages"].items():
        print(
            f"  {q:7} median {s['median_ratio']:.2f}, range {s['min_ratio']:.2f}-"
            f"{s['max_ratio']:.2f}, shrinks for {s['share_shrinks']:.0%} of languages"
        )
    for label, inside_counts in result["all_languages_truth_inside"].items():
        print(
            f"  truth's compute-optimal allocation inside ({label} fit): "
            + ", ".join(f"{q} {k}" for q, k in inside_counts.items())
        )


# ---------------------------------------------------------------------- output


def plain(value: Any) -> Any:
    """JSON-ready: frames as records, numpy scalars as Python ones, NaN as None."""
    if isinstance(value, pd.DataFrame):
        return plain(value.to_dict(orient="records"))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-dir", default="/tmp/fits", type=Path)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0, help="sampler seed of any fit made")
    parser.add_argument("--cut-seed", type=int, default=0, help="seed of the half-study cut")
    args = parser.parse_args()
    started = time.perf_counter()
    study = load_study(bundled_study_path())
    truth = json.loads((bundled_study_path() / "truth.json").read_text(encoding="utf-8"))
    results: dict[str, Any] = {"ci_prob": CI_PROB, "ci_kind": CI_KIND, "fits": {}}
    seconds = {}

    fit, results["fits"]["curse"] = get_fit("curse", "curse.nc", args.fit_dir, study, args.seed)
    t = time.perf_counter()
    results["curse"] = curse_check(fit, truth)
    seconds["curse"] = time.perf_counter() - t
    print_curse(results["curse"])
    del fit

    fit, results["fits"]["crossover"] = get_fit(
        "crossover", "crossover.nc", args.fit_dir, study, args.seed
    )
    t = time.perf_counter()
    results["crossover"] = crossover_check(fit, truth)
    seconds["crossover"] = time.perf_counter() - t
    print_crossover(results["crossover"])
    del fit

    fit, results["fits"]["atlas_matrix"] = get_fit(
        "atlas_matrix", f"atlas_matrix-seed{args.seed}.nc", args.fit_dir, study, args.seed
    )
    t = time.perf_counter()
    results["sources"] = sources_check(fit, truth)
    seconds["sources"] = time.perf_counter() - t
    print_sources(results["sources"])
    del fit

    t = time.perf_counter()
    results["shrinkage"] = shrinkage_check(study, truth, args.seed, args.cut_seed)
    seconds["shrinkage"] = time.perf_counter() - t
    print_shrinkage(results["shrinkage"])

    seconds["total"] = time.perf_counter() - started
    results["seconds"] = seconds
    print(
        "\nseconds: " + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items()),
        flush=True,
    )
    Path(args.out).write_text(json.dumps(plain(results), indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
