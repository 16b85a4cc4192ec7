"""``atlas-bayes crossval STUDY --model V --split NAME``: grouped cross-validation from the shell.

Fits every variant on each fold's training runs and scores its held-out predictions (R^2 and
absolute error of log-loss, held-out elpd, coverage of the 50 % and 90 % equal-tailed
posterior predictive intervals). ``--baseline-bootstrap N`` also fits each variant with the
grid-Huber point fit and N run-bootstrap resamples (method ``huber_bootstrap``, intervals from
the replicates plus normal noise at their robust residual scale), scored on the same folds, so
the tables put the Bayesian and the point-fit answers side by side. Folds run on a Dask
cluster: a local one with one single-threaded worker process per core by default,
``--workers 1`` for none (folds one after another here), or a running cluster with
``--scheduler tcp://HOST:8786``. Writes ``--out`` (one row per fold), ``OUT-summary.csv`` and
``OUT.json`` (everything, with definitions); exit codes: 0 success, 2 bad input (nothing is
written).
"""

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from atlas_bayes.validation.result import CVResult, output_paths
from atlas_bayes.validation.splits import SPLITS, SplitError, get_split

#: Exit code of bad input (as every ``atlas-bayes`` subcommand).
EXIT_BAD_INPUT = 2
#: Method label of the grid-Huber baseline (as :data:`atlas_bayes.baselines.HUBER_BOOTSTRAP`,
#: repeated here so that loading this module does not import the prediction code).
HUBER_BOOTSTRAP = "huber_bootstrap"

EXAMPLES = """
examples:
  atlas-bayes crossval data/atlas_sim --model chinchilla --model atlas --split largest_params
  atlas-bayes crossval STUDY --model atlas --split top_tokens --split unseen_mixtures \\
      --workers 8 --out cv.csv
  atlas-bayes crossval STUDY --model chinchilla --split leave_one_language_out \\
      --scheduler tcp://10.0.0.5:8786 --json
  atlas-bayes crossval STUDY --model chinchilla --model data_constrained \\
      --split largest_params --baseline-bootstrap 400 --out cv.csv
splits: """ + ", ".join(SPLITS)

HELP = "Cross-validate variants on held-out runs (extrapolation in N, D, compute, mixtures)."


def add_crossval_parser(register: Any) -> argparse.ArgumentParser:
    """Register ``crossval``: with an ``argparse`` subparsers object or the CLI's ``add`` helper.

    Parameters
    ----------
    register
        ``parser.add_subparsers(...)``'s result, or a callable ``add(name, func, help_text)``
        returning the new subparser (``atlas_bayes.cli``'s helper, as ``recommend`` uses).

    Returns
    -------
    argparse.ArgumentParser
        The ``crossval`` parser, with ``func`` set to :func:`cmd_crossval`.
    """
    if hasattr(register, "add_parser"):
        p = register.add_parser(
            "crossval",
            help=HELP,
            description=HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=cmd_crossval)
    else:
        p = register("crossval", cmd_crossval, HELP)
    p.epilog = textwrap.dedent(EXAMPLES)
    p.add_argument("study", type=Path, help="study folder")
    p.add_argument(
        "--model",
        action="append",
        required=True,
        help="variant name or .toml path (repeat for several)",
    )
    p.add_argument(
        "--split",
        action="append",
        required=True,
        help=f"held-out split (repeat for several): {', '.join(SPLITS)}",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", default=None, help="address of a running Dask scheduler (tcp://HOST:PORT)"
    )
    where.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes of a local Dask cluster (default: one per core; 1: no cluster)",
    )
    p.add_argument("--chains", type=int, default=2, help="chains per fit (2)")
    p.add_argument("--draws", type=int, default=500, help="kept draws per chain (500)")
    p.add_argument("--tune", type=int, default=500, help="tuning draws per chain (500)")
    p.add_argument("--seed", type=int, default=0, help="base seed; each fold derives its own")
    p.add_argument(
        "--baseline-bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="also fit each variant with the grid-Huber baseline and N run-bootstrap resamples, "
        f"as method {HUBER_BOOTSTRAP} (default 0: off; variants of the laws chinchilla, "
        "data_constrained, atlas and he_multilingual)",
    )
    p.add_argument(
        "--out", type=Path, default=Path("crossval.csv"), help="per-fold CSV (crossval.csv)"
    )
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument("--json", action="store_true", help="print everything as JSON")
    return p


def _error(message: str) -> int:
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(message)}"
    )
    return EXIT_BAD_INPUT


