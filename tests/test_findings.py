"""Findings and tidy summaries on small fake fits with hand-chosen draws (no sampling):
summarise_draws, the curse multipliers, the crossover, the transfer matrix and its ranking."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.findings import (
    crossover_compute_law,
    crossover_table,
    crossover_tokens_draws,
    curse_exponents,
    curse_multipliers,
    multiplier_table,
    source_ranking,
    transfer_summary,
)
from atlas_bayes.findings._fits import WrongVariant
from atlas_bayes.findings.crossover import finetune_settings
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.modeling.mean import head_start_tokens
from atlas_bayes.modeling.transfer import TRANSFER_VARIABLES, transfer_matrix
from atlas_bayes.published import published_value
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.summaries import credible_interval, probability, summarise_draws
from atlas_bayes.variants import load_variant
from atlas_bayes.variants.transfer import OTHER_SOURCE

TRUTH = json.loads((bundled_study_path() / "truth.json").read_text(encoding="utf-8"))
SUMMARY_COLUMNS = [
    "quantity", "unit", "mean", "median", "ci_prob", "ci_kind", "ci_low", "ci_high", "draws",
]  # fmt: skip


def fake_fit(spec, posterior, data=None, seed=0):
    return SimpleNamespace(spec=spec, posterior=posterior, data=data, meta={"seed": seed})


def draws(values, *dims, **coords):
    """A DataArray of draws with (chain, draw) first."""
    values = np.asarray(values, dtype=float)
    return xr.DataArray(
        values,
        dims=("chain", "draw", *dims),
        coords={"chain": np.arange(values.shape[0]), "draw": np.arange(values.shape[1]), **coords},
    )


# ----------------------------------------------------------------------------- summaries


def test_summary_columns_order_and_values():
    # Guards: one row per cell, label columns first, the documented summary columns in order.
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 200, 2)) * [1.0, 3.0] + [0.0, 10.0]
    da = draws(values, "cell", cell=[0, 1], language=("cell", ["en", "fr"]))
    table = summarise_draws(da, "crossover tokens", "tokens")
    assert list(table.columns) == ["cell", "language", *SUMMARY_COLUMNS]
    assert list(table["language"]) == ["en", "fr"]
    assert (table["quantity"] == "crossover tokens").all() and (table["unit"] == "tokens").all()
    assert (table["ci_prob"] == 0.9).all() and (table["ci_kind"] == "eti").all()
    assert list(table["draws"]) == [600, 600] and table["draws"].dtype.kind == "i"
    flat = values.reshape(-1, 2)
    np.testing.assert_allclose(table["mean"], flat.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(table["median"], np.median(flat, axis=0), rtol=1e-12)
    low, high = np.quantile(flat, [0.05, 0.95], axis=0)
    np.testing.assert_allclose(table["ci_low"], low, rtol=1e-12)
    np.testing.assert_allclose(table["ci_high"], high, rtol=1e-12)


def test_summary_carries_ci_prob_and_kind():
    # Guards: the interval's probability and kind are the ones asked for, and are stated.
    rng = np.random.default_rng(1)
    values = rng.normal(size=(2, 300))
    table = summarise_draws(draws(values), "q", "u", ci_prob=0.5)
    assert table["ci_prob"].item() == 0.5 and table["ci_kind"].item() == "eti"
    low, high = np.quantile(values, [0.25, 0.75])
    assert table["ci_low"].item() == pytest.approx(low, rel=1e-12)
    assert table["ci_high"].item() == pytest.approx(high, rel=1e-12)
    with pytest.raises(ValueError, match="ci_kind"):
        summarise_draws(draws(values), "q", "u", ci_kind="central")


def test_summary_hdi_is_the_narrow_interval_of_a_skewed_posterior():
    # Guards: ci_kind = "hdi" really computes a highest-density interval, not the ETI.
    rng = np.random.default_rng(2)
    values = rng.exponential(size=(4, 500))
    eti = summarise_draws(draws(values), "q", "u", ci_kind="eti")
    hdi = summarise_draws(draws(values), "q", "u", ci_kind="hdi")
    assert hdi["ci_kind"].item() == "hdi"
    assert hdi["ci_low"].item() < eti["ci_low"].item()
    width = hdi["ci_high"].item() - hdi["ci_low"].item()
    assert width < 0.9 * (eti["ci_high"].item() - eti["ci_low"].item())
    inside = np.mean((values >= hdi["ci_low"].item()) & (values <= hdi["ci_high"].item()))
    assert inside == pytest.approx(0.9, abs=0.005)
    bounds = credible_interval(draws(values), 0.9, "hdi")
    assert list(bounds["ci_bound"].values) == ["lower", "upper"]


def test_summary_leaves_out_nan_draws_and_counts_the_rest():
    # Guards: a quantity undefined in some draws (no crossover) is summarised over the others.
    rng = np.random.default_rng(3)
    values = rng.normal(size=(2, 100, 3))
    values[0, :40, 0] = np.nan
    values[:, :, 2] = np.nan
    table = summarise_draws(draws(values, "cell", cell=[0, 1, 2]), "q", "u")
    assert list(table["draws"]) == [160, 200, 0]
    defined = values[:, :, 0][np.isfinite(values[:, :, 0])]
    assert table["mean"][0] == pytest.approx(defined.mean(), rel=1e-12)
    assert table["median"][0] == pytest.approx(np.median(defined), rel=1e-12)
    low, high = np.quantile(defined, [0.05, 0.95])
    assert table["ci_low"][0] == pytest.approx(low, rel=1e-12)
    assert table["ci_high"][0] == pytest.approx(high, rel=1e-12)
    assert table.loc[2, ["mean", "median", "ci_low", "ci_high"]].isna().all()
    # probability: an undefined draw is not a draw where the condition holds.
    p = probability(draws(values, "cell", cell=[0, 1, 2]) > 0)
    assert p.dims == ("cell",)
    np.testing.assert_allclose(p.values, (np.nan_to_num(values, nan=-1) > 0).mean(axis=(0, 1)))
    assert p.values[2] == 0.0


def test_summary_of_a_scalar_quantity_is_one_row_without_labels():
    # Guards: a quantity with only (chain, draw) gives one row and no label columns.
    values = np.arange(20.0).reshape(2, 10)
    table = summarise_draws(draws(values), "b", "exponent")
    assert list(table.columns) == SUMMARY_COLUMNS
    assert len(table) == 1
    assert table["mean"].item() == pytest.approx(9.5)
    assert table["draws"].item() == 20


def test_summary_coordinates_along_two_extra_dimensions_become_columns():
    # Guards: each combination of the extra dimensions is a row labelled by its coordinates.
    values = np.arange(2 * 5 * 2 * 3, dtype=float).reshape(2, 5, 2, 3)
    da = draws(
        values,
        "language",
        "size",
        language=["en", "fr"],
        size=[1e8, 1e9, 1e10],
        script=("language", ["Latin", "Latin"]),
    )
    table = summarise_draws(da, "q", "u")
    assert list(table.columns[:3]) == ["language", "size", "script"]
    assert len(table) == 6
    row = table[(table["language"] == "fr") & (table["size"] == 1e9)]
    assert row["mean"].item() == pytest.approx(values[:, :, 1, 1].mean())


# ----------------------------------------------------------------------------- curse


CURSE_POP = TRUTH["curse"]["population"]


def curse_fit(phi, psi, alpha, beta, languages=("en", "fr"), chains=2, n_draws=4):
    """A curse fit whose population (``*_mu``) draws are the given arrays (or constants)."""
    shape = (chains, n_draws)
    data_vars = {}
    for name, value in {"phi": phi, "psi": psi, "alpha": alpha, "beta": beta}.items():
        pop = np.broadcast_to(np.asarray(value, dtype=float), shape)
        data_vars[f"{name}_mu"] = (("chain", "draw"), pop)
        # Per-language values a little off the population, different per language.
        offsets = np.linspace(0.9, 1.1, len(languages))
        data_vars[name] = (("chain", "draw", "language"), pop[..., None] * offsets)
    posterior = xr.Dataset(
        data_vars,
        coords={
            "chain": np.arange(chains),
            "draw": np.arange(n_draws),
            "language": list(languages),
        },
    )
    return fake_fit(load_variant("curse"), posterior)


def test_curse_multipliers_of_constant_draws_are_the_law():
    # Guards: the population multipliers are iso_loss_multipliers of the hierarchical means.
    phi, psi, alpha, beta = 0.11, -0.04, 0.45, 0.15
    fit = curse_fit(phi, psi, alpha, beta)
    for ratio in (2, 3.5, 16):
        result = curse_multipliers(fit, ratio)
        expected = laws.iso_loss_multipliers(ratio, phi, psi, alpha, beta)
        assert set(result.data_vars) == {"params", "tokens_per_language", "total_tokens", "compute"}
        for name in result.data_vars:
            assert result[name].dims == ("chain", "draw")
            np.testing.assert_allclose(result[name].values, getattr(expected, name), rtol=1e-15)
    by_language = curse_multipliers(fit, 2, by_language=True)
    assert by_language["params"].dims == ("chain", "draw", "language")
    post = fit.posterior
    for language in ("en", "fr"):
        own = laws.iso_loss_multipliers(
            2, *(post[n].sel(language=language).values for n in ("phi", "psi", "alpha", "beta"))
        )
        np.testing.assert_allclose(
            by_language["compute"].sel(language=language).values, own.compute, rtol=1e-15
        )
    exponents = curse_exponents(fit)
    np.testing.assert_array_equal(exponents["phi_population"].values, post["phi_mu"].values)
    assert exponents["psi"].dims == ("chain", "draw", "language")


def test_curse_multipliers_of_the_truth_are_the_published_ones():
    # Guards: with the simulated truth (phi/alpha ~ 0.243) doubling needs 1.18x N, 1.66x tokens.
    fit = curse_fit(CURSE_POP["phi"], CURSE_POP["psi"], CURSE_POP["alpha"], CURSE_POP["beta"])
    doubling = curse_multipliers(fit, 2)
    published = published_value("curse.multipliers.2")
    assert float(doubling["params"].mean()) == pytest.approx(published["params"], abs=0.01)
    assert float(doubling["total_tokens"].mean()) == pytest.approx(
        published["total_tokens"], abs=0.01
    )
    truth = TRUTH["curse"]["multipliers"]["2"]
    for name in ("params", "tokens_per_language", "total_tokens", "compute"):
        assert float(doubling[name].mean()) == pytest.approx(truth[name], rel=2e-3)


def test_multiplier_table_sits_beside_the_published_table():
    # Guards: the table has one row per (ratio, multiplier) and says whether the paper's
    # number is inside the interval.
    rng = np.random.default_rng(4)
    shape = (2, 200)
    fit = curse_fit(
        CURSE_POP["phi"] + rng.normal(0, 0.01, shape),
        CURSE_POP["psi"] + rng.normal(0, 0.005, shape),
        CURSE_POP["alpha"],
        CURSE_POP["beta"],
        n_draws=200,
    )
    table = multiplier_table(fit)
    assert len(table) == 16
    assert {"ratio", "published", "published_in_interval"} <= set(table.columns)
    assert list(table["ratio"].unique()) == [2, 4, 8, 16]
    assert (table["ci_prob"] == 0.9).all()
    for ratio in (2, 4, 8, 16):
        printed = published_value(f"curse.multipliers.{ratio}")
        for name, value in printed.items():
            row = table[(table["ratio"] == ratio) & (table["quantity"] == f"{name} multiplier")]
            assert row["published"].item() == value
            inside = row["ci_low"].item() <= value <= row["ci_high"].item()
            assert bool(row["published_in_interval"].item()) == inside
    row = table[(table["ratio"] == 2) & (table["quantity"] == "params multiplier")]
    assert bool(row["published_in_interval"].item())
    unpublished = table[table["quantity"] == "compute multiplier"]
    assert unpublished["published"].isna().all()
    assert not unpublished["published_in_interval"].any()


def test_multiplier_table_publishes_nothing_for_unprinted_ratios():
    # Guards: a ratio the paper does not print (2.5) must not borrow another ratio's numbers.
    fit = curse_fit(0.11, -0.04, 0.45, 0.15)
    table = multiplier_table(fit, ratios=(3, 2.5))
    assert table[table["ratio"] == 3]["published"].isna().all()
    assert table[table["ratio"] == 2.5]["published"].isna().all()


def test_curse_population_without_hierarchy():
    # Guards: with independent per-language exponents the population is their average.
    fit = curse_fit(0.1, -0.04, 0.4, 0.15)
    posterior = fit.posterior.drop_vars(["phi_mu", "psi_mu", "alpha_mu", "beta_mu"])
    fit = fake_fit(fit.spec, posterior)
    result = curse_multipliers(fit, 2)
    mean = {n: posterior[n].mean("language").values for n in ("phi", "psi", "alpha", "beta")}
    expected = laws.iso_loss_multipliers(2, mean["phi"], mean["psi"], mean["alpha"], mean["beta"])
    np.testing.assert_allclose(result["params"].values, expected.params, rtol=1e-15)


def test_curse_findings_refuse_other_laws_and_bad_ratios():
    # Guards: a fit of another law cannot answer the curse question (clear WrongVariant).
    fit = curse_fit(0.1, -0.04, 0.4, 0.15)
    other = fake_fit(load_variant("atlas"), fit.posterior)
    for call in (
        lambda: curse_multipliers(other, 2),
        lambda: curse_exponents(other),
        lambda: multiplier_table(other),
    ):
        with pytest.raises(WrongVariant, match="curse"):
            call()
    with pytest.raises(ValueError, match="ratio"):
        curse_multipliers(fit, 0)


# ----------------------------------------------------------------------------- crossover


@pytest.fixture(scope="module")
def crossover_data(bundled_study):
    return build_model_data(bundled_study, load_variant("crossover"))


def crossover_posterior(values: dict, languages, chains=2, n_draws=3) -> xr.Dataset:
    """Constant draws: per-language lists for language parameters, scalars for shared ones."""
    data_vars = {}
    for name, value in values.items():
        value = np.asarray(value, dtype=float)
        dims = ("chain", "draw", "language")[: 2 + value.ndim]
        data_vars[name] = (dims, np.broadcast_to(value, (chains, n_draws, *value.shape)).copy())
    coords = {"chain": np.arange(chains), "draw": np.arange(n_draws), "language": list(languages)}
    return xr.Dataset(data_vars, coords=coords)


def truth_crossover_values(cell, law="crossover"):
    """The truth's parameters of en in the spec's parameterisation, and its head start."""
    en = TRUTH["languages"]["en"]
    finetune = TRUTH["finetune"]
    head = TRUTH["finetune"]["head_start_tokens"]["en"]["2e+09"]
    # tau_named = 0 and no interference: H = own + tau_pooled * pooled is the truth's head start.
    tau_pooled = (head - cell["base_own_tokens"]) / cell["base_pooled_tokens"]
    assert tau_pooled > 0
    values = {
        "log_E": [np.log(en["E"])] * 2,
        "log_a": [np.log(en["A"]) - en["alpha"] * np.log(1e9)] * 2,
        "log_b": [np.log(en["B"]) - en["beta"] * np.log(1e10)] * 2,
        "alpha": [en["alpha"]] * 2,
        "beta": [en["beta"]] * 2,
        "tau_named": [0.0, 0.0],
        "tau_pooled": [tau_pooled] * 2,
        "log_decay": np.log(TRUTH["repetition"]["decay_lambda"]),
    }
    if law == "crossover":
        gamma = finetune["gamma"]
        # The truth: P_2B (N / 2e9)^-gamma; the spec: exp(log_penalty) (N / 1e9)^-gamma.
        # fr: a negligible penalty, so finetuning stays ahead and there is no crossover.
        values["log_penalty"] = [np.log(finetune["penalty_at_2b"]["en"] * 2.0**gamma), -60.0]
        values["gamma"] = gamma
    else:
        values["log_beta_ratio"] = [-0.1, 0.0]
    return values, head


def en_fr_cells(crossover_data):
    """The en cell at 2B, and the same checkpoint labelled fr (for the no-crossover case)."""
    cells = finetune_settings(fake_fit(load_variant("crossover"), None, crossover_data))
    en = cells[(cells["language"] == "en") & (cells["params"] == 2e9)]
    fr = en.assign(language="fr")
    return pd.concat([en, fr], ignore_index=True)


def test_finetune_settings_are_the_checkpoints_of_the_finetune_runs(bundled_study, crossover_data):
    # Guards: one cell per (language, size) with finetune runs, with its checkpoint's tokens.
    cells = finetune_settings(fake_fit(load_variant("crossover"), None, crossover_data))
    runs = bundled_study.runs
    finetune = runs[runs["regime"] == "finetune"]
    expected = {
        (run_id.split("-")[1], float(params))
        for run_id, params in zip(finetune["run_id"], finetune["params"], strict=True)
    }
    assert len(cells) == len(expected)
    assert set(zip(cells["language"], cells["params"], strict=True)) == expected
    assert list(cells.columns) == [
        "language", "params", "base_own_tokens", "base_named_tokens", "base_pooled_tokens",
        "unique_tokens",
    ]  # fmt: skip
    row = cells[(cells["language"] == "en") & (cells["params"] == 2e9)].iloc[0]
    mixture = bundled_study.mixture
    base = mixture[mixture["run_id"] == "unimax-2b-150tpp"].set_index("language")["tokens"]
    assert row["base_own_tokens"] == base["en"]
    assert row["base_pooled_tokens"] == base["other"]
    assert row["base_named_tokens"] == pytest.approx(base.drop(["en", "other"]).sum())
    assert row["unique_tokens"] == TRUTH["languages"]["en"]["unique_tokens"]


def test_crossover_of_the_truth_is_the_published_one(crossover_data):
    # Guards: with the truth's parameters of en, the crossover at 2B is the truth's 144B tokens;
    # where finetuning always wins the crossover is NaN.
    spec = load_variant("crossover")
    cells = en_fr_cells(crossover_data)
    values, head = truth_crossover_values(cells.iloc[0])
    fit = fake_fit(spec, crossover_posterior(values, ["en", "fr"]), crossover_data)
    # The head start of the fake parameters is the truth's.
    got_head = head_start_tokens(
        {"tau_named": 0.0, "tau_pooled": values["tau_pooled"][0],
         "log_decay": values["log_decay"]},
        {"finetuned": 1.0, "own_unique": cells.iloc[0]["unique_tokens"], **cells.iloc[0][
            ["base_own_tokens", "base_named_tokens", "base_pooled_tokens"]].to_dict()},
    )  # fmt: skip
    assert got_head == pytest.approx(head, rel=1e-12)
    tokens = crossover_tokens_draws(fit, cells)
    assert tokens.dims == ("chain", "draw", "cell")
    assert list(tokens["language"].values) == ["en", "fr"]
    np.testing.assert_allclose(tokens["params"].values, [2e9, 2e9])
    expected = TRUTH["crossover"]["tokens_at_2b"]["en"]
    np.testing.assert_allclose(tokens.sel(cell=0).values, expected, rtol=1e-6)
    assert expected == pytest.approx(published_value("crossover.tokens.en"), rel=1e-9)
    assert np.isnan(tokens.sel(cell=1).values).all()

    table = crossover_table(fit, tokens=tokens)
    assert len(table) == 4
    assert list(table["quantity"]) == ["crossover tokens"] * 2 + ["crossover compute"] * 2
    assert list(table["p_crossover"]) == [1.0, 0.0, 1.0, 0.0]
    assert table["mean"][0] == pytest.approx(expected, rel=1e-6)
    assert table["mean"][2] == pytest.approx(6.0 * 2e9 * expected, rel=1e-6)
    assert table["published"][0] == published_value("crossover.tokens.en")
    assert np.isnan(table["published"][1:]).all()  # fr is not printed; compute rows never
    assert list(table["draws"]) == [6, 0, 6, 0]


@pytest.mark.parametrize("law", ["crossover", "crossover_exponent"])
def test_crossover_tokens_are_where_the_curves_cross(law, crossover_data):
    # Guards: crossover_tokens_draws solves scratch(D) = finetuned(D) of the fitted curves.
    spec = load_variant(law)
    cells = en_fr_cells(crossover_data).iloc[:1]
    cell = cells.iloc[0]
    values, head = truth_crossover_values(cell, law)
    fit = fake_fit(spec, crossover_posterior(values, ["en", "fr"]), crossover_data)
    tokens = crossover_tokens_draws(fit, cells).values.ravel()
    en = TRUTH["languages"]["en"]
    E, A, B, alpha, beta = (en[k] for k in ("E", "A", "B", "alpha", "beta"))  # noqa: N806
    decay, unique, params = TRUTH["repetition"]["decay_lambda"], cell["unique_tokens"], 2e9
    if law == "crossover":
        penalty = np.exp(values["log_penalty"][0]) * (params / 1e9) ** -values["gamma"]
        beta_ft, B_ft = beta, B  # noqa: N806
    else:
        penalty = 0.0
        beta_ft = beta * np.exp(values["log_beta_ratio"][0])
        B_ft = np.exp(values["log_b"][0]) * 1e10**beta_ft  # noqa: N806

    def difference(d):
        s = laws.repetition_saturation(d, unique, decay)
        scratch = laws.chinchilla_loss(params, s, E, A, B, alpha, beta)
        return scratch - laws.finetuned_loss(params, s, head, penalty, E, A, B_ft, alpha, beta_ft)

    expected = float(laws.crossover_tokens(difference, 1e7, 1e15))
    assert np.isfinite(expected)
    np.testing.assert_allclose(tokens, expected, rtol=1e-9)
    assert np.sign(difference(expected * 0.9)) != np.sign(difference(expected * 1.1))


def test_crossover_findings_refuse_other_laws(crossover_data):
    # Guards: the crossover needs a crossover fit (clear WrongVariant otherwise).
    fit = fake_fit(load_variant("curse"), xr.Dataset(), crossover_data)
    with pytest.raises(WrongVariant, match="crossover"):
        crossover_tokens_draws(fit)


def synthetic_crossovers(a, b, languages_sizes):
    """Crossover tokens that follow C = 6 N D = a N^b exactly, per draw."""
    languages = [lang for lang, sizes in languages_sizes for _ in sizes]
    sizes = np.array([n for _, ns in languages_sizes for n in ns], dtype=float)
    compute = a[..., None] * sizes ** b[..., None]
    return xr.DataArray(
        compute / (6.0 * sizes),
        dims=("chain", "draw", "cell"),
        coords={
            "chain": np.arange(a.shape[0]),
            "draw": np.arange(a.shape[1]),
            "language": ("cell", np.array(languages)),
            "params": ("cell", sizes),
        },
    )


def test_crossover_compute_law_recovers_an_exact_power_law():
    # Guards: the per-draw log-log least squares of C = a N^b returns a and b, skipping NaNs.
    rng = np.random.default_rng(5)
    a = rng.uniform(1e6, 5e6, (2, 4))
    b = rng.uniform(1.5, 1.7, (2, 4))
    sizes = [8.5e7, 3.5e8, 1.2e9, 2e9, 4e9]
    tokens = synthetic_crossovers(a, b, [("en", sizes), ("de", sizes), ("fr", sizes[:2])])
    tokens.values[0, 1, 2] = np.nan  # a draw without a crossover at one cell
    fit = fake_fit(load_variant("crossover"), None)
    law = crossover_compute_law(fit, tokens=tokens)
    assert law.attrs["languages"] == ["de", "en"]  # fr has fewer than four sizes
    np.testing.assert_allclose(law["b"].values, b, rtol=1e-9)
    np.testing.assert_allclose(law["a"].values, a, rtol=1e-6)
    expected_points = np.full((2, 4), 10)
    expected_points[0, 1] = 9
    np.testing.assert_array_equal(law["points"].values, expected_points)
    # Choosing languages and sizes.
    only_fr = crossover_compute_law(fit, languages=["fr"], tokens=tokens)
    np.testing.assert_allclose(only_fr["b"].values, b, rtol=1e-9)
    some = crossover_compute_law(fit, sizes=[8.5e7, 2e9, 4e9], tokens=tokens)
    assert (some["points"].values == 6).all()
    np.testing.assert_allclose(some["b"].values, b, rtol=1e-9)
    with pytest.raises(ValueError, match="two or more"):
        crossover_compute_law(fit, languages=["fr"], sizes=[8.5e7], tokens=tokens)


# ----------------------------------------------------------------------------- transfer


@pytest.fixture(scope="module")
def matrix_spec():
    return load_variant("atlas_matrix")


@pytest.fixture(scope="module")
def matrix_data(bundled_study, matrix_spec):
    return build_model_data(bundled_study, matrix_spec)


def transfer_posterior(data, spec, rng, chains, n_draws, constant, pooled_mu=0.3):
    """Draws of the transfer variables (the same in every draw when ``constant``).

    The pooled source's population is centred on ``pooled_mu`` (far from the named pairs'
    -0.05) with a small spread, so its values are told apart from the feature model's.
    """
    shape = (1, 1) if constant else (chains, n_draws)
    direct, pooled = data["pair_direct"].values, data["pair_pooled"].values
    sizes = {
        "tau_intercept": (),
        "tau_coefficient": (len(spec.transfer.features),),
        "tau_source_scale": (),
        "tau_source_z": (data.sizes["source"],),
        "tau_residual_scale": (),
        "tau_direct": (int(direct.sum()),),
        "tau_residual_z": (int((~direct & ~pooled).sum()),),
        "tau_pooled_mu": (),
        "tau_pooled_sigma": (),
        "tau_pooled": (int(pooled.sum()),),
    }
    dims = {
        "tau_coefficient": ("transfer_feature",),
        "tau_source_z": ("source",),
        "tau_direct": ("pair_direct",),
        "tau_residual_z": ("pair_indirect",),
        "tau_pooled": ("pooled_pair",),
    }
    scale = {"tau_intercept": 0.1, "tau_coefficient": 0.1, "tau_source_z": 1.0,
             "tau_direct": 0.1, "tau_residual_z": 1.0}  # fmt: skip
    data_vars = {}
    for name in TRANSFER_VARIABLES:
        if name in ("tau_source_scale", "tau_residual_scale"):
            value = rng.uniform(0.03, 0.1, shape)
        elif name == "tau_pooled_mu":
            value = pooled_mu + rng.normal(0.0, 0.01, shape)
        elif name == "tau_pooled_sigma":
            value = rng.uniform(0.01, 0.02, shape)
        elif name == "tau_pooled":
            value = pooled_mu + rng.normal(0.0, 0.02, (*shape, *sizes[name]))
        else:
            value = rng.normal(-0.05, scale[name], (*shape, *sizes[name]))
        value = np.broadcast_to(value, (chains, n_draws, *sizes[name])).copy()
        data_vars[name] = (("chain", "draw", *dims.get(name, ())), value)
    return xr.Dataset(
        data_vars,
        coords={
            "chain": np.arange(chains),
            "draw": np.arange(n_draws),
            "transfer_feature": list(spec.transfer.features),
        },
    )


def expected_pair_tau(data, spec, posterior):
    """tau of every free pair by hand, (chain, draw, pair): the feature model for named
    sources, the pooled population's own draw (tau_pooled) for the pooled "other" source."""
    p = {name: posterior[name].values for name in TRANSFER_VARIABLES}
    features = data["pair_features"].sel(feature=list(spec.transfer.features)).values
    targets, sources = data["pair_target"].values, data["pair_source"].values
    direct, pooled = data["pair_direct"].values, data["pair_pooled"].values
    indirect = ~direct & ~pooled
    mean = p["tau_intercept"][..., None] + np.einsum(
        "cdf,pf->cdp", p["tau_coefficient"], features[targets, sources]
    )
    source = p["tau_source_scale"][..., None] * p["tau_source_z"]
    tau = np.full((*p["tau_intercept"].shape, len(direct)), np.nan)
    # Direct pairs are sampled as tau itself; the others as prior mean + scaled residual.
    tau[..., direct] = p["tau_direct"]
    tau[..., indirect] = (mean + source[..., sources])[..., indirect] + p["tau_residual_scale"][
        ..., None
    ] * p["tau_residual_z"]
    tau[..., pooled] = p["tau_pooled"]
    assert np.all(np.isfinite(tau))
    return tau


