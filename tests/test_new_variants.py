"""The four new variants (curse, crossover, crossover_exponent, atlas_matrix): specs, data
selection, the mean function against the pure laws, and models that compile. No sampling."""

import copy
import tomllib
from types import SimpleNamespace

import numpy as np
import pymc as pm
import pytest
from conftest import jittered_posterior

from atlas_bayes import laws
from atlas_bayes.inference.predict import mean_log_loss
from atlas_bayes.modeling.build import build_model, free_variable_names
from atlas_bayes.modeling.data import (
    TRANSFER_PAIRS_ATTR,
    ModelDataError,
    build_model_data,
    build_prediction_data,
    pool_unseen_sources,
)
from atlas_bayes.modeling.mean import head_start_tokens, model_inputs, predicted_log_loss
from atlas_bayes.modeling.transfer import TRANSFER_VARIABLES, indirect_to_pooled_ratio
from atlas_bayes.resources import models_path
from atlas_bayes.variants import LAW_PARAMETERS, SpecError, VariantSpec, load_variant
from atlas_bayes.variants.transfer import OTHER_SOURCE, PAIR_FEATURES, TransferSpec

NEW = ("curse", "crossover", "crossover_exponent", "atlas_matrix")
FINETUNE = ("crossover", "crossover_exponent")
N_REF, D_REF = 1e9, 1e10


def raw_variant(name: str) -> dict:
    """The parsed TOML of a shipped variant (a fresh copy to mutate)."""
    return tomllib.loads((models_path() / f"{name}.toml").read_text(encoding="utf-8"))


def trained_by_run(study) -> dict[str, set[str]]:
    """The languages each run trained on (tokens > 0), from the study's mixtures."""
    mixture = study.mixture[study.mixture["tokens"] > 0]
    return {run: set(group) for run, group in mixture.groupby("run_id")["language"]}


def run_kinds(study, run_ids) -> set[str]:
    return set(study.runs.set_index("run_id").loc[np.unique(run_ids), "kind"])


@pytest.fixture(scope="module")
def trained(bundled_study):
    return trained_by_run(bundled_study)


@pytest.fixture(scope="module")
def fit_data(bundled_study):
    """Fit data of every new variant on the bundled study, built once."""
    return {name: build_model_data(bundled_study, load_variant(name)) for name in NEW}


def per_language(rng, data, low, high):
    """Arbitrary per-language values, laid out per observation."""
    return rng.uniform(low, high, data.sizes["language"])[data["target"].values]


# ----------------------------------------------------------------------------- 1. specs & models


@pytest.mark.parametrize("name", NEW)
def test_new_variant_loads_and_round_trips(name):
    # Guards: each shipped file parses to its own law, and to_dict/to_json lose nothing.
    spec = load_variant(name)
    assert spec.name == name and spec.law == name
    assert list(spec.parameters) == list(LAW_PARAMETERS[name])
    assert VariantSpec.from_dict(spec.to_dict()) == spec
    assert VariantSpec.from_json(spec.to_json()) == spec
    assert VariantSpec.from_json(spec.to_json()).to_json() == spec.to_json()
    assert (spec.transfer is not None) == (name == "atlas_matrix")


def test_new_spec_fields_are_parsed():
    # Guards: K_ref, data.kinds, per-parameter parameterization and [transfer] reach the spec.
    curse = load_variant("curse")
    assert curse.languages_ref == 12.0
    assert curse.data.kinds == ("capacity",)
    assert curse.parameterization == "centred"
    assert curse.parameters["phi"].parameterization == "noncentred"
    assert curse.parameters["alpha"].parameterization is None
    assert load_variant("atlas").languages_ref == 1.0
    assert load_variant("crossover").data.kinds == ("monolingual", "finetune")
    matrix = load_variant("atlas_matrix")
    assert isinstance(matrix.transfer, TransferSpec)
    assert matrix.transfer.features == tuple(PAIR_FEATURES)
    assert matrix.transfer.residual_nu == 5.0
    assert matrix.transfer.source_scale.support == "positive"
    # The pooled "other" source has its own population: Normal(pooled_mean, pooled_scale).
    assert matrix.transfer.pooled_mean.dist == "Normal"
    assert matrix.transfer.pooled_mean.args == {"mu": 0.1, "sigma": 0.2}
    assert matrix.transfer.pooled_scale.dist == "HalfNormal"
    assert matrix.transfer.pooled_scale.support == "positive"
    assert matrix.transfer.to_dict()["pooled_scale"] == {"dist": "HalfNormal", "sigma": 0.1}
    assert "is_other" not in PAIR_FEATURES


def test_mixture_sweep_variant_is_atlas_matrix_without_features(bundled_study):
    # Guards: atlas_matrix_mixtures (RegMix-style sweeps) is the matrix law with its own
    # priors, no pair features, prior-draw chain starts, and a model that builds and starts
    # finite (an empty feature axis must not break the feature mean).
    spec = load_variant("atlas_matrix_mixtures")
    assert spec.law == "atlas_matrix" and spec.name == "atlas_matrix_mixtures"
    assert spec.transfer.features == ()
    assert spec.initialization == "prior" and not spec.anchor_log_e
    assert spec.parameters["log_E"].pooling == "shared"
    # One data exponent: per-target exponents are a ridge at one N and one budget.
    assert spec.parameters["beta"].pooling == "shared"
    assert VariantSpec.from_dict(spec.to_dict()) == spec
    model = build_model(build_model_data(bundled_study, spec), spec)
    assert model.named_vars_to_dims["tau_coefficient"] == ("transfer_feature",)
    assert len(model.coords["transfer_feature"]) == 0
    assert np.isfinite(model.compile_logp()(model.initial_point()))


