"""What the demo writes and prints: recommendations.json, summary.md and the headline table."""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from atlas_bayes.demo.headline import Headline
from atlas_bayes.demo.plan import DemoFit
from atlas_bayes.demo.study_check import CheckedStudy
from atlas_bayes.fit_report import gate_headline
from atlas_bayes.inference import Fit
from atlas_bayes.intervals import interval_label
from atlas_bayes.report.formatting import interval, number

#: Output names inside the demo's folder.
FITS_DIR = "fits"
RECOMMENDATIONS = "recommendations.json"
SUMMARY = "summary.md"
REPORT_HTML = "report.html"
REPORT_MD = "report.md"


@dataclass(frozen=True)
class DemoRun:
    """Everything the demo computed, for its outputs.

    Attributes
    ----------
    checked : CheckedStudy
        The bundled study and its reproducibility check.
    plan : tuple of DemoFit
        The fits and their sampler settings.
    fits : dict of str to Fit
        The fits by variant name.
    stage_seconds : dict of str to dict
        Wall seconds of each fit's stages (compiling, sampling, summarising).
    headlines : list of Headline
        The headline recommendations.
    ci_prob, ci_kind : float, str
        The interval of every number.
    quick : bool
        Whether this was ``--quick``.
    timings : dict of str to float
        Wall seconds of the demo's steps (``study check``, ``fits``, ``recommendations``,
        ``report``, ``total``).
    """

    checked: CheckedStudy
    plan: tuple[DemoFit, ...]
    fits: dict[str, Fit]
    stage_seconds: dict[str, dict[str, float]]
    headlines: list[Headline]
    ci_prob: float
    ci_kind: str
    quick: bool
    timings: dict[str, float]


def _fit_record(run: DemoRun, item: DemoFit) -> dict[str, Any]:
    fit = run.fits[item.variant]
    s = item.settings
    return {
        "file": f"{FITS_DIR}/{item.variant}.nc",
        "settings": {
            "sampler": s.sampler,
            "chains": s.chains,
            "draws": s.draws,
            "tune": s.tune,
            "seed": s.seed,
        },
        "converged": fit.diagnostics.passed,
        "problems": list(fit.diagnostics.problems),
        "seconds": run.stage_seconds.get(item.variant, {}),
    }


def recommendations_json(run: DemoRun) -> dict[str, Any]:
    """The content of recommendations.json: study, fits, interval and every recommendation."""
    return {
        "interval": {"ci_prob": run.ci_prob, "ci_kind": run.ci_kind},
        "mode": "quick" if run.quick else "full",
        "study": {
            "path": str(run.checked.path),
            "simulated": True,
            "content_hash": run.checked.study.content_hash(),
            "reproducible_from_seed": run.checked.reproducible,
        },
        "fits": {item.variant: _fit_record(run, item) for item in run.plan},
        "seconds": run.timings,
        "recommendations": [h.to_json_dict(run.ci_prob, run.ci_kind) for h in run.headlines],
    }