def test_transfer_matrix_of_a_fake_posterior(matrix_data, matrix_spec):
    # Guards: sampled pairs get their own tau (centred or scaled residual), the diagonal is 1.
    rng = np.random.default_rng(6)
    posterior = transfer_posterior(matrix_data, matrix_spec, rng, 2, 5, constant=False)
    fit = fake_fit(matrix_spec, posterior, matrix_data)
    tau = transfer_matrix(fit)
    assert tau.dims == ("chain", "draw", "target", "source")
    assert tau.shape == (2, 5, matrix_data.sizes["language"], matrix_data.sizes["source"])
    expected = expected_pair_tau(matrix_data, matrix_spec, posterior)
    got = tau.values[:, :, matrix_data["pair_target"].values, matrix_data["pair_source"].values]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    for code in tau["target"].values:
        assert (tau.sel(target=code, source=code).values == 1.0).all()
    np.testing.assert_array_equal(tau["measured"].values, matrix_data["pair_index"].values >= 0)
    # The pooled pairs are the tau_pooled draws themselves, in pooled_pair order.
    pooled = matrix_data["pair_pooled"].values
    assert pooled.any()
    targets = matrix_data["pair_target"].values[pooled]
    other = tau.sel(source=OTHER_SOURCE).values[:, :, targets]
    np.testing.assert_array_equal(other, posterior["tau_pooled"].values)
    # The pooled source has no source effect: moving its z changes no value of the matrix.
    moved = posterior.copy(deep=True)
    moved["tau_source_z"].values[..., list(tau["source"].values).index(OTHER_SOURCE)] = 5.0
    moved_tau = transfer_matrix(fake_fit(matrix_spec, moved, matrix_data))
    np.testing.assert_array_equal(moved_tau.values, tau.values)


