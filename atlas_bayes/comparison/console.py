"""A comparison on the terminal: the ranking table, the sentence, the high Pareto k list."""

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from atlas_bayes.comparison.loo import Comparison, probability_text

#: High-k observations listed before "... and N more".
MAX_HIGH_K_SHOWN = 20


def print_comparison(console: Console, comparison: Comparison) -> None:
    """Print ``comparison``: a table of models, its summary sentence and its Pareto k.

    Parameters
    ----------
    console
        Where to print (a quiet console prints nothing).
    comparison
        The result of :func:`~atlas_bayes.comparison.compare_fits`.
    """
    threshold = comparison.table["k_threshold"].max()
    table = Table(
        title=f"PSIS-LOO comparison on {comparison.observations} observations "
        f"(study {comparison.study_hash[:16] or '(none recorded)'}), best first",
        caption="± are standard errors. P(worse) = Phi(-elpd_diff / dse), a normal "
        "approximation. Weights are stacking weights. high k: observations with Pareto k "
        f"above {threshold:.2f}.",
    )
    for column, justify in (
        ("model", "left"), ("ELPD ± SE", "right"), ("vs best ± SE", "right"),
        ("P(worse)", "right"), ("weight", "right"), ("high k", "right"),
    ):  # fmt: skip
        # Never break a number or a name across lines (80 columns hold all six).
        table.add_column(column, justify=justify, no_wrap=True)
    for row in comparison.table.itertuples():
        best = row.rank == 1
        table.add_row(
            escape(str(row.model)),
            f"{row.elpd:.1f} ± {row.se:.1f}",
            "(best)" if best else f"{row.elpd_diff:.1f} ± {row.dse:.1f}",
            "" if best else probability_text(row.p_worse),
            f"{row.weight:.2f}",
            str(row.n_high_k),
        )
    console.print(table)
    console.print(escape(comparison.summary()))
    console.print(escape(comparison.pareto_k_summary()))
    if len(comparison.high_k):
        listing = Table(title="Observations with high Pareto k")
        for column in ("model", "run", "language", "parameters", "tokens", "Pareto k"):
            listing.add_column(column)
        for row in comparison.high_k.head(MAX_HIGH_K_SHOWN).itertuples():
            listing.add_row(
                escape(str(row.model)),
                escape(str(row.run_id)),
                escape(str(row.eval_language)),
                f"{row.params:.3g}",
                f"{row.tokens:.3g}",
                f"{row.pareto_k:.2f}",
            )
        console.print(listing)
        more = len(comparison.high_k) - MAX_HIGH_K_SHOWN
        if more > 0:
            console.print(f"... and {more} more (--json lists them all)")


__all__ = ["print_comparison"]
