"""Small monolingual studies drawn from one law with known parameters (tests, benchmarks).

The bundled study (:func:`atlas_bayes.simulate.simulate_atlas_study`) mixes every law of the
paper; checks of a fitting procedure need data where the truth is one law's few numbers. Here
every run trains on one language, on a full grid of model sizes and token budgets, and is
evaluated on that language at the end of the run and optionally at earlier checkpoints.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from atlas_bayes import laws
from atlas_bayes.study import Study

#: Parameters of the truth, in the package's (centred) parameterization: ``log_a`` and
#: ``log_b`` are the log losses of the two terms at ``params_ref`` and ``tokens_ref``.
CHINCHILLA_TRUTH_KEYS = ("log_E", "log_a", "log_b", "alpha", "beta")


def law_log_loss(
    truth: Mapping[str, float],
    params: np.ndarray,
    tokens: np.ndarray,
    unique_tokens: float | None = None,
    params_ref: float = 1e9,
    tokens_ref: float = 1e10,
) -> np.ndarray:
    """Noise-free log-loss of the Chinchilla law, on repetition-saturated tokens if constrained.

    Parameters
    ----------
    truth
        ``log_E``, ``log_a``, ``log_b``, ``alpha``, ``beta`` and, where ``unique_tokens`` is
        given, ``log_decay`` (log lambda of the repetition term).
    params, tokens
        N and D (tokens seen, repeats counted), broadcastable.
    unique_tokens
        U, the unique tokens available; None: never repeated (``S(D) = D``).
    params_ref, tokens_ref
        Reference scales of ``log_a`` and ``log_b``.

    Returns
    -------
    numpy.ndarray
        ``log L``.
    """
    effective = np.asarray(tokens, dtype=float)
    if unique_tokens is not None:
        effective = laws.repetition_saturation(
            effective, float(unique_tokens), np.exp(truth["log_decay"])
        )
    return laws.chinchilla_log_loss(
        np.log(np.asarray(params, dtype=float) / params_ref),
        np.log(effective / tokens_ref),
        truth["log_E"],
        truth["log_a"],
        truth["log_b"],
        truth["alpha"],
        truth["beta"],
    )


def simulate_law_study(
    truth: Mapping[str, Mapping[str, float]],
    params: Sequence[float],
    tokens: Sequence[float],
    unique_tokens: Mapping[str, float] | None = None,
    checkpoints: Sequence[float] = (1.0,),
    noise_scale: float = 0.003,
    noise_df: float = 5.0,
    seed: int = 0,
    params_ref: float = 1e9,
    tokens_ref: float = 1e10,
) -> Study:
    """A validated monolingual study whose losses follow one law per language.

    Parameters
    ----------
    truth
        Language code to its law parameters (see :func:`law_log_loss`).
    params, tokens
        The design: one run per (language, N, D) of this grid.
    unique_tokens
        Language to its unique tokens (data-constrained languages); others are unconstrained.
    checkpoints
        Fractions of each run at which it is evaluated (1.0: the end); every checkpoint of a
        run is an evaluation of the same run.
    noise_scale, noise_df
        Multiplicative noise on loss: ``log L + noise_scale * t(noise_df)``; 0 gives the law
        exactly. The defaults are those of the bundled simulated study.
    seed
        Seed of the noise.
    params_ref, tokens_ref
        Reference scales of the truth's ``log_a`` and ``log_b``.

    Returns
    -------
    Study
    """
    rng = np.random.default_rng(seed)
    unique_tokens = dict(unique_tokens or {})
    runs, mixture, evals = [], [], []
    for language, values in truth.items():
        unique = unique_tokens.get(language)
        for i, n in enumerate(params):
            for j, d in enumerate(tokens):
                run = f"{language}-n{i}-d{j}"
                runs.append({"run_id": run, "params": float(n), "regime": "pretrain"})
                runs[-1]["kind"] = "monolingual"
                mixture.append(
                    {
                        "run_id": run,
                        "language": language,
                        "tokens": float(d),
                        "unique_tokens": np.nan if unique is None else float(unique),
                    }
                )
                for fraction in checkpoints:
                    seen = float(d) * float(fraction)
                    log_loss = law_log_loss(values, n, seen, unique, params_ref, tokens_ref)
                    if noise_scale > 0:
                        log_loss = log_loss + noise_scale * rng.standard_t(noise_df)
                    evals.append(
                        {
                            "run_id": run,
                            "language": language,
                            "loss": float(np.exp(log_loss)),
                            "tokens_seen": np.nan if fraction >= 1.0 else seen,
                        }
                    )
    return Study.from_frames(pd.DataFrame(runs), pd.DataFrame(mixture), pd.DataFrame(evals))


__all__ = ["CHINCHILLA_TRUTH_KEYS", "law_log_loss", "simulate_law_study"]
