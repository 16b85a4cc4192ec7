"""Prior specifications: a distribution name and its parameters, as written in a variant file.

Kept deliberately small (the distributions a scaling-law prior needs) so that every spec can be
checked before PyMC is imported: an unknown distribution, a missing or unknown argument, or a
scale prior whose support is not positive is an error with the key path that caused it.
"""

import math
from dataclasses import dataclass
from typing import Any

#: Distribution name -> (required arguments, optional arguments, support).
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "Normal": (("mu", "sigma"), (), "real"),
    "StudentT": (("nu", "mu", "sigma"), (), "real"),
    "TruncatedNormal": (("mu", "sigma"), ("lower", "upper"), "real"),
    "Uniform": (("lower", "upper"), (), "real"),
    "HalfNormal": (("sigma",), (), "positive"),
    "HalfStudentT": (("nu", "sigma"), (), "positive"),
    "Exponential": (("lam",), (), "positive"),
    "Gamma": (("alpha", "beta"), (), "positive"),
    "LogNormal": (("mu", "sigma"), (), "positive"),
    "Beta": (("alpha", "beta"), (), "unit"),
}
#: Arguments that must be > 0.
POSITIVE_ARGUMENTS = {"sigma", "nu", "lam", "alpha", "beta"}


class SpecError(ValueError):
    """A variant specification is invalid; the message names the file and key."""


@dataclass(frozen=True)
class PriorSpec:
    """A prior: distribution name and keyword arguments (``{dist = "Normal", mu = 0, ...}``)."""

    dist: str
    args: dict[str, float]

    @classmethod
    def parse(cls, raw: Any, where: str) -> "PriorSpec":
        """Parse and check ``{dist = NAME, ARG = value, ...}`` found at key path ``where``."""
        if not isinstance(raw, dict) or "dist" not in raw:
            raise SpecError(
                f'{where}: expected a table like {{dist = "Normal", mu = 0, sigma = 1}}'
            )
        dist = raw["dist"]
        if dist not in DISTRIBUTIONS:
            raise SpecError(
                f"{where}: unknown distribution {dist!r}; choose one of {', '.join(DISTRIBUTIONS)}"
            )
        required, optional, _ = DISTRIBUTIONS[dist]
        args = {k: v for k, v in raw.items() if k != "dist"}
        unknown = sorted(set(args) - set(required) - set(optional))
        if unknown:
            raise SpecError(
                f"{where}: {dist} takes {', '.join(required + optional)}; unknown "
                f"argument(s) {', '.join(unknown)}"
            )
        missing = [k for k in required if k not in args]
        if missing:
            raise SpecError(f"{where}: {dist} needs {', '.join(missing)}")
        for key, value in args.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"{where}.{key}: expected a number, got {value!r}")
            if not math.isfinite(value):
                raise SpecError(f"{where}.{key}: expected a finite number, got {value!r}")
            if key in POSITIVE_ARGUMENTS and not value > 0:
                raise SpecError(f"{where}.{key}: must be > 0, got {value}")
        if "lower" in args and "upper" in args and not args["lower"] < args["upper"]:
            raise SpecError(f"{where}: {dist} needs lower < upper")
        return cls(dist, {k: float(v) for k, v in args.items()})

    @property
    def support(self) -> str:
        """``"real"``, ``"positive"`` or ``"unit"``."""
        if self.dist == "TruncatedNormal" and self.args.get("lower", -1.0) >= 0:
            return "positive"
        if self.dist == "Uniform" and self.args["lower"] >= 0:
            return "positive"
        return DISTRIBUTIONS[self.dist][2]

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form."""
        return {"dist": self.dist, **self.args}

    def central_value(self) -> float:
        """A central value of the prior (its mean, or its location where that is simpler).

        Used to place pivots before sampling; it need not be exact.
        """
        a = self.args
        match self.dist:
            case "Normal" | "StudentT" | "TruncatedNormal":
                return a["mu"]
            case "Uniform":
                return 0.5 * (a["lower"] + a["upper"])
            case "HalfNormal":
                return a["sigma"] * math.sqrt(2.0 / math.pi)
            case "HalfStudentT":
                return a["sigma"]
            case "Exponential":
                return 1.0 / a["lam"]
            case "Gamma":
                return a["alpha"] / a["beta"]
            case "LogNormal":
                return math.exp(a["mu"] + 0.5 * a["sigma"] ** 2)
            case "Beta":
                return a["alpha"] / (a["alpha"] + a["beta"])
        raise ValueError(f"no central value for {self.describe()}")

    def create(self, name: str, **kwargs: Any) -> Any:
        """Create the PyMC random variable ``name`` (inside a model context)."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self.args, **kwargs)

    def describe(self) -> str:
        """``Normal(mu=0, sigma=1)``."""
        return f"{self.dist}({', '.join(f'{k}={v:g}' for k, v in self.args.items())})"
