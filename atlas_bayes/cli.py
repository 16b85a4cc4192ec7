"""The ``atlas-bayes`` command line.

Conventions of every subcommand: ``--help`` shows examples; exit codes 0 success, 2 bad input
(nothing is written), 3 a fit failed its convergence gate under ``--strict`` (the output is
still written, to inspect); an existing output is replaced only with ``--force``; ``--quiet``
prints nothing on success, and progress is shown only on a terminal.
"""

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from atlas_bayes.cli_args import add_interval_options, add_strict_option, probability
from atlas_bayes.exit_codes import EXIT_BAD_INPUT, EXIT_OK, strict_exit_code
from atlas_bayes.inference.sampling import SAMPLERS
from atlas_bayes.intervals import CI_PROB
from atlas_bayes.recommend_cli import add_recommend_parser
from atlas_bayes.study import StudyValidationError, load_study
from atlas_bayes.validation.cli import add_crossval_parser

#: Issues printed before "... and N more": enough to fix a file, few enough to read.
MAX_ISSUES_SHOWN = 50


class BadInput(Exception):
    """A request the CLI refuses with exit code 2 and this message."""


def _console(args: argparse.Namespace) -> Console:
    return Console(quiet=getattr(args, "quiet", False), highlight=False)


def _print_issues(err: StudyValidationError) -> None:
    # soft_wrap: an error line is copied into bug reports and grepped; never break it.
    stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    n = len(err.issues)
    stderr.print(
        f"[bold red]invalid study[/] {escape(err.path)}: {n} problem{'s' if n != 1 else ''}"
    )
    for issue in err.issues[:MAX_ISSUES_SHOWN]:
        stderr.print(f"  - {issue}", markup=False)
    if n > MAX_ISSUES_SHOWN:
        stderr.print(f"  ... and {n - MAX_ISSUES_SHOWN} more")


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a study folder."""
    study = load_study(args.study, allow_missing_loss=args.allow_missing_loss)
    summary = study.summary()
    if args.json:
        print(json.dumps({"valid": True, "study": str(args.study), **summary}, default=str))
        return EXIT_OK
    console = _console(args)
    console.print(
        f"[bold green]valid[/] {escape(str(args.study))}: {summary['runs']} runs, "
        f"{summary['languages']} languages, {summary['evaluations']} evaluations"
    )
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    """Summarise a fit file or a study folder."""
    if not Path(args.target).is_dir():
        return _summary_fit(args)
    args.study = args.target
    return cmd_summary_study(args)


def _summary_fit(args: argparse.Namespace) -> int:
    from atlas_bayes.fit_report import fit_summary_json, print_fit_summary
    from atlas_bayes.inference import load_fit

    fit = load_fit(args.target)
    if args.json:
        print(json.dumps(fit_summary_json(fit, args.ci_prob, args.ci_kind), indent=1, default=str))
    else:
        print_fit_summary(_console(args), fit, args.ci_prob, args.ci_kind)
    return strict_exit_code([fit], args.strict)


def cmd_summary_study(args: argparse.Namespace) -> int:
    """Summarise a study folder."""
    study = load_study(args.study)
    summary = study.summary()
    if args.json:
        print(json.dumps(summary, default=str, indent=2))
        return EXIT_OK
    print_study_summary(_console(args), str(args.study), summary)
    return EXIT_OK


def print_study_summary(console: Console, label: str, summary: dict) -> None:
    """Print a study summary as a table of facts and a table of runs by kind."""
    facts = Table(title=f"Study {escape(label)}", show_header=False)
    facts.add_column("what")
    facts.add_column("value")
    lo, hi = summary["params_range"]
    tlo, thi = summary["tokens_range"]
    facts.add_row("runs", str(summary["runs"]))
    facts.add_row(
        "by regime", ", ".join(f"{k} {v}" for k, v in sorted(summary["runs_by_regime"].items()))
    )
    facts.add_row(
        "languages", f"{summary['languages']} ({summary['evaluation_languages']} evaluated)"
    )
    facts.add_row("model sizes", f"{summary['model_sizes']}, {lo:.3g} to {hi:.3g} parameters")
    facts.add_row("training tokens per run", f"{tlo:.3g} to {thi:.3g}")
    facts.add_row(
        "evaluations",
        f"{summary['evaluations']} ({summary['checkpoint_evaluations']} at checkpoints)",
    )
    constrained = summary["data_constrained_languages"]
    facts.add_row("data-constrained languages", ", ".join(constrained) if constrained else "none")
    facts.add_row("content hash", summary["content_hash"][:16])
    console.print(facts)
    kinds = Table(title="Runs by kind")
    kinds.add_column("kind")
    kinds.add_column("runs", justify="right")
    for kind, count in sorted(summary["runs_by_kind"].items(), key=lambda kv: -kv[1]):
        kinds.add_row(kind, str(count))
    console.print(kinds)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Generate the simulated ATLAS study."""
    from atlas_bayes.simulate import simulate_atlas_study

    out = Path(args.out)
    if out.exists() and not args.force:
        raise BadInput(f"{out} exists; pass --force to replace it")
    simulation = simulate_atlas_study(seed=args.seed)
    simulation.write(out, overwrite=args.force)
    console = _console(args)
    summary = simulation.study.summary()
    console.print(
        f"[bold green]simulated[/] study (seed {args.seed}) written to {escape(str(out))}: "
        f"{summary['runs']} runs, {summary['languages']} languages, "
        f"{summary['evaluations']} evaluations; ground truth in {escape(str(out / 'truth.json'))}"
    )
    return EXIT_OK


