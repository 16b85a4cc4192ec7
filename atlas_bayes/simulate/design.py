"""The run design of the simulated study: which runs, on which mixtures, evaluated where.

It mirrors ATLAS's run inventory (Table B.1): 140 monolingual runs, 70 more monolingual runs
(the paper's "multilingual vocabulary" runs), 290 bilingual 50/50 runs, 20 Unimax runs, 120
capacity runs with K in {4, ..., 50}, and 134 finetuning runs from Unimax checkpoints.
"""

from dataclasses import dataclass, field

import numpy as np

from atlas_bayes.published import published_value
from atlas_bayes.simulate.languages import (
    BY_CODE,
    CAPACITY_TARGETS,
    CROSSOVER_LANGUAGES,
    FILLER_LANGUAGES,
    MATRIX_LANGUAGES,
    OTHER,
    TABLE1_LANGUAGES,
)

#: Model sizes (11, as in the paper's capacity runs), 9M to 8.45B parameters.
SIZES = (9.0e6, 2.9e7, 8.5e7, 1.8e8, 3.5e8, 6.6e8, 1.2e9, 2.0e9, 4.0e9, 6.0e9, 8.45e9)
SIZE_TIERS = (SIZES[0:3], SIZES[3:6], SIZES[6:8], SIZES[8:11])
#: Unimax sampling: English 5 %, every other language 1.42 %, at most 4 epochs of a corpus;
#: what the named languages cannot use goes to the pooled remainder ("other").
UNIMAX_ENGLISH_SHARE = 0.05
UNIMAX_SHARE = 0.0142
UNIMAX_MAX_EPOCHS = 4.0
UNIMAX_TOKENS_PER_PARAM = (30.0, 150.0)
#: The finetuning base checkpoints are the longer Unimax runs.
BASE_TOKENS_PER_PARAM = 150.0
FINETUNE_SIZES = (8.5e7, 3.5e8, 1.2e9, 2.0e9, 4.0e9)
FINETUNE_LARGEST = ("en", "zh", "de", "es")  # also at 8.45B, as the paper's 8B point
FINETUNE_OTHER_SIZES = (8.5e7, 3.5e8, 2.0e9)
FINETUNE_OTHER_TOKENS_PER_PARAM = 40.0  # finetune budget of the other matrix languages
#: Planning guess of how crossovers move with size (used only to place checkpoints; the
#: truth's own crossovers are computed from the laws).
PLANNING_CROSSOVER_EXPONENT = 0.6
CROSSOVER_SPAN = 2.5
BILINGUAL_CONFIGS = ((3.5e8, 14e9), (1.2e9, 24e9), (2.0e9, 84e9))  # (N, total tokens)
N_BILINGUAL_RUNS = 290
N_BILINGUAL_PAIRS = 97
CAPACITY_K = (4, 6, 8, 12, 16, 24, 32, 50)
CAPACITY_SIZES = (2.9e7, 8.5e7, 3.5e8, 1.2e9, 4.0e9)
CAPACITY_TOKENS_PER_PARAM = (10.0, 30.0, 90.0)
MONO_TOKENS_PER_PARAM = (5.0, 10.0, 20.0, 40.0, 80.0)
N_MULTILINGUAL_VOCAB = 70
#: Two more data-constrained monolingual runs, completing the paper's 210 monolingual runs.
EXTRA_MONOLINGUAL = (("hi", 1.2e9), ("sw", 1.2e9))


@dataclass
class PlannedRun:
    """One run of the design: what it trains on and where it is evaluated."""

    run_id: str
    params: float
    kind: str
    mixture: dict[str, float]
    eval_languages: tuple[str, ...]
    checkpoints: tuple[float, ...] = (1.0,)
    """Fractions of the run at which every eval language is evaluated (1.0 = the end)."""
    base_run_id: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def total_tokens(self) -> float:
        """Tokens of this run's own training."""
        return float(sum(self.mixture.values()))


def _size_label(params: float) -> str:
    return f"{params / 1e9:g}b" if params >= 1e9 else f"{params / 1e6:g}m"


def unimax_mixture(total_tokens: float, languages: tuple[str, ...]) -> dict[str, float]:
    """Unimax-style tokens by language for a run of ``total_tokens``."""
    mixture = {}
    for code in languages:
        share = UNIMAX_ENGLISH_SHARE if code == "en" else UNIMAX_SHARE
        cap = UNIMAX_MAX_EPOCHS * BY_CODE[code].unique_tokens
        mixture[code] = min(share * total_tokens, cap)
    mixture[OTHER.code] = total_tokens - sum(mixture.values())
    return mixture


