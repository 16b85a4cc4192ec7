"""Which languages to train with: the mixture that minimises a target's expected or cautious loss.

Given a target language, a token budget ``D`` and the unique tokens available per language,
:func:`optimise_mixture` finds the shares ``w`` (on the simplex over candidate languages) that
minimise the posterior mean of the target's loss, or a chosen posterior quantile of it (a
risk-averse user asks for the 90th percentile). It reports the loss distribution of that
mixture over every posterior draw beside two baselines: all tokens on the target
(*target-only*) and a Unimax-style spread (:func:`unimax_weights`, Chung et al. 2023).

The loss is the ``atlas_matrix`` law, draw by draw, exactly as the fitted model computes it
(:mod:`atlas_bayes.modeling.mean`). Language ``s`` gets ``D_s = w_s D`` tokens, worth
``S(D_s; U_s, lambda)`` after repetition (:func:`atlas_bayes.laws.repetition_saturation`, with
the target's decay ``lambda``: in the model the decay is indexed by the evaluated language and
applies to every source of the run). The target's effective data is
``D_eff = S(D_t) + sum_s tau[t, s] S(D_s)`` with the variant's interference form
(:func:`atlas_bayes.laws.effective_tokens`; the damped guard keeps ``D_eff > 0`` under negative
transfer), ``tau`` the posterior transfer matrix (:func:`atlas_bayes.modeling.transfer
.transfer_matrix`: sampled pairs, and the feature model for pairs no run trained on), and

    L = E + a (N / N_ref)^-alpha + b (D_eff / D_ref)^-beta.

The model size ``N`` enters only through ``E + a (N / N_ref)^-alpha``, a term that does not
depend on the mixture. The mean-optimal mixture therefore does not depend on ``N`` at all;
``N`` sets the level of the reported losses and, for a quantile objective, which draws sit at
that quantile (so the cautious mixture can move a little with ``N``).

The optimiser is SLSQP on the simplex (bounds ``0 <= w_s <= 1``, ``sum w = 1``) with the
analytic gradient, vectorised over draws, from several starts: target-only, uniform, the
Unimax spread and, for a quantile objective, the mean-optimal mixture. Every start and every
end point is scored and the best kept, so the optimum is never worse than a baseline on the
objective over the draws it was optimised on (all draws by default), and a quantile optimum
never has a higher quantile than the mean optimum. With every ``tau >= 0`` the mean objective
is convex in ``w`` (a convex decreasing power of the concave ``D_eff``), so its optimum is
global up to the optimiser's tolerance; negative transfer can make it non-convex, and the
starts guard against poor local optima.

The empirical quantile of the draws has a kink wherever two draws swap ranks, which stalls a
gradient method. A quantile is therefore first minimised in the smooth Harrell-Davis form
(a Beta-weighted average of neighbouring order statistics), then carried through narrower
kernels to the empirical quantile. On a 30-language, 4000-draw problem
(``benchmarks/mixture_speed.py``) the result was within 5e-5 nats of the best of 15 random
restarts, against a Monte Carlo error of the 90th percentile itself of about 1e-3 nats.
"""

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from atlas_bayes.decisions.result import Decision, DecisionError, _plain
from atlas_bayes.findings._fits import WrongVariant, require_law
from atlas_bayes.intervals import CI_KIND, CI_PROB
from atlas_bayes.laws import UNCONSTRAINED_UNIQUE_TOKENS
from atlas_bayes.modeling.transfer import transfer_matrix
from atlas_bayes.summaries import SAMPLE_DIMS, probability
from atlas_bayes.variants.transfer import OTHER_SOURCE

#: Parameters of the law a mixture's loss needs, as named in the posterior.
LAW_VARIABLES = ("log_E", "log_a", "log_b", "alpha", "beta", "log_decay")
#: Unit of every loss and improvement.
LOSS_UNIT = "nats per token"
#: Fewest effective tokens the law is evaluated at: a mixture with (almost) none of the
#: target's data and no positive transfer has no meaningful loss; it is scored as if it had one
#: effective token (a huge loss the optimiser steers away from) and flagged in the notes.
MIN_EFFECTIVE_TOKENS = 1.0
#: Shares below this are set to zero after optimising (SLSQP leaves round-off near bounds).
WEIGHT_ROUNDOFF = 1e-9
#: A source with at least this share of the optimum, whose transfer to the target no fitted
#: run measured, gets a note.
NOTABLE_SHARE = 0.01
#: SLSQP settings: the objective differences that matter are ~1e-4 nats, so the tolerance on
#: the objective is far below them.
SLSQP_OPTIONS = {"ftol": 1e-12, "maxiter": 500}
#: Kernel sharpness of the continuation from the smooth (Harrell-Davis) quantile towards the
#: empirical one (see ``_rank_kernel``), and the restarts of the final empirical polish.
CONTINUATION_SHARPNESS = (4.0, 16.0, 64.0)
MAX_POLISH_RESTARTS = 3
POLISH_TOLERANCE = 1e-12


