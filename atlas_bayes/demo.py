"""The main job on the bundled study, as far as the package goes today.

The demo loads and validates the bundled simulated study, re-simulates it from its seed and
checks the result is identical, summarises it, sets the simulated truth beside ATLAS's
published numbers, then fits the ``data_constrained`` variant with NUTS and checks how often
its 90 % intervals contain the simulation's true parameters. It writes ``summary.md``,
``summary.json`` and ``fits/data_constrained.nc`` into the output folder.
"""

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from atlas_bayes.atomic import atomic_folder
from atlas_bayes.resources import BUNDLED_STUDY_SEED, bundled_study_path
from atlas_bayes.simulate import simulate_atlas_study
from atlas_bayes.study import load_study


def headline_rows(truth: dict[str, Any]) -> list[dict[str, Any]]:
    """Simulated-truth values beside the paper's, one row per headline number.

    The truth values are exact (they are the simulation's parameters, not estimates); the
    paper's are point estimates printed without intervals.
    """
    rows = []
    paper = truth["curse"]["published"]["multipliers"]
    for r, m in truth["curse"]["multipliers"].items():
        rows.append(
            {
                "quantity": f"parameters x, {r}K languages at equal loss",
                "truth": m["params"],
                "paper": paper[r]["params"],
            }
        )
        rows.append(
            {
                "quantity": f"total tokens x, {r}K languages at equal loss",
                "truth": m["total_tokens"],
                "paper": paper[r]["total_tokens"],
            }
        )
    crossover = truth["crossover"]
    for code, published in crossover["published_tokens_at_2b"].items():
        rows.append(
            {
                "quantity": f"crossover tokens at 2B, {code} (B)",
                "truth": crossover["tokens_at_2b"][code] / 1e9,
                "paper": published / 1e9,
            }
        )
    transfer = truth["transfer"]["summary"]
    for key in ("mean_bts_same_script", "mean_bts_different_script", "bts_asymmetry_corr"):
        rows.append(
            {
                "quantity": key.replace("_", " "),
                "truth": transfer[key],
                "paper": transfer["published"][key],
            }
        )
    return rows


def _markdown(
    study_label: str,
    summary: dict[str, Any],
    rows: list[dict],
    seconds: float,
    fitted: dict[str, Any],
) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in summary["runs_by_kind"].items())
    lines = [
        "# atlas_bayes demo",
        "",
        f"Study: `{study_label}` (**simulated**, seed {BUNDLED_STUDY_SEED}; see its README).",
        f"Re-simulated from its seed and identical: {summary['reproducible']}.",
        "",
        f"- runs: {summary['runs']} ({kinds})",
        f"- languages: {summary['languages']}, evaluations: {summary['evaluations']}",
        f"- parameters: {summary['params_range'][0]:.3g} to {summary['params_range'][1]:.3g}",
        "",
        "## Simulated truth beside the paper",
        "",
        "Truth values are the simulation's exact parameters (no uncertainty: nothing is "
        "estimated yet); the paper's are point estimates printed without intervals.",
        "",
        "| quantity | simulated truth | paper |",
        "|---|---|---|",
        *(f"| {r['quantity']} | {r['truth']:.3g} | {r['paper']:.3g} |" for r in rows),
        "",
        f"## Fit of `{fitted['variant']}`",
        "",
        f"{fitted['diagnostics']}",
        "",
        f"The {fitted['interval']}s contain the simulation's true value for "
        f"{fitted['coverage_of_truth']:.0%} of the {fitted['parameters_checked']} per-language "
        f"parameters. The repetition decay lambda: {fitted['lambda']['mean']:.4f} "
        f"[{fitted['lambda']['ci_low']:.4f}, {fitted['lambda']['ci_high']:.4f}] "
        f"({fitted['interval']}); truth {fitted['lambda']['truth']:.4f}.",
        "",
        f"Finished in {seconds:.1f} s.",
        "",
    ]
    return "\n".join(lines)


#: The variant the demo fits (the other variants arrive with their issues).
DEMO_VARIANT = "data_constrained"


