"""Terminal and JSON summaries of a fit: a table plus sentences, intervals labelled."""

import math
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from atlas_bayes.inference import Fit
from atlas_bayes.intervals import interval_label


def diagnostics_sentence(fit: Fit) -> str:
    """The convergence verdict in words."""
    d = fit.diagnostics
    # E-BFMI needs the sampler's energy; samplers that do not record it get no figure.
    ebfmi = "" if math.isnan(d.min_ebfmi) else f"min E-BFMI {d.min_ebfmi:.2f}, "
    # Likewise the step counts (a posterior built without a sampler has none).
    steps = (
        ""
        if math.isnan(d.mean_steps_per_draw)
        else f"{d.mean_steps_per_draw:.0f} gradient evaluations per draw "
    )
    facts = (
        f"max R-hat {d.max_rhat:.3f}, min ESS bulk {d.min_ess_bulk:.0f} / tail "
        f"{d.min_ess_tail:.0f}, {d.divergences} divergences, {d.treedepth_hits} tree-depth "
        f"hits, {ebfmi}{steps}({d.chains} chains x {d.draws} draws)"
    )
    warnings = "".join(f" Warning: {w}" for w in d.warnings)
    if d.passed:
        return f"Converged: {facts}.{warnings}"
    return "NOT CONVERGED: " + " ".join(d.problems) + f" ({facts}){warnings}"


def gate_headline(fit: Fit) -> str:
    """The verdict in one line: ``converged``, or each failed check without its advice."""
    if fit.diagnostics.passed:
        return "converged"
    # Each problem is "what failed: why. What to do."; keep "what failed: why".
    return "NOT CONVERGED: " + "; ".join(p.split(". ")[0] for p in fit.diagnostics.problems)


def print_gate_verdict(console: Console, fit: Fit, brief: bool = False) -> None:
    """Print the convergence verdict: green on ``console``, or a red warning on stderr.

    A failed gate goes to stderr so that it is seen even when stdout is redirected or
    ``--quiet``; it tells the user not to use the numbers yet.

    Parameters
    ----------
    console
        Where a passed gate is printed.
    fit
        The fit.
    brief
        One line per fit (:func:`gate_headline`), for commands that fit several variants and
        write the full diagnostics elsewhere.
    """
    if brief:
        verdict = f"{fit.spec.name}: {gate_headline(fit)}."
        advice = "Treat its numbers with caution; the report says why."
    else:
        verdict = diagnostics_sentence(fit)
        advice = "Do not use these numbers until this is fixed."
    if fit.diagnostics.passed:
        console.print(f"[green]{escape(verdict)}[/]")
        return
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]WARNING: {escape(verdict)}[/] {advice}"
    )


def fit_summary_json(fit: Fit, ci_prob: float, ci_kind: str) -> dict[str, Any]:
    """Everything ``atlas-bayes summary FIT.nc --json`` prints."""
    table = fit.parameter_summary(ci_prob=ci_prob, ci_kind=ci_kind)
    records = [
        {"parameter": str(index), **{k: _plain(v) for k, v in row.items()}}
        for index, row in table.iterrows()
    ]
    return {
        "variant": fit.spec.name,
        "law": fit.spec.law,
        "interval": {"ci_prob": ci_prob, "ci_kind": ci_kind},
        "parameters": records,
        "diagnostics": fit.diagnostics.to_dict(),
        "converged": fit.diagnostics.passed,
        "meta": fit.meta,
        "spec": fit.spec.to_dict(),
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def print_fit_summary(console: Console, fit: Fit, ci_prob: float, ci_kind: str) -> None:
    """Print per-language parameters (mean and interval), population values, diagnostics."""
    table = fit.parameter_summary(ci_prob=ci_prob, ci_kind=ci_kind)
    label = interval_label(ci_prob, ci_kind)
    meta = fit.meta
    console.print(
        f"[bold]{escape(fit.spec.name)}[/] ({escape(fit.spec.law)} law) fitted to study "
        f"{escape(meta.get('study_hash', '')[:12])} with {escape(str(meta.get('sampler')))}, "
        f"seed {meta.get('seed')}; values are posterior means with the {label}."
    )
    verdict = diagnostics_sentence(fit)
    style = "green" if fit.diagnostics.passed else "bold red"
    console.print(f"[{style}]{escape(verdict)}[/]")
    per_language = [p for p in fit.law_parameter_names() if _is_per_language(table, p)]
    grid = Table(title=f"Per-language parameters: mean [{label}]")
    grid.add_column("language")
    for name in per_language:
        grid.add_column(name, justify="right")
    for language in fit.languages:
        cells = []
        for name in per_language:
            key = next((k for k in table.index if k.startswith(f"{name}[{language}")), None)
            cells.append(_cell(table.loc[key]) if key else "")
        grid.add_row(language, *cells)
    if per_language:
        console.print(grid)
    scalars = [k for k in table.index if "[" not in k]
    if scalars:
        pop = Table(title=f"Population and shared parameters: mean [{label}]")
        pop.add_column("parameter")
        pop.add_column("mean [interval]", justify="right")
        pop.add_column("ESS bulk", justify="right")
        pop.add_column("R-hat", justify="right")
        for key in scalars:
            row = table.loc[key]
            pop.add_row(key, _cell(row), f"{row['ess_bulk']:.0f}", f"{row['r_hat']:.3f}")
        console.print(pop)


def _is_per_language(table: pd.DataFrame, name: str) -> bool:
    return any(k.startswith(f"{name}[") for k in table.index)


def _cell(row: pd.Series) -> str:
    return f"{row['mean']:.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"