@dataclass(frozen=True)
class MixtureDecision(Decision):
    """A :class:`Decision` on a training mixture, with the mixtures themselves as tables.

    The shares of a mixture are the decision, the same in every draw, so they cannot be
    draws (every variable of :attr:`Decision.draws` has ``chain`` and ``draw``): they live in
    :attr:`mixture`. The draws hold the loss distributions and improvements.

    Attributes
    ----------
    mixture : pandas.DataFrame
        One row per candidate language, largest optimal share first: ``language``,
        ``weight`` (optimal share), ``tokens`` (``weight`` x budget), ``unique_tokens`` (NaN:
        not data-constrained), ``epochs`` (tokens / unique tokens; NaN when unconstrained),
        ``tau_mean`` (posterior mean transfer to the target; 1 for the target itself),
        ``tau_measured`` (some fitted run trained the target with this language; else the
        transfer comes from the feature model), ``target_only_weight``, ``unimax_weight`` and,
        with a quantile objective, ``mean_optimum_weight``.
    comparison : pandas.DataFrame
        One row per mixture (``optimum``, ``target_only``, ``unimax`` and, with a quantile
        objective, ``mean_optimum``): ``mixture``, ``objective`` (``"mean loss"`` or
        ``"q90 loss"``...), ``value`` (the objective over all draws), ``mean_loss``,
        ``improvement`` (the mixture's objective minus the optimum's: how much better the
        optimum is; 0 for the optimum) and ``p_optimum_better`` (share of draws in which the
        optimum's loss is strictly lower; NaN for the optimum).
    """

    mixture: pd.DataFrame = field(default_factory=pd.DataFrame)
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def weights(self) -> dict[str, float]:
        """The optimal shares by language (those with a share above zero)."""
        rows = self.mixture[self.mixture["weight"] > 0]
        return dict(zip(rows["language"], rows["weight"].astype(float), strict=True))

    def to_json_dict(self, ci_prob: float = CI_PROB, ci_kind: str = CI_KIND) -> dict[str, Any]:
        """:meth:`Decision.to_json_dict` plus the ``mixture`` and ``comparison`` tables."""
        out = super().to_json_dict(ci_prob, ci_kind)
        out["mixture"] = [_plain(row) for row in self.mixture.to_dict(orient="records")]
        out["comparison"] = [_plain(row) for row in self.comparison.to_dict(orient="records")]
        return out


def unimax_weights(
    tokens: float,
    unique_tokens: Mapping[str, float | None],
    max_epochs: float = 4.0,
) -> dict[str, float]:
    """Unimax-style shares (Chung et al. 2023): uniform, each capped at ``max_epochs`` epochs.

    Languages are visited from the smallest corpus up; each gets the remaining budget divided
    evenly among the languages not yet visited, but at most ``max_epochs`` times its unique
    tokens. What a capped language cannot take passes to the larger ones. If every language
    is capped before the budget is spent, the rest is spread in proportion to unique tokens
    (every language then repeats the same number of epochs, above ``max_epochs``), so that the
    mixture always spends the whole budget, as the baselines it is compared with do.

    Parameters
    ----------
    tokens
        The token budget ``D``, > 0.
    unique_tokens
        Unique tokens per language; ``None``, ``inf`` or
        :data:`~atlas_bayes.laws.UNCONSTRAINED_UNIQUE_TOKENS` means not data-constrained
        (never capped).
    max_epochs
        The epoch cap, > 0 (default 4: up to about four epochs, repeated data is worth
        almost as much as new data; Muennighoff et al. 2023).

    Returns
    -------
    dict of str to float
        Share of the budget per language, in the order of ``unique_tokens``, summing to 1.
    """
    if not tokens > 0 or not math.isfinite(tokens):
        raise DecisionError(f"the token budget must be a positive number, got {tokens}")
    if not max_epochs > 0 or not math.isfinite(max_epochs):
        raise DecisionError(f"max_epochs must be a positive number, got {max_epochs}")
    if not unique_tokens:
        raise DecisionError("Unimax needs at least one language")
    unique = {lang: _unique_value(lang, value) for lang, value in unique_tokens.items()}
    order = sorted(unique, key=lambda lang: unique[lang])  # stable: ties keep the given order
    allocation = dict.fromkeys(unique, 0.0)
    remaining = float(tokens)
    for i, lang in enumerate(order):
        cap = max_epochs * unique[lang]
        allocation[lang] = min(remaining / (len(order) - i), cap)
        remaining -= allocation[lang]
    if remaining > tokens * 1e-12:
        total_unique = sum(unique.values())
        for lang in order:
            allocation[lang] += remaining * unique[lang] / total_unique
    total = sum(allocation.values())
    return {lang: allocation[lang] / total for lang in unique}


def _unique_value(language: str, value: float | None) -> float:
    """A unique-token count as a finite number (``None`` or ``inf``: unconstrained)."""
    if value is None or value == math.inf:
        return UNCONSTRAINED_UNIQUE_TOKENS
    value = float(value)
    if not value > 0:
        raise DecisionError(
            f"unique tokens of {language!r} must be positive (or None: not data-constrained), "
            f"got {value}"
        )
    return min(value, UNCONSTRAINED_UNIQUE_TOKENS)


