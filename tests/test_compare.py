"""PSIS-LOO comparison: the right variant wins, weights, Pareto k by run, refusals, the CLI.

The two fits are short (2 chains x 200 draws) on a small study drawn from the
data-constrained law (atlas_bayes.simulate.law_study), in which one language repeats its
data up to 33 times: the Chinchilla law, blind to repetition, is clearly misspecified there.
"""

import json

import numpy as np
import pytest
import xarray as xr

from atlas_bayes.cli import main
from atlas_bayes.comparison import ComparisonError, compare_fits, observation_key
from atlas_bayes.comparison.loo import TABLE_COLUMNS
from atlas_bayes.inference import Fit, SamplerSettings, fit_variant, save_fit
from atlas_bayes.simulate.law_study import simulate_law_study
from atlas_bayes.variants import load_variant

QUICK = SamplerSettings(chains=2, draws=200, tune=200, seed=1)
TRUTH = {
    "en": {"log_E": 0.55, "log_a": -1.0, "log_b": -0.7, "alpha": 0.34, "beta": 0.30},
    "sw": {"log_E": 0.70, "log_a": -0.9, "log_b": -0.5, "alpha": 0.38, "beta": 0.27},
}


@pytest.fixture(scope="module")
def fits() -> dict[str, Fit]:
    truth = {lang: {**values, "log_decay": -1.5} for lang, values in TRUTH.items()}
    study = simulate_law_study(
        truth,
        params=np.geomspace(3e7, 3e9, 5),
        tokens=np.geomspace(1e9, 1e11, 6),
        unique_tokens={"sw": 3e9},
        checkpoints=(0.5, 1.0),
        seed=1,
    )
    return {
        name: fit_variant(study, load_variant(name), QUICK)
        for name in ("chinchilla", "data_constrained")
    }


@pytest.fixture(scope="module")
def comparison(fits):
    return compare_fits(fits)


@pytest.fixture(scope="module")
def saved(fits, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("compare")
    return {name: str(save_fit(fit, folder / f"{name}.nc")) for name, fit in fits.items()}


def with_tree(fit: Fit, **groups) -> Fit:
    """``fit`` with some groups of its tree replaced (None: removed)."""
    children = {k: fit.tree[k].to_dataset() for k in fit.tree.children}
    children.update(groups)
    tree = xr.DataTree.from_dict({k: v for k, v in children.items() if v is not None})
    return Fit(tree=tree, spec=fit.spec, diagnostics=fit.diagnostics, meta=dict(fit.meta))


def test_the_true_variant_is_preferred(comparison):
    # Guards: on data drawn from the data-constrained law, LOO ranks it above Chinchilla by
    # many standard errors (measured: 57 +- 9 nats), with the stacking weight on it.
    table = comparison.table
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert list(table["model"]) == ["data_constrained", "chinchilla"]
    assert list(table["rank"]) == [1, 2]
    worse = table.iloc[1]
    assert worse["elpd_diff"] < -4 * worse["dse"]
    assert worse["p_worse"] > 0.99
    assert np.isnan(table.iloc[0]["p_worse"]) and table.iloc[0]["elpd_diff"] == 0
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-6)
    assert (table["weight"] >= -1e-9).all() and table.iloc[0]["weight"] > 0.9
    sentence = comparison.summary()
    assert sentence.startswith("On 120 observations, data_constrained predicts")
    assert "chinchilla is clearly worse" in sentence


def test_p_worse_is_the_normal_approximation(comparison):
    # Guards: the documented formula, P(worse) = Phi(-elpd_diff / dse).
    from scipy.stats import norm

    row = comparison.table.iloc[1]
    assert row["p_worse"] == pytest.approx(norm.cdf(-row["elpd_diff"] / row["dse"]), rel=1e-6)