@pytest.fixture(scope="module")
def partly_pooled_study(bundled_study, small_multilingual_study):
    """The small multilingual study plus the Unimax runs, evaluated on en and fr only: the
    pooled "other" source is a source, measured for en and fr, unmeasured for es, de, sw."""
    runs = bundled_study.runs
    unimax = set(runs.loc[runs["kind"] == "unimax", "run_id"])
    evals = bundled_study.evals
    unimax_evals = evals[evals["run_id"].isin(unimax) & evals["language"].isin(["en", "fr"])]
    mixture = bundled_study.mixture
    small = small_multilingual_study
    return type(small).from_frames(
        pd.concat([small.runs, runs[runs["run_id"].isin(unimax)]]),
        pd.concat([small.mixture, mixture[mixture["run_id"].isin(unimax)]]),
        pd.concat([small.evals, unimax_evals]),
        bundled_study.languages,
    )


def test_transfer_matrix_gives_unmeasured_pairs_the_feature_model(partly_pooled_study):
    # Guards: a named pair no run trained on gets feature mean + source effect + a seeded
    # Student-t residual; the pooled source of a target that never trained on it gets a
    # seeded draw of the pooled population, Normal(tau_pooled_mu, tau_pooled_sigma).
    spec = load_variant("atlas_matrix")
    data = build_model_data(partly_pooled_study, spec)
    measured = data["pair_index"].values >= 0
    languages, sources = list(data["language"].values), list(data["source"].values)
    assert languages == ["en", "fr", "es", "de", "sw"] and OTHER_SOURCE in sources
    other = sources.index(OTHER_SOURCE)
    np.testing.assert_array_equal(measured[:, other], [True, True, False, False, False])
    off_diagonal = np.array([[t != s for s in sources] for t in languages])
    unmeasured = off_diagonal & ~measured
    unmeasured_named = unmeasured.copy()
    unmeasured_named[:, other] = False
    assert unmeasured_named.any() and measured.any()
    rng = np.random.default_rng(7)
    posterior = transfer_posterior(data, spec, rng, 2, 50, constant=False)
    fit = fake_fit(spec, posterior, data, seed=11)
    tau = transfer_matrix(fit)
    features = data["pair_features"].sel(feature=list(spec.transfer.features)).values
    p = {name: posterior[name].values for name in TRANSFER_VARIABLES}
    mean = p["tau_intercept"][..., None, None] + np.einsum(
        "cdf,tsf->cdts", p["tau_coefficient"], features
    )
    mean = mean + (p["tau_source_scale"][..., None] * p["tau_source_z"])[:, :, None, :]
    residual = (tau.values - mean) / p["tau_residual_scale"][..., None, None]
    fresh = residual[:, :, unmeasured_named]
    assert np.all(np.isfinite(fresh)) and fresh.std() > 0.5  # Student-t(5) residuals
    # The pooled column: the measured targets' tau_pooled, the others' population draws.
    pooled_targets = data["pair_target"].values[data["pair_pooled"].values]
    np.testing.assert_array_equal(pooled_targets, [0, 1])
    np.testing.assert_array_equal(tau.values[:, :, pooled_targets, other], p["tau_pooled"])
    z = (tau.values[:, :, 2:, other] - p["tau_pooled_mu"][..., None]) / p["tau_pooled_sigma"][
        ..., None
    ]
    assert np.all(np.isfinite(z)) and np.abs(z).max() < 6.0  # near 0.3, not the named -0.05
    assert abs(z.mean()) < 0.3 and 0.8 < z.std() < 1.2  # standard normal (300 draws)
    assert np.corrcoef(z[..., 0].ravel(), z[..., 1].ravel())[0, 1] < 0.3  # fresh per target
    np.testing.assert_array_equal(transfer_matrix(fit).values, tau.values)  # the fit's seed
    reseeded = transfer_matrix(fit, seed=12).values
    assert not np.array_equal(reseeded, tau.values)
    assert not np.array_equal(reseeded[:, :, 2:, other], tau.values[:, :, 2:, other])
    np.testing.assert_array_equal(reseeded[:, :, measured], tau.values[:, :, measured])