def _cell(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return "-" if not np.isfinite(value) else f"{value:.{digits}f}"
    return str(value)


def print_summary(console: Console, result: CVResult) -> None:
    """The summary table (one row per variant, method and split) and the sentence."""
    table = Table(title="held-out scores (log-loss; intervals equal-tailed, predictive)")
    columns = ("variant", "method", "split", "folds", "n_heldout", "r2", "mae", "elpd",
               "cover50", "cover90")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:3] else "right")
    summary = result.summary
    for row in summary.itertuples(index=False):
        values = row._asdict()
        table.add_row(*(escape(_cell(values[c], 1 if c == "elpd" else 3)) for c in columns))
    console.print(table)
    for row in summary.itertuples(index=False):
        if row.note:
            label = f"{row.variant} ({row.method}) / {row.split}"
            console.print(f"  {escape(label)}: {escape(row.note)}")
    console.print(escape(result.sentence))


def cmd_crossval(args: argparse.Namespace) -> int:
    """Cross-validate variants on a study; write the tables; print the summary."""
    from atlas_bayes.baselines.fit import BASELINE_LAWS
    from atlas_bayes.inference import SamplerSettings
    from atlas_bayes.study import load_study
    from atlas_bayes.validation.cluster import connect, local_client
    from atlas_bayes.validation.crossval import cross_validate
    from atlas_bayes.variants import load_variant

    try:
        for name in args.split:
            get_split(name)
    except SplitError as err:
        return _error(str(err))
    if args.workers is not None and args.workers < 1:
        return _error(f"--workers must be >= 1, got {args.workers}")
    if args.baseline_bootstrap < 0:
        return _error(f"--baseline-bootstrap must be >= 0, got {args.baseline_bootstrap}")
    existing = [str(p) for p in output_paths(args.out).values() if p.exists()]
    if existing and not args.force:
        return _error(f"{', '.join(existing)} exist(s); pass --force to replace")
    specs = [load_variant(name) for name in args.model]
    entries: list[Any] = list(specs)
    skipped = []
    if args.baseline_bootstrap:
        from atlas_bayes.baselines.method import baseline_entries

        supported = [s for s in specs if s.law in BASELINE_LAWS]
        skipped = [s for s in specs if s.law not in BASELINE_LAWS]
        if not supported:
            return _error(
                "--baseline-bootstrap: no variant has a grid-Huber baseline (laws "
                f"{', '.join(BASELINE_LAWS)}); got "
                + ", ".join(f"{s.name} ({s.law})" for s in specs)
            )
        baselines = {e.spec.name: e for e in baseline_entries(supported, args.baseline_bootstrap)}
        # Each variant's baseline right after its NUTS entry: their rows sit together.
        entries = [
            e for s in specs for e in ([s, baselines[s.name]] if s.name in baselines else [s])
        ]
    study = load_study(args.study)
    settings = SamplerSettings(chains=args.chains, draws=args.draws, tune=args.tune, seed=args.seed)
    console = Console(quiet=getattr(args, "quiet", False) or args.json, highlight=False)
    where = (
        f"Dask scheduler {args.scheduler}"
        if args.scheduler
        else "this process"
        if args.workers == 1
        else f"a local Dask cluster ({args.workers or 'one per core'} worker processes)"
    )
    console.print(
        f"cross-validating {', '.join(s.name for s in specs)} on {escape(str(args.study))}: "
        f"splits {', '.join(args.split)}; {settings.chains} chains x {settings.draws} draws "
        f"({settings.tune} tuning) per fold, on {escape(where)}"
    )
    if args.baseline_bootstrap:
        console.print(
            f"  and the grid-Huber baseline with {args.baseline_bootstrap} run-bootstrap "
            f"resamples per fold (method {HUBER_BOOTSTRAP})"
        )
    for spec in skipped:
        console.print(
            f"  no grid-Huber baseline for {escape(spec.name)} (law {spec.law}; baselines fit "
            f"{', '.join(BASELINE_LAWS)}): NUTS only"
        )
    if args.scheduler:
        with connect(args.scheduler) as client:
            result = cross_validate(study, entries, args.split, settings, client)
    elif args.workers == 1:
        result = cross_validate(study, entries, args.split, settings)
    else:
        with local_client(args.workers) as client:
            result = cross_validate(study, entries, args.split, settings, client)
    if args.baseline_bootstrap:
        result.meta["baseline"] = {
            "method": HUBER_BOOTSTRAP,
            "n_bootstrap": args.baseline_bootstrap,
            "variants": [s.name for s in specs if s.law in BASELINE_LAWS],
            "description": "grid-Huber point fit (L-BFGS-B from the best grid points) with a "
            "run-level bootstrap; predictive: each replicate's law plus normal noise at its "
            "robust residual scale (1.4826 x MAD on the training evaluations)",
        }
    paths = result.save(args.out, overwrite=args.force)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, default=str))
        return 0
    print_summary(console, result)
    console.print(
        "wrote "
        + ", ".join(escape(str(p)) for p in paths.values())
        + f" ({result.meta['seconds']:.0f} s)"
    )
    return 0


__all__ = ["add_crossval_parser", "cmd_crossval", "print_summary"]