@dataclass(frozen=True)
class _Evaluation:
    """The law at one mixture, per draw, and what its gradient needs.

    The gradient of any draw-weighted sum ``sum_d omega_d L_d`` in the shares is
    ``tokens * sum_d omega_d S'_ds (u_d tau+_ds + v_d tau-_ds)``, with ``u`` and ``v`` the
    derivatives of ``L`` in the positive and negative contributions to ``D_eff``. The mean
    (``omega = 1/n``) and a quantile (two draws, or a kernel over ranks) are all such sums, so
    per-draw gradients are never formed.
    """

    problem: "_Problem"
    loss: np.ndarray  # (n,)
    log_effective: np.ndarray  # (n,), floored at log(MIN_EFFECTIVE_TOKENS)
    d_positive: np.ndarray  # (n,) dL/d(positive contributions)
    d_negative: np.ndarray  # (n,) dL/d(negative contributions)
    repeated: np.ndarray  # indices of languages beyond one epoch
    kept: np.ndarray  # (n, r) S'(D) of the repeated languages

    def gradient(self, omega: np.ndarray) -> np.ndarray:
        """d(sum_d omega_d L_d)/dw, ``(k,)``."""
        p = self.problem
        u, v = omega * self.d_positive, omega * self.d_negative
        grad = u @ p.tau_positive + v @ p.tau_negative  # S'(D) = 1 below one epoch
        if len(self.repeated):
            r = self.repeated
            grad[r] = u @ (p.tau_positive[:, r] * self.kept) + v @ (
                p.tau_negative[:, r] * self.kept
            )
        return grad * p.tokens


@dataclass(frozen=True)
class _Problem:
    """The law of one target over draws, ready to evaluate many mixtures fast.

    Arrays are flat over draws (``n``) and candidates (``k``, the target first).
    """

    tokens: float
    unique: np.ndarray  # (k,)
    decay: np.ndarray  # (n,)
    tau_positive: np.ndarray  # (n, k), max(tau, 0), 1 for the target
    tau_negative: np.ndarray  # (n, k), max(-tau, 0), 0 for the target
    level: np.ndarray  # (n,) E + a (N / N_ref)^-alpha
    log_b: np.ndarray  # (n,)
    beta: np.ndarray  # (n,)
    log_tokens_ref: float
    interference: str

    @property
    def n_draws(self) -> int:
        """Number of draws."""
        return len(self.level)

    def thinned(self, keep: np.ndarray) -> "_Problem":
        """The same problem on the draws ``keep``."""
        return _Problem(
            self.tokens,
            self.unique,
            self.decay[keep],
            self.tau_positive[keep],
            self.tau_negative[keep],
            self.level[keep],
            self.log_b[keep],
            self.beta[keep],
            self.log_tokens_ref,
            self.interference,
        )

    def evaluate(self, weights: np.ndarray) -> _Evaluation:
        """The law at the mixture ``weights`` (shares of the candidates), every draw."""
        seen = np.maximum(weights, 0.0) * self.tokens
        repeated = np.flatnonzero(seen > self.unique)
        # S(D) = D below one epoch, the same in every draw: those languages enter through one
        # matrix-vector product; only repeated ones need the per-draw decay.
        once = np.where(seen > self.unique, 0.0, seen)
        gains = self.tau_positive @ once
        losses = self.tau_negative @ once
        kept = np.ones((self.n_draws, 0))
        if len(repeated):
            unique = self.unique[repeated]
            excess = (seen[repeated] - unique) / unique
            decay = self.decay[:, None]
            kept = np.exp(-decay * excess)  # S'(D) beyond one epoch
            saturated = unique * (1.0 + (1.0 - kept) / decay)
            gains = gains + np.einsum("nr,nr->n", self.tau_positive[:, repeated], saturated)
            losses = losses + np.einsum("nr,nr->n", self.tau_negative[:, repeated], saturated)
        floor = math.log(MIN_EFFECTIVE_TOKENS)
        if self.interference == "linear":
            safe = np.maximum(gains - losses, MIN_EFFECTIVE_TOKENS)
            log_effective = np.log(safe)
            d_gains, d_losses = 1.0 / safe, -1.0 / safe
        else:
            # D_eff = G exp(-Q / G), the damped guard of atlas_bayes.laws.effective_tokens.
            safe = np.maximum(gains, MIN_EFFECTIVE_TOKENS)
            log_effective = np.log(safe) - losses / safe
            d_gains, d_losses = 1.0 / safe + losses / safe**2, -1.0 / safe
        floored = log_effective <= floor
        log_effective = np.maximum(log_effective, floor)
        data_term = np.exp(self.log_b - self.beta * (log_effective - self.log_tokens_ref))
        d_log = np.where(floored, 0.0, -self.beta * data_term)
        return _Evaluation(
            problem=self,
            loss=self.level + data_term,
            log_effective=log_effective,
            d_positive=d_log * d_gains,
            d_negative=d_log * d_losses,
            repeated=repeated,
            kept=kept,
        )