def test_transfer_matrix_without_a_pooled_source(small_multilingual_study):
    # Guards: a study with no "other" source has no pooled pairs and every column named.
    spec = load_variant("atlas_matrix")
    data = build_model_data(small_multilingual_study, spec)
    assert OTHER_SOURCE not in set(data["source"].values) and not data["pair_pooled"].any()
    rng = np.random.default_rng(13)
    posterior = transfer_posterior(data, spec, rng, 1, 4, constant=False)
    assert posterior["tau_pooled"].shape == (1, 4, 0)
    fit = fake_fit(spec, posterior, data)
    tau = transfer_matrix(fit)
    got = tau.values[:, :, data["pair_target"].values, data["pair_source"].values]
    np.testing.assert_allclose(got, expected_pair_tau(data, spec, posterior), rtol=1e-12)


def test_transfer_findings_refuse_other_laws(matrix_data):
    # Guards: only an atlas_matrix fit has a transfer matrix to summarise or rank.
    fit = fake_fit(load_variant("atlas"), xr.Dataset(), matrix_data)
    with pytest.raises(WrongVariant, match="atlas_matrix"):
        transfer_summary(fit)
    with pytest.raises(WrongVariant, match="atlas_matrix"):
        source_ranking(fit, "en")
    with pytest.raises(ValueError, match="no transfer matrix"):
        transfer_matrix(fit)


