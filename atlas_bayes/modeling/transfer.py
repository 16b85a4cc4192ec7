"""The transfer matrix of ``atlas_matrix``: its random variables and its posterior.

``tau[t, s] = intercept + features[t, s] . coefficient + source_scale * source_z[s]
+ residual[t, s]`` with Student-t residuals of scale ``residual_scale`` (see
:mod:`atlas_bayes.variants.transfer`). Only pairs that some observation trained on get a
residual the sampler sees; :func:`transfer_matrix` gives every other pair its posterior from
the feature model, with a fresh residual per draw.

The pairs are parameterised for the sampler by how well the data pin them down. A pair whose
source is a large share of some run of the target (a bilingual run; ``pair_direct``) is
sampled centred: ``tau_direct`` is its transfer itself, with the Student-t prior centred on
the pair's prior mean. Sampling its residual instead left every residual of a source moving
against that source's effect and the intercept (posterior correlations up to 0.95 on RegMix;
min ESS 117 for ``tau_source_scale`` on the bundled study). Every other pair is non-centred
(``tau_residual_z``, residual / scale), which avoids the funnel between the scale and the
residuals the data barely inform.
"""

from typing import Any

import numpy as np
import xarray as xr

from atlas_bayes.laws._xp import array_namespace
from atlas_bayes.variants import VariantSpec
from atlas_bayes.variants.transfer import OTHER_SOURCE

#: Free variables of the transfer model, in the order they are created.
TRANSFER_VARIABLES = (
    "tau_intercept", "tau_coefficient", "tau_source_scale", "tau_source_z",
    "tau_residual_scale", "tau_direct", "tau_residual_z", "tau_pooled_mu", "tau_pooled_sigma",
    "tau_pooled",
)  # fmt: skip


def feature_positions(spec: VariantSpec, data: xr.Dataset) -> np.ndarray:
    """Positions of the variant's features on the fit data's ``feature`` axis."""
    names = [str(f) for f in data["feature"].values]
    return np.array([names.index(f) for f in spec.transfer.features], dtype=np.int64)


def named_sources(data: xr.Dataset) -> np.ndarray:
    """1 for each named source, 0 for the pooled "other" source (which has no source effect).

    The pooled source is many languages at once: its transfer is far from a named language's
    (0.25 against about -0.1 on the bundled study). As one draw of the source effects it
    forced their scale up (R-hat 1.03); as an ``is_other`` feature of the mean, its 38
    residuals and that coefficient traded off along one direction (R-hat 1.07). It has its
    own population over targets instead (``tau_pooled``).
    """
    return np.array([s != OTHER_SOURCE for s in data["source"].values.astype(str)], dtype=float)


def pair_prior_mean(values: dict[str, Any], features: Any, pair_source: Any) -> Any:
    """Prior mean of each free pair's ``tau``: intercept, features and source effect.

    Parameters
    ----------
    values
        The :data:`TRANSFER_VARIABLES` and ``named`` (see :func:`named_sources`); numpy draws
        carry leading ``(chain, draw)``.
    features
        ``(pair, feature)``: the variant's features of each free pair.
    pair_source
        ``(pair,)``: each pair's source index.

    Returns
    -------
    array or tensor
        ``(..., pair)``.
    """
    source = values["tau_source_scale"][..., None] * values["tau_source_z"] * values["named"]
    coefficient = values["tau_coefficient"][..., None, :]
    intercept = values["tau_intercept"][..., None]
    xp = array_namespace(coefficient)
    return intercept + xp.sum(coefficient * features, axis=-1) + source[..., pair_source]


def pair_transfer(
    values: dict[str, Any], prior_mean: Any, direct: np.ndarray, pooled: np.ndarray
) -> Any:
    """``tau`` of the free pairs (numpy or PyTensor), ``(..., pair)``.

    Direct pairs take ``tau_direct``; the other named pairs their prior mean plus the scaled
    non-centred residual; the pooled source its own population (``tau_pooled``).
    """
    direct_index = np.flatnonzero(direct & ~pooled)
    other_index = np.flatnonzero(~direct & ~pooled)
    pooled_index = np.flatnonzero(pooled)
    other = (
        prior_mean[..., other_index]
        + values["tau_residual_scale"][..., None] * values["tau_residual_z"]
    )
    xp = array_namespace(prior_mean)
    if xp is np:
        tau = np.array(prior_mean, dtype=float)
        tau[..., direct_index] = values["tau_direct"]
        tau[..., other_index] = other
        tau[..., pooled_index] = values["tau_pooled"]
        return tau
    tau = xp.set_subtensor(prior_mean[direct_index], values["tau_direct"])
    tau = xp.set_subtensor(tau[other_index], other)
    return xp.set_subtensor(tau[pooled_index], values["tau_pooled"])


