"""The (target, source) pairs of a transfer matrix and their features (``atlas_matrix``).

A pair gets a free transfer weight when some fitted observation of the target trained on the
source: only those pairs touch the likelihood. Every other (target, source) combination of the
fit's axes still has features, so its posterior comes from the feature model
(:func:`atlas_bayes.modeling.transfer.transfer_matrix`).
"""

import numpy as np
import pandas as pd
import xarray as xr

from atlas_bayes.study import Study
from atlas_bayes.variants.transfer import OTHER_SOURCE, PAIR_FEATURES

#: Share of a run's tokens from which a source measures its pair with the target directly.
DIRECT_SHARE = 0.25


def _standardised(values: np.ndarray) -> np.ndarray:
    """``(x - mean) / sd`` over the finite values; 0 where unknown or constant."""
    finite = np.isfinite(values)
    out = np.zeros_like(values, dtype=float)
    if finite.sum() >= 2 and np.std(values[finite]) > 0:
        out[finite] = (values[finite] - values[finite].mean()) / values[finite].std()
    return out


def log_unique_tokens(study: Study, codes: list[str]) -> np.ndarray:
    """Log of each language's unique tokens (the largest stated in the mixtures), NaN if none."""
    mixture = study.mixture
    stated = mixture[pd.notna(mixture["unique_tokens"])] if "unique_tokens" in mixture else None
    if stated is None or stated.empty:
        return np.full(len(codes), np.nan)
    largest = stated.groupby("language")["unique_tokens"].max().astype(float)
    return np.log(largest.reindex(codes).to_numpy(float))


def pair_features(study: Study, targets: list[str], sources: list[str]) -> np.ndarray:
    """Features of every (target, source) combination, ``(target, source, feature)``.

    Features are those of :data:`~atlas_bayes.variants.transfer.PAIR_FEATURES`, in that order.
    Script and family come from the study's ``languages`` table (0 where either is unknown);
    data sizes from the unique tokens stated in its mixtures.
    """
    meta = (
        study.languages.set_index("language")
        if study.languages is not None
        else pd.DataFrame(index=pd.Index([], name="language"))
    )

    def column(name: str, codes: list[str]) -> np.ndarray:
        if name not in meta:
            return np.full(len(codes), None, dtype=object)
        values = meta[name].reindex(codes)
        return np.array([v if isinstance(v, str) and v else None for v in values], dtype=object)

    target_script, source_script = column("script", targets), column("script", sources)
    target_family, source_family = column("family", targets), column("family", sources)

    def same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        known = (a[:, None] != None) & (b[None, :] != None)  # noqa: E711 - elementwise
        return (known & (a[:, None] == b[None, :])).astype(float)

    is_other = np.array([s == OTHER_SOURCE for s in sources], dtype=float)
    source_size = _standardised(log_unique_tokens(study, sources))
    source_size[is_other > 0] = 0.0
    target_size = _standardised(log_unique_tokens(study, targets))
    shape = (len(targets), len(sources))
    by_name = {
        "same_script": same(target_script, source_script),
        "same_family": same(target_family, source_family),
        "source_log_unique": np.broadcast_to(source_size[None, :], shape),
        "target_log_unique": np.broadcast_to(target_size[:, None], shape),
    }
    return np.stack([by_name[name] for name in PAIR_FEATURES], axis=-1).astype(float)


def add_transfer_pairs(data: xr.Dataset, study: Study) -> xr.Dataset:
    """Add the pair layout of a transfer matrix to fit data.

    Adds ``pair_index`` (language, source): the pair's position on the new ``pair`` axis, ``-1``
    where the target never trained with the source (or source is the target); ``pair_target``
    and ``pair_source`` (pair): indices into ``language`` and ``source``; ``pair_direct``
    (pair): the source is at least :data:`DIRECT_SHARE` of the tokens of some run that
    evaluates the target, so the data pin the pair down (its residual is sampled centred;
    pooled pairs excluded); ``pair_pooled`` (pair): the source is the pooled "other" source,
    which has its own population; ``pair_features`` (language, source, feature).
    """
    tokens = data["tokens"].values
    target = data["target"].values
    target_source = data["target_source"].values
    n_languages, n_sources = data.sizes["language"], data.sizes["source"]
    seen = np.zeros((n_languages, n_sources), dtype=bool)
    direct = np.zeros((n_languages, n_sources), dtype=bool)
    present = tokens > 0
    present[np.arange(len(target)), target_source] = False
    rows, cols = np.nonzero(present)
    seen[target[rows], cols] = True
    # A pair is measured directly when the source makes up a large share of some run that
    # evaluates the target (a bilingual run: a half). The pooled source is excluded below: it
    # has its own population.
    share = tokens[rows, cols] / tokens.sum(axis=1)[rows]
    strong = share >= DIRECT_SHARE
    direct[target[rows[strong]], cols[strong]] = True
    pooled_source = np.array([s == OTHER_SOURCE for s in data["source"].values.astype(str)])
    pair_target, pair_source = np.nonzero(seen)
    index = np.full((n_languages, n_sources), -1, dtype=np.int64)
    index[pair_target, pair_source] = np.arange(len(pair_target))
    languages = [str(x) for x in data["language"].values]
    sources = [str(x) for x in data["source"].values]
    features = pair_features(study, languages, sources)
    return data.assign(
        pair_index=(("language", "source"), index),
        pair_target=("pair", pair_target.astype(np.int64)),
        pair_source=("pair", pair_source.astype(np.int64)),
        pair_direct=("pair", direct[pair_target, pair_source] & ~pooled_source[pair_source]),
        pair_pooled=("pair", pooled_source[pair_source]),
        pair_features=(("language", "source", "feature"), features),
    ).assign_coords(pair=np.arange(len(pair_target)), feature=list(PAIR_FEATURES))
