"""Prior predictive checks: what a variant's priors imply before any loss is seen."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm

from atlas_bayes.intervals import CI_PROB, interval_label
from atlas_bayes.modeling.build import OBSERVED, build_model, single_language_spec
from atlas_bayes.modeling.data import build_model_data
from atlas_bayes.study import Study
from atlas_bayes.variants import VariantSpec

#: Losses outside this range (nats per token) are implausible for a language model.
PLAUSIBLE_LOSS = (0.5, 20.0)


@dataclass(frozen=True)
class PriorCheck:
    """A prior predictive check.

    Attributes
    ----------
    parameters : pandas.DataFrame
        Prior median and interval of each law parameter's population value.
    observations : pandas.DataFrame
        Per observation: observed loss and its prior predictive median and interval.
    summary : dict
        ``observed_inside`` (share of observed losses inside their prior interval),
        ``implausible_share`` (prior draws outside :data:`PLAUSIBLE_LOSS`), ``loss_range``
        (overall prior predictive interval), ``ci_prob``, ``ci_kind``, ``draws``.
    """

    parameters: pd.DataFrame
    observations: pd.DataFrame
    summary: dict[str, Any]

    def sentence(self) -> str:
        """The check in one sentence."""
        s = self.summary
        low, high = s["loss_range"]
        label = interval_label(s["ci_prob"], s["ci_kind"]).replace("credible", "prior predictive")
        return (
            f"Before seeing any loss, the priors put the {label} of a typical loss between "
            f"{low:.2f} and {high:.2f} nats; {s['observed_inside']:.0%} of the observed losses "
            f"fall inside their own prior interval and {s['implausible_share']:.1%} of prior "
            f"draws are implausible (outside {PLAUSIBLE_LOSS[0]}-{PLAUSIBLE_LOSS[1]} nats)."
        )


def prior_predictive_check(
    study: Study, spec: VariantSpec, draws: int = 500, seed: int = 0, ci_prob: float = CI_PROB
) -> PriorCheck:
    """Sample the prior predictive of ``spec`` on ``study`` and summarise it.

    Parameters
    ----------
    study
        The study (its selected runs give the inputs; losses are only compared, never used).
    spec
        The variant.
    draws
        Prior draws.
    seed
        Random seed.
    ci_prob
        Probability of the equal-tailed intervals reported.

    Returns
    -------
    PriorCheck
    """
    data = build_model_data(study, spec)
    # The plain parameterisation: the anchored one has a flat variable (same prior).
    model = build_model(data, spec, anchored=False)
    effective = single_language_spec(spec) if data.sizes["language"] == 1 else spec
    names = list(effective.parameters)
    hyper = [f"{n}_mu" if effective.parameters[n].pooling == "hierarchical" else n for n in names]
    tree = pm.sample_prior_predictive(
        draws=draws, model=model, random_seed=seed, var_names=[*hyper, OBSERVED]
    )
    tail = (1 - ci_prob) / 2
    quantiles = [tail, 0.5, 1 - tail]
    prior = tree["prior"].to_dataset()
    rows = []
    for name, key in zip(names, hyper, strict=True):
        values = prior[key].values.reshape(prior.sizes["chain"] * prior.sizes["draw"], -1)
        low, median, high = np.quantile(values, quantiles)
        rows.append(
            {
                "parameter": name,
                "population_value": key,
                "median": median,
                "ci_low": low,
                "ci_high": high,
                "ci_prob": ci_prob,
                "ci_kind": "eti",
            }
        )
    loss = np.exp(tree["prior_predictive"].to_dataset()[OBSERVED].values)
    loss = loss.reshape(-1, loss.shape[-1])
    low, median, high = np.quantile(loss, quantiles, axis=0)
    observed = np.exp(data["log_loss"].values)
    observations = pd.DataFrame(
        {
            "run_id": data["run_id"].values,
            "language": data["eval_language"].values,
            "observed": observed,
            "prior_median": median,
            "prior_low": low,
            "prior_high": high,
        }
    )
    inside = (observed >= low) & (observed <= high)
    implausible = (loss < PLAUSIBLE_LOSS[0]) | (loss > PLAUSIBLE_LOSS[1])
    summary = {
        "variant": spec.name,
        "draws": draws,
        "ci_prob": ci_prob,
        "ci_kind": "eti",
        "observed_inside": float(inside.mean()),
        "implausible_share": float(implausible.mean()),
        "loss_range": tuple(float(v) for v in np.quantile(loss, [tail, 1 - tail])),
        "median_interval_width": float(np.median(high - low)),
    }
    return PriorCheck(pd.DataFrame(rows), observations, summary)
