"""The PyMC model of a variant on its fit data."""

import dataclasses
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from atlas_bayes.modeling.mean import INPUT_DIMS, model_inputs, predicted_log_loss
from atlas_bayes.modeling.transfer import create_transfer
from atlas_bayes.variants import ParameterSpec, PriorSpec, VariantSpec
from atlas_bayes.variants.spec import SLOT_PARAMETERS

#: Name of the observed variable (and of the pointwise log-likelihood).
OBSERVED = "log_loss"


#: Coefficient parameters and the exponent they pair with: ``log_a`` is the log loss of the
#: parameter term at the reference size, which trades off against ``alpha`` unless log N is
#: centred where each language's data are.
COEFFICIENT_EXPONENT = {"log_a": ("alpha", "params"), "log_b": ("beta", "tokens")}


def _parameter(
    pspec: ParameterSpec,
    dims: tuple[str, ...],
    centred: bool,
    shift: Any = None,
) -> Any:
    """Create the random variables of one law parameter; return its tensor over ``dims``.

    ``shift`` (Normal priors only) samples ``value - shift`` instead of ``value``: the
    coefficient at each language's own data centre, which is nearly uncorrelated with its
    exponent, while the prior stays on the value at the global reference scale. Non-centred
    hierarchies take the languages' mean shift out of their population mean instead (the
    values themselves are standard normals there).
    """
    name = pspec.name
    if pspec.pooling == "shared":
        return pspec.prior.create(name)
    if pspec.pooling == "per_language":
        prior = pspec.prior
        if shift is not None and prior.dist == "Normal":
            local = pm.Normal(
                f"{name}_local", mu=prior.args["mu"] - shift, sigma=prior.args["sigma"], dims=dims
            )
            return pm.Deterministic(name, local + shift, dims=dims)
        return prior.create(name, dims=dims)
    if shift is not None and not centred and pspec.mu.dist == "Normal":
        # Non-centred, the language values follow their population mean, so the ridge is
        # taken out there: the sampler sees the mean minus the languages' average shift.
        mean_shift = shift.mean()
        level = pm.Normal(
            f"{name}_mu_level",
            mu=pspec.mu.args["mu"] - mean_shift,
            sigma=pspec.mu.args["sigma"],
        )
        mu = pm.Deterministic(f"{name}_mu", level + mean_shift)
    else:
        mu = pspec.mu.create(f"{name}_mu")
    sigma = pspec.sigma.create(f"{name}_sigma")
    if centred:
        if shift is not None:
            local = pm.Normal(f"{name}_local", mu=mu - shift, sigma=sigma, dims=dims)
            return pm.Deterministic(name, local + shift, dims=dims)
        return pm.Normal(name, mu=mu, sigma=sigma, dims=dims)
    # Non-centred: the sampler sees standard normals; the funnel between the population scale
    # and the language values is removed from the geometry (better for data-poor languages).
    z = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims)
    return pm.Deterministic(name, mu + sigma * z, dims=dims)


def _prior_centre(pspec: ParameterSpec) -> float:
    """A central prior value of a parameter (its population mean's, or its own prior's)."""
    prior = pspec.mu if pspec.pooling == "hierarchical" else pspec.prior
    return prior.central_value()


#: A per-language transfer weight and the weight it trades off against: the checkpoint's named
#: and pooled tokens grow together, so only a combination of the two is well identified.
TRANSFER_TRADE_OFF = {"tau_named": "tau_pooled"}


#: How far beyond each language's pivot (in log N and log D) the anchor of ``log_E`` sits.
#: Measured on the bundled study (chinchilla, 4 x 500 draws): 63 gradient evaluations per draw
#: for offsets 1 to 2 (68 at 3), against 127 without the anchor.
ANCHOR_OFFSET = 2.0