def test_high_pareto_k_observations_are_named(comparison, fits):
    # Guards: every observation counted as high-k is listed with its run and language, as
    # stored in the fit's data.
    table, high = comparison.table, comparison.high_k
    assert list(high.columns) == [
        "model", "obs", "run_id", "eval_language", "params", "tokens", "pareto_k",
    ]  # fmt: skip
    for row in table.itertuples():
        mine = high[high["model"] == row.model]
        assert len(mine) == row.n_high_k
        assert (mine["pareto_k"] > row.k_threshold).all()
        # 400 draws: ArviZ's threshold is 1 - 1/log10(400) = 0.62, below 0.7.
        assert row.k_threshold == pytest.approx(1 - 1 / np.log10(400))
        data = fits[row.model].data
        for obs in mine.itertuples():
            assert data["run_id"].values[obs.obs] == obs.run_id
            assert data["eval_language"].values[obs.obs] == obs.eval_language
    words = comparison.pareto_k_summary()
    if len(high):
        assert high.iloc[0]["run_id"] in words
    else:
        assert words.startswith("Every Pareto k is below")


def test_fits_of_different_studies_are_refused(fits):
    other = fits["chinchilla"]
    moved = Fit(other.tree, other.spec, other.diagnostics, {**other.meta, "study_hash": "f" * 64})
    with pytest.raises(ComparisonError, match="different studies"):
        compare_fits({"a": moved, "b": fits["data_constrained"]})


def test_fits_of_different_observations_are_refused(fits):
    fit = fits["chinchilla"]
    fewer = {
        group: fit.tree[group].to_dataset().isel(obs=slice(0, 100))
        for group in ("log_likelihood", "observed_data", "fit_data")
    }
    cut = with_tree(fit, **fewer)
    assert observation_key(cut)[0] == observation_key(fit)[0]
    with pytest.raises(ComparisonError, match="different observations .*100 observations"):
        compare_fits([cut, fits["data_constrained"]])


def test_fits_without_log_likelihood_are_refused(fits):
    bare = with_tree(fits["chinchilla"], log_likelihood=None)
    with pytest.raises(ComparisonError, match="no pointwise log-likelihood"):
        compare_fits({"bare": bare, "dc": fits["data_constrained"]})
    with pytest.raises(ComparisonError, match="two fits or more"):
        compare_fits([fits["chinchilla"]])


def test_cli_json_has_the_documented_fields(saved, capsys):
    assert main(["compare", saved["chinchilla"], saved["data_constrained"], "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {
        "observations", "study_hash", "var_name", "method", "p_worse", "models", "high_k",
        "summary", "pareto_k_summary", "files",
    }  # fmt: skip
    assert out["observations"] == 120 and out["var_name"] == "log_loss"
    assert [m["model"] for m in out["models"]] == ["data_constrained", "chinchilla"]
    assert all(set(m) == set(TABLE_COLUMNS) for m in out["models"])
    assert out["models"][0]["p_worse"] is None  # the best model: nothing to be worse than
    assert sum(m["weight"] for m in out["models"]) == pytest.approx(1.0, abs=1e-6)
    assert out["files"]["chinchilla"] == saved["chinchilla"]
    for row in out["high_k"]:
        assert {"model", "run_id", "eval_language", "pareto_k"} <= set(row)


def test_cli_prints_the_table_and_sentences(saved, capsys):
    assert main(["compare", saved["chinchilla"], saved["data_constrained"]]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "PSIS-LOO comparison on 120 observations" in out
    assert "data_constrained predicts left-out log-losses best" in out
    assert "Pareto k" in out
    assert main(["compare", saved["chinchilla"], saved["data_constrained"], "-q"]) == 0
    assert capsys.readouterr().out == ""


def test_cli_refusals_exit_2(fits, saved, tmp_path, capsys):
    fit = fits["chinchilla"]
    moved = tmp_path / "other_study.nc"
    save_fit(Fit(fit.tree, fit.spec, fit.diagnostics, {**fit.meta, "study_hash": "f" * 64}), moved)
    bare = tmp_path / "no_loglik.nc"
    save_fit(with_tree(fit, log_likelihood=None), bare)
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"not a netcdf file")
    cases = {
        moved: "different studies",
        bare: "missing group(s) log_likelihood",
        garbage: "not a readable netCDF file",
        tmp_path / "missing.nc": "no such file",
    }
    for path, words in cases.items():
        assert main(["compare", str(path), saved["data_constrained"]]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "cannot compare" in err and words in err, err