def checkpoint_fractions(n: int, first: float) -> tuple[float, ...]:
    """``n`` log-spaced fractions of a run from ``first`` to 1."""
    return tuple(float(f) for f in np.geomspace(first, 1.0, n))


def planned_crossover(language: str, params: float) -> float:
    """Where the crossover is expected, to place checkpoints around it."""
    at_2b = published_value(f"crossover.tokens.{language}")
    return at_2b * (params / 2e9) ** PLANNING_CROSSOVER_EXPONENT


def design_runs(rng: np.random.Generator) -> list[PlannedRun]:
    """The full design, deterministic given ``rng``."""
    runs: list[PlannedRun] = []
    runs += _unimax_runs()
    runs += _crossover_pretrain_runs()
    runs += _monolingual_runs(rng)
    runs += _bilingual_runs(rng)
    runs += _capacity_runs(rng)
    runs += _finetune_runs()
    return runs


def _unimax_runs() -> list[PlannedRun]:
    runs = []
    for params in SIZES[1:]:
        for tpp in UNIMAX_TOKENS_PER_PARAM:
            runs.append(
                PlannedRun(
                    run_id=f"unimax-{_size_label(params)}-{tpp:g}tpp",
                    params=params,
                    kind="unimax",
                    mixture=unimax_mixture(tpp * params, MATRIX_LANGUAGES),
                    eval_languages=MATRIX_LANGUAGES,
                    meta={"tokens_per_param": tpp},
                )
            )
    return runs


def base_run_id(params: float) -> str:
    """The Unimax checkpoint that finetune runs of this size start from."""
    return f"unimax-{_size_label(params)}-{BASE_TOKENS_PER_PARAM:g}tpp"


def _finetune_sizes(language: str) -> tuple[float, ...]:
    return FINETUNE_SIZES + ((SIZES[-1],) if language in FINETUNE_LARGEST else ())


def _crossover_pretrain_runs() -> list[PlannedRun]:
    runs = []
    for language in CROSSOVER_LANGUAGES:
        for params in _finetune_sizes(language):
            tokens = CROSSOVER_SPAN * planned_crossover(language, params)
            runs.append(
                PlannedRun(
                    run_id=f"mono-{language}-{_size_label(params)}-curve",
                    params=params,
                    kind="monolingual",
                    mixture={language: tokens},
                    eval_languages=(language,),
                    checkpoints=checkpoint_fractions(10, 0.02),
                    meta={"role": "crossover pretrain curve"},
                )
            )
    return runs


def _monolingual_runs(rng: np.random.Generator) -> list[PlannedRun]:
    cells = []
    for language in MATRIX_LANGUAGES:
        for tier in SIZE_TIERS:
            cells.append((language, float(rng.choice(tier))))
    for language in TABLE1_LANGUAGES:
        # The sizes Table 1's R^2(N) holds out (660M and 8B) exist for its six languages.
        cells += [(language, 6.6e8), (language, 8.45e9)]
    cells += list(EXTRA_MONOLINGUAL)
    runs = []
    for language, params in cells:
        tpp = float(rng.choice(MONO_TOKENS_PER_PARAM))
        label = f"mono-{language}-{_size_label(params)}-{tpp:g}tpp"
        while any(r.run_id == label for r in runs):
            tpp = float(rng.choice(MONO_TOKENS_PER_PARAM))
            label = f"mono-{language}-{_size_label(params)}-{tpp:g}tpp"
        runs.append(
            PlannedRun(
                run_id=label,
                params=params,
                kind="monolingual",
                mixture={language: tpp * params},
                eval_languages=(language,),
                checkpoints=(0.25, 0.5, 1.0),
            )
        )
    for i in rng.choice(len(runs), N_MULTILINGUAL_VOCAB, replace=False):
        runs[i].kind = "monolingual_multilingual_vocab"
    return runs


#: Pairs the paper names (Scandinavian languages, Malay-Indonesian, Norwegian with German,
#: Arabic with Hebrew, the nearly symmetric fr-es and ru-uk) and some natural neighbours.
NAMED_PAIRS = (
    ("no", "sv"), ("no", "da"), ("sv", "da"), ("ms", "id"), ("no", "de"), ("ar", "he"),
    ("fr", "es"), ("ru", "uk"), ("es", "pt"), ("es", "ca"), ("fr", "ca"), ("hi", "ur"),
    ("fa", "ps"), ("ar", "fa"), ("ur", "fa"), ("fr", "it"), ("ru", "bg"), ("pl", "cs"),
)  # fmt: skip
HUB_PARTNERS = {
    "en": ("fr", "es", "de", "pt", "ru", "uk", "zh", "ja", "vi", "hi", "sw", "he", "ar", "id",
           "ms", "ur", "ps", "fa", "no", "sv", "da", "ca", "it", "nl", "ko", "tr"),
    "fr": ("de", "pt", "ru", "ro", "nl", "ar", "vi", "sw", "zh", "ja"),
    "es": ("it", "ro", "de", "ru", "tl", "zh"),
    "ur": ("es", "zh", "ru", "de", "sw", "ja"),
    "ps": ("es", "fr", "hi", "de", "ru"),
}  # fmt: skip