def _anchorable(spec: VariantSpec) -> bool:
    """Whether ``log_E`` can be sampled through its anchor (see :func:`_anchored_log_E`)."""
    log_e = spec.parameters["log_E"]
    prior = log_e.mu if log_e.pooling == "hierarchical" else log_e.prior
    return (
        spec.parameterization == "centred"
        and log_e.pooling in ("hierarchical", "per_language")
        and prior.dist == "Normal"
        and all(
            spec.parameters[c].pooling != "shared" and spec.parameters[e].pooling != "shared"
            for c, (e, _) in COEFFICIENT_EXPONENT.items()
        )
        and all(
            (spec.parameters[c].mu if spec.parameters[c].pooling == "hierarchical"
             else spec.parameters[c].prior).dist == "Normal"
            for c in COEFFICIENT_EXPONENT
        )
    )  # fmt: skip


def _anchored_log_E(  # noqa: N802 - the law's symbol
    pspec: ParameterSpec, values: dict[str, Any], centres: dict[str, np.ndarray], spec: VariantSpec
) -> Any:
    """Sample the irreducible loss through the loss floor at an anchor beyond the data.

    ``E``, the data term's coefficient and its exponent form a ridge when a language's curves
    have not flattened: many (E, b, beta) explain the same losses. The loss the law predicts at
    infinite N plus the two reducible terms at anchors ``ANCHOR_OFFSET`` beyond each language's
    pivots, ``M = E + A_anchor + B_anchor``, is pinned by the data, so the sampler moves
    ``log M`` and ``E = M - A_anchor - B_anchor`` follows. The prior stays on ``log_E``; the
    change of variables adds ``log |d log E / d log M| = log M - log E``. This halves the
    gradient evaluations per draw on the bundled study.
    """
    terms = {}
    for coefficient, (exponent, scale) in COEFFICIENT_EXPONENT.items():
        terms[coefficient] = pt.exp(
            values[coefficient] - values[exponent] * (centres[scale] + ANCHOR_OFFSET)
        )
    # Start where the prior's central values put the floor, so that E > 0 initially.
    central = {n: _prior_centre(spec.parameters[n]) for n in spec.parameters}
    start = np.exp(central["log_E"]) + sum(
        np.exp(central[c] - central[e] * (centres[s] + ANCHOR_OFFSET))
        for c, (e, s) in COEFFICIENT_EXPONENT.items()
    )
    # Sampled as an offset from that start, so the default initial point (0) is valid.
    log_floor = np.log(start) + pm.Flat("log_E_anchor", dims="language")
    irreducible = pt.exp(log_floor) - terms["log_a"] - terms["log_b"]
    log_e = pm.Deterministic("log_E", pt.log(pt.maximum(irreducible, 1e-300)), dims="language")
    pm.Potential("log_E_positive", pt.switch(irreducible > 0, 0.0, -np.inf).sum())
    if pspec.pooling == "hierarchical":
        prior = pm.Normal.dist(pspec.mu.create("log_E_mu"), pspec.sigma.create("log_E_sigma"))
    else:
        prior = pm.Normal.dist(pspec.prior.args["mu"], pspec.prior.args["sigma"])
    pm.Potential("log_E_prior", (pm.logp(prior, log_e) + log_floor - log_e).sum())
    return log_e


def data_centres(data: xr.Dataset, spec: VariantSpec) -> dict[str, np.ndarray]:
    """Per-language pivots of ``log(N / N_ref)`` and ``log(D_t / D_ref)``.

    A coefficient and its exponent are uncorrelated in the posterior when the coefficient is
    taken at the point where the data constrain the term most. Each observation informs the
    parameter term in proportion to ``(term / L)**2`` (the squared derivative of ``log L`` with
    respect to the term's log coefficient), so the pivot is the mean of ``log N`` weighted by
    it, with the term evaluated at the prior's central values; likewise for tokens (``D_t``,
    the target's own tokens, stands in for D_eff; ``he_multilingual``'s data term is on the
    run's total tokens, so those are used there).
    """
    arrays = model_inputs(data)
    target = data["target"].values
    n_languages = data.sizes["language"]
    loss = np.exp(data["log_loss"].values)
    own = arrays["own_tokens"]
    if spec.law == "he_multilingual":
        own = own * np.exp(-arrays["log_share"])
    centres = {}
    for scale, (coefficient, exponent), x in (
        ("params", ("log_a", "alpha"), arrays["log_params"] - np.log(spec.params_ref)),
        ("tokens", ("log_b", "beta"), np.log(own) - np.log(spec.tokens_ref)),
    ):
        term = np.exp(
            _prior_centre(spec.parameters[coefficient])
            - _prior_centre(spec.parameters[exponent]) * x
        )
        weight = (term / loss) ** 2
        total = np.bincount(target, weight, n_languages)
        centres[scale] = np.bincount(target, weight * x, n_languages) / np.where(
            total > 0, total, 1.0
        )
    # Crossover laws: each language's ratio of pooled to named tokens in its checkpoints.
    finetuned = arrays["finetuned"] > 0
    named = np.bincount(target[finetuned], arrays["base_named_tokens"][finetuned], n_languages)
    pooled = np.bincount(target[finetuned], arrays["base_pooled_tokens"][finetuned], n_languages)
    centres["pooled_ratio"] = pooled / np.where(named > 0, named, 1.0)
    return centres


