"""The datasheet (README.md) written beside a simulated study."""

from typing import Any

from atlas_bayes.simulate.design import (
    BILINGUAL_CONFIGS,
    CAPACITY_K,
    UNIMAX_ENGLISH_SHARE,
    UNIMAX_MAX_EPOCHS,
    UNIMAX_SHARE,
)
from atlas_bayes.simulate.languages import CAPACITY_TARGETS, CROSSOVER_LANGUAGES, LANGUAGES

KIND_TEXT = {
    "monolingual": "one language; some are long runs with 10 checkpoints (pretrain-from-scratch "
    "curves for the crossover languages), the rest have checkpoints at 25 % and 50 %",
    "monolingual_multilingual_vocab": "monolingual runs labelled as the paper's "
    "multilingual-vocabulary runs (the loss is vocabulary-insensitive, so the law is the same)",
    "bilingual": "50/50 mixtures of two languages, evaluated on both",
    "unimax": "all 38 matrix languages plus the pooled remainder ('other'), Unimax shares",
    "capacity": "K languages sampled uniformly, evaluated on the capacity targets they contain",
    "finetune": "continued training on one language from a Unimax checkpoint (base_run_id), "
    "with checkpoints",
}


def _fmt(x: float) -> str:
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.3g}"


def render_datasheet(truth: dict[str, Any]) -> str:
    """Markdown datasheet for a simulated study from its truth summary."""
    design = truth["design"]
    noise = truth["noise"]
    transfer = truth["transfer"]["summary"]
    curse = truth["curse"]
    crossover = truth["crossover"]
    finetune = truth["finetune"]
    seed = truth["generator"]["seed"]
    kinds = "\n".join(
        f"| {kind} | {count} | {KIND_TEXT.get(kind, '')} |"
        for kind, count in design["runs_by_kind"].items()
    )
    languages = ", ".join(lang.code for lang in LANGUAGES if lang.in_matrix)
    fillers = ", ".join(lang.code for lang in LANGUAGES if not lang.in_matrix)
    paper = curse["published"]["multipliers"]
    mult_rows = "\n".join(
        f"| {r}K | {m['total_tokens']:.2f} | {paper[r]['total_tokens']} "
        f"| {m['params']:.2f} | {paper[r]['params']} |"
        for r, m in curse["multipliers"].items()
    )
    cross_rows = "\n".join(
        f"| {c} | {_fmt(crossover['tokens_at_2b'][c])} | "
        f"{_fmt(crossover['published_tokens_at_2b'][c])} |"
        for c in CROSSOVER_LANGUAGES
    )
    top = ", ".join(f"{k} {v}" for k, v in list(transfer["top5_counts"].items())[:6])
    bilingual = ", ".join(f"{_fmt(n)} params / {_fmt(d)} tokens" for n, d in BILINGUAL_CONFIGS)
    return f"""# Simulated ATLAS study (seed {seed})

**This study is SIMULATED.** No real training run is behind any number in it. ATLAS
(Longpre et al. 2025, arXiv 2510.22037) released no per-run data, so atlas_bayes generates a
study that mirrors the paper's design and whose ground truth reproduces its published findings.
Use it to learn the package, to test recovery of known truths, and for demos; do not cite its
numbers as measurements.

Regenerate it exactly with `atlas-bayes simulate --seed {seed} --out DIR` (or
`atlas_bayes.simulate.simulate_atlas_study(seed={seed})`); `truth.json` beside the tables holds
every true value. Licence: as the atlas_bayes package (Apache-2.0).

## Contents

{design["runs"]} runs, {design["evaluations"]} evaluations, model sizes from
{_fmt(min(design["model_sizes"]))} to {_fmt(max(design["model_sizes"]))} parameters.

| kind | runs | what |
|---|---|---|
{kinds}

- Matrix languages (trained and evaluated, 38): {languages}.
- Capacity-only languages (fill mixtures up to K = 50): {fillers}.
- `other`: the pooled remainder of a Unimax mixture (the paper's D_other), a source only.
- Bilingual configurations: {bilingual}; {len(truth["transfer"]["measured_pairs"])} language
  pairs, each run evaluated on both languages.
- Unimax: English {UNIMAX_ENGLISH_SHARE:.0%}, every other language {UNIMAX_SHARE:.2%}, at most
  {UNIMAX_MAX_EPOCHS:g} epochs of a corpus; the rest goes to `other`.
- Capacity runs: K in {list(CAPACITY_K)}, evaluated on {", ".join(CAPACITY_TARGETS)}.
- Low-resource languages are data-constrained: `unique_tokens` is given for every named
  language, and runs that exceed it repeat data (sw: 770M unique tokens, ps: 420M).

## How the losses were generated

Each run kind follows the law ATLAS fitted to that kind, with shared per-language parameters:

- {truth["laws"]["atlas"]};
- {truth["laws"]["curse"]};
- {truth["laws"]["finetune"]}.

Noise: Student-t ({noise["df"]:g} degrees of freedom, scale {noise["scale"]}) on log-loss,
independent per evaluation (sd {noise["sd"]:.4f}, realised {noise["realised_sd"]:.4f}; about
0.01 nats at a loss of 2.5, inside the 0.002-0.06 nats seed-to-seed spread of public runs).
Checkpoints of one run get independent noise here; real checkpoints share their run's seed.
Repetition: one shared lambda = {truth["repetition"]["decay_lambda"]:.4f} (R_D* = 15.39,
Muennighoff et al. 2023).

## How the truth was calibrated

- **Per-language laws**: drawn around Chinchilla-like values (alpha ~ 0.34, beta ~ 0.30,
  about 0.35 nats from the parameter term at 1B parameters and 0.5 from the data term at 10B
  tokens, E ~ 1.8 nats).
- **Transfer matrix** (38 targets x 38 sources + other): a feature mean (same script, same
  family, source and target corpus size) plus source effects (en, fr, es, he help broadly; ur
  and ps interfere with every language), the paper's named pairs (Scandinavian languages,
  ms-id, no from de, ar from he) and sparse idiosyncratic residuals. Its summaries against the
  paper: mean BTS same script {transfer["mean_bts_same_script"]:.2f} (paper
  {transfer["published"]["mean_bts_same_script"]}), different script
  {transfer["mean_bts_different_script"]:.2f} (paper
  {transfer["published"]["mean_bts_different_script"]}), corr(BTS(a->b), BTS(b->a))
  {transfer["bts_asymmetry_corr"]:.2f} (paper {transfer["published"]["bts_asymmetry_corr"]});
  top-5 source counts: {top}.
- **Curse of multilinguality**: phi = {curse["population"]["phi"]:.3f}, psi =
  {curse["population"]["psi"]:.3f} on average (paper 0.11, -0.04), with phi/alpha and psi/beta
  centred on the exponents of the published multipliers:

| K to | total tokens x (truth) | (paper) | parameters x (truth) | (paper) |
|---|---|---|---|---|
{mult_rows}

- **Pretrain vs finetune**: the finetune penalty of each crossover language was solved so
  that the crossover at 2B is the published one; gamma = {finetune["gamma"]:.3f} was chosen
  so that the crossover compute follows C = a N^b with b = 1.6 (the paper printed 1.54 and
  1.65); fitted: a = {crossover["compute_law"]["a"]:.3g}, b =
  {crossover["compute_law"]["b"]:.3f}. A negative gamma means the penalty grows slowly with
  model size: the head start grows in proportion to N (the base checkpoints are trained at a
  fixed 150 tokens per parameter), and this is what then gives b = 1.6. The paper gives no
  mechanism, and neither does this truth. Languages whose unique data run out (hi, sw, he,
  ms, ...) have no crossover at all (null in `truth.json`): pretraining from scratch on a
  small corpus never catches up with the multilingual checkpoint.

| language | crossover at 2B (truth) | (paper) |
|---|---|---|
{cross_rows}

## Files

`runs.csv`, `mixture.csv`, `evals.csv`, `languages.csv` (format: docs/data-format.md),
`truth.json` (every true value), this README.
"""