def bilingual_pairs(rng: np.random.Generator) -> list[tuple[str, str]]:
    """Unordered language pairs with bilingual runs: named, hub and random pairs."""
    pairs: list[tuple[str, str]] = []

    def add(a: str, b: str) -> None:
        if a != b and (a, b) not in pairs and (b, a) not in pairs:
            pairs.append((a, b))

    for a, b in NAMED_PAIRS:
        add(a, b)
    for hub, partners in HUB_PARTNERS.items():
        for partner in partners:
            add(hub, partner)
    counts = {code: 0 for code in MATRIX_LANGUAGES}
    for a, b in pairs:
        counts[a] += 1
        counts[b] += 1
    while len(pairs) < N_BILINGUAL_PAIRS:
        # Grow from the least covered languages so every language has several partners.
        least = min(counts.values())
        a = str(rng.choice([c for c, n in counts.items() if n == least]))
        b = str(rng.choice([c for c in MATRIX_LANGUAGES if c != a]))
        before = len(pairs)
        add(a, b)
        if len(pairs) > before:
            counts[a] += 1
            counts[b] += 1
    return pairs[:N_BILINGUAL_PAIRS]


def _bilingual_runs(rng: np.random.Generator) -> list[PlannedRun]:
    runs = []
    for a, b in bilingual_pairs(rng):
        for params, total in BILINGUAL_CONFIGS:
            runs.append(
                PlannedRun(
                    run_id=f"bi-{a}-{b}-{_size_label(params)}",
                    params=params,
                    kind="bilingual",
                    mixture={a: total / 2, b: total / 2},
                    eval_languages=(a, b),
                )
            )
    return runs[:N_BILINGUAL_RUNS]


def _capacity_runs(rng: np.random.Generator) -> list[PlannedRun]:
    others = [c for c in MATRIX_LANGUAGES if c not in CAPACITY_TARGETS] + list(FILLER_LANGUAGES)
    runs = []
    rotation = 0
    for k in CAPACITY_K:
        for params in CAPACITY_SIZES:
            for tpp in CAPACITY_TOKENS_PER_PARAM:
                if k >= len(CAPACITY_TARGETS):
                    targets = list(CAPACITY_TARGETS)
                else:
                    targets = [
                        CAPACITY_TARGETS[(rotation + i) % len(CAPACITY_TARGETS)] for i in range(k)
                    ]
                    rotation += k
                fill = [str(c) for c in rng.choice(others, k - len(targets), replace=False)]
                languages = targets + fill
                per_language = tpp * params / k
                runs.append(
                    PlannedRun(
                        run_id=f"cap-k{k}-{_size_label(params)}-{tpp:g}tpp",
                        params=params,
                        kind="capacity",
                        mixture=dict.fromkeys(languages, per_language),
                        eval_languages=tuple(targets),
                        meta={"n_languages": k},
                    )
                )
    return runs


def _finetune_runs() -> list[PlannedRun]:
    runs = []
    for language in CROSSOVER_LANGUAGES:
        for params in _finetune_sizes(language):
            runs.append(
                PlannedRun(
                    run_id=f"ft-{language}-{_size_label(params)}",
                    params=params,
                    kind="finetune",
                    mixture={language: CROSSOVER_SPAN * planned_crossover(language, params)},
                    eval_languages=(language,),
                    checkpoints=checkpoint_fractions(10, 0.002),
                    base_run_id=base_run_id(params),
                )
            )
    for language in MATRIX_LANGUAGES:
        if language in CROSSOVER_LANGUAGES:
            continue
        for params in FINETUNE_OTHER_SIZES:
            runs.append(
                PlannedRun(
                    run_id=f"ft-{language}-{_size_label(params)}",
                    params=params,
                    kind="finetune",
                    mixture={language: FINETUNE_OTHER_TOKENS_PER_PARAM * params},
                    eval_languages=(language,),
                    checkpoints=checkpoint_fractions(6, 0.01),
                    base_run_id=base_run_id(params),
                )
            )
    return runs