@pytest.mark.parametrize("name", NEW)
def test_new_variant_builds_a_model_with_finite_initial_logp(name, fit_data):
    # Guards: the PyMC model of each new law compiles on the bundled study and starts finite.
    spec = load_variant(name)
    model = build_model(fit_data[name], spec)
    logp = model.compile_logp()(model.initial_point())
    assert np.isfinite(logp)
    free = set(free_variable_names(model))
    # Per-parameter parameterization overrides the variant's (centred) default.
    for pname, pspec in spec.parameters.items():
        if pspec.pooling != "hierarchical":
            continue
        noncentred = (pspec.parameterization or spec.parameterization) == "noncentred"
        assert (f"{pname}_z" in free) == noncentred, pname
    if name == "atlas_matrix":
        # tau_pooled is non-centred: a Deterministic of the free tau_pooled_z; its mean is
        # sampled along the intercept ridge (tau_pooled_level).
        deterministic = {"tau_pooled", "tau_pooled_mu"}
        assert (
            set(TRANSFER_VARIABLES) - deterministic | {"tau_pooled_z", "tau_pooled_level"} <= free
        )
        assert "tau_pooled_mu" in model.named_vars and "tau_pooled_mu" not in free
        assert "tau_pooled" in model.named_vars and "tau_pooled" not in free
        data = fit_data[name]
        direct, pooled = data["pair_direct"].values, data["pair_pooled"].values
        assert pooled.any() and not (direct & pooled).any()
        dims = model.named_vars_to_dims
        assert dims["tau_direct"] == ("pair_direct",)
        assert dims["tau_residual_z"] == ("pair_indirect",)
        assert dims["tau_pooled"] == dims["tau_pooled_z"] == ("pooled_pair",)
        assert "tau_pooled_mu" not in dims and "tau_pooled_sigma" not in dims  # scalars
        # Every pair is in exactly one of direct (centred), indirect (non-centred), pooled.
        np.testing.assert_array_equal(model.coords["pair_direct"], np.flatnonzero(direct))
        np.testing.assert_array_equal(
            model.coords["pair_indirect"], np.flatnonzero(~direct & ~pooled)
        )
        np.testing.assert_array_equal(model.coords["pooled_pair"], np.flatnonzero(pooled))
        total = sum(len(model.coords[k]) for k in ("pair_direct", "pair_indirect", "pooled_pair"))
        assert total == data.sizes["pair"]
        # The pooled population's scale is a positive (log-transformed) variable.
        assert model.rvs_to_transforms[model["tau_pooled_sigma"]] is not None


@pytest.mark.parametrize(
    ("name", "value", "partner", "prior"),
    [
        ("atlas_matrix", "tau_pooled_mu", "tau_intercept", (0.1, 0.2)),
        ("crossover", "tau_named_mu", "tau_pooled", (0.0, 0.2)),
    ],
)
def test_ridge_reparameterisations_keep_the_prior(name, value, partner, prior, fit_data):
    # The sampler sees value + partner * ratio (what the data pin down); the model must stay
    # the same, so the prior of the value is still its own Normal, independent of the
    # partner. 4000 prior draws: the mean is within 4 standard errors (4 x 0.2 / sqrt(4000)
    # = 0.013), the sd within 5 % and the correlation within 4 / sqrt(4000) = 0.063 of 0.
    spec = load_variant(name)
    model = build_model(fit_data[name], spec)
    assert value not in set(free_variable_names(model))
    with model:
        draws = pm.sample_prior_predictive(draws=4000, var_names=[value, partner], random_seed=1)
    x = draws.prior[value].values.ravel()
    y = draws.prior[partner].values.ravel()
    mu, sd = prior
    assert abs(x.mean() - mu) < 4 * sd / np.sqrt(x.size)
    assert abs(x.std() / sd - 1) < 0.05
    assert abs(np.corrcoef(x, y)[0, 1]) < 4 / np.sqrt(x.size)


def test_indirect_to_pooled_ratio_by_hand(fit_data):
    # Tokens of named sources without bilingual runs per pooled token, over the runs that
    # trained on the pooled source, entry by entry.
    data = fit_data["atlas_matrix"]
    sources = [str(s) for s in data["source"].values]
    pooled_column = sources.index(OTHER_SOURCE)
    named, pooled = 0.0, 0.0
    for obs in range(data.sizes["obs"]):
        target = int(data["target"].values[obs])
        row = data["tokens"].values[obs]
        if row[pooled_column] <= 0:
            continue
        pooled += row[pooled_column]
        for s, tokens in enumerate(row):
            pair = data["pair_index"].values[target, s]
            if s != pooled_column and pair >= 0 and not data["pair_direct"].values[pair]:
                named += tokens
    assert named > 0 and pooled > 0
    assert indirect_to_pooled_ratio(data) == pytest.approx(named / pooled, rel=1e-12)