def test_source_ranking_refuses_an_unknown_target(matrix_data, matrix_spec):
    # Guards: ranking the sources of a language the fit has no row for is a clear error.
    rng = np.random.default_rng(8)
    posterior = transfer_posterior(matrix_data, matrix_spec, rng, 1, 2, constant=True)
    fit = fake_fit(matrix_spec, posterior, matrix_data)
    with pytest.raises(ValueError, match="no transfer row for target 'xx'"):
        source_ranking(fit, "xx")


def test_transfer_summary_of_constant_draws(matrix_data, matrix_spec):
    # Guards: one row per off-diagonal pair with tau, P(tau > 0) and BTS = 2 tau / (1 + tau).
    rng = np.random.default_rng(9)
    posterior = transfer_posterior(matrix_data, matrix_spec, rng, 2, 3, constant=True)
    fit = fake_fit(matrix_spec, posterior, matrix_data)
    table = transfer_summary(fit)
    n_lang, n_src = matrix_data.sizes["language"], matrix_data.sizes["source"]
    assert len(table) == n_lang * n_src - n_lang  # every target is also a source
    assert not (table["target"] == table["source"]).any()
    assert {"measured", "p_positive", "bts_mean", "bts_ci_low", "bts_ci_high"} <= set(table)
    assert table["measured"].dtype == bool
    assert table["p_positive"].between(0, 1).all()
    tau = expected_pair_tau(matrix_data, matrix_spec, posterior)[0, 0]
    languages, sources = matrix_data["language"].values, matrix_data["source"].values
    by_hand = pd.Series(
        tau,
        index=pd.MultiIndex.from_arrays(
            [
                languages[matrix_data["pair_target"].values],
                sources[matrix_data["pair_source"].values],
            ]
        ),
    )
    table = table.set_index(["target", "source"])
    got = table["mean"].reindex(by_hand.index)
    np.testing.assert_allclose(got.to_numpy(), by_hand.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(table["ci_low"], table["mean"], rtol=1e-12)
    np.testing.assert_allclose(table["bts_mean"], 2 * table["mean"] / (1 + table["mean"]))
    np.testing.assert_allclose(table["bts_mean"], laws.transfer_to_bts(table["mean"]))
    np.testing.assert_array_equal(table["p_positive"], (table["mean"] > 0).astype(float))


def test_source_ranking_orders_by_mean_and_counts_the_top(matrix_data, matrix_spec):
    # Guards: sources ranked best first, target excluded, P(top 5) consistent across draws.
    rng = np.random.default_rng(10)
    posterior = transfer_posterior(matrix_data, matrix_spec, rng, 2, 40, constant=False)
    fit = fake_fit(matrix_spec, posterior, matrix_data)
    ranking = source_ranking(fit, "en")
    assert not {"en", OTHER_SOURCE} & set(ranking["source"])  # languages only by default
    assert len(ranking) == matrix_data.sizes["source"] - 2
    assert list(ranking["rank"]) == list(range(1, len(ranking) + 1))
    assert ranking["mean"].is_monotonic_decreasing
    assert ranking["p_top5"].between(0, 1).all()
    assert ranking["p_top5"].sum() == pytest.approx(5.0, abs=1e-9)
    assert ranking["p_positive"].between(0, 1).all()
    # Constant draws: the five best sources are in the top five in every draw.
    constant = transfer_posterior(matrix_data, matrix_spec, rng, 2, 3, constant=True)
    fixed = source_ranking(fake_fit(matrix_spec, constant, matrix_data), "fr", top=3)
    assert list(fixed["p_top3"]) == [1.0] * 3 + [0.0] * (len(fixed) - 3)
    tau = transfer_matrix(fake_fit(matrix_spec, constant, matrix_data))
    row = tau.sel(target="fr").isel(chain=0, draw=0).drop_sel(source=["fr", OTHER_SOURCE])
    best = row.sortby(row, ascending=False)["source"].values[:3]
    assert list(fixed["source"][:3]) == list(best)


def test_source_ranking_leaves_the_pooled_source_out_unless_asked(matrix_data, matrix_spec):
    # Guards: the pooled "other" source (centred at tau 0.3 here, far above the languages'
    # -0.05) would be first for every target and take a top-3 place in every draw; by default
    # it is left out of the ranking and of P(in the top), and include_pooled puts it back.
    rng = np.random.default_rng(11)
    constant = transfer_posterior(matrix_data, matrix_spec, rng, 2, 3, constant=True)
    fit = fake_fit(matrix_spec, constant, matrix_data)
    languages = source_ranking(fit, "fr", top=3)
    pooled = source_ranking(fit, "fr", top=3, include_pooled=True)
    assert OTHER_SOURCE not in set(languages["source"])
    assert pooled["source"].iloc[0] == OTHER_SOURCE and pooled["p_top3"].iloc[0] == 1.0
    # Without "other" the third language enters the top 3 in every draw.
    assert list(languages["source"][:3]) == list(pooled["source"][1:4])
    assert languages["p_top3"].sum() == pytest.approx(3.0)
    assert languages["p_top3"].iloc[2] == 1.0 and pooled["p_top3"].iloc[3] == 0.0
