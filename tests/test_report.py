"""The uncertainty report: written atomically, self-contained, sectioned, honest, escaped.

Small real fits with short chains (they fail the convergence gate, which the report must say);
the curse fit is a constructed posterior around the simulation's truth (as in
tests/test_decisions.py), because a real one needs the 120 capacity runs of many languages.
"""

import dataclasses
import json
import re

import numpy as np
import pytest
import xarray as xr

from atlas_bayes.inference import Fit, SamplerSettings, fit_variant
from atlas_bayes.inference.diagnostics import compute_diagnostics
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.report import build_report, report_document
from atlas_bayes.report.render import markdown_text, render_html, render_markdown
from atlas_bayes.report.sections import loo_comparisons
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.study import Study
from atlas_bayes.variants import load_variant

QUICK = SamplerSettings(chains=2, draws=100, tune=150, seed=3)
EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
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


def renamed(study: Study, old: str, new: str) -> Study:
    """``study`` with language ``old`` called ``new`` everywhere (validated again)."""

    def rename(frame):
        if frame is None:
            return None
        frame = frame.copy()
        frame["language"] = frame["language"].replace({old: new})
        return frame

    return Study.from_frames(
        study.runs, rename(study.mixture), rename(study.evals), rename(study.languages)
    )


@pytest.fixture(scope="module")
def evil_study(small_study) -> Study:
    """en, fr and sw monolingual runs, with sw renamed to an HTML script tag."""
    return renamed(small_study, "sw", EVIL)


@pytest.fixture(scope="module")
def pair_fits(evil_study) -> list[Fit]:
    """chinchilla and data_constrained on the same observations: a LOO comparison."""
    return [
        fit_variant(evil_study, load_variant("chinchilla"), QUICK),
        fit_variant(evil_study, load_variant("data_constrained"), QUICK),
    ]


@pytest.fixture(scope="module")
def matrix_fit(small_multilingual_study) -> Fit:
    return fit_variant(small_multilingual_study, load_variant("atlas_matrix"), QUICK)


@pytest.fixture(scope="module")
def crossover_fit(bundled_study) -> Fit:
    """Scratch and finetune runs of en and fr with their checkpoints (as in
    tests/test_new_variant_fits.py)."""
    runs = bundled_study.runs
    own = runs["run_id"].str.split("-").str[1].isin(("en", "fr"))
    chosen = runs[runs["kind"].isin(("monolingual", "finetune")) & own]
    chosen = chosen[
        ~chosen["run_id"].str.startswith("mono-") | chosen["run_id"].str.contains("-curve")
    ]
    keep = set(chosen["run_id"]) | set(chosen["base_run_id"].dropna())
    evals = bundled_study.evals
    evals = evals[
        evals["run_id"].isin(set(chosen["run_id"])) & evals["language"].isin(("en", "fr"))
    ]
    study = Study.from_frames(
        runs[runs["run_id"].isin(keep)],
        bundled_study.mixture[bundled_study.mixture["run_id"].isin(keep)],
        evals,
        bundled_study.languages,
    )
    return fit_variant(study, load_variant("crossover"), QUICK)


@pytest.fixture(scope="module")
def curse_fit(bundled_study) -> Fit:
    """A curse posterior: the truth's laws times exp(0.02 z), on the bundled capacity runs."""
    spec = load_variant("curse")
    data = build_model_data(bundled_study, spec)
    truth = json.loads((bundled_study_path() / "truth.json").read_text(encoding="utf-8"))
    by_language, population = truth["curse"]["by_language"], truth["curse"]["population"]
    languages = [str(x) for x in data["language"].values]
    chains, draws = 4, 150
    rng = np.random.default_rng(0)

    def spread(values, shape):
        return np.asarray(values) * np.exp(0.02 * rng.standard_normal(shape))

    shape = (chains, draws, len(languages))
    law = {
        name: spread([by_language[c][name] for c in languages], shape)
        for name in ("E", "A", "B", "alpha", "beta", "phi", "psi")
    }
    # The posterior stores the law at reference scales (see decisions.parameters).
    values = {
        "log_E": np.log(law["E"]),
        "log_a": np.log(law["A"])
        - law["alpha"] * np.log(spec.params_ref)
        + law["phi"] * np.log(spec.languages_ref),
        "log_b": np.log(law["B"])
        - law["beta"] * np.log(spec.tokens_ref)
        + law["psi"] * np.log(spec.languages_ref),
        **{name: law[name] for name in ("alpha", "beta", "phi", "psi")},
    }
    sample = ("chain", "draw")
    posterior = xr.Dataset(
        {name: (("chain", "draw", "language"), v) for name, v in values.items()}
        | {
            f"{name}_mu": (sample, spread(population[name], shape[:2]))
            for name in ("phi", "psi", "alpha", "beta")
        }
        | {"sigma": (sample, spread(0.01, shape[:2])), "nu": (sample, spread(10.0, shape[:2]))},
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "language": languages},
    )
    stats = xr.Dataset({"diverging": (sample, np.zeros((chains, draws), bool))})
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats, "fit_data": data})
    diagnostics = compute_diagnostics(tree, list(values))
    meta = {"seed": 0, "sampler": "constructed", "study_hash": bundled_study.content_hash()}
    return Fit(tree=tree, spec=spec, diagnostics=diagnostics, meta=meta)


@pytest.fixture(scope="module")
def report(pair_fits, matrix_fit, crossover_fit, curse_fit, tmp_path_factory):
    """One report of every kind of fit, as HTML and Markdown."""
    folder = tmp_path_factory.mktemp("report")
    fits = [*pair_fits, matrix_fit, crossover_fit, curse_fit]
    paths = build_report(fits, folder / "report.html", folder / "report.md", ci_prob=0.9)
    return {
        "paths": paths,
        "html": paths.html.read_text(encoding="utf-8"),
        "md": paths.markdown.read_text(encoding="utf-8"),
    }


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