def write_recommendations(run: DemoRun, path: Path) -> None:
    """Write :func:`recommendations_json` (NaN and infinities as null)."""
    text = json.dumps(_finite(recommendations_json(run)), indent=1, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _estimate(row: pd.Series) -> str:
    unit = row["unit"]
    return interval(row["mean"], row["ci_low"], row["ci_high"], unit)


def _truth(row: pd.Series) -> str:
    return "n/a" if pd.isna(row["truth"]) else number(row["truth"], row["unit"])


def _inside(row: pd.Series) -> str:
    return {True: "yes", False: "NO"}.get(row["truth_inside"], "")


def _unit(unit: str) -> str:
    # "x" is a factor; tokens and parameters carry B/T suffixes in the number itself.
    return {"x": "factor"}.get(unit, unit)


def headline_console_table(table: pd.DataFrame, ci_prob: float, ci_kind: str) -> Table:
    """The headline numbers as a rich table; the interval column names its probability and kind."""
    label = interval_label(ci_prob, ci_kind)
    out = Table(
        title="Headline recommendations (simulated study: the truth is known)",
        caption=f"Every interval is a {label}. Truth: the simulation's true value.",
    )
    out.add_column("question")
    out.add_column(f"mean [{label}]", justify="right")
    out.add_column("unit")
    out.add_column("truth", justify="right")
    out.add_column("truth inside", justify="center")
    topic = None
    for _, row in table.iterrows():
        if topic is not None and row["topic"] != topic:
            out.add_section()
        topic = row["topic"]
        out.add_row(
            escape(row["label"]), _estimate(row), _unit(row["unit"]), _truth(row), _inside(row)
        )
    return out


def print_outputs(console: Console, out: Path, run: DemoRun, table: pd.DataFrame) -> None:
    """Where the outputs are, then the headline table and the notes of its decisions."""
    console.print(
        f"[bold]outputs in {escape(str(out))}[/]:\n"
        f"  {REPORT_HTML}  the uncertainty report (open it in a browser; {REPORT_MD}: the same "
        "in Markdown)\n"
        f"  {RECOMMENDATIONS}  every recommendation, with its interval and notes\n"
        f"  {SUMMARY}  this summary, settings and timings\n"
        f"  {FITS_DIR}/  "
        + ", ".join(f"{v}.nc" for v in run.fits)
        + " (atlas-bayes summary / recommend / report read them)"
    )
    if not table.empty:
        console.print(headline_console_table(table, run.ci_prob, run.ci_kind))
    for note in _notes(run.headlines):
        console.print(f"[yellow]note:[/] {escape(note)}")


def _notes(headlines: Sequence[Headline]) -> list[str]:
    """The notes of the shown decisions, each once, prefixed by its question."""
    seen: dict[str, None] = {}
    for h in headlines:
        if h.shown:
            for note in h.decision.notes:
                seen.setdefault(f"{h.decision.question}: {note}", None)
    return list(seen)


def summary_markdown(run: DemoRun, table: pd.DataFrame) -> str:
    """summary.md: the study check, the fits and their settings, the headline table."""
    label = interval_label(run.ci_prob, run.ci_kind)
    study = run.checked.study.summary()
    mode = "--quick" if run.quick else "full"
    lines = [
        "# atlas_bayes demo",
        "",
        f"Study: the bundled **simulated** study `{run.checked.path}` ({study['runs']} runs, "
        f"{study['languages']} languages, {study['evaluations']} evaluations; content hash "
        f"{study['content_hash'][:16]}). Re-simulated from its seed: "
        + ("identical." if run.checked.reproducible else "**DIFFERENT** (a bug: report it)."),
        "",
        f"- `{REPORT_HTML}` (and `{REPORT_MD}`): the uncertainty report of every fit.",
        f"- `{RECOMMENDATIONS}`: every headline recommendation with its {label}, notes and the "
        "simulation's true value.",
        f"- `{FITS_DIR}/`: the fits (`atlas-bayes summary`, `recommend` and `report` read them).",
        "",
        f"## Fits ({mode} mode)",
        "",
        "The chains are far shorter than those `atlas-bayes fit` runs (4 chains x 1000 draws "
        "after 500 tuning, or more where a variant asks: 2500 for `atlas_matrix`, 3000 for "
        "`crossover`) so that the demo finishes in minutes; a fit can then fail its convergence "
        "gate, and the report says so above its numbers.",
        "",
        "| fit | settings | convergence | compiling | sampling |",
        "|---|---|---|---|---|",
    ]
    for item in run.plan:
        fit = run.fits[item.variant]
        stages = run.stage_seconds.get(item.variant, {})
        lines.append(
            f"| `{item.variant}` | {item.describe().split(': ', 1)[1]} | "
            f"{_md(gate_headline(fit))} | {stages.get('compiling', math.nan):.0f} s | "
            f"{stages.get('sampling', math.nan):.0f} s |"
        )
    lines += ["", "## Headline recommendations", ""]
    if table.empty:
        lines.append("No fit could answer a headline question.")
    else:
        lines += [
            f"Each estimate is the posterior mean with its {label} in brackets. Truth: the "
            "value the simulation was generated with.",
            "",
            f"| question | mean [{label}] | unit | truth | truth inside |",
            "|---|---|---|---|---|",
        ]
        for _, row in table.iterrows():
            lines.append(
                f"| {_md(row['label'])} | {_estimate(row)} | {_unit(row['unit'])} | "
                f"{_truth(row)} | {_inside(row)} |"
            )
        notes = _notes(run.headlines)
        if notes:
            lines += ["", *(f"- {_md(note)}" for note in notes)]
    steps = ", ".join(f"{name} {value:.0f} s" for name, value in run.timings.items())
    lines += ["", f"Wall time: {steps}.", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def write_summary(run: DemoRun, table: pd.DataFrame, path: Path) -> None:
    """Write :func:`summary_markdown` to ``path``."""
    path.write_text(summary_markdown(run, table), encoding="utf-8")


__all__ = [
    "FITS_DIR",
    "RECOMMENDATIONS",
    "REPORT_HTML",
    "REPORT_MD",
    "SUMMARY",
    "DemoRun",
    "headline_console_table",
    "print_outputs",
    "recommendations_json",
    "summary_markdown",
    "write_recommendations",
    "write_summary",
]
