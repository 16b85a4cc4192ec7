"""``atlas-bayes demo``: the main job on the bundled study, from data to report."""

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from atlas_bayes.atomic import atomic_folder
from atlas_bayes.demo import outputs
from atlas_bayes.demo.fitting import fit_in_stages
from atlas_bayes.demo.headline import headline_recommendations, headline_table
from atlas_bayes.demo.plan import DEMO_CI_KIND, DEMO_CI_PROB, DemoFit, demo_plan, report_intro
from atlas_bayes.demo.study_check import check_bundled_study
from atlas_bayes.exit_codes import EXIT_FAILED, strict_exit_code
from atlas_bayes.fit_report import print_gate_verdict
from atlas_bayes.inference import Fit
from atlas_bayes.report import build_report
from atlas_bayes.study import Study
from atlas_bayes.variants import load_variant


def _progress(console: Console, show: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=True,
    )


def _fit_one(
    study: Study, item: DemoFit, index: int, total: int, progress: Progress
) -> tuple[Fit, dict[str, float]]:
    s = item.settings
    what = {
        "compiling": "compiling the model",
        "sampling": f"sampling {s.chains} chains x {s.draws} draws after {s.tune} tuning",
        "summarising": "computing diagnostics and the log-likelihood",
    }
    task = progress.add_task(f"fit {index}/{total} {item.variant}", total=None)

    def on_stage(stage: str) -> None:
        # Drawn at once: a stage can last minutes, and the user should see it start.
        progress.update(
            task, description=f"fit {index}/{total} {item.variant}: {what[stage]}", refresh=True
        )

    try:
        return fit_in_stages(study, load_variant(item.variant), s, on_stage)
    finally:
        progress.remove_task(task)


def run_demo(
    out: Path,
    force: bool = False,
    quick: bool = False,
    strict: bool = False,
    console: Console | None = None,
    progress: bool = False,
) -> int:
    """Run the demo into ``out`` and return the exit code.

    Validates the bundled simulated study and checks that its seed re-creates it; fits
    ``curse``, ``atlas_matrix`` and ``crossover`` (``--quick``: ``curse`` and
    ``atlas_matrix``) with nutpie and seed 11;
    computes the headline recommendations; writes the report; prints where everything is and a
    table of the headline numbers. Sampler settings: full mode 4 chains each, ``curse`` 300
    draws after 300 tuning, ``atlas_matrix`` and ``crossover`` 250 after 250 (under 7 minutes
    on 2 idle cores); ``--quick`` 2 chains each, ``curse`` 300 draws after 300 tuning,
    ``atlas_matrix`` 150 after 150 (under 3 minutes). See :mod:`atlas_bayes.demo.plan`. Such
    short chains can fail the convergence gate; the report and the summary then say so.

    Everything is written into a staging folder beside ``out`` and renamed into place at the
    end, so ``out`` is complete or absent: an error leaves no half-written folder.

    Parameters
    ----------
    out
        Output folder: ``fits/<variant>.nc``, ``recommendations.json``, ``report.html``,
        ``report.md`` and ``summary.md``.
    force
        Replace an existing ``out`` (only once the new one is complete).
    quick
        Fewer fits and draws, for a first look.
    strict
        Return 3 if any fit failed its convergence gate (the outputs are still written).
    console
        Where to print (a default console if None; ``Console(quiet=True)`` prints nothing).
    progress
        Show a spinner for each long step (compiling, sampling, rendering).

    Returns
    -------
    int
        0 on success; 3 under ``strict`` when a fit failed its gate; 1 if the bundled study
        no longer re-simulates from its seed (a bug).

    Raises
    ------
    FileExistsError
        If ``out`` exists and ``force`` is false (before any work; the CLI exits with 2).
    """
    console = console or Console()
    plan = demo_plan(quick)
    start = time.perf_counter()
    # Wall seconds of each step, for summary.md: the demo's budget is stated and checked.
    timings: dict[str, float] = {}
    with atomic_folder(out, overwrite=force) as staging:
        console.print(
            "[bold]1/4[/] validating the bundled simulated study and re-simulating it from its seed"
        )
        with _progress(console, progress) as bar:
            bar.add_task("loading, validating, re-simulating", total=None)
            checked = check_bundled_study(staging)
        timings["study check"] = time.perf_counter() - start
        verdict = "[green]identical[/]" if checked.reproducible else "[bold red]DIFFERENT[/]"
        console.print(f"    {escape(str(checked.path))}: re-simulated from its seed, {verdict}")

        console.print(
            f"[bold]2/4[/] fitting {len(plan)} variants"
            + (" (--quick: fewer variants and draws)" if quick else "")
        )
        (staging / outputs.FITS_DIR).mkdir()
        clock = time.perf_counter()
        fits: dict[str, Fit] = {}
        seconds: dict[str, dict[str, float]] = {}
        for index, item in enumerate(plan, start=1):
            with _progress(console, progress) as bar:
                fit, seconds[item.variant] = _fit_one(checked.study, item, index, len(plan), bar)
            fit.save(staging / outputs.FITS_DIR / f"{item.variant}.nc")
            fits[item.variant] = fit
            console.print(
                f"    {escape(item.describe())}: {sum(seconds[item.variant].values()):.0f} s"
            )
            print_gate_verdict(console, fit, brief=True)
        timings["fits"] = time.perf_counter() - clock

        console.print("[bold]3/4[/] computing the headline recommendations")
        clock = time.perf_counter()
        with _progress(console, progress) as bar:
            bar.add_task("decisions, draw by draw", total=None)
            headlines = headline_recommendations(fits, checked.truth)
        table = headline_table(headlines, DEMO_CI_PROB, DEMO_CI_KIND)
        timings["recommendations"] = time.perf_counter() - clock

        console.print("[bold]4/4[/] writing the uncertainty report")
        clock = time.perf_counter()
        with _progress(console, progress) as bar:
            bar.add_task("computing, drawing and rendering the report", total=None)
            build_report(
                list(fits.values()),
                staging / outputs.REPORT_HTML,
                staging / outputs.REPORT_MD,
                study=checked.study,
                ci_prob=DEMO_CI_PROB,
                ci_kind=DEMO_CI_KIND,
                intro=report_intro(plan),
            )
        timings["report"] = time.perf_counter() - clock
        timings["total"] = time.perf_counter() - start
        run = outputs.DemoRun(
            checked, plan, fits, seconds, headlines, DEMO_CI_PROB, DEMO_CI_KIND, quick, timings
        )
        outputs.write_recommendations(run, staging / outputs.RECOMMENDATIONS)
        outputs.write_summary(run, table, staging / outputs.SUMMARY)
    console.print(f"finished in {time.perf_counter() - start:.0f} s")
    outputs.print_outputs(console, out, run, table)
    failed = [name for name, fit in fits.items() if not fit.diagnostics.passed]
    if failed:
        console.print(
            f"[yellow]note:[/] {escape(', '.join(failed))} failed the convergence gate (the "
            "demo's chains are short); the report flags their numbers"
            + ("; exiting with 3 (--strict)" if strict else "")
        )
    if not checked.reproducible:
        return EXIT_FAILED
    return strict_exit_code(fits.values(), strict)


__all__ = ["run_demo"]
