"""The mixture optimiser on fake atlas_matrix fits with hand-chosen draws (no sampling):
the optimum against grid searches, the baselines, the quantile objective and bad requests."""

import json
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from atlas_bayes import laws
from atlas_bayes.decisions import mixture as mixture_module
from atlas_bayes.decisions.mixture import (
    MixtureDecision,
    default_unique_tokens,
    mixture_loss,
    optimise_mixture,
    unimax_weights,
)
from atlas_bayes.decisions.result import Decision, DecisionError
from atlas_bayes.inference.predict import predict_grid
from atlas_bayes.modeling.transfer import TRANSFER_VARIABLES
from atlas_bayes.variants import load_variant
from atlas_bayes.variants.transfer import OTHER_SOURCE

SPEC = load_variant("atlas_matrix")
#: The law's parameters of every language unless a test says otherwise (near the hyperprior
#: means of models/atlas_matrix.toml), and a decay that makes repetition bite quickly.
LAW = {"E": 1.8, "a": 0.35, "b": 0.5, "alpha": 0.35, "beta": 0.32, "decay": 0.5}


def matrix_fit(
    languages,
    tau,
    unique=None,
    law=None,
    n_draws=1,
    chains=1,
    unmeasured=(),
    other=False,
    interference="damped",
    intercept=0.0,
):
    """A fake atlas_matrix fit whose transfer matrix is ``tau`` exactly.

    ``tau`` is ``(L, L)`` or ``(chains, draws, L, L)`` (diagonal ignored); ``unique`` maps a
    language to its unique tokens (absent: unconstrained); ``law`` overrides :data:`LAW`,
    each value a scalar or an array ``(chains, draws)`` (decay is shared, the others are per
    language). Every off-diagonal pair is measured (a direct pair with ``tau_direct`` = its
    tau) except those in ``unmeasured``, which take the feature model: ``intercept`` plus a
    Student-t residual of scale 0.05. ``other`` adds the pooled "other" source.
    """
    spec = SPEC
    if interference != spec.interference:
        spec = SimpleNamespace(**{**vars(SPEC), "interference": interference})
    n = len(languages)
    sources = [*languages, OTHER_SOURCE] if other else list(languages)
    tau = np.broadcast_to(np.asarray(tau, dtype=float), (chains, n_draws, n, n))
    pairs = [(t, s) for t in range(n) for s in range(n) if t != s and (t, s) not in set(unmeasured)]
    pair_index = np.full((n, len(sources)), -1)
    for p, (t, s) in enumerate(pairs):
        pair_index[t, s] = p
    pooled_pairs = [(t, n) for t in range(n)] if other else []
    for p, (t, s) in enumerate(pooled_pairs, start=len(pairs)):
        pair_index[t, s] = p
    all_pairs = pairs + pooled_pairs
    unique = unique or {}
    obs_unique = np.array([unique.get(lang, laws.UNCONSTRAINED_UNIQUE_TOKENS) for lang in sources])
    run_tokens = np.where(obs_unique < 1e29, obs_unique, 1e10)
    # One monolingual run per language (one epoch, or 1e10 tokens where unconstrained), at
    # 1e8 and 1e10 parameters: the fitted range.
    tokens = np.diag(run_tokens)[:n].repeat(2, axis=0)
    features = list(spec.transfer.features)
    data = xr.Dataset(
        {
            "log_params": ("obs", np.log(np.tile([1e8, 1e10], n))),
            "target": ("obs", np.arange(n).repeat(2)),
            "tokens": (("obs", "source"), tokens),
            "unique_tokens": (("obs", "source"), np.tile(obs_unique, (2 * n, 1))),
            "top_source": (("language", "slot"), np.full((n, 1), -1)),
            "pair_index": (("language", "source"), pair_index),
            "pair_target": ("pair", np.array([t for t, _ in all_pairs], dtype=np.int64)),
            "pair_source": ("pair", np.array([s for _, s in all_pairs], dtype=np.int64)),
            "pair_direct": ("pair", np.array([True] * len(pairs) + [False] * len(pooled_pairs))),
            "pair_pooled": ("pair", np.array([False] * len(pairs) + [True] * len(pooled_pairs))),
            "pair_features": (
                ("language", "source", "feature"),
                np.zeros((n, len(sources), len(features))),
            ),
        },
        coords={"language": list(languages), "source": sources, "feature": features},
    )
    shape = (chains, n_draws)
    sample = ("chain", "draw")
    values = {
        "tau_intercept": (sample, np.full(shape, intercept)),
        "tau_coefficient": ((*sample, "transfer_feature"), np.zeros((*shape, len(features)))),
        "tau_source_scale": (sample, np.full(shape, 0.05)),
        "tau_source_z": ((*sample, "source"), np.zeros((*shape, len(sources)))),
        "tau_residual_scale": (sample, np.full(shape, 0.05)),
        "tau_direct": (
            (*sample, "pair_direct"),
            np.stack([tau[:, :, t, s] for t, s in pairs], axis=-1).reshape(*shape, len(pairs)),
        ),
        "tau_residual_z": ((*sample, "pair_indirect"), np.zeros((*shape, 0))),
        "tau_pooled_mu": (sample, np.full(shape, 0.2)),
        "tau_pooled_sigma": (sample, np.full(shape, 0.01)),
        "tau_pooled": ((*sample, "pooled_pair"), np.full((*shape, len(pooled_pairs)), 0.2)),
    }
    assert set(values) == set(TRANSFER_VARIABLES)
    law = {**LAW, **(law or {})}

    def per_language(value):
        value = np.broadcast_to(np.asarray(value, dtype=float), shape)
        return ((*sample, "language"), np.repeat(value[..., None], n, axis=-1))

    values["log_E"] = per_language(np.log(law["E"]))
    values["log_a"] = per_language(np.log(law["a"]))
    values["log_b"] = per_language(np.log(law["b"]))
    values["alpha"] = per_language(law["alpha"])
    values["beta"] = per_language(law["beta"])
    values["log_decay"] = (sample, np.broadcast_to(np.log(law["decay"]), shape).copy())
    posterior = xr.Dataset(
        values,
        coords={
            "chain": np.arange(chains),
            "draw": np.arange(n_draws),
            "language": list(languages),
            "transfer_feature": features,
        },
    )
    return SimpleNamespace(spec=spec, posterior=posterior, data=data, meta={"seed": 0})