def indirect_to_pooled_ratio(data: xr.Dataset) -> float:
    """Tokens of named sources without bilingual runs per token of the pooled source.

    Summed over the observations that trained on the pooled "other" source (Unimax-style
    runs). Those runs pin down ``intercept * named + pooled_mean * pooled`` tokens' worth of
    transfer: the intercept moves every pair without a bilingual run, the pooled mean the
    pooled source. This ratio is the slope of that ridge; 0 when no run has both.
    """
    tokens = data["tokens"].values
    target = data["target"].values
    index = data["pair_index"].values[target]  # (obs, source): pair of each entry, -1 none
    pooled = named_sources(data) == 0
    if not pooled.any():
        return 0.0
    direct = np.zeros(data.sizes["pair"] + 1, dtype=bool)
    direct[:-1] = data["pair_direct"].values
    indirect = (index >= 0) & ~direct[index] & ~pooled[None, :]
    with_pooled = tokens[:, pooled].sum(axis=1) > 0
    pooled_tokens = tokens[with_pooled][:, pooled].sum()
    named_tokens = np.where(indirect, tokens, 0.0)[with_pooled].sum()
    return float(named_tokens / pooled_tokens) if pooled_tokens > 0 else 0.0


def _pooled_mean(prior: Any, intercept: Any, data: xr.Dataset) -> Any:
    """The pooled source's population mean, sampled along the ridge it shares with the intercept.

    The sampler sees ``tau_pooled_level = tau_pooled_mu + intercept * ratio`` (see
    :func:`indirect_to_pooled_ratio`), which the data pin down, instead of ``tau_pooled_mu``,
    which moves against the intercept (posterior correlation 0.79 and R-hat 1.03 on the bundled
    study). The prior stays on ``tau_pooled_mu``: the same model, another parameterisation.
    Other prior families keep the plain parameterisation.
    """
    import pymc as pm

    ratio = indirect_to_pooled_ratio(data)
    if prior.dist != "Normal" or ratio == 0.0:
        return prior.create("tau_pooled_mu")
    shift = -intercept * ratio
    level = pm.Normal("tau_pooled_level", mu=prior.args["mu"] - shift, sigma=prior.args["sigma"])
    return pm.Deterministic("tau_pooled_mu", level + shift)


def create_transfer(spec: VariantSpec, data: xr.Dataset) -> Any:
    """Create the transfer variables in the current PyMC model; return ``tau`` of the pairs."""
    import pymc as pm
    import pytensor.tensor as pt

    prior = spec.transfer
    features = data["pair_features"].values[..., feature_positions(spec, data)]
    pair_features = features[data["pair_target"].values, data["pair_source"].values]
    values = {
        "tau_intercept": prior.intercept.create("tau_intercept"),
        "tau_coefficient": prior.coefficient.create("tau_coefficient", dims="transfer_feature"),
        "tau_source_scale": prior.source_scale.create("tau_source_scale"),
        "tau_source_z": pm.Normal("tau_source_z", 0.0, 1.0, dims="source"),
        "tau_residual_scale": prior.residual_scale.create("tau_residual_scale"),
    }
    values["tau_residual_z"] = pm.StudentT(
        "tau_residual_z", nu=prior.residual_nu, mu=0.0, sigma=1.0, dims="pair_indirect"
    )
    # The pooled source: its own population over targets, non-centred. The targets' values
    # differ less than the data resolve (0.005 in the simulated truth against posterior sds of
    # ~0.015), so the population's spread goes towards 0; centred, that funnel gave 17
    # divergences and R-hat 1.08 on the bundled study.
    values["tau_pooled_mu"] = _pooled_mean(prior.pooled_mean, values["tau_intercept"], data)
    values["tau_pooled_sigma"] = prior.pooled_scale.create("tau_pooled_sigma")
    values["tau_pooled_z"] = pm.Normal("tau_pooled_z", 0.0, 1.0, dims="pooled_pair")
    values["tau_pooled"] = pm.Deterministic(
        "tau_pooled",
        values["tau_pooled_mu"] + values["tau_pooled_sigma"] * values["tau_pooled_z"],
        dims="pooled_pair",
    )
    values = {k: pt.as_tensor_variable(v) for k, v in values.items()}
    values["named"] = named_sources(data)
    pair_source = data["pair_source"].values
    prior_mean = pair_prior_mean(values, pair_features, pair_source)
    direct, pooled = data["pair_direct"].values, data["pair_pooled"].values
    values["tau_direct"] = pm.StudentT(
        "tau_direct",
        nu=prior.residual_nu,
        mu=prior_mean[np.flatnonzero(direct & ~pooled)],
        sigma=values["tau_residual_scale"],
        dims="pair_direct",
    )
    return pair_transfer(values, prior_mean, direct, pooled)


