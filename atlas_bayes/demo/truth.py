"""The simulation's true answers to the demo's questions, from the bundled study's truth.json.

The bundled study is simulated, so each headline recommendation has a known right answer;
setting it beside the posterior shows whether the interval contains it. None means the
truth file has no value for the request.
"""

from typing import Any

from atlas_bayes import laws


def multiplier_truth(truth: dict[str, Any], ratio: float, quantity: str) -> float | None:
    """True iso-loss multiplier of ``quantity`` for K to ``ratio`` K languages (population)."""
    row = truth["curse"]["multipliers"].get(f"{ratio:g}")
    return None if row is None else row.get(quantity)


def crossover_truth(truth: dict[str, Any], language: str) -> float | None:
    """True crossover tokens of ``language`` at 2B parameters."""
    return truth["crossover"]["tokens_at_2b"].get(language)


def allocation_truth(truth: dict[str, Any], language: str, compute: float) -> dict[str, float]:
    """True compute-optimal ``params``, ``tokens`` and ``loss`` of a monolingual run.

    From the language's true Chinchilla law; the simulation's repetition saturation is left
    out, which is exact while the optimal tokens stay below the language's unique tokens.
    """
    law = truth["languages"].get(language)
    if law is None:
        return {}
    allocation = laws.compute_optimal_allocation(
        compute, law["E"], law["A"], law["B"], law["alpha"], law["beta"]
    )
    return {
        "params": float(allocation.params),
        "tokens": float(allocation.tokens),
        "tokens_per_param": float(allocation.tokens_per_param),
        "loss": float(allocation.loss),
    }


def transfer_truth(truth: dict[str, Any], target: str, source: str) -> float | None:
    """True transfer tau from ``source`` to ``target`` (None where the simulation has none)."""
    transfer = truth["transfer"]
    try:
        row = transfer["targets"].index(target)
        column = transfer["sources"].index(source)
    except ValueError:
        return None
    return transfer["tau"][row][column]


__all__ = ["allocation_truth", "crossover_truth", "multiplier_truth", "transfer_truth"]