def reference_loss(shares, tokens, params, unique, tau_row, law, interference="damped"):
    """The law by hand with the package's law functions: shares (..., k), target first."""
    seen = np.asarray(shares) * tokens
    saturated = laws.repetition_saturation(seen, np.asarray(unique), law["decay"])
    effective = laws.effective_tokens(
        saturated[..., 0], saturated[..., 1:], np.asarray(tau_row)[1:], interference
    )
    log_loss = laws.chinchilla_log_loss(
        np.log(params / SPEC.params_ref),
        np.log(effective / SPEC.tokens_ref),
        np.log(law["E"]),
        np.log(law["a"]),
        np.log(law["b"]),
        law["alpha"],
        law["beta"],
    )
    return np.exp(log_loss)


def simplex_grid(steps):
    """Every (w0, w1, w2) with w_i = j / steps."""
    i, j = np.meshgrid(np.arange(steps + 1), np.arange(steps + 1), indexing="ij")
    keep = i + j <= steps
    w0, w1 = i[keep] / steps, j[keep] / steps
    return np.stack([w0, w1, 1.0 - w0 - w1], axis=-1)


def shares(decision, languages):
    return np.array([decision.weights.get(lang, 0.0) for lang in languages])


# ----------------------------------------------------------------------------- the law


def test_mixture_loss_is_the_law_by_hand():
    # Guards: the vectorised mixture loss equals the package's law functions composed by hand.
    tau = np.array([[1.0, 0.3, -0.2], [0.1, 1.0, 0.0], [0.0, 0.0, 1.0]])
    fit = matrix_fit(["t", "a", "b"], tau, unique={"t": 1e9, "a": 2e9})
    weights = {"t": 0.5, "a": 0.3, "b": 0.2}
    loss = mixture_loss(fit, "t", weights, 1e10, 3e8)
    assert loss.dims == ("chain", "draw")
    expected = reference_loss([0.5, 0.3, 0.2], 1e10, 3e8, [1e9, 2e9, 1e30], tau[0], LAW)
    np.testing.assert_allclose(loss.values, expected, rtol=1e-12)
    # Weights are normalised; languages left out get nothing.
    half = mixture_loss(fit, "t", {"t": 1.0, "a": 1.0}, 1e10, 3e8)
    expected = reference_loss([0.5, 0.5, 0.0], 1e10, 3e8, [1e9, 2e9, 1e30], tau[0], LAW)
    np.testing.assert_allclose(half.values, expected, rtol=1e-12)


