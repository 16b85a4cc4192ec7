"""The uncertainty report: written atomically, self-contained, sectioned, honest, escaped.

The fits and the rendered ``report`` are session fixtures of tests/report_fits.py (see there).
"""

import dataclasses
import re

import pytest
import xarray as xr
from report_fits import ESCAPED, EVIL

from atlas_bayes.inference import Fit
from atlas_bayes.report import build_report, report_document
from atlas_bayes.report.render import markdown_text, render_html, render_markdown
from atlas_bayes.report.sections import loo_comparisons

SECTION_TITLES = (
    "1. What was fitted",
    "2. Can these numbers be trusted?",
    "3. Scaling",
    "4. Transfer between languages",
    "5. Recommendations",
    "6. Where the posterior is still wide",
)
SUBSECTIONS = (
    "Posterior predictive check",
    "Leave-one-out comparison",
    "Best sources of a few targets",
    "Beside the paper",
    "Compute-optimal allocation",
    "Adding languages",
    "Pretrain or finetune",
)


def passed(fit: Fit) -> Fit:
    """``fit`` as if it had passed the convergence gate."""
    return dataclasses.replace(fit, diagnostics=dataclasses.replace(fit.diagnostics, problems=[]))


def failed(fit: Fit, problem: str) -> Fit:
    """``fit`` with one convergence problem."""
    return dataclasses.replace(
        fit, diagnostics=dataclasses.replace(fit.diagnostics, problems=[problem])
    )


def test_report_is_written_and_self_contained(report):
    # Guards: one HTML file that needs nothing else: no external resource, no script,
    # every image an embedded PNG; and the Markdown beside it.
    html = report["html"]
    assert report["paths"].html.is_file() and report["paths"].markdown.is_file()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html)
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script|<link|<iframe|@import", html, re.IGNORECASE)
    sources = re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", html)
    assert len(sources) >= 8
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    # No stray temporary file of the atomic write is left beside the reports.
    assert sorted(p.name for p in report["paths"].html.parent.iterdir()) == [
        "report.html",
        "report.md",
    ]


def test_report_has_every_section_in_order(report):
    # Guards: each of the six sections (and the subsections these fits can fill) appears,
    # in the order, in both renderings.
    html, md = report["html"], report["md"]
    positions = [html.index(f"<h2>{title}</h2>") for title in SECTION_TITLES]
    assert positions == sorted(positions)
    for title in SECTION_TITLES:
        assert f"## {title}" in md
    for heading in SUBSECTIONS:
        assert re.search(rf"<h3>{re.escape(heading)}", html), heading


def test_every_posterior_number_names_its_interval(pair_fits):
    # Guards: the interval asked for (here 80 % HDI) is the one stated, never the default.
    document = report_document(pair_fits[:1], ci_prob=0.8, ci_kind="hdi")
    html = render_html(document)
    assert "80% highest-density credible interval" in html
    assert "equal-tailed credible interval" not in html
    tables = [b for s in document.sections for b in s.blocks if b.kind == "table"]
    headers = [c for t in tables for c in t.columns if "credible interval" in c]
    assert len(headers) >= 3
    assert all("mean [80% highest-density credible interval]" in c for c in headers)


def test_failed_gate_is_flagged_before_the_first_section(pair_fits):
    # Guards: a fit that fails the convergence gate is named, with its problem, in a banner
    # above every section; a fit that passes gets no banner.
    clean = render_html(report_document([passed(pair_fits[0])]))
    assert 'class="banner"' not in clean
    problem = "R-hat 1.2 > 1.01 (worst: alpha[fr]): the chains disagree."
    html = render_html(report_document([failed(pair_fits[0], problem)]))
    banner = html.index('class="banner"')
    assert banner < html.index("<section")
    top = html[banner : html.index("</div>", banner)]
    assert "chinchilla" in top and "failed the convergence gate" in top
    assert "R-hat 1.2 &gt; 1.01 (worst: alpha[fr])" in top


