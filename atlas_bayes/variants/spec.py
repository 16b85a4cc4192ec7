"""Model variants as data: the spec of a variant, read from TOML and checked before compiling."""

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_bayes.variants.priors import PriorSpec, SpecError
from atlas_bayes.variants.transfer import TransferSpec

#: The laws a variant can name, and the parameters each needs. ``support`` says what values a
#: parameter takes; a ``shared``/``per_language`` prior or a hierarchical ``mu`` prior must
#: respect it.
LAW_PARAMETERS: dict[str, dict[str, str]] = {
    "chinchilla": {
        "log_E": "log irreducible loss",
        "log_a": "log of the parameter term's loss at the reference size (A / N_ref^alpha)",
        "log_b": "log of the data term's loss at the reference tokens (B / D_ref^beta)",
        "alpha": "parameter exponent",
        "beta": "data exponent",
    },
}
LAW_PARAMETERS["data_constrained"] = {
    **LAW_PARAMETERS["chinchilla"],
    "log_decay": "log lambda, the per-epoch decay of repeated tokens (R_D* = 1/lambda)",
}
LAW_PARAMETERS["atlas"] = {
    **LAW_PARAMETERS["data_constrained"],
    "tau_top": "transfer from each of the target's top co-sampled source languages",
    "tau_other": "transfer from all other source languages pooled (D_other)",
}
LAW_PARAMETERS["curse"] = {
    **LAW_PARAMETERS["chinchilla"],
    "phi": "exponent of the number of languages K on the parameter term (capacity cost, > 0)",
    "psi": "exponent of K on the data term (transfer benefit, < 0)",
}
#: The checkpoint's head start (both crossover forms): ATLAS's law on its mixture.
HEAD_START_PARAMETERS = {
    "tau_named": "transfer to the target from the checkpoint's tokens of other named languages",
    "tau_pooled": "transfer to the target from the checkpoint's pooled 'other' tokens",
}
LAW_PARAMETERS["crossover"] = {
    **LAW_PARAMETERS["data_constrained"],
    **HEAD_START_PARAMETERS,
    "log_penalty": "log loss penalty of finetuning a multilingual checkpoint, at N_ref",
    "gamma": "how the penalty shrinks with model size: penalty ~ (N / N_ref)^-gamma",
}
LAW_PARAMETERS["crossover_exponent"] = {
    **LAW_PARAMETERS["data_constrained"],
    **HEAD_START_PARAMETERS,
    "log_beta_ratio": "log of the finetuned curve's data exponent over the scratch curve's",
}
LAW_PARAMETERS["atlas_matrix"] = dict(LAW_PARAMETERS["data_constrained"])
#: He et al. (2024): the Chinchilla law on the run's total tokens, times p^-gamma.
LAW_PARAMETERS["he_multilingual"] = {
    **LAW_PARAMETERS["chinchilla"],
    "gamma": "exponent of the target's sampling ratio p: L = (E + A/N^alpha + B/D^beta) p^-gamma",
}
#: Laws whose runs include finetuning from a checkpoint (the others describe pretraining).
FINETUNE_LAWS = ("crossover", "crossover_exponent")
#: Parameters indexed by (language, source slot) rather than by language.
SLOT_PARAMETERS = {"tau_top"}
POOLINGS = ("hierarchical", "per_language", "shared")
LIKELIHOODS = ("student_t", "normal")
PARAMETERIZATIONS = ("noncentred", "centred")
INTERFERENCE = ("damped", "linear")
MASS_MATRICES = ("diag", "low_rank")
#: Where chains start: the prior mean jittered by U(-1, 1) in the unconstrained space, or a
#: draw from the prior per chain (on each parameter's own scale; see docs/models.md).
INITIALIZATIONS = ("jitter", "prior")
#: Kept draws and tuning draws per chain when neither the variant nor the caller says.
#: A variant whose posterior mixes slowly asks for more (``[model] draws``/``tune``) so that
#: a plain fit reaches the convergence gate's effective sample size.
DEFAULT_DRAWS = 1000
DEFAULT_TUNE = 500


