"""The new variants end to end on small studies: fit, save, load, findings, predictions.

These are pipeline checks with short chains, not recovery checks (those are in
tests/test_recovery.py and benchmarks/fit_variants.py). The crossover and atlas_matrix fits are
the session's (tests/report_fits.py), which the report's tests use too: one sampling each.
"""

import json

import numpy as np
import pytest

from atlas_bayes.cli import main
from atlas_bayes.findings import (
    crossover_compute_law,
    crossover_table,
    source_ranking,
    transfer_summary,
)
from atlas_bayes.inference import SamplerSettings, fit_variant
from atlas_bayes.inference.fitfile import load_fit
from atlas_bayes.inference.predict import mean_log_loss
from atlas_bayes.modeling.data import build_prediction_data
from atlas_bayes.modeling.transfer import transfer_matrix
from atlas_bayes.study import Study
from atlas_bayes.variants import load_variant


@pytest.fixture(scope="module")
def small_crossover_study(bundled_study) -> Study:
    """Scratch and finetune runs of en and fr, with the Unimax checkpoints they start from."""
    runs = bundled_study.runs
    languages = ("en", "fr")
    own = runs["run_id"].str.split("-").str[1].isin(languages)
    chosen = runs[(runs["kind"].isin(("monolingual", "finetune")) & own)]
    chosen = chosen[
        ~chosen["run_id"].str.startswith("mono-") | chosen["run_id"].str.contains("-curve")
    ]
    bases = runs[runs["run_id"].isin(chosen["base_run_id"].dropna())]
    keep = set(chosen["run_id"]) | set(bases["run_id"])
    evals = bundled_study.evals
    evals = evals[evals["run_id"].isin(set(chosen["run_id"])) & evals["language"].isin(languages)]
    mixture = bundled_study.mixture
    return Study.from_frames(
        runs[runs["run_id"].isin(keep)],
        mixture[mixture["run_id"].isin(keep)],
        evals,
        bundled_study.languages,
    )


def test_crossover_fit_saves_loads_and_answers(crossover_fit, small_crossover_study, tmp_path):
    # Guards: a crossover fit round-trips and gives crossovers for every finetuned cell.
    path = crossover_fit.save(tmp_path / "crossover.nc")
    loaded = load_fit(path)
    table = crossover_table(loaded)
    cells = table[table["quantity"] == "crossover tokens"]
    runs = small_crossover_study.runs
    assert len(cells) == (runs["regime"] == "finetune").sum()
    assert set(cells["language"]) == {"en", "fr"}
    assert {"p_crossover", "ci_prob", "ci_kind", "published"} <= set(table.columns)
    assert (cells["p_crossover"].between(0, 1)).all()
    # en at 2B has a published crossover, shown beside the posterior.
    assert (
        cells.loc[(cells["language"] == "en") & (cells["params"] == 2e9), "published"].item()
        == 144e9
    )
    law = crossover_compute_law(loaded, languages=["en"])
    assert law["b"].dims == ("chain", "draw")
    # The saved fit predicts its own data without the study folder.
    predicted = mean_log_loss(loaded, loaded.data)
    assert np.isfinite(predicted.values).all()


def test_atlas_matrix_fit_gives_the_matrix_and_rankings(matrix_fit, small_multilingual_study):
    # Guards: the matrix fit yields a (target, source) posterior, summaries and rankings.
    tau = transfer_matrix(matrix_fit)
    assert tau.dims == ("chain", "draw", "target", "source")
    np.testing.assert_array_equal(tau.sel(target="en", source="en").values, 1.0)
    summary = transfer_summary(matrix_fit)
    assert not (summary["target"] == summary["source"]).any()
    assert summary["p_positive"].between(0, 1).all()
    assert (summary["bts_ci_low"] <= summary["bts_ci_high"]).all()
    ranking = source_ranking(matrix_fit, "en")
    assert list(ranking["rank"]) == list(range(1, len(ranking) + 1))
    assert ranking["mean"].is_monotonic_decreasing
    # Predicting the study itself uses the same pairs.
    data = build_prediction_data(small_multilingual_study, matrix_fit.data)
    assert np.isfinite(mean_log_loss(matrix_fit, data).values).all()


def test_prior_initialization_is_seeded(small_multilingual_study):
    # Guards: chains started from prior draws (atlas_matrix_mixtures) are reproducible: the
    # same seed gives the same draws, and the fit records how its chains started.
    spec = load_variant("atlas_matrix_mixtures")
    tiny = SamplerSettings(chains=2, draws=20, tune=20, seed=5)
    first = fit_variant(small_multilingual_study, spec, tiny)
    second = fit_variant(small_multilingual_study, spec, tiny)
    assert first.meta["initialization"] == "prior"
    for name in ("tau_direct", "beta", "log_a"):
        np.testing.assert_array_equal(first.posterior[name].values, second.posterior[name].values)