@pytest.mark.parametrize("name", NEW)
def test_new_law_written_once_model_and_numpy_agree(name, fit_data):
    # Guards: the PyTensor likelihood mean and the numpy prediction path are the same law.
    spec = load_variant(name)
    data = fit_data[name]
    model = build_model(data, spec)
    posterior, model_mean = jittered_posterior(model, seed=NEW.index(name))
    fake = SimpleNamespace(spec=spec, posterior=posterior, data=data, meta={"seed": 0})
    numpy_mean = mean_log_loss(fake, data).values[0, 0]
    np.testing.assert_allclose(numpy_mean, model_mean, rtol=1e-10, atol=1e-12)


def test_atlas_matrix_predicts_runs_and_pairs_it_never_fitted(bundled_study, fit_data):
    # Prediction numbers every (target, source) pair and takes the whole posterior matrix:
    # the fitted observations come out exactly as the model's mean, and runs the variant
    # leaves out (capacity runs, on languages it never saw as sources) are predicted too,
    # their unseen sources counted as the pooled "other" source.
    spec = load_variant("atlas_matrix")
    data = fit_data["atlas_matrix"]
    model = build_model(data, spec)
    posterior, model_mean = jittered_posterior(model, seed=7)
    fake = SimpleNamespace(spec=spec, posterior=posterior, data=data, meta={"seed": 0})
    everything = build_prediction_data(bundled_study, data)
    assert everything.attrs[TRANSFER_PAIRS_ATTR] == "all"
    predicted = mean_log_loss(fake, everything).values[0, 0]
    assert np.isfinite(predicted).all()

    # The fitted observations, found by run, language and tokens (curves repeat run ids).
    def keys(d):
        return list(
            zip(
                d["run_id"].values,
                d["eval_language"].values,
                d["tokens"].values.sum(1),
                strict=True,
            )
        )

    position = {key: i for i, key in enumerate(keys(everything))}
    fitted = [position[key] for key in keys(data)]
    np.testing.assert_allclose(predicted[fitted], model_mean, rtol=1e-10, atol=1e-12)
    # Capacity runs train on languages the fit has no transfer weight for: pooled.
    obs = bundled_study.observations()
    unseen = sorted(set(obs["language"].values) - set(data["source"].values.astype(str)))
    unseen = [s for s in unseen if obs["tokens"].sel(language=s).sum() > 0]
    assert unseen, "the bundled study's capacity runs train on languages atlas_matrix never saw"
    pooled = pool_unseen_sources(obs, unseen, [str(s) for s in data["source"].values])
    np.testing.assert_allclose(
        pooled["tokens"].sel(language=OTHER_SOURCE).values,
        obs["tokens"].sel(language=[OTHER_SOURCE, *unseen]).sum("language").values,
    )
    np.testing.assert_allclose(pooled["tokens"].sum("language"), obs["tokens"].sum("language"))
    with pytest.raises(ModelDataError, match="no pooled 'other' source"):
        pool_unseen_sources(obs, unseen, ["en", "fr"])


# ----------------------------------------------------------------------------- 2. spec errors


def _drop_transfer(raw):
    del raw["transfer"]


def _add_transfer(raw):
    raw["transfer"] = raw_variant("atlas_matrix")["transfer"]


def _del(path):
    def mutate(raw):
        table = raw
        for key in path[:-1]:
            table = table[key]
        del table[path[-1]]

    return mutate


def _set(path, value):
    def mutate(raw):
        table = raw
        for key in path[:-1]:
            table = table[key]
        table[path[-1]] = value

    return mutate