@dataclass(frozen=True)
class ParameterSpec:
    """How one law parameter is modelled.

    Attributes
    ----------
    name : str
        Parameter name of the law.
    pooling : str
        ``hierarchical`` (per language, partially pooled: ``mu + sigma * z``),
        ``per_language`` (independent, each with ``prior``) or ``shared`` (one value).
    prior : PriorSpec or None
        Prior of a ``shared`` or ``per_language`` parameter.
    mu, sigma : PriorSpec or None
        Hyperpriors of a ``hierarchical`` parameter (population mean and scale).
    parameterization : str or None
        ``centred`` or ``noncentred`` for this hierarchical parameter, overriding the variant's
        ``model.parameterization`` (None: use it). Centred suits parameters each language's
        data pin down; non-centred those the data leave close to the population (a funnel).
    """

    name: str
    pooling: str
    prior: PriorSpec | None = None
    mu: PriorSpec | None = None
    sigma: PriorSpec | None = None
    parameterization: str | None = None

    @classmethod
    def parse(cls, name: str, raw: Any, where: str) -> "ParameterSpec":
        """Parse ``[parameters.NAME]``."""
        if not isinstance(raw, dict):
            raise SpecError(f"{where}: expected a table")
        pooling = raw.get("pooling")
        if pooling not in POOLINGS:
            raise SpecError(
                f"{where}.pooling: expected one of {', '.join(POOLINGS)}, got {pooling!r}"
            )
        allowed = (
            {"pooling", "mu", "sigma", "parameterization"}
            if pooling == "hierarchical"
            else {"pooling", "prior"}
        )
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise SpecError(
                f"{where}: unknown key(s) {', '.join(unknown)} for pooling {pooling!r} "
                f"(expected {', '.join(sorted(allowed))})"
            )
        if pooling == "hierarchical":
            for key in ("mu", "sigma"):
                if key not in raw:
                    raise SpecError(
                        f"{where}: a hierarchical parameter needs {key} = {{dist = ...}}"
                    )
            sigma = PriorSpec.parse(raw["sigma"], f"{where}.sigma")
            if sigma.support != "positive":
                raise SpecError(f"{where}.sigma: a scale needs a positive prior, got {sigma.dist}")
            parameterization = raw.get("parameterization")
            if parameterization is not None and parameterization not in PARAMETERIZATIONS:
                raise SpecError(
                    f"{where}.parameterization: expected one of {', '.join(PARAMETERIZATIONS)}, "
                    f"got {parameterization!r}"
                )
            return cls(
                name,
                pooling,
                mu=PriorSpec.parse(raw["mu"], f"{where}.mu"),
                sigma=sigma,
                parameterization=parameterization,
            )
        if "prior" not in raw:
            raise SpecError(f"{where}: a {pooling} parameter needs prior = {{dist = ...}}")
        return cls(name, pooling, prior=PriorSpec.parse(raw["prior"], f"{where}.prior"))

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form."""
        out: dict[str, Any] = {"pooling": self.pooling}
        for key in ("prior", "mu", "sigma"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.to_dict()
        if self.parameterization is not None:
            out["parameterization"] = self.parameterization
        return out


@dataclass(frozen=True)
class LikelihoodSpec:
    """Noise model on log-loss: ``student_t`` (robust, default) or ``normal``."""

    family: str
    sigma: PriorSpec
    nu: PriorSpec | None = None

    @classmethod
    def parse(cls, raw: Any, where: str) -> "LikelihoodSpec":
        """Parse ``[likelihood]``."""
        if not isinstance(raw, dict):
            raise SpecError(f"{where}: expected a table")
        family = raw.get("family", "student_t")
        if family not in LIKELIHOODS:
            raise SpecError(
                f"{where}.family: expected one of {', '.join(LIKELIHOODS)}, got {family!r}"
            )
        allowed = {"family", "sigma"} | ({"nu"} if family == "student_t" else set())
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)} for {family}")
        if "sigma" not in raw:
            raise SpecError(f"{where}: needs sigma = {{dist = ...}} (noise scale on log-loss)")
        sigma = PriorSpec.parse(raw["sigma"], f"{where}.sigma")
        if sigma.support != "positive":
            raise SpecError(f"{where}.sigma: needs a positive prior, got {sigma.dist}")
        nu = None
        if family == "student_t":
            if "nu" not in raw:
                raise SpecError(
                    f"{where}: student_t needs nu = {{dist = ...}} (degrees of freedom)"
                )
            nu = PriorSpec.parse(raw["nu"], f"{where}.nu")
            if nu.support != "positive":
                raise SpecError(f"{where}.nu: needs a positive prior, got {nu.dist}")
        return cls(family, sigma, nu)

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form."""
        out: dict[str, Any] = {"family": self.family, "sigma": self.sigma.to_dict()}
        if self.nu is not None:
            out["nu"] = self.nu.to_dict()
        return out