def _objective_value(loss: np.ndarray, quantile: float | None) -> float:
    """Mean of ``loss`` over draws, or its ``quantile`` (numpy's linear interpolation)."""
    return float(loss.mean() if quantile is None else np.quantile(loss, quantile))


def _rank_kernel(n: int, quantile: float, sharpness: float = 1.0) -> np.ndarray:
    """Harrell-Davis weights of the order statistics for the ``quantile`` of ``n`` draws.

    The Harrell-Davis estimator, ``sum_i w_i L_(i)`` with ``w_i`` the mass of a
    Beta((m + 1) q, (m + 1) (1 - q)) on ((i - 1) / n, i / n] and ``m = n``, estimates the same
    quantile as the order statistics but spreads its weight over about ``sqrt(n q (1 - q))``
    neighbouring draws. As a function of the shares it is continuous with a gradient that
    barely jumps where two draws swap ranks, which a gradient-based optimiser needs; the plain
    empirical quantile has a kink at every swap. ``sharpness`` > 1 (``m = sharpness n``)
    narrows the kernel towards the empirical quantile, for continuation.
    """
    from scipy.stats import beta as beta_distribution

    m = sharpness * n
    a, b = (m + 1) * quantile, (m + 1) * (1 - quantile)
    return np.diff(beta_distribution.cdf(np.linspace(0.0, 1.0, n + 1), a, b))


def _objective(
    weights: np.ndarray, problem: _Problem, quantile: float | None, kernel: np.ndarray | None
) -> tuple[float, np.ndarray]:
    """The objective and its gradient in ``weights`` (SLSQP's ``fun`` with ``jac=True``).

    Mean loss when ``quantile`` is None; else the Harrell-Davis quantile when a rank
    ``kernel`` is given (see :func:`_rank_kernel`), else the empirical quantile: numpy's
    default linear interpolation between the order statistics around ``q (n - 1)``, the one
    :func:`atlas_bayes.decisions.quantile` reports. Its gradient is the same interpolation of
    those two draws' gradients (exact wherever the ordering of the draws does not change).
    """
    evaluation = problem.evaluate(weights)
    loss = evaluation.loss
    n = len(loss)
    if quantile is None:
        omega = np.full(n, 1.0 / n)
    elif kernel is not None:
        omega = np.empty(n)
        omega[np.argsort(loss, kind="stable")] = kernel
    else:
        position = quantile * (n - 1)
        low = math.floor(position)
        high = min(low + 1, n - 1)
        order = np.argpartition(loss, (low, high))
        fraction = position - low
        omega = np.zeros(n)
        omega[order[low]] += 1.0 - fraction
        omega[order[high]] += fraction
    return float(omega @ loss), evaluation.gradient(omega)


def _clean(weights: np.ndarray) -> np.ndarray:
    """Shares on the simplex: round-off below :data:`WEIGHT_ROUNDOFF` set to 0, renormalised."""
    weights = np.where(weights < WEIGHT_ROUNDOFF, 0.0, weights)
    return weights / weights.sum()


def _slsqp(
    problem: _Problem, start: np.ndarray, quantile: float | None, kernel: np.ndarray | None
) -> np.ndarray:
    """SLSQP on the simplex from ``start``; the end point, cleaned."""
    k = len(start)
    result = minimize(
        _objective,
        start,
        args=(problem, quantile, kernel),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * k,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(k)}],
        options=SLSQP_OPTIONS,
    )
    return _clean(np.asarray(result.x, dtype=float))


def _minimise(
    problem: _Problem, starts: Sequence[np.ndarray], quantile: float | None
) -> np.ndarray:
    """The best mixture found from ``starts``, by the objective on ``problem``'s draws.

    The mean is minimised directly from every start. A quantile is first minimised in its
    smooth Harrell-Davis form from every start; the best of those end points is then carried
    through narrower kernels to the empirical quantile itself. Every start and end point is
    scored by the objective (mean, or empirical quantile) and the best kept, so the result is
    never worse than a start.
    """
    if len(problem.unique) == 1:
        return np.ones(1)
    candidates = [_clean(np.asarray(start, dtype=float)) for start in starts]

    def score(weights: np.ndarray) -> float:
        return _objective_value(problem.evaluate(weights).loss, quantile)

    # One BLAS thread: SLSQP's linear algebra is on k x k matrices and the law's products on
    # (draws x k) ones, far too small to gain from threads. Threaded OpenBLAS only adds
    # synchronisation, which on a busy machine made each SLSQP step 100 times slower
    # (16 ms against 0.13 ms for 30 languages).
    with threadpool_limits(limits=1, user_api="blas"):
        if quantile is None:
            candidates += [_slsqp(problem, start, None, None) for start in candidates]
            return min(candidates, key=score)
        n = problem.n_draws
        kernel = _rank_kernel(n, quantile)
        smoothed = [_slsqp(problem, start, quantile, kernel) for start in candidates]
        candidates += smoothed
        # Continuation from the best smooth optimum: ever narrower kernels, then the empirical
        # quantile itself, restarted while it improves (a restart drops SLSQP's curvature
        # estimate, which the kinks of the empirical quantile spoil).
        point = min(smoothed, key=score)
        for sharpness in CONTINUATION_SHARPNESS:
            point = _slsqp(problem, point, quantile, _rank_kernel(n, quantile, sharpness))
            candidates.append(point)
        for _ in range(MAX_POLISH_RESTARTS):
            polished = _slsqp(problem, point, quantile, None)
            candidates.append(polished)
            if score(polished) >= score(point) - POLISH_TOLERANCE:
                break
            point = polished
        return min(candidates, key=score)


