"""Pretrain from scratch or finetune a multilingual checkpoint, for one language and model size.

Both options train a model of ``N`` parameters on ``D`` tokens of the language. From scratch
the loss follows the language's law on the (repetition-saturated) tokens,
``E + A / N**alpha + B / S(D)**beta``. Finetuned, it continues a multilingual checkpoint that
already holds ``H`` effective tokens of the language and pays a penalty for the capacity spent
on other languages (:func:`atlas_bayes.laws.finetuned_loss`): finetuning leads early, and
pretraining overtakes it at the crossover tokens. The crossover itself is computed by
:mod:`atlas_bayes.findings.crossover`, draw by draw.

Which checkpoint: the fit knows the checkpoints its finetune runs started from, one per
(language, model size) cell. A request uses the checkpoint of the language's fitted cell
nearest in ``log N`` (the cell itself at a fitted size), with the requested ``N``; a note says
so when the sizes differ.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from atlas_bayes import laws
from atlas_bayes.decisions.parameters import (
    ABSOLUTE_PARAMETERS,
    as_draws,
    extrapolation_note,
    fitted_range,
    flat_parameters,
    law_parameters,
    require_language,
    require_positive,
    require_variant,
)
from atlas_bayes.decisions.result import Decision, DecisionError
from atlas_bayes.findings.crossover import (
    CROSSOVER_LAWS,
    SEARCH_TOKENS,
    _cell_crossover,
    finetune_settings,
)
from atlas_bayes.laws import FLOPS_PER_PARAM_TOKEN
from atlas_bayes.modeling.mean import head_start_tokens

#: The checkpoint's token counts a cell carries (see ``findings.crossover.finetune_settings``).
CHECKPOINT_COLUMNS = ("base_own_tokens", "base_named_tokens", "base_pooled_tokens")
UNITS = {
    "crossover_tokens": "tokens",
    "crossover_compute": "FLOPs",
    "loss_scratch": "nats per token",
    "loss_finetuned": "nats per token",
    "loss_difference": "nats per token",
    "scratch_better": "indicator (mean = probability)",
}


@dataclass(frozen=True)
class OptionCurves:
    """Per-draw loss curves of the two options for one language, model size and checkpoint.

    Every array attribute holds one value per posterior draw (chains one after the other).
    """

    params: float
    unique_tokens: float
    decay: np.ndarray
    head_start: np.ndarray
    penalty: np.ndarray
    law: dict[str, np.ndarray]
    finetuned_B: np.ndarray  # noqa: N815 - the law's symbol
    finetuned_beta: np.ndarray

    def _saturated(self, tokens: float) -> np.ndarray:
        return laws.repetition_saturation(tokens, self.unique_tokens, self.decay)

    def scratch(self, tokens: float) -> np.ndarray:
        """Loss of training from scratch on ``tokens`` tokens of the language."""
        p = self.law
        return laws.chinchilla_loss(
            self.params, self._saturated(tokens), *(p[n] for n in ABSOLUTE_PARAMETERS)
        )

    def finetuned(self, tokens: float) -> np.ndarray:
        """Loss of finetuning the checkpoint on ``tokens`` tokens of the language."""
        p = self.law
        return laws.finetuned_loss(
            self.params,
            self._saturated(tokens),
            self.head_start,
            self.penalty,
            p["E"],
            p["A"],
            self.finetuned_B,
            p["alpha"],
            self.finetuned_beta,
        )


def option_curves(fit: Any, language: str, params: float, cell: pd.Series) -> OptionCurves:
    """The two loss curves of ``language`` at ``params`` from the checkpoint of ``cell``.

    The same parameterisation as the fitted model (:mod:`atlas_bayes.modeling.mean`): the
    penalty ``exp(log_penalty) (N / N_ref)**-gamma`` for ``crossover``; for
    ``crossover_exponent`` no penalty and a finetuned data exponent
    ``beta * exp(log_beta_ratio)`` with the same ``b`` at ``D_ref``.
    """
    spec, posterior = fit.spec, fit.posterior

    def draws(name: str) -> np.ndarray:
        values = posterior[name]
        if "language" in values.dims:
            values = values.sel(language=language)
        return values.transpose("chain", "draw").values.reshape(-1)

    law = flat_parameters(law_parameters(fit, language))
    head = head_start_tokens(
        {name: draws(name) for name in ("tau_named", "tau_pooled", "log_decay")},
        {
            "finetuned": 1.0,
            "own_unique": cell["unique_tokens"],
            **{key: cell[key] for key in CHECKPOINT_COLUMNS},
        },
    )
    if spec.law == "crossover":
        penalty = np.exp(draws("log_penalty")) * (params / spec.params_ref) ** -draws("gamma")
        beta_ft, b_ft = law["beta"], law["B"]
    else:
        penalty = np.zeros_like(law["E"])
        beta_ft = law["beta"] * np.exp(draws("log_beta_ratio"))
        # B = b D_ref**beta: the finetuned curve keeps b and changes the exponent.
        b_ft = law["B"] * spec.tokens_ref ** (beta_ft - law["beta"])
    return OptionCurves(
        params=params,
        unique_tokens=float(cell["unique_tokens"]),
        decay=np.exp(draws("log_decay")),
        head_start=np.asarray(head, dtype=float),
        penalty=penalty,
        law=law,
        finetuned_B=b_ft,
        finetuned_beta=beta_ft,
    )


def language_cells(fit: Any, language: str) -> pd.DataFrame:
    """The fitted finetune cells of ``language`` (:func:`finetune_settings` rows), by size.

    Raises
    ------
    DecisionError
        If the language has no finetune runs in the fit (the message lists those that have).
    """
    cells = finetune_settings(fit)
    own = cells[cells["language"] == language].reset_index(drop=True)
    if own.empty:
        with_runs = sorted(set(cells["language"]))
        raise DecisionError(
            f"language {language!r} has no finetune runs in this fit, so no checkpoint to "
            f"finetune; languages with finetune runs: {', '.join(with_runs)}"
        )
    return own


def nearest_checkpoint(cells: pd.DataFrame, params: float) -> pd.Series:
    """The cell of ``cells`` (one language's) nearest to ``params`` in log N."""
    distance = np.abs(np.log(cells["params"].to_numpy(float)) - np.log(params))
    return cells.iloc[int(np.argmin(distance))]


def _share(share: float) -> str:
    """A share of draws as a percentage that never rounds a strict share to 0 % or 100 %."""
    if 0.999 < share < 1:
        return "more than 99.9%"
    if 0 < share < 0.001:
        return "less than 0.1%"
    return f"{share:.1%}"


def pretrain_or_finetune(
    fit: Any,
    language: str,
    params: float,
    tokens: float | None = None,
    flops_per_param_token: float = FLOPS_PER_PARAM_TOKEN,
    search: tuple[float, float] = SEARCH_TOKENS,
) -> Decision:
    """Crossover tokens and compute for a model size, and with a token budget, which option wins.

    Parameters
    ----------
    fit
        A fit of a ``crossover`` or ``crossover_exponent`` variant.
    language
        The target language (one with finetune runs in the fit).
    params
        Model size N, > 0.
    tokens
        Optional budget D of the language's tokens, the same for both options (from scratch:
        all training; finetuned: the continued training after the checkpoint).
    flops_per_param_token
        k in the crossover compute ``k N D``.
    search
        Token range searched for the crossover.

    Returns
    -------
    Decision
        ``crossover_tokens`` and ``crossover_compute`` (``(chain, draw)``; NaN in the draws
        where the curves do not cross inside ``search``, and a note gives the share of draws
        that cross). With ``tokens`` also ``loss_scratch``, ``loss_finetuned``,
        ``loss_difference`` (scratch minus finetuned: negative when pretraining wins) and
        ``scratch_better``, 1 in the draws where pretraining from scratch reaches the lower
        loss and 0 elsewhere: its mean is P(scratch better), which a note also states.

    Raises
    ------
    DecisionError
        Another law, an unknown language or one without finetune runs, or a non-positive size
        or budget.
    """
    require_variant(fit, CROSSOVER_LAWS, "pretrain or finetune")
    require_language(fit, language)
    size = require_positive("params", params)
    budget = None if tokens is None else require_positive("tokens", tokens)
    k = require_positive("flops_per_param_token", flops_per_param_token)
    if not 0 < search[0] < search[1]:
        raise DecisionError(f"search must be a token range 0 < low < high, got {search!r}")
    cells = language_cells(fit, language)
    checkpoint = nearest_checkpoint(cells, size)
    # The checkpoint of the nearest cell, at the requested size.
    cell = checkpoint.copy()
    cell["params"] = size
    crossover = _cell_crossover(fit, cell, search)
    values = {"crossover_tokens": crossover, "crossover_compute": k * size * crossover}
    notes = []
    crosses = float(np.isfinite(crossover).mean())
    if crosses < 1:
        notes.append(
            f"no crossover in some draws: the curves cross between {search[0]:.3g} and "
            f"{search[1]:.3g} tokens "
            f"in {_share(crosses)} of draws; crossover quantities are summarised over those"
        )
    fitted_size = float(checkpoint["params"])
    if not np.isclose(fitted_size, size, rtol=1e-6):
        notes.append(
            f"checkpoint: the fitted checkpoint of {language} at {fitted_size:.3g} parameters "
            f"(the nearest size with finetune runs; {checkpoint['base_own_tokens']:.3g} tokens "
            f"of {language}) is assumed for a {size:.3g}-parameter model"
        )
    sizes = cells["params"].to_numpy(float)
    size_note = extrapolation_note(
        "the model size", [size], (sizes.min(), sizes.max()), "parameters"
    )
    if size_note is not None:
        notes.append(size_note)
    if budget is not None:
        curves = option_curves(fit, language, size, cell)
        scratch, finetuned = curves.scratch(budget), curves.finetuned(budget)
        values |= {
            "loss_scratch": scratch,
            "loss_finetuned": finetuned,
            "loss_difference": scratch - finetuned,
            "scratch_better": (scratch < finetuned).astype(float),
        }
        notes.append(
            f"P(scratch better at {budget:.3g} tokens) = {np.mean(scratch < finetuned):.3f}: "
            "the mean of scratch_better"
        )
        own_tokens = fitted_range(fit, language, k).own_tokens
        token_note = extrapolation_note("the token budget", [budget], own_tokens, "tokens")
        if token_note is not None:
            notes.append(token_note)
    draws = as_draws(values, fit.posterior)
    request = f"{size:.3g} parameters" + ("" if budget is None else f", {budget:.3g} tokens")
    return Decision(
        question=f"pretrain from scratch or finetune for {language} ({request})",
        draws=draws,
        units={name: UNITS[name] for name in draws.data_vars},
        inputs={
            "variant": fit.spec.name,
            "language": language,
            "params": size,
            "tokens": budget,
            "flops_per_param_token": k,
            "checkpoint_params": fitted_size,
            **{key: float(checkpoint[key]) for key in CHECKPOINT_COLUMNS},
            "search_tokens": list(search),
        },
        notes=tuple(notes),
    )


__all__ = [
    "OptionCurves",
    "language_cells",
    "nearest_checkpoint",
    "option_curves",
    "pretrain_or_finetune",
]
