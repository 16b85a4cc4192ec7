"""``atlas-bayes recommend FIT.nc DECISION ...``: the decisions of a fit, as tables or JSON.

Each decision prints a table of its quantities (mean, median and the credible interval, whose
probability and kind head the interval column) and any notes (extrapolation, repetition);
``--json`` prints the same fields (``quantity``, ``unit``, ``mean``, ``median``, ``ci_prob``,
``ci_kind``, ``ci_low``, ``ci_high``, ``draws``) for machines. A request the fit cannot answer
(unknown language, a decision its variant does not support, a budget that makes no sense)
exits with code 2 and says why; with ``--strict``, answers from a fit that failed its
convergence gate exit with code 3 (after printing them, with a warning).
"""

import argparse
import dataclasses
import json
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from atlas_bayes.cli_args import add_interval_options, add_strict_option
from atlas_bayes.decisions import Decision, probability_below
from atlas_bayes.exit_codes import strict_exit_code
from atlas_bayes.intervals import interval_label

EXAMPLES = """
examples:
  atlas-bayes recommend fits/atlas.nc compute-optimal --language fr --compute 1e21
  atlas-bayes recommend fits/atlas.nc compute-optimal --language fr --target-loss 2.5
  atlas-bayes recommend fits/curse.nc add-languages --from 12 --to 24
  atlas-bayes recommend fits/crossover.nc crossover --language de --params 2e9 --tokens 2e11
  atlas-bayes recommend fits/atlas_matrix.nc sources --target fr --json
  atlas-bayes recommend fits/atlas_matrix.nc mixture --target sw --tokens 1e11 --quantile 0.9
  atlas-bayes recommend fits/curse.nc add-languages --from 4 --to 8 --ci-prob 0.5 --strict

each DECISION has its own --help (atlas-bayes recommend FIT.nc sources --help)
"""