def _reraise_wrong_variant(fit: Any) -> None:
    """Raise :class:`DecisionError` unless ``fit`` is an ``atlas_matrix`` fit."""
    try:
        require_law(fit, ("atlas_matrix",), "the mixture optimiser")
    except WrongVariant as err:
        raise DecisionError(str(err)) from None


def default_unique_tokens(fit: Any) -> dict[str, float | None]:
    """Unique tokens per named source language of a fit's data (``None``: not constrained).

    Each is the largest unique-token count that a fitted run training on the language
    declared (runs of a study normally agree; a run that subsampled a corpus to study
    repetition declares less than the corpus holds). A language some run declared
    unconstrained is unconstrained.

    Parameters
    ----------
    fit
        A fit whose data has ``tokens`` and ``unique_tokens`` (obs, source).

    Returns
    -------
    dict of str to float or None
    """
    data = fit.data
    tokens, unique = data["tokens"].values, data["unique_tokens"].values
    out: dict[str, float | None] = {}
    for j, source in enumerate(str(s) for s in data["source"].values):
        if source == OTHER_SOURCE:
            continue
        declared = unique[tokens[:, j] > 0, j]
        largest = float(declared.max()) if len(declared) else UNCONSTRAINED_UNIQUE_TOKENS
        out[source] = None if largest >= UNCONSTRAINED_UNIQUE_TOKENS else largest
    return out


def _axes(data: xr.Dataset) -> tuple[list[str], list[str]]:
    """The fit's languages (with parameters) and its named training languages."""
    languages = [str(x) for x in data["language"].values]
    named = [str(s) for s in data["source"].values if str(s) != OTHER_SOURCE]
    return languages, named


def _candidates(
    target: str, languages: Sequence[str] | None, fit_languages: list[str], named: list[str]
) -> list[str]:
    """The candidate languages, the target first (validated)."""
    if target not in fit_languages:
        raise DecisionError(
            f"unknown target {target!r}: the fit has parameters for {', '.join(fit_languages)}"
        )
    if target not in named:
        raise DecisionError(f"target {target!r} is not a training language of the fit")
    if languages is None:
        chosen = list(named)
    else:
        chosen = list(dict.fromkeys(str(lang) for lang in languages))
        if OTHER_SOURCE in chosen:
            raise DecisionError(
                f"{OTHER_SOURCE!r} is the fit's pooled source of many languages, not one "
                "language a mixture can give tokens to; choose among "
                f"{', '.join(named)}"
            )
        unknown = [lang for lang in chosen if lang not in named]
        if unknown:
            raise DecisionError(
                f"unknown language(s) {', '.join(map(repr, unknown))}: the fit's training "
                f"languages are {', '.join(named)}"
            )
    return [target, *(lang for lang in chosen if lang != target)]


def _law_draws(posterior: xr.Dataset, target: str) -> dict[str, np.ndarray]:
    """The law parameters of ``target``, flat over (chain, draw)."""
    missing = [name for name in LAW_VARIABLES if name not in posterior]
    if missing:
        raise DecisionError(f"the fit's posterior lacks {', '.join(missing)}")
    out = {}
    for name in LAW_VARIABLES:
        values = posterior[name]
        if "language" in values.dims:
            values = values.sel(language=target)
        out[name] = values.transpose(*SAMPLE_DIMS).values.reshape(-1).astype(float)
    return out


def _extrapolation_notes(
    data: xr.Dataset,
    tokens: float,
    params: float,
    candidates: list[str],
    weights: np.ndarray,
    problem: _Problem,
) -> list[str]:
    """Notes for a request outside the fitted runs (model size, budget, epochs)."""
    notes = []
    fitted_params = np.exp(data["log_params"].values)
    low, high = float(fitted_params.min()), float(fitted_params.max())
    if not low <= params <= high:
        notes.append(
            f"extrapolation: N = {params:.3g} parameters is outside the fitted runs' "
            f"{low:.3g} to {high:.3g}"
        )
    run_tokens = data["tokens"].values.sum(axis=1)
    if tokens > run_tokens.max():
        notes.append(
            f"extrapolation: the budget of {tokens:.3g} tokens exceeds the largest fitted "
            f"run's {run_tokens.max():.3g}"
        )
    fitted = data["tokens"].values / data["unique_tokens"].values
    most_fitted = max(float(fitted.max()) if fitted.size else 0.0, 1.0)
    epochs = weights * tokens / problem.unique
    if epochs.max() > most_fitted:
        notes.append(
            f"extrapolation: the optimum repeats the data of {candidates[int(epochs.argmax())]} "
            f"{epochs.max():.3g} times; the fitted runs repeat a language's data at most "
            f"{most_fitted:.3g} times"
        )
    return notes