def _fit_step(staging: Path, console: Console, quick: bool) -> dict[str, Any]:
    from atlas_bayes.fit_report import diagnostics_sentence
    from atlas_bayes.inference import SamplerSettings, fit_variant
    from atlas_bayes.inference.recovery import recovery_table
    from atlas_bayes.intervals import CI_KIND, CI_PROB, interval_label
    from atlas_bayes.variants import load_variant

    settings = (
        SamplerSettings(chains=2, draws=150, tune=200, seed=BUNDLED_STUDY_SEED)
        if quick
        else SamplerSettings(chains=4, draws=1000, tune=500, seed=BUNDLED_STUDY_SEED)
    )
    study = load_study(bundled_study_path())
    fit = fit_variant(study, load_variant(DEMO_VARIANT), settings)
    (staging / "fits").mkdir()
    fit.save(staging / "fits" / f"{DEMO_VARIANT}.nc")
    table = recovery_table(fit, bundled_study_path() / "truth.json")
    verdict = diagnostics_sentence(fit)
    console.print(("[green]" if fit.diagnostics.passed else "[bold red]") + escape(verdict) + "[/]")
    label = interval_label(CI_PROB, CI_KIND)
    coverage = float(table["covered"].mean())
    console.print(
        f"the {label}s contain the simulation's true value for {coverage:.0%} of the "
        f"{len(table)} per-language parameters (a calibrated posterior: about {CI_PROB:.0%})"
    )
    decay = table[table["parameter"] == "log_decay"].iloc[0]
    return {
        "variant": DEMO_VARIANT,
        "settings": {"chains": settings.chains, "draws": settings.draws, "tune": settings.tune},
        "converged": fit.diagnostics.passed,
        "diagnostics": verdict,
        "interval": label,
        "coverage_of_truth": coverage,
        "parameters_checked": len(table),
        "lambda": {
            "truth": float(np.exp(decay["truth"])),
            "mean": float(np.exp(decay["mean"])),
            "ci_low": float(np.exp(decay["ci_low"])),
            "ci_high": float(np.exp(decay["ci_high"])),
            "ci_prob": CI_PROB,
            "ci_kind": CI_KIND,
        },
        "seconds": fit.meta["fit_seconds"],
    }


def run_demo(
    out: Path, force: bool = False, console: Console | None = None, quick: bool = False
) -> int:
    """Run the demo into ``out``; returns the exit code.

    Parameters
    ----------
    out
        Output folder (refused if it exists, unless ``force``).
    force
        Replace an existing output folder.
    console
        Where to print; a default console if None.

    Returns
    -------
    int
        0 on success.
    """
    console = console or Console()
    start = time.perf_counter()
    with atomic_folder(out, overwrite=force) as staging:
        path = bundled_study_path()
        console.print(f"[bold]1/4[/] loading and validating the bundled study {escape(str(path))}")
        study = load_study(path)
        console.print(f"[bold]2/4[/] re-simulating it from seed {BUNDLED_STUDY_SEED}")
        simulation = simulate_atlas_study(seed=BUNDLED_STUDY_SEED)
        # Compare what a user would get from the files: the written form of the new study.
        with atomic_folder(staging / "resimulated") as tmp:
            simulation.write(tmp / "study")
        regenerated = load_study(staging / "resimulated" / "study")
        reproducible = regenerated.content_hash() == study.content_hash()
        truth = json.loads((path / "truth.json").read_text(encoding="utf-8"))
        summary = {**study.summary(), "reproducible": reproducible}
        rows = headline_rows(truth)
        console.print("[bold]3/4[/] summarising")
        from atlas_bayes.cli import print_study_summary

        print_study_summary(console, str(path), summary)
        table = Table(title="Simulated truth beside the paper (truth exact; paper: points)")
        table.add_column("quantity")
        table.add_column("simulated truth", justify="right")
        table.add_column("paper", justify="right")
        for row in rows:
            table.add_row(row["quantity"], f"{row['truth']:.3g}", f"{row['paper']:.3g}")
        console.print(table)
        console.print(
            f"[bold]4/4[/] fitting {DEMO_VARIANT} with NUTS"
            + (" (--quick: 2 chains x 150 draws)" if quick else " (4 chains x 1000 draws)")
        )
        fitted = _fit_step(staging, console, quick)
        seconds = time.perf_counter() - start
        (staging / "summary.json").write_text(
            json.dumps({"study": summary, "headline": rows, "fit": fitted}, indent=1, default=str)
            + "\n",
            encoding="utf-8",
        )
        (staging / "summary.md").write_text(
            _markdown(str(path), summary, rows, seconds, fitted), encoding="utf-8"
        )
        shutil.rmtree(staging / "resimulated")
    verdict = "[green]identical[/]" if reproducible else "[bold red]DIFFERENT[/]"
    console.print(
        f"re-simulation from the seed: {verdict}; wrote {escape(str(out / 'summary.md'))}, "
        f"{escape(str(out / 'summary.json'))} and {escape(str(out / 'fits'))} in {seconds:.1f} s"
    )
    return 0 if reproducible else 1