def _progress(args: argparse.Namespace) -> bool:
    # nutpie draws its progress bar on stderr.
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def cmd_fit(args: argparse.Namespace) -> int:
    """Fit a variant to a study and save the posterior."""
    from atlas_bayes.fit_report import print_gate_verdict
    from atlas_bayes.inference import SamplerSettings, fit_variant
    from atlas_bayes.variants import load_variant

    out = Path(args.out)
    if out.exists() and not args.force:
        raise BadInput(f"{out} exists; pass --force to replace it")
    spec = load_variant(args.model)
    study = load_study(args.study)
    settings = SamplerSettings(
        sampler=args.sampler,
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        seed=args.seed,
        target_accept=args.target_accept,
        mass_matrix=args.mass_matrix,
    ).for_variant(spec)
    console = _console(args)
    console.print(
        f"fitting [bold]{escape(spec.name)}[/] to {escape(str(args.study))} "
        f"({settings.chains} chains x {settings.draws} draws, {settings.tune} tuning, "
        f"{settings.sampler}, seed {settings.seed}); compiling the model first"
    )
    fit = fit_variant(study, spec, settings, progress=_progress(args))
    fit.save(out, overwrite=args.force)
    print_gate_verdict(console, fit)
    console.print(f"wrote {escape(str(out))} ({fit.meta['fit_seconds']:.0f} s)")
    return strict_exit_code([fit], args.strict)


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict losses of a study's (run, language) pairs from a saved fit."""
    import numpy as np

    from atlas_bayes.inference import load_fit
    from atlas_bayes.inference.predict import predictive_loss, summarise_predictions
    from atlas_bayes.modeling.data import build_prediction_data

    out = Path(args.out)
    if out.exists() and not args.force:
        raise BadInput(f"{out} exists; pass --force to replace it")
    fit = load_fit(args.fit)
    study = load_study(args.study, allow_missing_loss=True)
    data = build_prediction_data(study, fit.data)
    draws = predictive_loss(fit, data, seed=args.seed)
    table = summarise_predictions(draws, np.exp(data["log_loss"].values))
    seen = study.evals["tokens_seen"] if "tokens_seen" in study.evals else None
    if seen is not None:
        table.insert(2, "tokens_seen", seen.to_numpy())
    from atlas_bayes.atomic import atomic_file

    with atomic_file(out, overwrite=args.force) as staging:
        table.to_csv(staging, index=False, float_format="%.6g")
    _console(args).print(
        f"wrote {len(table)} predictions to {escape(str(out))} (mean, median, 50 % and 90 % "
        "equal-tailed posterior predictive intervals, in nats per token)"
    )
    if not fit.diagnostics.passed:
        _warn_gate([fit])
    return strict_exit_code([fit], args.strict)


def _warn_gate(fits: Sequence) -> None:
    names = ", ".join(fit.spec.name for fit in fits if not fit.diagnostics.passed)
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]WARNING:[/] {escape(names)} failed the convergence gate: treat the numbers "
        "with caution (atlas-bayes summary FIT.nc says why)"
    )