def _notes(
    data: xr.Dataset,
    target: str,
    tokens: float,
    params: float,
    candidates: list[str],
    measured: np.ndarray,
    optimum: np.ndarray,
    problem: _Problem,
) -> list[str]:
    """What a user must read with the optimum: extrapolation and unmeasured transfer."""
    notes = _extrapolation_notes(data, tokens, params, candidates, optimum, problem)
    if optimum[0] == 0:
        notes.append(
            "extrapolation: the optimum trains on none of the target's own data; every fitted "
            "run trained on it"
        )
    unmeasured = [
        lang
        for lang, share, known in zip(candidates[1:], optimum[1:], measured[1:], strict=True)
        if share >= NOTABLE_SHARE and not known
    ]
    if unmeasured:
        notes.append(
            f"no fitted run trained {target} with {', '.join(unmeasured)}: that transfer comes "
            "from the feature model (pair features and source effects), with its wider posterior"
        )
    return notes


def _effective_notes(log_effective: np.ndarray) -> list[str]:
    """A note when the optimum's effective tokens hit the law's floor in some draws."""
    floored = float(np.mean(log_effective <= math.log(MIN_EFFECTIVE_TOKENS)))
    if floored == 0:
        return []
    return [
        f"in {floored:.1%} of draws the optimum has under {MIN_EFFECTIVE_TOKENS:g} "
        "effective token (negative transfer): the law says nothing there"
    ]


def _as_draws(values: np.ndarray, posterior: xr.Dataset) -> xr.DataArray:
    """Flat draws back to ``(chain, draw)`` with the posterior's coordinates."""
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    return xr.DataArray(
        values.reshape(shape),
        dims=SAMPLE_DIMS,
        coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values},
    )


def _build_problem(
    fit: Any,
    target: str,
    tokens: float,
    params: float,
    candidates: list[str],
    unique: np.ndarray,
    seed: int | None,
) -> tuple[_Problem, np.ndarray, np.ndarray]:
    """The law of ``target`` over all draws, and the transfer row (draws, and measured)."""
    spec, posterior = fit.spec, fit.posterior
    law = _law_draws(posterior, target)
    tau = transfer_matrix(fit, seed=seed).sel(target=target, source=candidates)
    measured = np.asarray(tau["measured"].values, dtype=bool)
    tau_values = tau.transpose(*SAMPLE_DIMS, "source").values.reshape(-1, len(candidates))
    tau_values = tau_values.copy()
    tau_values[:, 0] = 1.0  # the target's own tokens (the diagonal of the matrix)
    level = np.exp(law["log_E"]) + np.exp(
        law["log_a"] - law["alpha"] * math.log(params / spec.params_ref)
    )
    problem = _Problem(
        tokens=float(tokens),
        unique=unique,
        decay=np.exp(law["log_decay"]),
        tau_positive=np.maximum(tau_values, 0.0),
        tau_negative=np.maximum(-tau_values, 0.0),
        level=level,
        log_b=law["log_b"],
        beta=law["beta"],
        log_tokens_ref=math.log(spec.tokens_ref),
        interference=spec.interference,
    )
    return problem, tau_values, measured