@dataclass(frozen=True)
class DataSelection:
    """Which runs of a study a variant is fitted to.

    Attributes
    ----------
    regimes : tuple of str
        Run regimes to keep (``pretrain``, ``finetune``).
    max_training_languages : int or None
        Keep runs that trained on at most this many languages (1: monolingual runs).
    exclude_kinds : tuple of str
        Drop runs whose ``kind`` label is one of these (studies without labels keep all).
    kinds : tuple of str
        If not empty, keep only runs whose ``kind`` label is one of these (a study without a
        ``kind`` column keeps all).
    """

    regimes: tuple[str, ...] = ("pretrain",)
    max_training_languages: int | None = None
    exclude_kinds: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Any, where: str) -> "DataSelection":
        """Parse ``[data]``."""
        if not isinstance(raw, dict):
            raise SpecError(f"{where}: expected a table")
        unknown = sorted(set(raw) - {"regimes", "max_training_languages", "exclude_kinds", "kinds"})
        if unknown:
            raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}")
        regimes = raw.get("regimes", ["pretrain"])
        if (
            not isinstance(regimes, list)
            or not regimes
            or any(r not in ("pretrain", "finetune") for r in regimes)
        ):
            raise SpecError(
                f"{where}.regimes: expected a list of 'pretrain'/'finetune', got {regimes!r}"
            )
        exclude = raw.get("exclude_kinds", [])
        if not isinstance(exclude, list) or not all(isinstance(k, str) for k in exclude):
            raise SpecError(f"{where}.exclude_kinds: expected a list of strings, got {exclude!r}")
        kinds = raw.get("kinds", [])
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise SpecError(f"{where}.kinds: expected a list of strings, got {kinds!r}")
        max_languages = raw.get("max_training_languages")
        if max_languages is not None and (
            isinstance(max_languages, bool)
            or not isinstance(max_languages, int)
            or max_languages < 1
        ):
            raise SpecError(f"{where}.max_training_languages: expected an integer >= 1")
        return cls(tuple(regimes), max_languages, tuple(exclude), tuple(kinds))

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form."""
        out: dict[str, Any] = {
            "regimes": list(self.regimes),
            "exclude_kinds": list(self.exclude_kinds),
        }
        if self.max_training_languages is not None:
            out["max_training_languages"] = self.max_training_languages
        if self.kinds:
            out["kinds"] = list(self.kinds)
        return out


@dataclass(frozen=True)
class VariantSpec:
    """A model variant: law, pooling and priors per parameter, likelihood, scales, data.

    Build one with :func:`load_variant` (by name or path) or :meth:`from_dict`; both validate.
    """

    name: str
    law: str
    description: str
    parameters: dict[str, ParameterSpec]
    likelihood: LikelihoodSpec
    params_ref: float
    tokens_ref: float
    data: DataSelection = field(default_factory=DataSelection)
    parameterization: str = "noncentred"
    top_sources: int = 3
    interference: str = "damped"
    anchor_log_e: bool = False
    transfer: TransferSpec | None = None
    languages_ref: float = 1.0
    mass_matrix: str = "diag"
    target_accept: float = 0.8
    initialization: str = "jitter"
    draws: int = DEFAULT_DRAWS
    tune: int = DEFAULT_TUNE
    source: str | None = field(default=None, compare=False)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "<spec>") -> "VariantSpec":
        """Validate a parsed TOML document; errors name ``source`` and the key path."""
        try:
            return cls._from_dict(raw, source)
        except SpecError as err:
            raise SpecError(f"{source}: {err}") from None

    @classmethod
    def _from_dict(cls, raw: dict[str, Any], source: str) -> "VariantSpec":
        allowed = {"variant", "reference", "data", "likelihood", "parameters", "model", "transfer"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise SpecError(
                f"unknown section(s) {', '.join(unknown)}; expected {', '.join(sorted(allowed))}"
            )
        variant = raw.get("variant")
        if not isinstance(variant, dict) or "name" not in variant or "law" not in variant:
            raise SpecError("[variant] needs name and law")
        unknown = sorted(set(variant) - {"name", "law", "description"})
        if unknown:
            raise SpecError(f"[variant]: unknown key(s) {', '.join(unknown)}")
        law = variant["law"]
        if not isinstance(law, str) or law not in LAW_PARAMETERS:
            raise SpecError(
                f"variant.law: unknown law {law!r}; choose one of {', '.join(LAW_PARAMETERS)}"
            )
        reference = _table(raw, "reference")
        unknown = sorted(set(reference) - {"params", "tokens", "languages"})
        if unknown:
            raise SpecError(f"[reference]: unknown key(s) {', '.join(unknown)}")
        scales = {}
        for key, default in (("params", 1e9), ("tokens", 1e10), ("languages", 1.0)):
            value = reference.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise SpecError(f"reference.{key}: expected a number > 0, got {value!r}")
            scales[key] = float(value)
        expected = LAW_PARAMETERS[law]
        given = _table(raw, "parameters")
        unknown = sorted(set(given) - set(expected))
        if unknown:
            raise SpecError(
                f"[parameters]: unknown parameter(s) {', '.join(unknown)} for law {law!r}; "
                f"it has {', '.join(expected)}"
            )
        missing = [p for p in expected if p not in given]
        if missing:
            raise SpecError(f"[parameters]: law {law!r} needs {', '.join(missing)}")
        parameters = {
            name: ParameterSpec.parse(name, given[name], f"parameters.{name}") for name in expected
        }
        model = _table(raw, "model")
        unknown = sorted(
            set(model)
            - {
                "parameterization",
                "top_sources",
                "interference",
                "anchor_log_E",
                "mass_matrix",
                "target_accept",
                "initialization",
                "draws",
                "tune",
            }  # fmt: skip
        )
        if unknown:
            raise SpecError(f"[model]: unknown key(s) {', '.join(unknown)}")
        parameterization = model.get("parameterization", "noncentred")
        if parameterization not in PARAMETERIZATIONS:
            raise SpecError(
                f"model.parameterization: expected one of {', '.join(PARAMETERIZATIONS)}"
            )
        interference = model.get("interference", "damped")
        if interference not in INTERFERENCE:
            raise SpecError(f"model.interference: expected one of {', '.join(INTERFERENCE)}")
        mass_matrix = model.get("mass_matrix", "diag")
        if mass_matrix not in MASS_MATRICES:
            raise SpecError(
                f"model.mass_matrix: expected one of {', '.join(MASS_MATRICES)}, "
                f"got {mass_matrix!r}"
            )
        target_accept = model.get("target_accept", 0.8)
        if (
            isinstance(target_accept, bool)
            or not isinstance(target_accept, int | float)
            or not 0 < target_accept < 1
        ):
            raise SpecError(
                f"model.target_accept: expected a number in (0, 1), got {target_accept!r}"
            )
        initialization = model.get("initialization", "jitter")
        if initialization not in INITIALIZATIONS:
            raise SpecError(
                f"model.initialization: expected one of {', '.join(INITIALIZATIONS)}, "
                f"got {initialization!r}"
            )
        draws = model.get("draws", DEFAULT_DRAWS)
        tune = model.get("tune", DEFAULT_TUNE)
        for key, value, least in (("draws", draws, 1), ("tune", tune, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise SpecError(f"model.{key}: expected an integer >= {least}, got {value!r}")
        anchor = model.get("anchor_log_E", False)
        if not isinstance(anchor, bool):
            raise SpecError(f"model.anchor_log_E: expected true or false, got {anchor!r}")
        if anchor and initialization == "prior":
            # Measured: chinchilla and data_constrained could not start (nutpie: "failed to
            # generate a new initial position"); far prior draws leave E no room.
            raise SpecError(
                "model.initialization = 'prior' cannot be combined with anchor_log_E = true: "
                "prior draws of the coefficients rarely leave the anchored E a valid start"
            )
        top_sources = model.get("top_sources", 3)
        if isinstance(top_sources, bool) or not isinstance(top_sources, int) or top_sources < 0:
            raise SpecError("model.top_sources: expected an integer >= 0")
        transfer = None
        if law == "atlas_matrix":
            if "transfer" not in raw:
                raise SpecError("law 'atlas_matrix' needs a [transfer] section (the matrix prior)")
            transfer = TransferSpec.parse(raw["transfer"])
        elif "transfer" in raw:
            raise SpecError(f"[transfer] is only for law 'atlas_matrix', not {law!r}")
        return cls(
            name=str(variant["name"]),
            law=law,
            description=str(variant.get("description", "")),
            parameters=parameters,
            likelihood=LikelihoodSpec.parse(raw.get("likelihood"), "likelihood"),
            params_ref=scales["params"],
            tokens_ref=scales["tokens"],
            data=DataSelection.parse(raw.get("data", {}), "data"),
            parameterization=parameterization,
            top_sources=top_sources,
            interference=interference,
            anchor_log_e=anchor,
            transfer=transfer,
            languages_ref=scales["languages"],
            mass_matrix=mass_matrix,
            target_accept=float(target_accept),
            initialization=initialization,
            draws=draws,
            tune=tune,
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON form (round-trips through :meth:`from_dict`)."""
        out = {
            "variant": {"name": self.name, "law": self.law, "description": self.description},
            "reference": {
                "params": self.params_ref,
                "tokens": self.tokens_ref,
                "languages": self.languages_ref,
            },
            "data": self.data.to_dict(),
            "likelihood": self.likelihood.to_dict(),
            "parameters": {name: p.to_dict() for name, p in self.parameters.items()},
            "model": {
                "parameterization": self.parameterization,
                "top_sources": self.top_sources,
                "interference": self.interference,
                "anchor_log_E": self.anchor_log_e,
                "mass_matrix": self.mass_matrix,
                "target_accept": self.target_accept,
                "initialization": self.initialization,
                "draws": self.draws,
                "tune": self.tune,
            },
        }
        if self.transfer is not None:
            out["transfer"] = self.transfer.to_dict()
        return out

    def to_json(self) -> str:
        """JSON string of :meth:`to_dict` (stored in fit files)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "<fit file>") -> "VariantSpec":
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text), source)


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise SpecError(f"{key}: expected a table [{key}], got {value!r}")
    return value


def read_variant_file(path: str | Path) -> VariantSpec:
    """Read and validate a variant TOML file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SpecError(f"{path}: cannot read: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None
    return VariantSpec.from_dict(raw, str(path))
