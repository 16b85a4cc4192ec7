"""Build the uncertainty report of a set of fits: compute, compose, render, write atomically."""

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from atlas_bayes import __version__
from atlas_bayes.atomic import atomic_file
from atlas_bayes.findings.crossover import CROSSOVER_LAWS
from atlas_bayes.inference import Fit
from atlas_bayes.intervals import CI_KIND, CI_PROB, interval_label
from atlas_bayes.report import compose, sections
from atlas_bayes.report.document import Document
from atlas_bayes.report.render import render_html, render_markdown
from atlas_bayes.study import Study

TITLE = "atlas_bayes uncertainty report"


@dataclass(frozen=True)
class ReportPaths:
    """Where a report was written, and how long it took.

    Attributes
    ----------
    html : pathlib.Path
        The self-contained HTML report.
    markdown : pathlib.Path or None
        The Markdown report, if one was asked for.
    seconds : float
        Wall time of computing, rendering and writing.
    """

    html: Path
    markdown: Path | None
    seconds: float


def _check_request(fits: Sequence[Fit], ci_prob: float, ci_kind: str) -> None:
    if not fits:
        raise ValueError("a report needs at least one fit")
    if not 0 < ci_prob < 1:
        raise ValueError(f"ci_prob must be between 0 and 1, got {ci_prob!r}")
    if ci_kind not in ("eti", "hdi"):
        raise ValueError(f"ci_kind must be 'eti' or 'hdi', got {ci_kind!r}")


def report_document(
    fits: Sequence[Fit],
    study: Study | None = None,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
    max_draws: int | None = sections.MAX_PREDICTIVE_DRAWS,
    intro: str = "",
) -> Document:
    """Compute every section that some fit can fill and compose the report.

    Parameters
    ----------
    fits
        Fitted variants (any laws; several fits of one study are compared by LOO).
    study
        The study the fits were fitted to, for its summary (optional: the fits carry their
        data); a fit that records another study's hash is flagged at the top.
    ci_prob, ci_kind
        The credible interval of every posterior number (``"eti"`` or ``"hdi"``).
    max_draws
        Posterior draws used for the predictive check and the bands of figures (thinned
        evenly; None: all). Tables of posterior summaries always use every draw.
    intro
        A sentence or two under the title on what the fits are for (plain text; escaped).

    Returns
    -------
    Document
    """
    _check_request(fits, ci_prob, ci_kind)
    labels = sections.fit_labels(fits)
    by_label = dict(zip(labels, fits, strict=True))
    failed = {label for label, fit in by_label.items() if not fit.diagnostics.passed}
    fitted = sections.fitted_data(fits, labels, study)
    diagnostics = sections.diagnostics_table(fits, labels)
    checks = {
        label: sections.predictive_check(fit, ci_prob, max_draws) for label, fit in by_label.items()
    }
    comparisons = sections.loo_comparisons(fits, labels)
    scalings = {}
    for label, fit in by_label.items():
        scaling = sections.scaling_data(fit, ci_prob, ci_kind, max_draws)
        if scaling is not None:
            scalings[label] = scaling
    transfers = {
        label: sections.transfer_data(fit, ci_prob, ci_kind)
        for label, fit in by_label.items()
        if fit.spec.law == "atlas_matrix"
    }
    frontier = None
    chosen = sections.frontier_fit(fits)
    if chosen is not None:
        label, fit = labels[chosen], fits[chosen]
        shown = scalings[label]["languages"] if label in scalings else fit.languages
        languages = list(dict.fromkeys([shown[0], shown[-1]]))
        frontier = (label, fit.spec.law, sections.frontier_data(fit, languages, ci_prob, ci_kind))
    curses = {
        label: sections.curse_data(fit, ci_prob, ci_kind)
        for label, fit in by_label.items()
        if fit.spec.law == "curse"
    }
    crossovers = {
        label: sections.crossover_data(fit, ci_prob, ci_kind)
        for label, fit in by_label.items()
        if fit.spec.law in CROSSOVER_LAWS
    }
    rankings = {
        label: sections.parameter_ranking(sections.relative_widths(fit, ci_prob, ci_kind))
        for label, fit in by_label.items()
    }
    pairs = {label: sections.widest_pairs(t) for label, t in transfers.items()}
    parts = [
        compose.fitted_section(fitted, ci_prob, ci_kind),
        compose.trust_section(diagnostics, checks, comparisons),
        compose.scaling_section(scalings, failed, ci_prob, ci_kind),
        compose.transfer_section(transfers, failed, ci_prob, ci_kind),
        compose.recommendations_section(frontier, curses, crossovers, failed, ci_prob, ci_kind),
        compose.narrowing_section(rankings, scalings, pairs, ci_prob, ci_kind),
    ]
    made = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    facts = [
        f"Made {made} by atlas_bayes {__version__} from {len(fits)} fit(s): {', '.join(labels)}.",
        f"Posterior numbers: mean [{interval_label(ci_prob, ci_kind)}]; predictive intervals "
        "are equal-tailed.",
        "Converged fits: "
        + (", ".join(label for label in labels if label not in failed) or "none")
        + "; failed the convergence gate: "
        + (", ".join(label for label in labels if label in failed) or "none")
        + ".",
    ]
    return Document(
        title=TITLE,
        facts=facts,
        banners=compose.banners(diagnostics, fitted["study_matches"]),
        sections=[part for part in parts if part is not None],
        intro=intro,
    )