BAD_SPECS = [
    # (variant, mutation, phrases the message must contain)
    ("atlas_matrix", _drop_transfer, ["[transfer]", "atlas_matrix"]),
    ("curse", _add_transfer, ["[transfer]", "'curse'"]),
    ("crossover", _add_transfer, ["[transfer]", "'crossover'"]),
    (
        "atlas_matrix",
        _set(["transfer", "features"], ["same_script", "same_alphabet"]),
        ["transfer.features", "same_alphabet"],
    ),
    ("atlas_matrix", _set(["transfer", "features"], "same_script"), ["transfer.features"]),
    ("atlas_matrix", _set(["transfer", "residual_nu"], 0.0), ["transfer.residual_nu", "> 0"]),
    ("atlas_matrix", _set(["transfer", "residual_nu"], -2), ["transfer.residual_nu"]),
    ("atlas_matrix", _set(["transfer", "residual_nu"], True), ["transfer.residual_nu"]),
    (
        "atlas_matrix",
        _set(["transfer", "source_scale"], {"dist": "Normal", "mu": 0.0, "sigma": 0.1}),
        ["transfer.source_scale", "positive"],
    ),
    (
        "atlas_matrix",
        _set(["transfer", "residual_scale"], {"dist": "Normal", "mu": 0.0, "sigma": 0.1}),
        ["transfer.residual_scale", "positive"],
    ),
    (
        "atlas_matrix",
        _set(["transfer", "residual_scale"], {"dist": "HalfNormal", "sigma": 0.0}),
        ["transfer.residual_scale.sigma", "> 0"],
    ),
    ("atlas_matrix", _set(["transfer", "shrinkage"], 1.0), ["transfer", "shrinkage"]),
    ("atlas_matrix", _del(["transfer", "pooled_mean"]), ["transfer", "needs", "pooled_mean"]),
    ("atlas_matrix", _del(["transfer", "pooled_scale"]), ["transfer", "needs", "pooled_scale"]),
    (
        "atlas_matrix",
        _set(["transfer", "pooled_scale"], {"dist": "HalfNormal", "sigma": 0.0}),
        ["transfer.pooled_scale.sigma", "> 0"],
    ),
    (
        "atlas_matrix",
        _set(["transfer", "pooled_mean"], {"dist": "Normal", "mu": 0.1, "sigma": -0.2}),
        ["transfer.pooled_mean.sigma", "> 0"],
    ),
    pytest.param(
        "atlas_matrix",
        _set(["transfer", "pooled_scale"], {"dist": "Normal", "mu": 0.0, "sigma": 0.1}),
        ["transfer.pooled_scale", "positive"],
        id="pooled_scale-not-positive",
    ),
    (
        "curse",
        _set(["parameters", "phi", "sigma"], {"dist": "Normal", "mu": 0.0, "sigma": 0.1}),
        ["parameters.phi.sigma", "positive"],
    ),
    (
        "curse",
        _set(["parameters", "beta", "parameterization"], "non-centred"),
        ["parameters.beta.parameterization", "noncentred"],
    ),
    (
        "crossover",
        _set(["parameters", "gamma", "parameterization"], "centred"),
        ["parameters.gamma", "parameterization"],
    ),
    ("curse", _set(["data", "kinds"], "capacity"), ["data.kinds", "list of strings"]),
    ("curse", _set(["data", "kinds"], ["capacity", 3]), ["data.kinds"]),
    ("curse", _set(["reference", "languages"], 0), ["reference.languages", "> 0"]),
    ("curse", _set(["parameters", "tau_top"], {}), ["tau_top", "curse"]),
]


@pytest.mark.parametrize(("variant", "mutate", "phrases"), BAD_SPECS)
def test_bad_new_spec_names_the_key(variant, mutate, phrases):
    # Guards: each new spec rule is checked before compiling, with the key in the message.
    raw = copy.deepcopy(raw_variant(variant))
    mutate(raw)
    with pytest.raises(SpecError) as info:
        VariantSpec.from_dict(raw, source="my_variant.toml")
    message = str(info.value)
    assert message.startswith("my_variant.toml: ")
    for phrase in phrases:
        assert phrase in message, (phrase, message)


def test_duplicate_transfer_feature_is_refused():
    # Guards: a feature listed twice would create two coefficients of one column.
    raw = raw_variant("atlas_matrix")
    raw["transfer"]["features"] = ["same_script", "same_script"]
    with pytest.raises(SpecError, match="transfer.features"):
        VariantSpec.from_dict(raw)


# ----------------------------------------------------------------------------- 3. data selection


def test_curse_selects_only_capacity_runs(bundled_study, fit_data, trained):
    # Guards: data.kinds = ["capacity"] keeps exactly the evaluated capacity runs.
    data = fit_data["curse"]
    runs = bundled_study.runs
    assert run_kinds(bundled_study, data["run_id"].values) == {"capacity"}
    capacity = set(runs.loc[runs["kind"] == "capacity", "run_id"])
    assert set(data["run_id"].values) == capacity
    assert data.attrs["runs_selected"] == len(capacity)
    # Every kept evaluation is of a language the run trained on.
    for run_id, language in zip(data["run_id"].values, data["eval_language"].values, strict=True):
        assert language in trained[run_id]


def test_kinds_on_a_study_without_kind_labels_keeps_all(bundled_study):
    # Guards: data.kinds filters only when the study labels kinds (as exclude_kinds does).
    study = bundled_study.select_runs(
        bundled_study.runs.loc[bundled_study.runs["kind"] == "monolingual", "run_id"]
    )
    unlabelled = type(study).from_frames(
        study.runs.drop(columns=["kind"]), study.mixture, study.evals, study.languages
    )
    spec = VariantSpec.from_dict(
        {**raw_variant("curse"), "data": {"regimes": ["pretrain"], "kinds": ["capacity"]}}
    )
    data = build_model_data(unlabelled, spec)
    assert set(data["run_id"].values) == set(study.runs["run_id"])


@pytest.mark.parametrize("name", FINETUNE)
def test_crossover_keeps_finetune_runs_and_their_checkpoints(name, bundled_study, fit_data):
    # Guards: finetune runs are allowed for crossover laws and carry their base's tokens.
    data = fit_data[name]
    assert run_kinds(bundled_study, data["run_id"].values) == {"monolingual", "finetune"}
    runs = bundled_study.runs.set_index("run_id")
    finetuned = data["base_own_tokens"].values > 0
    is_ft = runs.loc[data["run_id"].values, "regime"].to_numpy() == "finetune"
    np.testing.assert_array_equal(finetuned, is_ft)
    assert finetuned.any() and (~finetuned).any()
    # The checkpoint of ft-en-2b: its base run's tokens, split into own / named / pooled.
    row = int(np.flatnonzero(data["run_id"].values == "ft-en-2b")[0])
    base = runs.loc["ft-en-2b", "base_run_id"]
    mixture = bundled_study.mixture
    base_mix = mixture[mixture["run_id"] == base].set_index("language")["tokens"]
    assert data["base_own_tokens"].values[row] == pytest.approx(base_mix["en"], rel=1e-12)
    assert data["base_pooled_tokens"].values[row] == pytest.approx(
        base_mix[OTHER_SOURCE], rel=1e-12
    )
    named = base_mix.drop(["en", OTHER_SOURCE]).sum()
    assert data["base_named_tokens"].values[row] == pytest.approx(named, rel=1e-12)
    # Scratch runs have no checkpoint.
    for key in ("base_own_tokens", "base_named_tokens", "base_pooled_tokens"):
        assert np.all(data[key].values[~finetuned] == 0)