def cmd_prior_check(args: argparse.Namespace) -> int:
    """Prior predictive check of a variant on a study."""
    from atlas_bayes.inference.prior_check import prior_predictive_check
    from atlas_bayes.variants import load_variant

    spec = load_variant(args.model)
    study = load_study(args.study)
    check = prior_predictive_check(
        study, spec, draws=args.draws, seed=args.seed, ci_prob=args.ci_prob
    )
    if args.json:
        print(
            json.dumps(
                {
                    "summary": check.summary,
                    "sentence": check.sentence(),
                    "parameters": check.parameters.to_dict(orient="records"),
                },
                indent=1,
                default=str,
            )
        )
        return EXIT_OK
    console = _console(args)
    table = Table(title=f"Prior of {escape(spec.name)}: population values")
    for column in ("parameter", "median", "interval"):
        table.add_column(column)
    for row in check.parameters.itertuples():
        table.add_row(
            row.parameter,
            f"{row.median:.3g}",
            f"[{row.ci_low:.3g}, {row.ci_high:.3g}] ({row.ci_prob:.0%} equal-tailed)",
        )
    console.print(table)
    console.print(escape(check.sentence()))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write the uncertainty report of one or more fits (HTML, and Markdown beside it)."""
    from atlas_bayes.inference import load_fit
    from atlas_bayes.report import build_report

    out = args.out
    if out.suffix.lower() not in (".html", ".htm"):
        raise BadInput(f"--out {out}: expected an .html file (the Markdown goes beside it)")
    markdown = None if args.no_markdown else out.with_suffix(".md")
    for path in (out, markdown):
        if path is not None and path.exists() and not args.force:
            raise BadInput(f"{path} exists; pass --force to replace it")
    study = load_study(args.study) if args.study else None
    console = _console(args)
    fits = []
    for path in args.fits:
        with console.status(f"loading {escape(str(path))}"):
            fits.append(load_fit(path))
    with console.status("computing and rendering the report"):
        paths = build_report(
            fits,
            out,
            markdown,
            study=study,
            ci_prob=args.ci_prob,
            ci_kind=args.ci_kind,
            overwrite=args.force,
        )
    failed = [f.spec.name for f in fits if not f.diagnostics.passed]
    console.print(
        f"wrote {escape(str(paths.html))}"
        + (f" and {escape(str(paths.markdown))}" if paths.markdown else "")
        + f" in {paths.seconds:.0f} s"
    )
    if failed:
        names = escape(", ".join(failed))
        console.print(f"[yellow]note:[/] the report flags fits that failed the gate: {names}")
    return strict_exit_code(fits, args.strict)


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare fits of the same observations by PSIS-LOO (exit 2 if they cannot be)."""
    from atlas_bayes.comparison import ComparisonError, compare_fits
    from atlas_bayes.comparison.console import print_comparison
    from atlas_bayes.inference import FitFileError, load_fit

    fits = []
    for path in args.fits:
        try:
            fits.append(load_fit(path))
        except FitFileError as err:
            raise BadInput(f"cannot compare: {err}") from None
    # Variant names label the fits, unless two fits share one: then their file names do.
    names = [fit.spec.name for fit in fits]
    if len(set(names)) < len(names):
        names = [path.stem for path in args.fits]
        if len(set(names)) < len(names):
            names = [str(path) for path in args.fits]
    try:
        comparison = compare_fits(dict(zip(names, fits, strict=True)))
    except ComparisonError as err:
        raise BadInput(f"cannot compare: {err}") from None
    if args.json:
        files = {name: str(path) for name, path in zip(names, args.fits, strict=True)}
        print(json.dumps({**comparison.to_dict(), "files": files}, indent=1))
        return EXIT_OK
    print_comparison(_console(args), comparison)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the main job on the bundled study."""
    from atlas_bayes.demo import run_demo

    out = Path(args.out)
    if out.exists() and not args.force:
        raise BadInput(f"{out} exists; pass --force to replace it")
    console = _console(args)
    return run_demo(
        out=out,
        force=args.force,
        quick=args.quick,
        strict=args.strict,
        console=console,
        # Spinners only for a person watching a terminal, never in logs or pipes.
        progress=not args.quiet and console.is_terminal,
    )


EXAMPLES = {
    "validate": """
        examples:
          atlas-bayes validate data/atlas_sim
          atlas-bayes validate my_study --json
        """,
    "summary": """
        examples:
          atlas-bayes summary fit.nc
          atlas-bayes summary fit.nc --ci-prob 0.5 --ci-kind hdi --json
          atlas-bayes summary fit.nc --strict   # exit 3 if the fit failed its gate
          atlas-bayes summary data/atlas_sim
        """,
    "fit": """
        examples:
          atlas-bayes fit data/atlas_sim --model data_constrained --out dc.nc --seed 1
          atlas-bayes fit my_study --model my_variant.toml --out fit.nc --strict
        """,
    "predict": """
        examples:
          atlas-bayes predict dc.nc new_runs/ --out predictions.csv
          atlas-bayes predict dc.nc new_runs/ --out predictions.csv --force --strict
        """,
    "prior-check": """
        examples:
          atlas-bayes prior-check data/atlas_sim --model atlas
          atlas-bayes prior-check my_study --model my_variant.toml --draws 1000 --json
        """,
    "simulate": """
        examples:
          atlas-bayes simulate --seed 11 --out /tmp/sim
          atlas-bayes simulate --seed 3 --out /tmp/sim --force
          atlas-bayes validate /tmp/sim
        """,
    "demo": """
        examples:
          atlas-bayes demo --out demo-out           # about 7 minutes on 2 idle cores
          atlas-bayes demo --out /tmp/first --quick # under 3 minutes: curse + atlas_matrix
          atlas-bayes demo --out demo-out --force --strict --quiet

        writes into --out (complete, or not at all): report.html and report.md (the
        uncertainty report), recommendations.json, summary.md and fits/<variant>.nc
        """,
    "report": """
        examples:
          atlas-bayes report fits/atlas_matrix.nc fits/curse.nc --out report.html
          atlas-bayes report fits/*.nc --study data/atlas_sim --out out/report.html --force
          atlas-bayes report fit.nc --out report.html --ci-prob 0.8 --ci-kind hdi --strict
        """,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``atlas-bayes`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="atlas-bayes",
        description="Bayesian multilingual scaling laws (ATLAS) with credible intervals.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(
            """
            exit codes: 0 success, 2 bad input, 3 failed convergence gate (--strict)
            examples:
              atlas-bayes demo --out demo-out
              atlas-bayes simulate --seed 11 --out /tmp/sim && atlas-bayes validate /tmp/sim
            """
        ),
    )
    from atlas_bayes import __version__

    parser.add_argument("--version", action="version", version=f"atlas-bayes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str):
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=textwrap.dedent(EXAMPLES.get(name, "")),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
        p.set_defaults(func=func)
        return p

    p = add("validate", cmd_validate, "Check a study folder; exit 0 if valid, 2 with the errors.")
    p.add_argument("study", type=Path, help="study folder (runs, mixture, evals[, languages])")
    p.add_argument("--json", action="store_true", help="machine-readable verdict")
    p.add_argument(
        "--allow-missing-loss", action="store_true", help="accept evals without loss (to predict)"
    )

    p = add(
        "summary",
        cmd_summary,
        "Summarise a fit (parameters with intervals, diagnostics) or a study folder.",
    )
    p.add_argument("target", type=Path, help="a fit file (FIT.nc) or a study folder")
    p.add_argument("--json", action="store_true", help="machine-readable summary")
    add_interval_options(p)
    add_strict_option(p, "the fit")

    p = add("fit", cmd_fit, "Fit a model variant to a study with NUTS; save the posterior.")
    p.add_argument("study", type=Path, help="study folder")
    p.add_argument("--model", required=True, help="variant name (atlas, ...) or a .toml path")
    p.add_argument("--out", type=Path, required=True, help="fit file to write (FIT.nc)")
    p.add_argument("--sampler", choices=SAMPLERS, default="nutpie", help="NUTS implementation")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument(
        "--draws", type=int, default=None, help="kept draws per chain (default: the variant's)"
    )
    p.add_argument(
        "--tune", type=int, default=None, help="tuning draws per chain (default: the variant's)"
    )
    p.add_argument("--seed", type=int, default=0, help="the one random seed")
    p.add_argument(
        "--target-accept",
        type=float,
        default=None,
        help="step-size adaptation target in (0, 1) (default: the variant's model.target_accept);"
        " raise it (0.9) if a fit reports divergences",
    )
    p.add_argument(
        "--mass-matrix",
        choices=("diag", "low_rank"),
        default=None,
        help="nutpie's mass-matrix adaptation (default: the variant's model.mass_matrix)",
    )
    add_strict_option(p, "the fit")
    p.add_argument("--force", action="store_true", help="replace an existing fit file")

    p = add("predict", cmd_predict, "Predict losses for a study's (run, language) pairs.")
    p.add_argument("fit", type=Path, help="fit file")
    p.add_argument("study", type=Path, help="study folder listing what to predict (loss optional)")
    p.add_argument("--out", type=Path, required=True, help="CSV to write")
    p.add_argument("--seed", type=int, default=0, help="seed of the predictive noise draws")
    add_strict_option(p, "the fit")
    p.add_argument("--force", action="store_true", help="replace an existing file")

    p = add("prior-check", cmd_prior_check, "What a variant's priors imply for a study.")
    p.add_argument("study", type=Path, help="study folder")
    p.add_argument("--model", required=True, help="variant name or .toml path")
    p.add_argument("--draws", type=int, default=500, help="prior draws")
    p.add_argument(
        "--ci-prob",
        type=probability,
        default=CI_PROB,
        help=f"equal-tailed interval probability (default {CI_PROB})",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("simulate", cmd_simulate, "Generate the simulated ATLAS study and its ground truth.")
    p.add_argument("--seed", type=int, default=11, help="random seed (default 11, the bundled one)")
    p.add_argument("--out", type=Path, required=True, help="output folder (must not exist)")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")

    add_recommend_parser(add)
    add_crossval_parser(add)

    p = add(
        "report", cmd_report, "Write the uncertainty report of fits (self-contained HTML + .md)."
    )
    p.add_argument("fits", type=Path, nargs="+", help="fit files (FIT.nc ...), of one study")
    p.add_argument("--out", type=Path, required=True, help="HTML file to write (report.html)")
    p.add_argument("--study", type=Path, default=None, help="the study folder, for its summary")
    p.add_argument("--no-markdown", action="store_true", help="skip the Markdown version")
    add_interval_options(p)
    add_strict_option(p, "any fit")
    p.add_argument("--force", action="store_true", help="replace existing report files")

    p = add("compare", cmd_compare, "Rank fits of the same observations by PSIS-LOO.")
    p.epilog = textwrap.dedent(
        """
        examples:
          atlas-bayes compare chinchilla.nc data_constrained.nc atlas.nc
          atlas-bayes compare fits/*.nc --json
        exit 2: fits of different studies or observations, a fit without log-likelihood, or
        an unreadable file
        """
    )
    p.add_argument("fits", type=Path, nargs="+", help="fit files (FIT.nc ...) of one study")
    p.add_argument("--json", action="store_true", help="machine-readable comparison")

    p = add(
        "demo",
        cmd_demo,
        "Run the main job on the bundled simulated study: fit curse, atlas_matrix and "
        "crossover, compute the headline recommendations, write the uncertainty report.",
    )
    p.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder")
    p.add_argument(
        "--quick",
        action="store_true",
        help="two variants (curse, atlas_matrix) with short chains, for a first look",
    )
    add_strict_option(p, "any fit")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    return parser


def _input_errors() -> tuple[type[Exception], ...]:
    from atlas_bayes.decisions import DecisionError
    from atlas_bayes.inference import FitFileError
    from atlas_bayes.inference.sampling import SamplerUnavailable, SettingsError
    from atlas_bayes.modeling.data import ModelDataError
    from atlas_bayes.validation import FitMethodError, SplitError
    from atlas_bayes.variants import SpecError

    return (
        SpecError, FitFileError, ModelDataError, SamplerUnavailable, SettingsError, DecisionError,
        SplitError, FitMethodError,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``atlas-bayes``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except StudyValidationError as err:
        _print_issues(err)
        return EXIT_BAD_INPUT
    except (BadInput, FileExistsError, *_input_errors()) as err:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[bold red]error:[/] {escape(str(err))}"
        )
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
