"""Fits: sampling, diagnostics and the gate, saved fits, predictions, the law written once."""

import json

import numpy as np
import pytensor
import pytest
import xarray as xr
from conftest import jittered_posterior

from atlas_bayes.cli import main
from atlas_bayes.inference import (
    Fit,
    FitFileError,
    SamplerSettings,
    fit_variant,
    load_fit,
)
from atlas_bayes.inference.predict import mean_log_loss, predictive_loss, summarise_predictions
from atlas_bayes.laws._xp import scatter_add
from atlas_bayes.modeling.build import build_model
from atlas_bayes.modeling.data import ModelDataError, build_model_data, build_prediction_data
from atlas_bayes.variants import load_variant

SMALL = SamplerSettings(chains=2, draws=300, tune=300, seed=3)


@pytest.fixture(scope="module")
def small_fit(small_study):
    return fit_variant(small_study, load_variant("data_constrained"), SMALL)


@pytest.fixture(scope="module")
def saved_fit(small_fit, tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "dc.nc"
    small_fit.save(path)
    return path


def test_scatter_add_numpy_and_pytensor_accumulate_repeats():
    base = np.array([1.0, 2.0, 3.0])
    index = np.array([0, 2, 0, 0])
    values = np.array([10.0, 20.0, 30.0, 40.0])
    np.testing.assert_allclose(scatter_add(base, index, values), [81.0, 2.0, 23.0])
    draws = np.stack([values, 2 * values])
    np.testing.assert_allclose(scatter_add(base, index, draws)[1], [161.0, 2.0, 43.0])
    b, v = pytensor.tensor.dvector("b"), pytensor.tensor.dvector("v")
    f = pytensor.function([b, v], scatter_add(b, index, v))
    np.testing.assert_allclose(f(base, values), [81.0, 2.0, 23.0])


@pytest.mark.parametrize("variant", ["chinchilla", "data_constrained", "atlas"])
def test_law_written_once_model_and_numpy_agree(variant, small_multilingual_study):
    """The PyMC model's mean and the numpy prediction path give the same log-loss."""
    spec = load_variant(variant)
    data = build_model_data(small_multilingual_study, spec)
    model = build_model(data, spec)
    posterior, model_mean = jittered_posterior(model, seed=0)
    tree = xr.DataTree.from_dict({"posterior": posterior})
    fake = Fit(tree=tree, spec=spec, diagnostics=None)
    numpy_mean = mean_log_loss(fake, data).values[0, 0]
    np.testing.assert_allclose(numpy_mean, model_mean, rtol=1e-10, atol=1e-12)


def test_small_fit_has_everything_loo_and_prediction_need(small_fit):
    children = set(small_fit.tree.children)
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data", "fit_data"} <= children
    loglik = small_fit.tree["log_likelihood"].to_dataset()["log_loss"]
    assert loglik.dims == ("chain", "draw", "obs")
    assert loglik.sizes["obs"] == small_fit.data.sizes["obs"]
    posterior = small_fit.posterior
    for name in ("log_E", "log_a", "log_b", "alpha", "beta", "log_decay"):
        assert name in posterior
    assert posterior.sizes["chain"] == 2 and posterior.sizes["draw"] == 300
    d = small_fit.diagnostics
    assert d.mean_steps_per_draw > 0 and d.chains == 2 and d.draws == 300
    assert np.isfinite([d.max_rhat, d.min_ess_bulk, d.min_ess_tail, d.min_ebfmi]).all()


def test_same_seed_same_posterior(small_study, small_fit):
    again = fit_variant(small_study, load_variant("data_constrained"), SMALL)
    xr.testing.assert_equal(again.posterior, small_fit.posterior)


def test_saved_fit_round_trips_without_pickle(small_fit, saved_fit, monkeypatch):
    import pickle

    assert saved_fit.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"  # an HDF5 (netCDF-4) file

    def refuse(*args, **kwargs):
        raise AssertionError("loading a fit must not unpickle anything")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    loaded = load_fit(saved_fit)
    xr.testing.assert_allclose(loaded.posterior, small_fit.posterior)
    xr.testing.assert_equal(loaded.data, small_fit.data)
    assert loaded.data["is_other"].dtype == bool
    assert loaded.spec == small_fit.spec
    assert loaded.meta == json.loads(json.dumps(small_fit.meta))
    assert loaded.diagnostics == small_fit.diagnostics
    assert loaded.meta["study_hash"] and loaded.meta["versions"]["pymc"]
    # A loaded fit predicts without the study folder.
    np.testing.assert_allclose(
        mean_log_loss(loaded, loaded.data).values, mean_log_loss(small_fit, small_fit.data).values
    )


def test_save_is_atomic_and_refuses_to_overwrite(small_fit, saved_fit):
    with pytest.raises(FileExistsError):
        small_fit.save(saved_fit)
    before = saved_fit.stat().st_mtime_ns
    small_fit.save(saved_fit, overwrite=True)
    assert saved_fit.stat().st_mtime_ns >= before
    assert sorted(p.name for p in saved_fit.parent.iterdir()) == ["dc.nc"]


def test_load_rejects_what_is_not_a_fit(tmp_path, saved_fit):
    with pytest.raises(FitFileError, match="no such file"):
        load_fit(tmp_path / "missing.nc")
    garbage = tmp_path / "garbage.nc"
    garbage.write_bytes(b"not a netcdf file at all")
    with pytest.raises(FitFileError, match="not a readable netCDF"):
        load_fit(garbage)
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", [1.0, 2.0])}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(FitFileError, match="not a fit of atlas_bayes"):
        load_fit(other)
    tree = xr.open_datatree(saved_fit, engine="h5netcdf").load()
    tree.attrs["atlas_bayes_format_version"] = 99
    newer = tmp_path / "newer.nc"
    tree.to_netcdf(newer, engine="h5netcdf")
    with pytest.raises(FitFileError, match="format version 99"):
        load_fit(newer)
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(saved_fit.read_bytes()[:2000])
    with pytest.raises(FitFileError):
        load_fit(truncated)


def test_predictions_are_chunked_without_changing_them(small_fit):
    data = small_fit.data
    whole = mean_log_loss(small_fit, data)
    chunked = mean_log_loss(small_fit, data, max_elements=5_000)
    xr.testing.assert_allclose(whole, chunked)
    assert whole.dims == ("chain", "draw", "obs")


def test_in_sample_predictive_intervals_cover(small_fit):
    data = small_fit.data
    draws = predictive_loss(small_fit, data, seed=1)
    table = summarise_predictions(draws, np.exp(data["log_loss"].values))
    inside90 = ((table.observed >= table.lower_90) & (table.observed <= table.upper_90)).mean()
    inside50 = ((table.observed >= table.lower_50) & (table.observed <= table.upper_50)).mean()
    # ~120 observations: binomial sd of a 90 % coverage is ~0.03; allow 3 sd.
    assert 0.80 <= inside90 <= 1.0
    assert 0.35 <= inside50 <= 0.70


def test_prediction_of_unknown_language_is_refused(small_fit, bundled_study):
    runs = bundled_study.runs[bundled_study.runs["run_id"].str.startswith("mono-ja-")]
    other = bundled_study.select_runs(runs["run_id"])
    with pytest.raises(ModelDataError, match="cannot predict language"):
        build_prediction_data(other, small_fit.data)


def test_cli_summary_and_predict(saved_fit, small_study, tmp_path, capsys):
    assert main(["summary", str(saved_fit)]) == 0
    out = capsys.readouterr().out
    assert "90% equal-tailed credible interval" in out
    assert "Converged" in out or "NOT CONVERGED" in out
    assert main(["summary", str(saved_fit), "--json", "--ci-prob", "0.5", "--ci-kind", "hdi"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert all(p["ci_prob"] == 0.5 and p["ci_kind"] == "hdi" for p in summary["parameters"])
    study_dir = tmp_path / "to_predict"
    from atlas_bayes.study import write_study

    write_study(small_study, study_dir)
    evals = (study_dir / "evals.csv").read_text().splitlines()
    # Drop the loss column's values for half of the rows: prediction needs no loss.
    header = evals[0].split(",")
    col = header.index("loss")
    rows = [r.split(",") for r in evals[1:]]
    for row in rows[::2]:
        row[col] = ""
    (study_dir / "evals.csv").write_text("\n".join([evals[0], *[",".join(r) for r in rows]]) + "\n")
    out_csv = tmp_path / "pred.csv"
    assert main(["predict", str(saved_fit), str(study_dir), "--out", str(out_csv)]) == 0
    import pandas as pd

    pred = pd.read_csv(out_csv)
    assert len(pred) == len(rows)
    for column in ("mean", "median", "lower_50", "upper_50", "lower_90", "upper_90", "observed"):
        assert column in pred
    assert pred["observed"].isna().sum() == len(rows[::2])
    assert (pred["lower_90"] <= pred["lower_50"]).all() and (
        pred["upper_50"] <= pred["upper_90"]
    ).all()
    assert main(["predict", str(saved_fit), str(study_dir), "--out", str(out_csv)]) == 2


def test_convergence_gate_fails_loudly_and_strict_exits_3(tmp_path, capsys):
    out = tmp_path / "bad.nc"
    code = main(
        [
            "fit", "tests/data/good_study", "--model", "chinchilla", "--out", str(out),
            "--chains", "2", "--draws", "15", "--tune", "5", "--strict", "-q",
        ]
    )  # fmt: skip
    assert code == 3
    assert "NOT CONVERGED" in capsys.readouterr().err
    assert load_fit(out).diagnostics.passed is False


def test_prior_check_cli(capsys):
    assert (
        main(["prior-check", "tests/data/good_study", "--model", "chinchilla", "--draws", "50"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Before seeing any loss" in out and "equal-tailed" in out


def test_predict_grid_any_language_size_and_tokens(small_fit):
    import pandas as pd

    from atlas_bayes.inference.predict import predict_grid

    sizes = [1e8, 1e9, 1e10]
    grid = predict_grid(
        small_fit,
        ["sw"] * 3,
        sizes,
        pd.DataFrame({"sw": [2e9] * 3}),
        pd.DataFrame({"sw": [7.7e8] * 3}),
        predictive=False,
    )
    assert grid.dims == ("chain", "draw", "obs") and grid.sizes["obs"] == 3
    means = grid.mean(("chain", "draw")).values
    assert means[0] > means[1] > means[2]
    # Repeated tokens are worth less than fresh ones: the same 2e9 tokens from a larger corpus
    # give a lower loss.
    fresh = predict_grid(small_fit, ["sw"], [1e9], pd.DataFrame({"sw": [2e9]}), predictive=False)
    assert float(fresh.mean()) < means[1]
    noisy = predict_grid(small_fit, ["sw"], [1e9], pd.DataFrame({"sw": [2e9]}), seed=4)
    assert float(noisy.std()) > float(fresh.std())
    with pytest.raises(ModelDataError, match="cannot predict language"):
        predict_grid(small_fit, ["ja"], [1e9], pd.DataFrame({"ja": [1e9]}))


def test_bad_sampler_settings_and_missing_fit_exit_2(tmp_path, capsys):
    out = tmp_path / "f.nc"
    code = main(["fit", "tests/data/good_study", "--model", "chinchilla", "--out", str(out),
                 "--chains", "0"])  # fmt: skip
    assert code == 2 and "chains must be >= 1" in capsys.readouterr().err
    assert not out.exists()
    assert main(["summary", str(tmp_path / "missing.nc")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_pretraining_laws_refuse_finetune_runs(bundled_study, tmp_path):
    from atlas_bayes.variants import VariantSpec

    raw = load_variant("chinchilla").to_dict()
    raw["data"]["regimes"] = ["pretrain", "finetune"]
    spec = VariantSpec.from_dict(raw)
    with pytest.raises(ModelDataError, match="finetune run"):
        build_model_data(bundled_study, spec)


def test_diagnostics_sentence_leaves_out_an_unrecorded_e_bfmi(small_fit):
    # Guards: a sampler without energy records gives no "E-BFMI nan" in the verdict.
    import dataclasses

    from atlas_bayes.fit_report import diagnostics_sentence

    assert "E-BFMI" in diagnostics_sentence(small_fit)
    blind = dataclasses.replace(
        small_fit, diagnostics=dataclasses.replace(small_fit.diagnostics, min_ebfmi=float("nan"))
    )
    sentence = diagnostics_sentence(blind)
    assert "E-BFMI" not in sentence and "nan" not in sentence


def test_tree_depth_hits_warn_without_failing_the_gate():
    # Hitting the maximum tree depth costs time, not validity: well-mixed iid draws with
    # some saturated trajectories pass the gate and carry a warning; a divergence fails it.
    from atlas_bayes.inference.diagnostics import compute_diagnostics

    rng = np.random.default_rng(0)
    shape = (4, 1000)
    posterior = xr.Dataset({"x": (("chain", "draw"), rng.normal(size=shape))})
    depth = np.zeros(shape, dtype=bool)
    depth[0, :25] = True
    stats = xr.Dataset(
        {
            "maxdepth_reached": (("chain", "draw"), depth),
            "diverging": (("chain", "draw"), np.zeros(shape, dtype=bool)),
            "n_steps": (("chain", "draw"), np.full(shape, 7.0)),
        }
    )
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    diagnostics = compute_diagnostics(tree, ["x"])
    assert diagnostics.passed and diagnostics.treedepth_hits == 25
    assert len(diagnostics.warnings) == 1 and "25 draws hit" in diagnostics.warnings[0]
    assert type(diagnostics).from_dict(diagnostics.to_dict()) == diagnostics
    stats["diverging"][1, 3] = True
    failed = compute_diagnostics(tree, ["x"])
    assert not failed.passed and "1 divergent" in failed.problems[0]