@pytest.mark.parametrize("name", FINETUNE)
def test_crossover_drops_languages_without_finetune_runs(name, bundled_study, trained):
    # Guards: a language with only scratch curves would add uninformed head-start parameters.
    runs = bundled_study.runs
    mono = runs[
        (runs["kind"] == "monolingual") & runs["run_id"].map(lambda r: trained[r] <= {"en", "fr"})
    ]["run_id"]
    finetune = runs.loc[runs["run_id"].str.startswith("ft-en-"), "run_id"]
    study = bundled_study.select_runs([*mono, *finetune])
    assert {"en", "fr"} <= set(study.evals["language"])
    data = build_model_data(study, load_variant(name))
    assert list(data["language"].values) == ["en"]
    assert set(data["eval_language"].values) == {"en"}
    assert set(data["run_id"].values) >= set(finetune)
    # No finetune run at all: a clear error, not an empty fit.
    with pytest.raises(ValueError, match="needs finetune runs"):
        build_model_data(bundled_study.select_runs(mono), load_variant(name))


def test_atlas_matrix_pairs_are_consistent(fit_data):
    # Guards: the pair layout (index, target, source, features) is one consistent map.
    data = fit_data["atlas_matrix"]
    n_lang, n_src, n_pair = data.sizes["language"], data.sizes["source"], data.sizes["pair"]
    assert data["pair_index"].dims == ("language", "source")
    assert data["pair_features"].dims == ("language", "source", "feature")
    assert list(data["feature"].values) == list(PAIR_FEATURES)
    for key in ("pair_target", "pair_source", "pair_direct", "pair_pooled"):
        assert data[key].dims == ("pair",) and data[key].shape == (n_pair,)
    assert data["pair_direct"].dtype == bool and data["pair_pooled"].dtype == bool
    index = data["pair_index"].values
    targets, sources = data["pair_target"].values, data["pair_source"].values
    np.testing.assert_array_equal(index[targets, sources], np.arange(n_pair))
    assert (index >= 0).sum() == n_pair and index.min() == -1
    assert np.all((targets >= 0) & (targets < n_lang) & (sources >= 0) & (sources < n_src))
    languages, source_codes = data["language"].values, data["source"].values
    # No pair on the diagonal.
    assert not np.any(languages[targets] == source_codes[sources])
    for t, code in enumerate(languages):
        assert index[t, list(source_codes).index(code)] == -1
    # A pair exists exactly where some observation of the target trained on the source.
    seen = np.zeros((n_lang, n_src), dtype=bool)
    tokens = data["tokens"].values
    for obs in range(data.sizes["obs"]):
        others = np.flatnonzero(tokens[obs] > 0)
        others = others[others != data["target_source"].values[obs]]
        seen[data["target"].values[obs], others] = True
    np.testing.assert_array_equal(index >= 0, seen)
    # The pooled pairs are exactly those of the pooled "other" source, one per target that
    # trained on it (every target of the bundled study: the Unimax runs evaluate them all).
    pooled = data["pair_pooled"].values
    np.testing.assert_array_equal(pooled, source_codes[sources] == OTHER_SOURCE)
    other = list(source_codes).index(OTHER_SOURCE)
    np.testing.assert_array_equal(np.flatnonzero(pooled), np.sort(index[:, other]))
    assert pooled.sum() == n_lang


def test_atlas_matrix_pair_features(fit_data):
    # Guards: script/family/size features come from the languages table as documented; the
    # pooled "other" source has none (its transfer is its own population, not the features).
    data = fit_data["atlas_matrix"]
    features = data["pair_features"]

    def feature(target, source, name):
        return float(features.sel(language=target, source=source, feature=name))

    assert feature("en", "fr", "same_script") == 1.0
    assert feature("en", "ru", "same_script") == 0.0
    assert feature("en", "de", "same_family") == 1.0
    assert feature("en", "fr", "same_family") == 0.0
    assert feature("ru", "uk", "same_family") == 1.0
    assert list(data["feature"].values) == [
        "same_script", "same_family", "source_log_unique", "target_log_unique",
    ]  # fmt: skip
    for name in ("same_script", "same_family", "source_log_unique"):
        assert (features.sel(source=OTHER_SOURCE, feature=name).values == 0.0).all(), name
    # Standardised sizes: en has the most unique tokens of the targets.
    target_size = features.sel(source="fr", feature="target_log_unique").values
    assert np.argmax(target_size) == list(data["language"].values).index("en")
    assert abs(target_size.mean()) < 1e-12