def posterior_pair_transfer(fit: Any) -> np.ndarray:
    """Posterior draws of ``tau`` of the fit's free pairs, ``(chain, draw, pair)``."""
    data = fit.data
    values = {name: fit.posterior[name].values for name in TRANSFER_VARIABLES}
    values["named"] = named_sources(data)
    features = data["pair_features"].values[..., feature_positions(fit.spec, data)]
    pair_target, pair_source = data["pair_target"].values, data["pair_source"].values
    prior_mean = pair_prior_mean(values, features[pair_target, pair_source], pair_source)
    return pair_transfer(values, prior_mean, data["pair_direct"].values, data["pair_pooled"].values)


def transfer_matrix(fit: Any, seed: int | None = None) -> xr.DataArray:
    """Posterior of ``tau[target, source]`` for every pair of the fit's axes.

    Pairs some observation trained on take their sampled value; the others take the feature
    model's prediction plus a fresh Student-t residual per draw, and the pooled source a fresh
    draw from its own population (their posterior is the population's, so their intervals are
    honestly wide). The diagonal is 1 (a language's own
    tokens).

    Parameters
    ----------
    fit
        A fit of an ``atlas_matrix`` variant.
    seed
        Seed of the residuals of unmeasured pairs (default: the fit's seed).

    Returns
    -------
    xarray.DataArray
        ``tau`` with dimensions ``(chain, draw, target, source)`` and a boolean coordinate
        ``measured`` (target, source).
    """
    spec, data, posterior = fit.spec, fit.data, fit.posterior
    if spec.law != "atlas_matrix":
        raise ValueError(f"fit of variant {spec.name!r} ({spec.law} law) has no transfer matrix")
    values = {name: posterior[name].values for name in TRANSFER_VARIABLES}
    features = data["pair_features"].values[..., feature_positions(spec, data)]
    index = data["pair_index"].values
    n_chain, n_draw = posterior.sizes["chain"], posterior.sizes["draw"]
    # Every combination first from the feature model and the source effects...
    mean = values["tau_intercept"][..., None, None] + np.einsum(
        "cdf,tsf->cdts", values["tau_coefficient"], features
    )
    source = values["tau_source_scale"][..., None] * values["tau_source_z"] * named_sources(data)
    rng = np.random.default_rng(fit.meta.get("seed", 0) if seed is None else seed)
    tau = mean + source[:, :, None, :]
    # Fresh residuals only where nothing was sampled: the free pairs are overwritten below
    # (drawing all of them took ~0.7 s of a 38-language matrix over 4000 draws).
    unmeasured = np.flatnonzero((index < 0).ravel())
    fresh = rng.standard_t(spec.transfer.residual_nu, (n_chain, n_draw, len(unmeasured)))
    flat = tau.reshape(n_chain, n_draw, -1)
    flat[..., unmeasured] += values["tau_residual_scale"][..., None] * fresh
    tau = flat.reshape(tau.shape)
    # The pooled source of every target from its own population (sampled values follow).
    pooled_column = np.flatnonzero(named_sources(data) == 0)
    if len(pooled_column):
        tau[..., pooled_column[0]] = values["tau_pooled_mu"][..., None] + values[
            "tau_pooled_sigma"
        ][..., None] * rng.standard_normal(tau.shape[:-1])
    # ...then the sampled pairs.
    tau[:, :, data["pair_target"].values, data["pair_source"].values] = posterior_pair_transfer(fit)
    languages = [str(x) for x in data["language"].values]
    source_codes = [str(x) for x in data["source"].values]
    for t, code in enumerate(languages):
        if code in source_codes:
            tau[:, :, t, source_codes.index(code)] = 1.0
    return xr.DataArray(
        tau,
        dims=("chain", "draw", "target", "source"),
        coords={
            "chain": np.arange(n_chain),
            "draw": np.arange(n_draw),
            "target": languages,
            "source": source_codes,
            "measured": (("target", "source"), index >= 0),
        },
        name="tau",
    )