@pytest.fixture(scope="module")
def saved_fits(crossover_fit, matrix_fit, tmp_path_factory):
    """The two small fits as files, as `atlas-bayes recommend` reads them."""
    folder = tmp_path_factory.mktemp("fits")
    return {
        "crossover": crossover_fit.save(folder / "crossover.nc"),
        "atlas_matrix": matrix_fit.save(folder / "atlas_matrix.nc"),
    }


SUMMARY_KEYS = {"quantity", "unit", "mean", "median", "ci_prob", "ci_kind", "ci_low", "ci_high"}


@pytest.mark.parametrize(
    ("fit", "request_args", "quantities"),
    [
        ("crossover", ["crossover", "--language", "en", "--params", "2e9", "--tokens", "3e11"],
         {"crossover_tokens", "crossover_compute", "loss_scratch", "scratch_better"}),
        ("crossover", ["compute-optimal", "--language", "fr", "--compute", "1e21"],
         {"params", "tokens", "tokens_per_param", "loss"}),
        ("atlas_matrix", ["sources", "--target", "en"], {"tau"}),
        ("atlas_matrix", ["mixture", "--target", "en", "--tokens", "1e10"],
         {"loss", "loss_target_only", "loss_unimax", "improvement_unimax"}),
    ],
)  # fmt: skip
def test_recommend_json_has_the_summary_fields(saved_fits, capsys, fit, request_args, quantities):
    # Guards: each decision's --json output carries every summary field, with the interval's
    # probability and kind as asked, for the quantities the decision answers.
    argv = ["recommend", str(saved_fits[fit]), *request_args, "--json", "--ci-prob", "0.8"]
    assert main([*argv, "--ci-kind", "hdi"]) == 0
    payload = json.loads(capsys.readouterr().out)
    rows = payload["results"]
    assert quantities <= {row["quantity"] for row in rows}
    for row in rows:
        assert SUMMARY_KEYS <= set(row)
        assert row["ci_prob"] == 0.8 and row["ci_kind"] == "hdi"
        if row["ci_low"] is not None:
            assert row["ci_low"] <= row["median"] <= row["ci_high"]


def test_recommend_sources_passes_include_pooled_through(saved_fits, capsys):
    # Guards: --include-pooled reaches the decision (the JSON's inputs say which ranking was
    # asked) and the table and the per-source draws rank the same sources. This fit's runs
    # have no pooled "other" source, so both rankings hold the same languages; leaving
    # "other" out is tested on the bundled study's sources in test_findings.py.
    argv = ["recommend", str(saved_fits["atlas_matrix"]), "sources", "--target", "en", "--json"]
    found = {}
    for extra in ([], ["--include-pooled"]):
        assert main([*argv, *extra]) == 0
        payload = json.loads(capsys.readouterr().out)
        table_sources = [row["source"] for row in payload["table"]]
        draw_sources = {row["source"] for row in payload["results"] if "source" in row}
        assert set(table_sources) == draw_sources and "en" not in draw_sources
        found[payload["inputs"]["include_pooled"]] = table_sources
    assert set(found) == {False, True} and found[False] == found[True]


def test_recommend_prints_a_table_with_the_interval_named(saved_fits, capsys):
    # Guards: the readable output names the interval's probability and kind.
    argv = ["recommend", str(saved_fits["crossover"]), "compute-optimal", "--language", "en"]
    assert main([*argv, "--compute", "1e21", "--below", "loss=3"]) == 0
    out = capsys.readouterr().out
    assert "90% ETI" in out and "equal-tailed" in out and "p_below[3]" in out
    # 2 chains x 100 draws cannot reach the gate's bulk ESS of 400: the answer says so.
    assert "convergence gate failed" in " ".join(out.split())


@pytest.mark.parametrize(
    ("fit", "request_args", "phrase"),
    [
        ("crossover", ["compute-optimal", "--language", "xx", "--compute", "1e21"],
         "unknown language 'xx'"),
        ("crossover", ["add-languages", "--from", "2", "--to", "4"], "law curse"),
        ("atlas_matrix", ["crossover", "--language", "en", "--params", "2e9"], "crossover"),
        ("crossover", ["compute-optimal", "--language", "en", "--compute", "1e21",
                       "--below", "nope=1"], "no quantity 'nope'"),
    ],
)  # fmt: skip
def test_recommend_bad_requests_exit_2(saved_fits, capsys, fit, request_args, phrase):
    # Guards: a request the fit cannot answer exits 2 with a message saying why.
    assert main(["recommend", str(saved_fits[fit]), *request_args]) == 2
    assert phrase in capsys.readouterr().err


def test_recommend_missing_fit_file_exits_2(tmp_path, capsys):
    # Guards: a fit path that does not exist is bad input, not a traceback.
    argv = ["recommend", str(tmp_path / "none.nc"), "sources", "--target", "en"]
    assert main(argv) == 2
    assert "none.nc" in capsys.readouterr().err