def fit_data_arrays(data: xr.Dataset) -> dict[str, np.ndarray]:
    """The model's data containers (swappable with ``pm.set_data``) from a fit-data Dataset."""
    arrays = model_inputs(data)
    arrays["target"] = data["target"].values.astype(np.int64)
    arrays["observed_log_loss"] = data["log_loss"].values
    return arrays


def data_coords(arrays: dict[str, np.ndarray], data: xr.Dataset) -> dict[str, np.ndarray]:
    return {
        "obs": data["obs"].values,
        "language": data["language"].values,
        "slot": data["slot"].values,
        "own_rep": np.arange(len(arrays["own_rep_obs"])),
        "top_rep": np.arange(len(arrays["top_rep_obs"])),
        "other_rep": np.arange(len(arrays["other_rep_obs"])),
        "entry": np.arange(len(arrays["entry_obs"])),
        "entry_rep": np.arange(len(arrays["entry_rep_obs"])),
        "source": data["source"].values,
        **_pair_coords(data),
    }


def _pair_coords(data: xr.Dataset) -> dict[str, np.ndarray]:
    """Coordinates of the transfer-matrix pairs (``atlas_matrix``): all, direct, indirect."""
    if "pair_direct" not in data:
        return {}
    direct = data["pair_direct"].values.astype(bool)
    pooled = data["pair_pooled"].values.astype(bool)
    return {
        "pair": data["pair"].values,
        "pair_direct": np.flatnonzero(direct & ~pooled),
        "pair_indirect": np.flatnonzero(~direct & ~pooled),
        "pooled_pair": np.flatnonzero(pooled),
    }


def single_language_spec(spec: VariantSpec) -> VariantSpec:
    """The spec to use when the data have one language: hierarchies collapsed to priors.

    With a single language, a population scale has nothing to pool and is not identified; it
    only creates a funnel (hundreds of divergences on one-language public datasets). Each
    hierarchical parameter with a Normal population mean ``N(m, s)`` and a ``HalfNormal(h)``
    scale becomes a single value with the prior of a new language under that hierarchy,
    moment-matched: ``Normal(m, sqrt(s**2 + h**2))``. Other hierarchies are kept.
    """
    parameters = dict(spec.parameters)
    for name, pspec in spec.parameters.items():
        if (
            pspec.pooling == "hierarchical"
            and pspec.mu.dist == "Normal"
            and pspec.sigma.dist == "HalfNormal"
        ):
            scale = float(np.hypot(pspec.mu.args["sigma"], pspec.sigma.args["sigma"]))
            parameters[name] = ParameterSpec(
                name,
                "per_language",
                prior=PriorSpec("Normal", {"mu": pspec.mu.args["mu"], "sigma": scale}),
            )
    return dataclasses.replace(spec, parameters=parameters)