def test_atlas_matrix_direct_pairs_are_the_large_shares(bundled_study, fit_data, trained):
    # Guards: pair_direct marks exactly the named pairs whose source is >= 25 % of some run of
    # the target (the bilingual pairs); the pooled "other" source of the Unimax runs is as
    # large a share but is never direct (it has its own population, tau_pooled).
    data = fit_data["atlas_matrix"]
    mixture = bundled_study.mixture
    shares = mixture.assign(
        share=mixture["tokens"] / mixture.groupby("run_id")["tokens"].transform("sum")
    )
    large = shares[shares["share"] >= 0.25].groupby("run_id")["language"].apply(set).to_dict()
    large_shares = set()
    for run_id, target in zip(data["run_id"].values, data["eval_language"].values, strict=True):
        for source in large.get(run_id, set()) - {str(target)}:
            large_shares.add((str(target), source))
    expected = {(t, s) for t, s in large_shares if s != OTHER_SOURCE}
    languages, sources = data["language"].values, data["source"].values
    direct = data["pair_direct"].values
    pairs = list(
        zip(languages[data["pair_target"].values], sources[data["pair_source"].values], strict=True)
    )
    got = {(str(t), str(s)) for (t, s), d in zip(pairs, direct, strict=True) if d}
    assert got == expected
    assert 0 < len(got) < len(pairs)
    # One bilingual run of the study, both directions.
    runs = bundled_study.runs
    bilingual = runs.loc[runs["kind"] == "bilingual", "run_id"].iloc[0]
    a, b = sorted(trained[bilingual])
    index = data["pair_index"]
    assert {a, b} <= set(languages)
    for t, s in ((a, b), (b, a)):
        assert direct[int(index.sel(language=t, source=s))]
    # The pooled source of the Unimax runs is a large share, yet pooled and not direct; a
    # small share of them is neither.
    pooled = data["pair_pooled"].values
    assert ("en", OTHER_SOURCE) in large_shares and ("en", OTHER_SOURCE) not in got
    assert pooled[int(index.sel(language="en", source=OTHER_SOURCE))]
    assert not (direct & pooled).any()
    assert {p for p, q in zip(pairs, pooled, strict=True) if q} == {
        (str(t), OTHER_SOURCE) for t in languages
    }
    assert (~direct & ~pooled).any()


# ----------------------------------------------------------------------------- 4. the mean