def _check_request(
    tokens: float,
    params: float,
    quantile: float | None,
    max_epochs: float,
    optimisation_draws: int | None,
) -> None:
    """Raise :class:`DecisionError` for an impossible request."""
    for name, value in (("token budget", tokens), ("model size (params)", params)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise DecisionError(f"the {name} must be a positive number, got {value!r}")
    if quantile is not None and not 0 < quantile < 1:
        raise DecisionError(f"quantile must be in (0, 1), got {quantile}")
    if not max_epochs > 0 or not math.isfinite(max_epochs):
        raise DecisionError(f"max_epochs must be a positive number, got {max_epochs}")
    if optimisation_draws is not None and optimisation_draws < 1:
        raise DecisionError(f"optimisation_draws must be at least 1, got {optimisation_draws}")


def _resolve_unique(
    fit: Any, candidates: list[str], named: list[str], given: Mapping[str, float | None] | None
) -> np.ndarray:
    """Unique tokens of each candidate: the user's, else the study's, else unconstrained."""
    given = dict(given or {})
    unknown = [lang for lang in given if lang not in named]
    if unknown:
        raise DecisionError(
            f"unique tokens given for unknown language(s) {', '.join(map(repr, unknown))}: the "
            f"fit's training languages are {', '.join(named)}"
        )
    merged = {**default_unique_tokens(fit), **given}
    return np.array([_unique_value(lang, merged.get(lang)) for lang in candidates])


def _comparison_table(
    losses: dict[str, np.ndarray], objective: str, quantile: float | None, posterior: xr.Dataset
) -> pd.DataFrame:
    """One row per mixture: its objective, mean loss, the optimum's gain and P(optimum better)."""
    values = {name: _objective_value(loss, quantile) for name, loss in losses.items()}
    better = {
        name: float(probability(_as_draws(loss - losses["optimum"], posterior) > 0))
        for name, loss in losses.items()
    }
    return pd.DataFrame(
        {
            "mixture": list(losses),
            "objective": objective,
            "value": [values[name] for name in losses],
            "mean_loss": [float(loss.mean()) for loss in losses.values()],
            "improvement": [values[name] - values["optimum"] for name in losses],
            "p_optimum_better": [
                math.nan if name == "optimum" else better[name] for name in losses
            ],
        }
    )


def _mixture_table(
    candidates: list[str],
    tokens: float,
    unique: np.ndarray,
    tau: np.ndarray,
    measured: np.ndarray,
    mixtures: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One row per candidate language: the optimum's shares, tokens, epochs and transfer."""
    optimum = mixtures["optimum"]
    constrained = unique < UNCONSTRAINED_UNIQUE_TOKENS
    table = pd.DataFrame(
        {
            "language": candidates,
            "weight": optimum,
            "tokens": optimum * tokens,
            "unique_tokens": np.where(constrained, unique, np.nan),
            "epochs": np.where(constrained, optimum * tokens / unique, np.nan),
            "tau_mean": tau.mean(axis=0),
            "tau_measured": measured | (np.arange(len(candidates)) == 0),
        }
    )
    for name, weights in mixtures.items():
        if name != "optimum":
            table[f"{name}_weight"] = weights
    return table.sort_values("weight", ascending=False, kind="stable", ignore_index=True)


def mixture_loss(
    fit: Any,
    target: str,
    weights: Mapping[str, float],
    tokens: float,
    params: float,
    unique_tokens: Mapping[str, float | None] | None = None,
    seed: int | None = None,
) -> xr.DataArray:
    """Posterior draws of the target's loss (the law's mean) after training on a mixture.

    Parameters
    ----------
    fit
        A fit of an ``atlas_matrix`` variant.
    target
        The evaluated language.
    weights
        Share of the budget per training language (non-negative; normalised to sum to 1;
        languages left out get none).
    tokens
        The token budget ``D``.
    params
        Model size ``N``.
    unique_tokens
        Unique tokens per language (``None``: not data-constrained); languages left out take
        the study's (:func:`default_unique_tokens`).
    seed
        Seed of the transfer of pairs no fitted run measured (default: the fit's seed).

    Returns
    -------
    xarray.DataArray
        ``loss`` in nats per token, ``(chain, draw)``.
    """
    _reraise_wrong_variant(fit)
    _check_request(tokens, params, None, 1.0, None)
    fit_languages, named = _axes(fit.data)
    candidates = _candidates(target, list(weights), fit_languages, named)
    shares = np.array([float(weights.get(lang, 0.0)) for lang in candidates])
    if np.any(~np.isfinite(shares)) or np.any(shares < 0) or shares.sum() <= 0:
        raise DecisionError(f"weights must be non-negative with a positive sum, got {weights}")
    unique = _resolve_unique(fit, candidates, named, unique_tokens)
    problem, _, _ = _build_problem(fit, target, tokens, params, candidates, unique, seed)
    loss = problem.evaluate(shares / shares.sum()).loss
    return _as_draws(loss, fit.posterior).rename("loss")


def optimise_mixture(
    fit: Any,
    target: str,
    tokens: float,
    params: float,
    unique_tokens: Mapping[str, float | None] | None = None,
    quantile: float | None = None,
    languages: Sequence[str] | None = None,
    max_epochs: float = 4.0,
    seed: int | None = None,
    optimisation_draws: int | None = None,
) -> MixtureDecision:
    """The training mixture that minimises the target's expected (or quantile) loss.

    See the module docstring for the law, the objective and the optimiser.

    Parameters
    ----------
    fit
        A fit of an ``atlas_matrix`` variant.
    target
        The language whose loss is minimised (one of the fit's languages).
    tokens
        The token budget ``D`` (tokens seen in training, repeats counted), > 0.
    params
        Model size ``N``, > 0. The mean-optimal mixture does not depend on it (the law's ``N``
        term is the same for every mixture); it sets the level of the losses and, with
        ``quantile``, which draws are at that quantile.
    unique_tokens
        Unique tokens available per language (``None`` or ``inf``: not data-constrained).
        Languages not given take the study's own (:func:`default_unique_tokens`: the fitted
        runs' declared counts; unconstrained where none was declared).
    quantile
        Minimise this posterior quantile of loss instead of its mean (0.9: a mixture whose
        loss is low even in the unlucky 10% of draws). The quantile is numpy's default linear
        interpolation, the one :func:`atlas_bayes.decisions.quantile` reports.
    languages
        Candidate training languages (default: every training language of the fit except the
        pooled ``"other"`` source). The target is always a candidate; its share may be 0.
    max_epochs
        The Unimax baseline's epoch cap (:func:`unimax_weights`); the optimum itself is not
        capped (repetition saturation prices repeated data).
    seed
        Seed of the transfer of pairs no fitted run measured (default: the fit's seed).
    optimisation_draws
        Optimise on an evenly thinned subset of at most this many draws (default: all). The
        reported distributions are always over all draws; with a subset, the optimum is only
        guaranteed no worse than the baselines on that subset.

    Returns
    -------
    MixtureDecision
        ``draws``: ``loss`` (of the optimum), ``loss_target_only``, ``loss_unimax``,
        ``improvement_target_only`` and ``improvement_unimax`` (baseline loss minus the
        optimum's, per draw: positive where the optimum is better), in nats per token, and
        ``effective_tokens`` of the optimum. ``mixture`` and ``comparison`` hold the shares
        and the objective of each mixture with P(optimum better).

    Raises
    ------
    DecisionError
        For a fit of another law, an unknown target or language, or a non-positive budget,
        model size, unique-token count or epoch cap, or a quantile outside (0, 1).
    """
    _reraise_wrong_variant(fit)
    _check_request(tokens, params, quantile, max_epochs, optimisation_draws)
    data, posterior = fit.data, fit.posterior
    fit_languages, named = _axes(data)
    candidates = _candidates(target, languages, fit_languages, named)
    unique = _resolve_unique(fit, candidates, named, unique_tokens)
    problem, tau, measured = _build_problem(fit, target, tokens, params, candidates, unique, seed)

    k = len(candidates)
    target_only = np.eye(k)[0]
    spread = unimax_weights(tokens, dict(zip(candidates, unique, strict=True)), max_epochs)
    unimax = np.array([spread[lang] for lang in candidates])
    n_draws = problem.n_draws
    optimised = problem
    if optimisation_draws is not None and optimisation_draws < n_draws:
        optimised = problem.thinned(
            np.linspace(0, n_draws - 1, optimisation_draws).round().astype(int)
        )
    starts = [target_only, np.full(k, 1.0 / k), unimax]
    mean_optimum = _minimise(optimised, starts, None)
    optimum = mean_optimum
    if quantile is not None:
        optimum = _minimise(optimised, [*starts, mean_optimum], quantile)

    mixtures = {"optimum": optimum, "target_only": target_only, "unimax": unimax}
    if quantile is not None:
        mixtures["mean_optimum"] = mean_optimum
    losses = {name: problem.evaluate(w).loss for name, w in mixtures.items()}
    log_effective = problem.evaluate(optimum).log_effective

    loss = _as_draws(losses["optimum"], posterior)
    draws = xr.Dataset(
        {
            "loss": loss,
            "loss_target_only": _as_draws(losses["target_only"], posterior),
            "loss_unimax": _as_draws(losses["unimax"], posterior),
            "improvement_target_only": _as_draws(
                losses["target_only"] - losses["optimum"], posterior
            ),
            "improvement_unimax": _as_draws(losses["unimax"] - losses["optimum"], posterior),
            "effective_tokens": _as_draws(np.exp(log_effective), posterior),
        }
    )
    units = {name: LOSS_UNIT for name in draws.data_vars}
    units["effective_tokens"] = "tokens"

    objective = "mean loss" if quantile is None else f"q{quantile * 100:g} loss"
    comparison = _comparison_table(losses, objective, quantile, posterior)
    mixture = _mixture_table(candidates, tokens, unique, tau, measured, mixtures)

    notes = _notes(data, target, tokens, params, candidates, measured, optimum, problem)
    notes += _effective_notes(log_effective)
    if optimised is not problem:
        notes.append(
            f"optimised on {optimised.n_draws} of {n_draws} draws; losses are over all draws"
        )

    question = (
        f"training mixture for {target} minimising its {objective} at {tokens:.3g} tokens "
        f"and N = {params:.3g}"
    )
    inputs = {
        "target": target,
        "tokens": float(tokens),
        "params": float(params),
        "objective": objective,
        "quantile": quantile,
        "languages": candidates,
        "unique_tokens": {
            lang: (float(u) if u < UNCONSTRAINED_UNIQUE_TOKENS else None)
            for lang, u in zip(candidates, unique, strict=True)
        },
        "max_epochs": float(max_epochs),
        "seed": seed,
        "optimisation_draws": optimised.n_draws,
    }
    return MixtureDecision(
        question=question,
        draws=draws,
        units=units,
        inputs=inputs,
        notes=tuple(notes),
        mixture=mixture,
        comparison=comparison,
    )


__all__ = [
    "LAW_VARIABLES",
    "MixtureDecision",
    "default_unique_tokens",
    "mixture_loss",
    "optimise_mixture",
    "unimax_weights",
]