def build_report(
    fits: Sequence[Fit],
    out_html: str | Path,
    out_md: str | Path | None = None,
    study: Study | None = None,
    ci_prob: float = CI_PROB,
    ci_kind: str = CI_KIND,
    overwrite: bool = False,
    max_draws: int | None = sections.MAX_PREDICTIVE_DRAWS,
    intro: str = "",
) -> ReportPaths:
    """Write the uncertainty report of ``fits`` as self-contained HTML (and Markdown).

    The report has up to six sections, each shown when some fit can fill it: what was
    fitted; whether the numbers can be trusted (convergence gate, posterior predictive check,
    LOO comparison); scaling curves with bands and extrapolation fans; the transfer matrix
    (``atlas_matrix`` fits); recommendations (compute-optimal frontier, adding languages for
    ``curse`` fits, pretrain or finetune for crossover fits); and where the posterior is
    still wide. A fit that failed its convergence gate is named in a warning at the top.

    Parameters
    ----------
    fits
        Fitted variants.
    out_html
        Path of the HTML report.
    out_md
        Path of the Markdown report (None: none written).
    study
        The study the fits were fitted to (optional; see :func:`report_document`).
    ci_prob, ci_kind
        The credible interval of every posterior number, passed to ArviZ explicitly.
    overwrite
        Replace existing report files.
    max_draws
        Posterior draws for the predictive check and figure bands (see
        :func:`report_document`).
    intro
        What the fits are for, shown under the title (see :func:`report_document`).

    Returns
    -------
    ReportPaths

    Raises
    ------
    FileExistsError
        If an output exists and ``overwrite`` is false (checked before any work).
    ValueError
        No fits, the same path for both outputs, or an invalid interval.

    Examples
    --------
    >>> from atlas_bayes.inference import load_fit
    >>> fits = [load_fit("fits/crossover.nc"), load_fit("fits/atlas_matrix.nc")]  # doctest: +SKIP
    >>> build_report(fits, "report.html", "report.md")  # doctest: +SKIP
    """
    start = time.perf_counter()
    out_html = Path(out_html)
    out_md = Path(out_md) if out_md is not None else None
    _check_request(fits, ci_prob, ci_kind)
    if out_md is not None and out_md.resolve() == out_html.resolve():
        raise ValueError(f"the HTML and Markdown reports need different paths, got {out_html}")
    if not overwrite:
        for path in (out_html, out_md):
            if path is not None and path.exists():
                raise FileExistsError(
                    f"{path} exists; pass overwrite=True (--force) to replace the report"
                )
    document = report_document(fits, study, ci_prob, ci_kind, max_draws, intro)
    html = render_html(document)
    markdown = render_markdown(document) if out_md is not None else None
    with atomic_file(out_html, overwrite=overwrite) as staging:
        staging.write_text(html, encoding="utf-8")
        if out_md is not None:
            with atomic_file(out_md, overwrite=overwrite) as staging_md:
                staging_md.write_text(markdown, encoding="utf-8")
    return ReportPaths(out_html, out_md, time.perf_counter() - start)


__all__ = ["TITLE", "ReportPaths", "build_report", "report_document"]