def build_model(data: xr.Dataset, spec: VariantSpec, anchored: bool = True) -> pm.Model:
    """PyMC model of ``spec`` on ``data`` (from :func:`atlas_bayes.modeling.data.build_model_data`).

    Parameters
    ----------
    data
        Fit data.
    spec
        The variant.
    anchored
        Sample ``log_E`` through its anchor where the spec allows (see
        :func:`_anchored_log_E`); the same posterior, better geometry. Prior predictive
        sampling needs ``False`` (the anchor is a flat variable with its prior as a potential).

    Returns
    -------
    pymc.Model
        Free variables: hyperparameters, standard-normal offsets (non-centred) or language
        values (centred), the likelihood's ``sigma`` and ``nu``. Per-language law parameters
        are Deterministics named after the law's parameters.
    """
    if data.sizes["language"] == 1:
        spec = single_language_spec(spec)
    arrays = fit_data_arrays(data)
    dims = {**INPUT_DIMS, "target": ("obs",), "observed_log_loss": ("obs",)}
    centred = spec.parameterization == "centred"
    with pm.Model(coords=data_coords(arrays, data)) as model:
        inputs = {name: pm.Data(name, value, dims=dims[name]) for name, value in arrays.items()}
        target = inputs.pop("target")
        observed = inputs.pop("observed_log_loss")
        n_obs = inputs["log_params"].shape[0]
        centres = data_centres(data, spec)
        values: dict[str, Any] = {}
        anchor = anchored and spec.anchor_log_e and _anchorable(spec)
        # Exponents first: a centred coefficient is sampled relative to its exponent; an
        # anchored log_E comes last, from the coefficients.
        order = sorted(
            spec.parameters,
            key=lambda p: (
                p == "log_E" and anchor,
                p in COEFFICIENT_EXPONENT or p in TRANSFER_TRADE_OFF,
            ),
        )
        for name in order:
            pspec = spec.parameters[name]
            if name == "log_E" and anchor:
                values[name] = _anchored_log_E(pspec, values, centres, spec)
                continue
            shift = None
            if (
                name in COEFFICIENT_EXPONENT
                and spec.parameters[COEFFICIENT_EXPONENT[name][0]].pooling != "shared"
            ):
                exponent, scale = COEFFICIENT_EXPONENT[name]
                shift = values[exponent] * centres[scale]
            if name in TRANSFER_TRADE_OFF and TRANSFER_TRADE_OFF[name] in values:
                # Sample tau_named + tau_pooled * (pooled / named tokens of the checkpoints):
                # the head start's level, which the data pin down, instead of tau_named, which
                # trades off against tau_pooled when both kinds of tokens grow together.
                shift = -values[TRANSFER_TRADE_OFF[name]] * centres["pooled_ratio"]
            dims = ("language", "slot") if name in SLOT_PARAMETERS else ("language",)
            own_centred = (
                centred if pspec.parameterization is None else pspec.parameterization == "centred"
            )
            values[name] = _parameter(pspec, dims, own_centred, shift)
        # Every parameter gets the obs axis (shared ones broadcast), as predicted_log_loss expects.
        theta = {
            name: value[target]
            if spec.parameters[name].pooling != "shared"
            else pt.zeros((n_obs,)) + value
            for name, value in values.items()
        }
        if "tau_top" in theta and spec.parameters["tau_top"].pooling == "shared":
            theta["tau_top"] = pt.zeros((n_obs, data.sizes["slot"])) + values["tau_top"]
        if spec.law == "atlas_matrix":
            model.add_coord("transfer_feature", list(spec.transfer.features))
            theta["tau_pair"] = create_transfer(spec, data)
        mean = predicted_log_loss(
            spec.law,
            theta,
            inputs,
            spec.params_ref,
            spec.tokens_ref,
            spec.interference,
            spec.languages_ref,
        )
        sigma = spec.likelihood.sigma.create("sigma")
        if spec.likelihood.family == "student_t":
            nu = spec.likelihood.nu.create("nu")
            pm.StudentT(OBSERVED, nu=nu, mu=mean, sigma=sigma, observed=observed, dims="obs")
        else:
            pm.Normal(OBSERVED, mu=mean, sigma=sigma, observed=observed, dims="obs")
    return model


def free_variable_names(model: pm.Model) -> list[str]:
    """Names of the model's free random variables (what the sampler stores)."""
    return [rv.name for rv in model.free_RVs]


__all__ = ["OBSERVED", "build_model", "fit_data_arrays", "free_variable_names"]