def test_mixture_loss_agrees_with_predict_grid():
    # Guards: the optimiser's law is the fitted model's (predict_grid's mean), draw by draw.
    rng = np.random.default_rng(0)
    tau = rng.normal(0.1, 0.3, (2, 5, 3, 3))
    fit = matrix_fit(
        ["t", "a", "b"],
        tau,
        unique={"t": 2e9, "b": 1e9},
        law={"beta": rng.uniform(0.25, 0.4, (2, 5)), "decay": rng.uniform(0.05, 0.5, (2, 5))},
        n_draws=5,
        chains=2,
    )
    weights = {"t": 0.4, "a": 0.25, "b": 0.35}
    got = mixture_loss(fit, "t", weights, 1.5e10, 2e9)
    grid = predict_grid(
        fit,
        ["t"],
        [2e9],
        pd.DataFrame({lang: [w * 1.5e10] for lang, w in weights.items()}),
        pd.DataFrame({"t": [2e9], "b": [1e9]}),
        predictive=False,
    )
    np.testing.assert_allclose(got.values, grid.values[..., 0], rtol=1e-10)


@pytest.mark.parametrize("interference", ["damped", "linear"])
@pytest.mark.parametrize("quantile", [None, 0.9, "smooth"])
def test_objective_gradient_matches_finite_differences(interference, quantile):
    # Guards: the analytic gradient SLSQP relies on, for every objective and interference form.
    rng = np.random.default_rng(8)
    languages = ["t", "a", "b", "c"]
    tau = rng.normal(0.1, 0.3, (1, 20, 4, 4))
    fit = matrix_fit(
        languages, tau, unique={"t": 2e9, "b": 1e9}, n_draws=20, interference=interference
    )
    unique = np.array([2e9, 1e30, 1e9, 1e30])
    problem, _, _ = mixture_module._build_problem(fit, "t", 1e10, 1e9, languages, unique, None)
    kernel = None
    q = quantile
    if quantile == "smooth":
        q, kernel = 0.9, mixture_module._rank_kernel(20, 0.9)
    weights = np.array([0.45, 0.2, 0.25, 0.1])  # t and b beyond one epoch
    _, grad = mixture_module._objective(weights, problem, q, kernel)
    step = 1e-7
    numeric = [
        (
            mixture_module._objective(weights + step * e, problem, q, kernel)[0]
            - mixture_module._objective(weights - step * e, problem, q, kernel)[0]
        )
        / (2 * step)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


# ----------------------------------------------------------------------------- the optimum


def test_two_language_optimum_matches_a_fine_grid():
    # Guards: one draw, known tau: the optimum is the minimum of a fine grid over the share.
    tau = np.array([[1.0, 0.4], [0.4, 1.0]])
    fit = matrix_fit(["t", "s"], tau, unique={"t": 1e9})
    decision = optimise_mixture(fit, "t", 1e10, 1e9)
    grid = np.linspace(0.0, 1.0, 100_001)
    losses = reference_loss(np.stack([grid, 1 - grid], -1), 1e10, 1e9, [1e9, 1e30], tau[0], LAW)
    best = grid[np.argmin(losses)]
    assert 0.1 < best < 0.9  # an interior optimum, so the test means something
    assert decision.weights["t"] == pytest.approx(best, abs=2e-5)
    assert float(decision.draws["loss"].values[0, 0]) <= losses.min() + 1e-12
    assert float(decision.draws["loss"].values[0, 0]) == pytest.approx(losses.min(), rel=1e-10)


def test_three_languages_many_draws_match_a_simplex_grid():
    # Guards: mean and q90 optima over uncertain tau are at least as good as a simplex grid's.
    rng = np.random.default_rng(1)
    n_draws = 40
    tau = np.zeros((1, n_draws, 3, 3))
    tau[..., 0, 1] = rng.normal(0.35, 0.25, (1, n_draws))  # uncertain, mostly positive
    tau[..., 0, 2] = rng.normal(0.15, 0.05, (1, n_draws))  # modest, certain
    tau[0, :5, 0, 1] = -0.3  # a few draws with interference
    law = {"beta": rng.uniform(0.28, 0.36, (1, n_draws))}
    fit = matrix_fit(["t", "a", "b"], tau, unique={"t": 1e9, "b": 2e9}, law=law, n_draws=n_draws)
    points = simplex_grid(400)
    points = points[points[:, 0] > 0]  # none of the target and negative transfer: D_eff = 0
    by_draw = np.stack(
        [
            reference_loss(
                points,
                1e10,
                1e9,
                [1e9, 1e30, 2e9],
                tau[0, d, 0],
                {**LAW, "beta": law["beta"][0, d]},
            )
            for d in range(n_draws)
        ],
        axis=-1,
    )
    for q in (None, 0.9):
        decision = optimise_mixture(fit, "t", 1e10, 1e9, quantile=q)
        loss = decision.draws["loss"].values.ravel()
        if q is None:
            grid_values = by_draw.mean(axis=-1)
            value = loss.mean()
        else:
            grid_values = np.quantile(by_draw, q, axis=-1)
            value = np.quantile(loss, q)
        assert value <= grid_values.min() + 1e-9
        if q is None:
            best = points[np.argmin(grid_values)]
            np.testing.assert_allclose(shares(decision, ["t", "a", "b"]), best, atol=4e-3)


def test_no_useful_transfer_keeps_every_token_on_the_target():
    # Guards: tau <= 0 to the target and unconstrained target data: target-only is optimal.
    languages = ["t", "a", "b", "c", "d"]
    tau = np.eye(5)
    tau[0, 1:] = [0.0, -0.05, -0.2, -0.01]
    fit = matrix_fit(languages, tau)
    decision = optimise_mixture(fit, "t", 5e10, 1e9)
    assert decision.weights["t"] > 1 - 1e-6
    improvement = decision.draws["improvement_target_only"].values
    assert np.all(improvement >= -1e-12) and np.all(improvement < 1e-9)
    assert np.all(decision.draws["improvement_unimax"].values > 0)
    comparison = decision.comparison.set_index("mixture")
    assert comparison.loc["unimax", "p_optimum_better"] == 1.0


def test_scarce_target_data_moves_tokens_to_a_transferring_source():
    # Guards: scarce target data and a transferring source: tokens move there, beating target-only.
    rng = np.random.default_rng(2)
    tau = np.zeros((2, 50, 3, 3))
    tau[..., 0, 1] = rng.normal(0.4, 0.05, (2, 50))
    tau[..., 0, 2] = -0.1
    fit = matrix_fit(["t", "s", "x"], tau, unique={"t": 2e8}, n_draws=50, chains=2)
    decision = optimise_mixture(fit, "t", 1e10, 1e9)  # 50 epochs of t if target-only
    mixture = decision.mixture.set_index("language")
    assert mixture.loc["s", "weight"] > 0.5
    # While tau < 1 a token of the target's first epoch is worth more than any source token.
    assert mixture.loc["t", "epochs"] >= 1 - 1e-6
    assert mixture.loc["x", "weight"] < 1e-6
    assert np.all(decision.draws["improvement_target_only"].values > 0)
    comparison = decision.comparison.set_index("mixture")
    assert comparison.loc["target_only", "p_optimum_better"] == 1.0
    assert comparison.loc["target_only", "improvement"] > 0


def test_quantile_optimum_trades_mean_for_a_lower_upper_quantile():
    # Guards: the q90 optimum has the lower q90, the mean optimum the lower mean (by construction).
    rng = np.random.default_rng(3)
    tau = np.zeros((4, 100, 3, 3))
    tau[..., 0, 1] = np.clip(rng.normal(0.45, 0.3, (4, 100)), 0.0, None)
    tau[..., 0, 2] = rng.normal(0.2, 0.01, (4, 100))
    fit = matrix_fit(["t", "risky", "safe"], tau, unique={"t": 5e8}, n_draws=100, chains=4)
    mean_opt = optimise_mixture(fit, "t", 1e10, 1e9)
    cautious = optimise_mixture(fit, "t", 1e10, 1e9, quantile=0.9)
    mean_loss = mean_opt.draws["loss"].values.ravel()
    cautious_loss = cautious.draws["loss"].values.ravel()
    # Exact: the mean optimum is a start of the quantile search, and the best point is kept.
    assert np.quantile(cautious_loss, 0.9) <= np.quantile(mean_loss, 0.9)
    # Up to the optimiser's tolerance: with every tau >= 0 the mean objective is convex, so the
    # mean optimum is the global one.
    assert mean_loss.mean() <= cautious_loss.mean() + 1e-9
    # A risky source (tau 0.45 +- 0.3) and a safe one (0.2 +- 0.01): caution buys the safe one.
    assert cautious.weights.get("safe", 0) > mean_opt.weights.get("safe", 0) + 0.05
    # The cautious decision reports the mean optimum beside it, and its objective.
    comparison = cautious.comparison.set_index("mixture")
    assert set(comparison["objective"]) == {"q90 loss"}
    assert comparison.loc["mean_optimum", "value"] >= comparison.loc["optimum", "value"]
    np.testing.assert_allclose(
        cautious.mixture.set_index("language").loc[["t", "risky", "safe"], "mean_optimum_weight"],
        shares(mean_opt, ["t", "risky", "safe"]),
    )
    assert comparison.loc["optimum", "value"] == pytest.approx(np.quantile(cautious_loss, 0.9))


def test_mean_optimum_does_not_depend_on_model_size():
    # Guards: N only shifts E + a N^-alpha, so the mean-optimal shares do not depend on it.
    rng = np.random.default_rng(4)
    tau = np.zeros((1, 30, 3, 3))
    tau[..., 0, 1] = rng.normal(0.3, 0.1, (1, 30))
    tau[..., 0, 2] = rng.normal(0.1, 0.1, (1, 30))
    law = {"alpha": rng.uniform(0.3, 0.4, (1, 30))}
    fit = matrix_fit(["t", "a", "b"], tau, unique={"t": 1e9}, law=law, n_draws=30)
    small = optimise_mixture(fit, "t", 2e10, 1e8)
    large = optimise_mixture(fit, "t", 2e10, 1e11)
    np.testing.assert_allclose(
        shares(small, ["t", "a", "b"]), shares(large, ["t", "a", "b"]), atol=1e-6
    )
    assert float(small.draws["loss"].mean()) > float(large.draws["loss"].mean())


def test_optimum_is_never_worse_than_a_baseline_on_its_objective():
    # Guards: baselines are starts and the best is kept: the optimum never loses on its objective.
    rng = np.random.default_rng(5)
    languages = [f"l{i}" for i in range(8)]
    tau = rng.normal(0.05, 0.2, (2, 25, 8, 8))
    unique = {lang: float(u) for lang, u in zip(languages, rng.uniform(1e8, 3e9, 8), strict=True)}
    fit = matrix_fit(languages, tau, unique=unique, n_draws=25, chains=2)
    for q in (None, 0.9):
        decision = optimise_mixture(fit, "l0", 1e10, 1e9, quantile=q)
        comparison = decision.comparison.set_index("mixture")
        assert comparison.loc["optimum", "improvement"] == 0.0
        assert (comparison["improvement"] >= 0).all()
        assert decision.mixture["weight"].sum() == pytest.approx(1.0, abs=1e-12)
        assert (decision.mixture["weight"] >= 0).all()


# ----------------------------------------------------------------------------- baselines


def test_unimax_spreads_uniformly_under_the_epoch_cap():
    # Guards: Unimax fills the smallest corpora first, capped, passing the excess to larger ones.
    weights = unimax_weights(100.0, {"a": 5.0, "b": 20.0, "c": None}, max_epochs=4)
    assert list(weights) == ["a", "b", "c"]
    np.testing.assert_allclose(list(weights.values()), [0.2, 0.4, 0.4], rtol=1e-12)
    uncapped = unimax_weights(30.0, {"a": 5.0, "b": 20.0, "c": None}, max_epochs=4)
    np.testing.assert_allclose(list(uncapped.values()), [1 / 3] * 3, rtol=1e-12)


def test_unimax_spends_the_whole_budget_when_every_language_is_capped():
    # Guards: with every language capped, Unimax spreads the rest by unique tokens (equal epochs).
    weights = unimax_weights(1000.0, {"a": 5.0, "b": 20.0}, max_epochs=4)
    np.testing.assert_allclose([weights["a"], weights["b"]], [0.2, 0.8], rtol=1e-12)


def test_decision_reports_the_baselines_draw_by_draw():
    # Guards: baseline losses are the law at the baseline mixtures; improvements their differences.
    tau = np.array([[1.0, 0.3, 0.1], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    unique = {"t": 1e9, "a": 2e9, "b": 5e8}
    fit = matrix_fit(["t", "a", "b"], tau, unique=unique)
    decision = optimise_mixture(fit, "t", 1e10, 1e9, max_epochs=2.0)
    unimax = unimax_weights(1e10, unique, max_epochs=2.0)
    table = decision.mixture.set_index("language")
    for lang in ("t", "a", "b"):
        assert table.loc[lang, "unimax_weight"] == pytest.approx(unimax[lang], rel=1e-12)
    assert table.loc["t", "target_only_weight"] == 1.0
    u = [1e9, 2e9, 5e8]
    for name, weights in (("target_only", [1.0, 0, 0]), ("unimax", list(unimax.values()))):
        expected = reference_loss(weights, 1e10, 1e9, u, tau[0], LAW)
        np.testing.assert_allclose(decision.draws[f"loss_{name}"].values, expected, rtol=1e-12)
        np.testing.assert_allclose(
            decision.draws[f"improvement_{name}"].values,
            decision.draws[f"loss_{name}"].values - decision.draws["loss"].values,
        )
    np.testing.assert_allclose(table["epochs"], table["tokens"] / table["unique_tokens"])
    assert table.loc["a", "tau_mean"] == pytest.approx(0.3) and table.loc["t", "tau_mean"] == 1.0


# ----------------------------------------------------------------------------- the result


def test_decision_is_a_complete_record():
    # Guards: a MixtureDecision is a full Decision (draws, units, summary, JSON, inputs, tables).
    rng = np.random.default_rng(6)
    tau = rng.normal(0.2, 0.1, (2, 10, 3, 3))
    fit = matrix_fit(["t", "a", "b"], tau, unique={"t": 1e10}, n_draws=10, chains=2)
    decision = optimise_mixture(fit, "t", 1e10, 1e9, quantile=0.8, seed=3)
    assert isinstance(decision, MixtureDecision) and isinstance(decision, Decision)
    assert set(decision.draws.data_vars) == {
        "loss", "loss_target_only", "loss_unimax", "improvement_target_only",
        "improvement_unimax", "effective_tokens",
    }  # fmt: skip
    for values in decision.draws.data_vars.values():
        assert values.dims == ("chain", "draw")
    assert decision.units["loss"] == "nats per token"
    assert decision.units["effective_tokens"] == "tokens"
    summary = decision.summary()
    assert list(summary["quantity"]) == list(decision.draws.data_vars)
    as_json = json.loads(decision.to_json())
    assert as_json["inputs"]["target"] == "t" and as_json["inputs"]["quantile"] == 0.8
    assert as_json["inputs"]["unique_tokens"] == {"t": 1e10, "a": None, "b": None}
    assert {row["language"] for row in as_json["mixture"]} == {"t", "a", "b"}
    assert [row["mixture"] for row in as_json["comparison"]] == [
        "optimum", "target_only", "unimax", "mean_optimum",
    ]  # fmt: skip
    assert as_json["comparison"][0]["p_optimum_better"] is None
    assert "q80" in decision.question
    assert not decision.extrapolated


def test_default_unique_tokens_are_the_studys():
    # Guards: unique tokens default to the fit data's declared counts; given ones override them.
    fit = matrix_fit(["t", "a"], np.eye(2), unique={"t": 3e9}, other=True)
    assert default_unique_tokens(fit) == {"t": 3e9, "a": None}
    decision = optimise_mixture(fit, "t", 1e10, 1e9)
    assert list(decision.inputs["languages"]) == ["t", "a"]
    assert decision.inputs["unique_tokens"] == {"t": 3e9, "a": None}
    override = optimise_mixture(fit, "t", 1e10, 1e9, unique_tokens={"a": 1e9, "t": None})
    assert override.inputs["unique_tokens"] == {"t": None, "a": 1e9}


def test_candidate_languages_can_be_chosen():
    # Guards: only the listed languages (plus the target, always) get shares.
    tau = np.full((4, 4), 0.3)
    fit = matrix_fit(["t", "a", "b", "c"], tau, unique={"t": 1e8})
    decision = optimise_mixture(fit, "t", 1e10, 1e9, languages=["b"])
    assert list(decision.mixture["language"].sort_values()) == ["b", "t"]
    assert decision.inputs["languages"] == ["t", "b"]


def test_numpy_numbers_are_valid_requests():
    # Guards: budgets and sizes arriving as numpy scalars are accepted.
    fit = matrix_fit(["t", "s"], np.full((2, 2), 0.3), unique={"t": 1e9})
    decision = optimise_mixture(
        fit, "t", np.int64(10**10), np.float32(1e9), quantile=np.float64(0.9)
    )
    assert decision.inputs["tokens"] == 1e10 and decision.weights["s"] > 0


def test_notes_flag_extrapolation_and_unmeasured_transfer():
    # Guards: N, budget or epochs outside the fitted runs and unmeasured transfer are flagged.
    tau = np.array([[1.0, 0.0], [0.0, 1.0]])
    fit = matrix_fit(["t", "s"], tau, unique={"t": 1e8}, unmeasured=[(0, 1)], intercept=0.5)
    decision = optimise_mixture(fit, "t", 1e12, 1e12)
    notes = " | ".join(decision.notes)
    assert decision.extrapolated
    assert "N = 1e+12 parameters is outside" in notes
    assert "exceeds the largest fitted run" in notes
    assert "no fitted run trained t with s" in notes
    assert re.search(
        r"repeats the data of t [0-9.]+ times; the fitted runs .* at most 1 times", notes
    )
    assert decision.weights["s"] > 0.5


def test_optimising_on_a_subset_of_draws_reports_all_draws():
    # Guards: optimisation_draws thins what the optimiser sees, says so, and reports all draws.
    rng = np.random.default_rng(7)
    tau = rng.normal(0.3, 0.1, (2, 30, 2, 2))
    fit = matrix_fit(["t", "s"], tau, unique={"t": 1e9}, n_draws=30, chains=2)
    decision = optimise_mixture(fit, "t", 1e10, 1e9, optimisation_draws=12)
    assert decision.draws["loss"].shape == (2, 30)
    assert decision.inputs["optimisation_draws"] == 12
    assert any("optimised on 12 of 60 draws" in note for note in decision.notes)
    full = optimise_mixture(fit, "t", 1e10, 1e9)
    assert abs(decision.weights["t"] - full.weights["t"]) < 0.05


def test_linear_interference_is_floored_at_one_effective_token():
    # Guards: the linear form's D_eff <= 0 is scored at one effective token, never NaN.
    tau = np.array([[1.0, -2.0], [0.0, 1.0]])
    fit = matrix_fit(["t", "s"], tau, interference="linear")
    loss = mixture_loss(fit, "t", {"t": 0.2, "s": 0.8}, 1e10, 1e9)
    assert np.isfinite(loss.values).all()
    expected = 1.8 + 0.35 + 0.5 * (1.0 / SPEC.tokens_ref) ** -0.32
    assert float(loss.values.ravel()[0]) == pytest.approx(expected, rel=1e-12)
    decision = optimise_mixture(fit, "t", 1e10, 1e9)
    assert decision.weights == {"t": 1.0}


# ----------------------------------------------------------------------------- bad requests


@pytest.fixture(scope="module")
def small_fit():
    return matrix_fit(["t", "a", "b"], np.full((3, 3), 0.2), unique={"t": 1e9}, other=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "xx"}, r"unknown target 'xx': the fit has parameters for t, a, b"),
        ({"languages": ["a", "zz"]}, r"unknown language\(s\) 'zz': .* are t, a, b"),
        ({"languages": ["other"]}, r"'other' is the fit's pooled source"),
        ({"tokens": 0.0}, r"token budget must be a positive number, got 0.0"),
        ({"tokens": -1e9}, r"token budget must be a positive number"),
        ({"tokens": math.nan}, r"token budget must be a positive number"),
        ({"params": 0}, r"model size \(params\) must be a positive number"),
        ({"params": "1e9"}, r"model size \(params\) must be a positive number, got '1e9'"),
        ({"quantile": 1.0}, r"quantile must be in \(0, 1\), got 1.0"),
        ({"max_epochs": 0}, r"max_epochs must be a positive number"),
        ({"unique_tokens": {"a": -5.0}}, r"unique tokens of 'a' must be positive"),
        ({"unique_tokens": {"qq": 1e9}}, r"unique tokens given for unknown language\(s\) 'qq'"),
        ({"optimisation_draws": 0}, r"optimisation_draws must be at least 1"),
    ],
)
def test_bad_requests_name_the_problem(small_fit, kwargs, message):
    # Guards: each impossible request raises DecisionError saying what is wrong.
    request = {"target": "t", "tokens": 1e10, "params": 1e9, **kwargs}
    with pytest.raises(DecisionError, match=message):
        optimise_mixture(small_fit, **request)


def test_other_laws_are_refused(small_fit):
    # Guards: a fit of another law is refused with a DecisionError naming variant and law.
    other = SimpleNamespace(**{**vars(small_fit), "spec": load_variant("atlas")})
    with pytest.raises(DecisionError, match=r"needs .* law atlas_matrix; 'atlas' uses the atlas"):
        optimise_mixture(other, "t", 1e10, 1e9)
    with pytest.raises(DecisionError, match="atlas_matrix"):
        mixture_loss(other, "t", {"t": 1.0}, 1e10, 1e9)


def test_bad_mixture_weights_are_refused(small_fit):
    # Guards: mixture_loss needs non-negative shares with a positive sum, of known languages.
    with pytest.raises(DecisionError, match="non-negative with a positive sum"):
        mixture_loss(small_fit, "t", {"t": 1.0, "a": -0.5}, 1e10, 1e9)
    with pytest.raises(DecisionError, match="non-negative with a positive sum"):
        mixture_loss(small_fit, "t", {"t": 0.0}, 1e10, 1e9)
    with pytest.raises(DecisionError, match=r"unknown language\(s\) 'zz'"):
        mixture_loss(small_fit, "t", {"t": 1.0, "zz": 1.0}, 1e10, 1e9)