def test_curse_mean_is_the_curse_law(fit_data, trained):
    # Guards: log-space curse mean with K_ref centring equals E + A K^phi/N^alpha + B K^psi/D^beta.
    spec = load_variant("curse")
    data = fit_data["curse"]
    rng = np.random.default_rng(0)
    theta = {
        "log_E": per_language(rng, data, 0.3, 0.8),
        "log_a": per_language(rng, data, -1.5, -0.5),
        "log_b": per_language(rng, data, -1.0, -0.3),
        "alpha": per_language(rng, data, 0.25, 0.5),
        "beta": per_language(rng, data, 0.2, 0.4),
        "phi": per_language(rng, data, 0.05, 0.2),
        "psi": per_language(rng, data, -0.1, 0.0),
    }
    inputs = model_inputs(data)
    got = np.exp(
        predicted_log_loss(
            "curse", theta, inputs, spec.params_ref, spec.tokens_ref,
            languages_ref=spec.languages_ref,
        )
    )  # fmt: skip
    k_ref = spec.languages_ref
    assert k_ref == 12.0
    n_languages = np.array([len(trained[r]) for r in data["run_id"].values], dtype=float)
    assert set(n_languages) == {4, 6, 8, 12, 16, 24, 32, 50}
    rows = np.arange(data.sizes["obs"])
    own = data["tokens"].values[rows, data["target_source"].values]
    expected = laws.curse_loss(
        np.exp(data["log_params"].values),
        own,
        n_languages,
        np.exp(theta["log_E"]),
        np.exp(theta["log_a"]) * spec.params_ref ** theta["alpha"] / k_ref ** theta["phi"],
        np.exp(theta["log_b"]) * spec.tokens_ref ** theta["beta"] / k_ref ** theta["psi"],
        theta["alpha"],
        theta["beta"],
        theta["phi"],
        theta["psi"],
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # At K = K_ref the K terms vanish: log_a/log_b are the terms at 12 languages.
    at_ref = {**inputs, "log_n_languages": np.full(len(rows), np.log(k_ref))}
    plain = dict(theta)
    del plain["phi"], plain["psi"]
    np.testing.assert_allclose(
        predicted_log_loss("curse", theta, at_ref, N_REF, D_REF, languages_ref=k_ref),
        predicted_log_loss("chinchilla", plain, inputs, N_REF, D_REF),
        rtol=1e-12,
    )


def _crossover_theta(rng, data, law):
    theta = {
        "log_E": per_language(rng, data, 0.3, 0.8),
        "log_a": per_language(rng, data, -1.5, -0.5),
        "log_b": per_language(rng, data, -1.0, -0.3),
        "alpha": per_language(rng, data, 0.25, 0.5),
        "beta": per_language(rng, data, 0.2, 0.4),
        "log_decay": np.full(data.sizes["obs"], np.log(0.065)),
        # Negative named transfer exercises the damped guard of the head start.
        "tau_named": per_language(rng, data, -0.3, 0.1),
        "tau_pooled": per_language(rng, data, 0.0, 0.4),
    }
    if law == "crossover":
        theta["log_penalty"] = per_language(rng, data, -6.0, -3.0)
        theta["gamma"] = np.full(data.sizes["obs"], -0.2)
    else:
        theta["log_beta_ratio"] = per_language(rng, data, -0.4, 0.2)
    return theta


@pytest.mark.parametrize("law", FINETUNE)
def test_crossover_mean_is_the_finetuned_law(law, fit_data):
    # Guards: finetune observations follow finetuned_loss with the checkpoint's head start,
    # scratch observations the data-constrained Chinchilla law.
    data = fit_data[law]
    rng = np.random.default_rng(1)
    theta = _crossover_theta(rng, data, law)
    inputs = model_inputs(data)
    got = np.exp(predicted_log_loss(law, theta, inputs, N_REF, D_REF))
    finetuned = inputs["finetuned"].astype(bool)
    np.testing.assert_array_equal(finetuned, data["base_own_tokens"].values > 0)
    head = head_start_tokens(theta, inputs)
    assert np.all(head[~finetuned] == 0) and np.all(head[finetuned] > 0)
    # The head start is ATLAS's damped law on the checkpoint's mixture (own tokens saturated).
    own_saturated = laws.repetition_saturation(
        inputs["base_own_tokens"], inputs["own_unique"], np.exp(theta["log_decay"])
    )
    np.testing.assert_allclose(
        head[finetuned],
        laws.effective_tokens(
            own_saturated[finetuned],
            np.stack(
                [data["base_named_tokens"].values, data["base_pooled_tokens"].values], axis=-1
            )[finetuned],
            np.stack([theta["tau_named"], theta["tau_pooled"]], axis=-1)[finetuned],
        ),
        rtol=1e-12,
    )
    rows = np.arange(data.sizes["obs"])
    ts = data["target_source"].values
    params = np.exp(data["log_params"].values)
    saturated = laws.repetition_saturation(
        data["tokens"].values[rows, ts],
        data["unique_tokens"].values[rows, ts],
        np.exp(theta["log_decay"]),
    )
    E, alpha, beta = np.exp(theta["log_E"]), theta["alpha"], theta["beta"]  # noqa: N806
    A = np.exp(theta["log_a"]) * N_REF**alpha  # noqa: N806
    B = np.exp(theta["log_b"]) * D_REF**beta  # noqa: N806
    scratch = laws.chinchilla_loss(params, saturated, E, A, B, alpha, beta)
    np.testing.assert_allclose(got[~finetuned], scratch[~finetuned], rtol=1e-10)
    if law == "crossover":
        penalty = np.exp(theta["log_penalty"]) * (params / N_REF) ** (-theta["gamma"])
        expected = laws.finetuned_loss(params, saturated, head, penalty, E, A, B, alpha, beta)
    else:
        beta_ft = beta * np.exp(theta["log_beta_ratio"])
        B_ft = np.exp(theta["log_b"]) * D_REF**beta_ft  # noqa: N806
        expected = laws.finetuned_loss(params, saturated, head, 0.0, E, A, B_ft, alpha, beta_ft)
    np.testing.assert_allclose(got[finetuned], expected[finetuned], rtol=1e-10)


@pytest.mark.parametrize("interference", ["damped", "linear"])
def test_atlas_matrix_mean_is_the_matrix_law(interference, fit_data):
    # Guards: the sparse (obs, source) entries reproduce matrix_effective_tokens exactly,
    # repetition included.
    data = fit_data["atlas_matrix"]
    rng = np.random.default_rng(2)
    n_pair = data.sizes["pair"]
    low = -0.3 if interference == "damped" else 0.0
    theta = {
        "log_E": per_language(rng, data, 0.3, 0.8),
        "log_a": per_language(rng, data, -1.5, -0.5),
        "log_b": per_language(rng, data, -1.0, -0.3),
        "alpha": per_language(rng, data, 0.25, 0.5),
        "beta": per_language(rng, data, 0.2, 0.4),
        "log_decay": per_language(rng, data, -4.0, -1.0),
        "tau_pair": rng.uniform(low, 0.5, n_pair),
    }
    inputs = model_inputs(data)
    assert len(inputs["entry_obs"]) == (data["tokens"].values > 0).sum() - data.sizes["obs"]
    assert len(inputs["entry_rep_obs"]) > 0  # some sources are repeated: saturation matters
    got = np.exp(predicted_log_loss("atlas_matrix", theta, inputs, N_REF, D_REF, interference))
    # The transfer matrix over the source axis (rows: each target's own source column).
    source_codes = list(data["source"].values)
    row_of_language = np.array([source_codes.index(c) for c in data["language"].values])
    n_src = len(source_codes)
    matrix = np.full((n_src, n_src), np.nan)
    matrix[np.arange(n_src), np.arange(n_src)] = 123.0  # the diagonal must be ignored
    matrix[row_of_language[data["pair_target"].values], data["pair_source"].values] = theta[
        "tau_pair"
    ]
    matrix = np.nan_to_num(matrix, nan=0.0)
    saturated = laws.repetition_saturation(
        data["tokens"].values, data["unique_tokens"].values, np.exp(theta["log_decay"])[:, None]
    )
    d_eff = laws.matrix_effective_tokens(
        saturated, data["target_source"].values, matrix, interference
    )
    params = np.exp(data["log_params"].values)
    alpha, beta = theta["alpha"], theta["beta"]
    expected = laws.chinchilla_loss(
        params,
        d_eff,
        np.exp(theta["log_E"]),
        np.exp(theta["log_a"]) * N_REF**alpha,
        np.exp(theta["log_b"]) * D_REF**beta,
        alpha,
        beta,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # One bilingual observation by hand: D_eff = S_t + tau S_s (no interference: tau > 0).
    present = (data["tokens"].values > 0).sum(axis=1) == 2
    obs = int(np.flatnonzero(present)[0])
    t, ts = data["target"].values[obs], data["target_source"].values[obs]
    s = int(np.flatnonzero((data["tokens"].values[obs] > 0) & (np.arange(n_src) != ts))[0])
    tau = abs(theta["tau_pair"][int(data["pair_index"].values[t, s])])
    single = dict(theta, tau_pair=np.abs(theta["tau_pair"]))
    by_hand = laws.effective_tokens(saturated[obs, ts], saturated[obs, [s]], np.array([tau]))
    assert by_hand == pytest.approx(saturated[obs, ts] + tau * saturated[obs, s], rel=1e-12)
    log_loss = predicted_log_loss("atlas_matrix", single, inputs, N_REF, D_REF, interference)
    direct = laws.chinchilla_loss(
        params[obs], by_hand, np.exp(theta["log_E"][obs]),
        np.exp(theta["log_a"][obs]) * N_REF ** alpha[obs],
        np.exp(theta["log_b"][obs]) * D_REF ** beta[obs], alpha[obs], beta[obs],
    )  # fmt: skip
    assert np.exp(log_loss[obs]) == pytest.approx(direct, rel=1e-10)


def test_atlas_matrix_mean_broadcasts_over_draws(fit_data):
    # Guards: leading (chain, draw) dimensions of tau_pair give each draw its own matrix.
    data = fit_data["atlas_matrix"].isel(obs=slice(0, 200))
    inputs = model_inputs(data)
    rng = np.random.default_rng(3)
    n_obs, n_pair = data.sizes["obs"], data.sizes["pair"]
    base = {
        name: np.full(n_obs, value)
        for name, value in {
            "log_E": 0.5, "log_a": -1.0, "log_b": -0.7, "alpha": 0.35, "beta": 0.3,
            "log_decay": -2.7,
        }.items()
    }  # fmt: skip
    taus = rng.uniform(-0.2, 0.4, (2, 3, n_pair))
    batched = predicted_log_loss(
        "atlas_matrix",
        {**{k: np.broadcast_to(v, (2, 3, n_obs)) for k, v in base.items()}, "tau_pair": taus},
        inputs,
        N_REF,
        D_REF,
    )
    assert batched.shape == (2, 3, n_obs)
    for c in range(2):
        for d in range(3):
            single = predicted_log_loss(
                "atlas_matrix", {**base, "tau_pair": taus[c, d]}, inputs, N_REF, D_REF
            )
            np.testing.assert_allclose(batched[c, d], single, rtol=1e-12)


# ----------------------------------------------------------------------------- 5. missing pairs


def test_model_inputs_refuses_a_source_without_a_pair(fit_data):
    # Guards: an observation that trains on a source with no transfer weight is a clear error,
    # not a silent tau = tau_pair[-1].
    data = fit_data["atlas_matrix"]
    obs = int(np.flatnonzero(data["run_id"].values == data["run_id"].values[0])[0])
    t, ts = int(data["target"].values[obs]), int(data["target_source"].values[obs])
    others = (data["tokens"].values[obs] > 0) & (np.arange(data.sizes["source"]) != ts)
    s = int(np.flatnonzero(others)[0])
    index = data["pair_index"].values.copy()
    index[t, s] = -1
    broken = data.assign(pair_index=(("language", "source"), index))
    target = str(data["language"].values[t])
    source = str(data["source"].values[s])
    with pytest.raises(ValueError, match="no transfer weight") as info:
        model_inputs(broken)
    message = str(info.value)
    assert repr(source) in message and repr(target) in message
    assert "run " in message
    # Without pair arrays (other laws) there are simply no entries.
    plain = model_inputs(data.drop_vars(["pair_index"]))
    assert len(plain["entry_obs"]) == 0 and plain["entry_obs"].dtype == np.int64


def test_model_inputs_new_arrays(fit_data, trained):
    # Guards: K, the finetune flag and the base tokens are laid out per observation.
    data = fit_data["crossover"]
    inputs = model_inputs(data)
    for key in ("log_n_languages", "base_own_tokens", "base_named_tokens",
                "base_pooled_tokens", "finetuned"):  # fmt: skip
        assert inputs[key].shape == (data.sizes["obs"],) and inputs[key].dtype == float
    assert set(np.unique(inputs["finetuned"])) == {0.0, 1.0}
    # Monolingual and finetune runs train on one language: K = 1.
    np.testing.assert_allclose(inputs["log_n_languages"], 0.0)
    # Capacity runs: K is the number of languages each run trained on.
    curse = fit_data["curse"]
    k = np.exp(model_inputs(curse)["log_n_languages"])
    expected = [len(trained[r]) for r in curse["run_id"].values]
    np.testing.assert_allclose(k, expected, rtol=1e-12)