def test_user_strings_are_escaped(report):
    # Guards: a language named like an HTML script tag is shown as text, never run, in both
    # the HTML and the Markdown.
    html, md = report["html"], report["md"]
    assert EVIL not in html and ESCAPED in html
    assert EVIL not in md and "&lt;script>" in md


def test_markdown_escapes_links_and_tags():
    # Guards: user text cannot form a Markdown link, image or HTML tag.
    text = markdown_text("[x](javascript:alert(1)) <img src=x> a & b \\[")
    assert "[" not in text.replace("\\[", "") and "<" not in text
    assert "&amp;" in text


def test_refuses_to_overwrite_unless_asked(pair_fits, tmp_path):
    # Guards: an existing report is never replaced silently, and is replaced on request.
    out = tmp_path / "report.html"
    out.write_text("old", encoding="utf-8")
    with pytest.raises(FileExistsError, match="report.html exists; pass overwrite=True"):
        build_report(pair_fits[:1], out)
    assert out.read_text(encoding="utf-8") == "old"
    build_report(pair_fits[:1], out, overwrite=True)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_loo_failure_is_reported_in_words(pair_fits):
    # Guards: a LOO comparison that cannot run (no log-likelihood) is explained, not raised.
    chinchilla, constrained = pair_fits
    bare = xr.DataTree.from_dict({"posterior": constrained.posterior, "fit_data": constrained.data})
    entries = loo_comparisons([chinchilla, dataclasses.replace(constrained, tree=bare)], ["a", "b"])
    assert len(entries) == 1 and entries[0]["table"] is None
    assert entries[0]["error"]
    document = report_document([chinchilla, dataclasses.replace(constrained, tree=bare)])
    text = render_markdown(document)
    assert "The LOO comparison of study" in text and "failed" in text


def test_report_command_writes_both_files_and_refuses_to_overwrite(pair_fits, tmp_path, capsys):
    # Guards: `atlas-bayes report` writes HTML + Markdown, exits 2 (nothing rewritten) when
    # they exist without --force, and exits 2 for an output that is not .html.
    from atlas_bayes.cli import main

    fit_path = pair_fits[0].save(tmp_path / "fit.nc")
    out = tmp_path / "out" / "report.html"
    assert main(["report", str(fit_path), "--out", str(out), "--quiet"]) == 0
    assert out.is_file() and out.with_suffix(".md").is_file()
    before = out.stat().st_mtime_ns
    assert main(["report", str(fit_path), "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.stat().st_mtime_ns == before
    assert main(["report", str(fit_path), "--out", str(tmp_path / "r.pdf")]) == 2
    assert "expected an .html file" in capsys.readouterr().err


def test_loo_of_different_run_selections_is_explained_not_failed(pair_fits, curse_fit):
    # Guards: fits of one study with different run selections (the demo's curse, crossover
    # and atlas_matrix) get a sentence saying LOO does not apply, not a failure warning.
    other = dataclasses.replace(
        pair_fits[0], meta={**pair_fits[0].meta, "study_hash": curse_fit.meta["study_hash"]}
    )
    entries = loo_comparisons([curse_fit, other], ["curse", "chinchilla"])
    assert len(entries) == 1
    assert entries[0]["unavailable"] and entries[0]["error"] is None
    text = render_markdown(report_document([curse_fit, other]))
    assert "No LOO comparison for study" in text
    assert "curse 870" in text
    assert "The LOO comparison of study" not in text


def test_intro_is_shown_under_the_title_and_escaped(pair_fits):
    # Guards: the caller's words on what the fits are for open the report, as text.
    document = report_document(pair_fits[:1], intro=f"Demo fits of {EVIL}.")
    html = render_html(document)
    assert f'<p class="intro">Demo fits of {ESCAPED}.</p>' in html
    assert html.index('class="intro"') < html.index("<section")
    assert "Demo fits of" in render_markdown(document)