#: Examples of each decision, shown by ``recommend FIT.nc DECISION --help``.
DECISION_EXAMPLES = {
    "compute-optimal": """
        examples:
          atlas-bayes recommend fits/atlas.nc compute-optimal --language fr --compute 1e21
          atlas-bayes recommend fits/atlas.nc compute-optimal --language fr --target-loss 2.5
          atlas-bayes recommend fits/curse.nc compute-optimal --language fr --compute 1e21 \\
              --languages 8
        """,
    "add-languages": """
        examples:
          atlas-bayes recommend fits/curse.nc add-languages --from 12 --to 24
          atlas-bayes recommend fits/curse.nc add-languages --from 4 --to 64 --language sw --json
        """,
    "crossover": """
        examples:
          atlas-bayes recommend fits/crossover.nc crossover --language de --params 2e9
          atlas-bayes recommend fits/crossover.nc crossover --language de --params 2e9 \\
              --tokens 2e11 --below loss_difference=0
        """,
    "sources": """
        examples:
          atlas-bayes recommend fits/atlas_matrix.nc sources --target fr
          atlas-bayes recommend fits/atlas_matrix.nc sources --target sw --top 3 --json
          atlas-bayes recommend fits/atlas_matrix.nc sources --target fr --include-pooled
        """,
    "mixture": """
        examples:
          atlas-bayes recommend fits/atlas_matrix.nc mixture --target sw --tokens 1e11
          atlas-bayes recommend fits/atlas_matrix.nc mixture --target sw --tokens 1e11 \\
              --params 1e9 --quantile 0.9
        """,
}


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _below(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected QUANTITY=VALUE (e.g. loss=2.4), got {text!r}")
    return name, float(value)


def add_recommend_parser(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``recommend`` and its decisions with the CLI's ``add`` helper."""
    p = add("recommend", cmd_recommend, "Answer a training decision from a fit, with intervals.")
    p.epilog = textwrap.dedent(EXAMPLES)
    p.add_argument("fit", help="fit file (FIT.nc)")
    decisions = p.add_subparsers(dest="decision", required=True, metavar="DECISION")

    def decision(name: str, help_text: str) -> argparse.ArgumentParser:
        d = decisions.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=textwrap.dedent(DECISION_EXAMPLES[name]),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        d.add_argument("--json", action="store_true", help="machine-readable output")
        add_interval_options(d)
        add_strict_option(d, "the fit")
        d.add_argument(
            "--below",
            type=_below,
            action="append",
            default=[],
            metavar="QUANTITY=VALUE",
            help="also report P(QUANTITY < VALUE), e.g. --below loss=2.4 (repeatable)",
        )
        return d

    d = decision("compute-optimal", "Model size and tokens for a language at a compute budget.")
    d.add_argument("--language", required=True)
    target = d.add_mutually_exclusive_group(required=True)
    target.add_argument("--compute", type=_positive_float, help="training FLOPs")
    target.add_argument("--target-loss", type=_positive_float, help="the loss to reach (nats)")
    d.add_argument("--flops-per-param-token", type=_positive_float, default=6.0)
    d.add_argument("--languages", type=_positive_float, default=None, help="K (curse fits)")

    d = decision("add-languages", "Iso-loss multipliers going from K to K' languages (curse).")
    d.add_argument("--from", dest="from_languages", type=_positive_float, required=True)
    d.add_argument("--to", dest="to_languages", type=_positive_float, required=True)
    d.add_argument("--language", default=None, help="one language's exponents (default: all)")

    d = decision("crossover", "Pretrain from scratch or finetune the multilingual checkpoint.")
    d.add_argument("--language", required=True)
    d.add_argument("--params", type=_positive_float, required=True, help="model size N")
    d.add_argument("--tokens", type=_positive_float, default=None, help="token budget D")

    d = decision("sources", "Source languages ranked by transfer to a target.")
    d.add_argument("--target", required=True)
    d.add_argument("--top", type=int, default=5, help="report P(in the top TOP)")
    d.add_argument(
        "--include-pooled",
        action="store_true",
        help='rank the pooled "other" source (many languages at once) beside the languages',
    )

    d = decision("mixture", "The training mixture that minimises a target's loss.")
    d.add_argument("--target", required=True)
    d.add_argument("--tokens", type=_positive_float, required=True, help="token budget")
    d.add_argument("--params", type=_positive_float, default=None, help="model size N")
    d.add_argument(
        "--quantile",
        type=float,
        default=None,
        help="minimise this quantile of the loss (0.9: risk-averse) instead of its mean",
    )


def decide(fit: Any, args: argparse.Namespace) -> tuple[Decision, pd.DataFrame | None]:
    """Run the decision ``args.decision`` on ``fit``.

    Returns
    -------
    tuple
        The decision and, for decisions better read as one table of their own (the source
        ranking, the mixture's weights), that table; else None.
    """
    from atlas_bayes import decisions

    if args.decision == "compute-optimal":
        if args.compute is not None:
            return decisions.compute_optimal(
                fit, args.language, args.compute, args.flops_per_param_token, args.languages
            ), None
        return decisions.compute_for_target_loss(
            fit, args.language, args.target_loss, args.flops_per_param_token, args.languages
        ), None
    if args.decision == "add-languages":
        return decisions.add_languages(
            fit, args.from_languages, args.to_languages, args.language
        ), None
    if args.decision == "crossover":
        return decisions.pretrain_or_finetune(fit, args.language, args.params, args.tokens), None
    if args.decision == "sources":
        from atlas_bayes.modeling.transfer import transfer_matrix

        # One matrix for both views, so the ranking table and the draws agree.
        tau = transfer_matrix(fit)
        pooled = args.include_pooled
        ranking = decisions.source_table(
            fit, args.target, args.top, args.ci_prob, args.ci_kind, tau, include_pooled=pooled
        )
        return decisions.rank_sources(fit, args.target, args.top, tau, pooled), ranking
    params = args.params
    if params is None:
        # The mean-optimal mixture does not depend on N (the parameter term is a constant in
        # the target's loss); the loss levels do, so use the fit's median model size and say so.
        params = float(np.median(np.exp(fit.data["log_params"].values)))
    decision = decisions.optimise_mixture(
        fit, args.target, args.tokens, params, quantile=args.quantile
    )
    if args.params is None:
        note = f"model size not given: losses are at the fit's median N = {params:.3g}"
        decision = dataclasses.replace(decision, notes=(*decision.notes, note))
    # The readable table lists the languages the optimum trains on; --json has all of them.
    return decision, decision.mixture[decision.mixture["weight"] > 0]


def _summary(decision: Decision, args: argparse.Namespace) -> pd.DataFrame:
    table = decision.summary(args.ci_prob, args.ci_kind)
    for name, value in args.below:
        if name not in decision.draws:
            from atlas_bayes.decisions import DecisionError

            raise DecisionError(
                f"--below {name}={value}: no quantity {name!r}; this decision has "
                f"{', '.join(decision.draws.data_vars)}"
            )
        p = probability_below(decision.draws[name], value).values.ravel()
        rows = table["quantity"] == name
        table.loc[rows, f"p_below[{value:g}]"] = p
    return table


def _number(value: Any) -> str:
    if isinstance(value, float):
        return "—" if pd.isna(value) else f"{value:.3g}"
    return escape(str(value))


def print_decision(
    console: Console, decision: Decision, table: pd.DataFrame, extra: pd.DataFrame | None, args
) -> None:
    """The decision as a readable table (interval in one column), then its notes."""
    short = f"{args.ci_prob:.0%} {args.ci_kind.upper()}"
    out = Table(
        title=escape(decision.question),
        caption=f"{short}: {interval_label(args.ci_prob, args.ci_kind)}",
    )
    skip = {"quantity", "unit", "mean", "median", "ci_prob", "ci_kind", "ci_low", "ci_high"}
    skip |= {"draws"}
    labels = [c for c in table.columns if c not in skip]
    out.add_column("quantity")
    for column in labels:
        out.add_column(str(column))
    for column in ("mean", "median", short):
        out.add_column(column, justify="right")
    out.add_column("unit")
    for _, row in table.iterrows():
        interval = f"[{_number(row['ci_low'])}, {_number(row['ci_high'])}]"
        out.add_row(
            escape(str(row["quantity"])),
            *(_number(row[c]) for c in labels),
            _number(row["mean"]),
            _number(row["median"]),
            interval,
            escape(str(row["unit"])),
        )
    console.print(out)
    if extra is not None:
        more = Table()
        for column in extra.columns:
            more.add_column(escape(str(column)))
        for _, row in extra.iterrows():
            more.add_row(*(_number(v) for v in row))
        console.print(more)
    for note in decision.notes:
        style = "yellow" if note.startswith(("extrapolation", "convergence")) else "dim"
        console.print(f"[{style}]note:[/] {escape(note)}")


def cmd_recommend(args: argparse.Namespace) -> int:
    """Load the fit, answer the decision, print it (table or JSON)."""
    from atlas_bayes.inference import load_fit

    fit = load_fit(args.fit)
    decision, extra = decide(fit, args)
    if not fit.diagnostics.passed:
        # Answers from an unconverged posterior are still shown, never silently.
        problems = "; ".join(fit.diagnostics.problems)
        warning = f"convergence gate failed for this fit ({problems}): treat with caution"
        decision = dataclasses.replace(decision, notes=(warning, *decision.notes))
    table = _summary(decision, args)
    if args.json:
        payload = decision.to_json_dict(args.ci_prob, args.ci_kind)
        payload["results"] = json.loads(table.to_json(orient="records"))
        if extra is not None:
            payload["table"] = json.loads(extra.to_json(orient="records"))
        print(json.dumps(payload, indent=1))
        return strict_exit_code([fit], args.strict)
    console = Console(quiet=args.quiet, highlight=False)
    if args.decision == "sources":
        # The ranking is the answer; the per-source draws of four quantities are for --json.
        shown = extra.drop(columns=["bts_ci_low", "bts_ci_high"]).rename(
            columns={"bts_mean": "BTS"}
        )
        print_decision(console, decision, shown, None, args)
        return strict_exit_code([fit], args.strict)
    print_decision(console, decision, table, extra, args)
    return strict_exit_code([fit], args.strict)
