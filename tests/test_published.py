"""Tests for atlas_bayes.published: provenance of every item and re-computed derived numbers."""

import math

import pytest

from atlas_bayes.published import (
    PUBLISHED_PATH,
    PublishedValue,
    iter_published,
    load_published,
    published,
    published_value,
)

SECTIONS = {
    "study",
    "unique_tokens",
    "table1_r2",
    "atlas_law",
    "transfer",
    "curse",
    "crossover",
    "other_fits",
}


def test_file_exists_and_has_about():
    """The JSON exists, describes itself and names the required sources."""
    data = load_published()
    assert PUBLISHED_PATH.is_file()
    assert "atlas-paper.md" in data["_about"]
    assert "derived" in data["_about"]
    for key in ("atlas", "chinchilla", "epoch", "muennighoff", "he2024"):
        assert data["sources"][key]["cite"]
    assert "2510.22037" in data["sources"]["atlas"]["url"]
    assert "2203.15556" in data["sources"]["chinchilla"]["url"]
    assert "2404.10102" in data["sources"]["epoch"]["url"]
    assert "2305.16264" in data["sources"]["muennighoff"]["url"]
    assert "2410.12883" in data["sources"]["he2024"]["url"]
    assert SECTIONS <= set(data)


def test_every_leaf_is_cited():
    """Every leaf has a known source, a non-empty where and a boolean derived flag."""
    sources = load_published()["sources"]
    items = list(iter_published())
    assert len(items) > 80
    paths = [p for p, _ in items]
    assert len(paths) == len(set(paths))
    for path, item in items:
        assert isinstance(item, PublishedValue)
        assert item.source in sources, path
        assert isinstance(item.where, str) and item.where.strip(), path
        assert isinstance(item.derived, bool), path
        assert item.citation == sources[item.source]["cite"]
        assert published(path) == item
    assert {p.split(".")[0] for p in paths} == SECTIONS


def test_no_stray_nodes():
    """Every dict under a section is either an item or a group of items (no loose numbers)."""

    def walk(node, path):
        if "value" in node:
            assert set(node) <= {"value", "source", "where", "derived", "note"}, path
            assert {"value", "source", "where", "derived"} <= set(node), path
            return
        for key, child in node.items():
            assert isinstance(child, dict), f"{path}.{key}"
            walk(child, f"{path}.{key}")

    data = load_published()
    for section in SECTIONS:
        walk(data[section], section)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("study.runs", 774),
        ("study.params_min", 9.0e6),
        ("study.params_max", 8.45e9),
        ("study.evaluation_languages", 48),
        ("study.training_languages", 400),
        ("study.vocabulary", 64000),
        ("study.run_inventory.bilingual", 290),
        ("study.unimax_shares.high_resource", 0.0142),
        ("unique_tokens.en", 2.8e12),
        ("unique_tokens.sw", 7.7e8),
        ("transfer.bts_d_mono_tokens", 42e9),
        ("transfer.mean_bts_different_script", -0.39),
        ("transfer.random_forest.cv_r2", 0.85),
        ("transfer.top5_source_counts.en", 19),
        ("transfer.measured_pairs", {"min": 80, "max": 90}),
        ("transfer.interferes_with_all", ["ur", "ps"]),
        ("curse.phi", 0.11),
        ("curse.psi", -0.04),
        ("curse.K_values", [4, 6, 8, 12, 16, 24, 32, 50]),
        ("curse.multipliers.8", {"total_tokens": 4.54, "params": 1.66}),
        ("crossover.tokens.zh", 283e9),
        ("crossover.tokens.en", 144e9),
        ("crossover.compute_law_text", {"a": 1113708, "b": 1.65}),
        ("crossover.compute_law_figure", {"a": 10283128, "b": 1.54}),
        ("other_fits.chinchilla.A", 406.4),
        ("other_fits.epoch.B", {"point": 2085, "ci95": [1042, 5810]}),
        ("other_fits.data_constrained.R_D_star", 15.387756),
        ("other_fits.data_constrained.log_B", 7.3049974),
    ],
)
def test_spot_values(path, expected):
    """Spot checks against atlas-paper.md."""
    assert published_value(path) == expected


def test_table1():
    """Table 1 rows, including the negative R^2(N) of the multilingual fits."""
    assert published_value("table1_r2.monolingual.data_constrained") == {
        "r2": 0.93,
        "r2_n": 0.78,
        "r2_d": 0.93,
        "r2_c": 0.88,
    }
    assert published_value("table1_r2.multilingual.chinchilla")["r2_n"] == -0.99
    assert published_value("table1_r2.multilingual.atlas_full") == {
        "r2": 0.98,
        "r2_n": 0.89,
        "r2_d": 0.96,
        "r2_c": 0.98,
        "r2_m": 0.82,
    }
    mono = load_published()["table1_r2"]["monolingual"]
    multi = load_published()["table1_r2"]["multilingual"]
    assert set(mono) == {"chinchilla", "data_constrained", "atlas_dt_only"}
    assert set(multi) == {
        "chinchilla",
        "he2024",
        "atlas_dt_only",
        "atlas_plus_other",
        "atlas_full",
    }
    assert all("r2_m" not in v["value"] for v in mono.values())
    assert all("r2_m" in v["value"] for v in multi.values())


def test_run_inventory_sums_to_total():
    """The six run kinds of Table B.1 add up to the 774 runs."""
    inventory = load_published()["study"]["run_inventory"]
    assert sum(v["value"] for v in inventory.values()) == published_value("study.runs")


def test_crossover_range_matches_tokens():
    """The printed 144B-283B range is the min and max of the per-language tokens."""
    tokens = [v["value"] for v in load_published()["crossover"]["tokens"].values()]
    assert len(tokens) == 8
    assert published_value("crossover.range") == {"min": min(tokens), "max": max(tokens)}


def test_derived_lambda():
    """Lambda of the ATLAS repetition term is 1 / R_D* of Muennighoff et al."""
    item = published("other_fits.data_constrained.lambda")
    assert item.derived
    assert item.value == pytest.approx(1 / 15.387756, rel=1e-5)
    assert round(item.value, 3) == 0.065


@pytest.mark.parametrize(
    ("bts_path", "tau_path", "tau"),
    [
        ("transfer.mean_bts_same_script", "transfer.mean_tau_same_script", -0.10),
        ("transfer.mean_bts_different_script", "transfer.mean_tau_different_script", -0.16),
    ],
)
def test_derived_tau(bts_path, tau_path, tau):
    """Tau = BTS / (2 - BTS), to two decimals."""
    bts = published_value(bts_path)
    item = published(tau_path)
    assert item.derived
    assert round(bts / (2 - bts), 2) == tau == item.value


@pytest.mark.parametrize(
    ("law", "implied", "expected"),
    [
        ("crossover.compute_law_text", "crossover.implied_tokens_text", 206e9),
        ("crossover.compute_law_figure", "crossover.implied_tokens_figure", 181e9),
    ],
)
def test_derived_crossover_tokens(law, implied, expected):
    """D = a N^b / (6 N) at N = 2B, to three significant figures."""
    n = published_value("crossover.model_params")
    a, b = published_value(law)["a"], published_value(law)["b"]
    d = a * n**b / (6 * n)
    item = published(implied)
    assert item.derived
    assert float(f"{d:.3g}") == item.value == expected
    rng = published_value("crossover.range")
    assert rng["min"] <= d <= rng["max"]


def test_mixed_crossover_pairs_fall_outside_range():
    """Mixing the text and figure numbers gives a crossover far outside 144B-283B."""
    n = 2e9
    text, fig = (
        published_value("crossover.compute_law_text"),
        published_value("crossover.compute_law_figure"),
    )
    rng = published_value("crossover.range")
    for a, b in ((text["a"], fig["b"]), (fig["a"], text["b"])):
        d = a * n**b / (6 * n)
        assert not rng["min"] <= d <= rng["max"]


@pytest.mark.parametrize("r", [2, 4, 8, 16])
def test_curse_multipliers(r):
    """Table multipliers equal r^0.728 (total tokens) and r^0.243 (params) within 0.01."""
    mult = published_value(f"curse.multipliers.{r}")
    e_tot = published_value("curse.exponent_total_tokens")
    e_par = published_value("curse.exponent_params")
    assert math.isclose(mult["total_tokens"], r**e_tot, abs_tol=0.01)
    assert math.isclose(mult["params"], r**e_par, abs_tol=0.01)


def test_curse_derived_exponents():
    """Alpha = phi/0.243, beta = -psi/(1-0.728), compute exponent 1+0.243-0.272."""
    phi, psi = published_value("curse.phi"), published_value("curse.psi")
    e_par = published_value("curse.exponent_params")
    e_tot = published_value("curse.exponent_total_tokens")
    assert published("curse.alpha").derived and published("curse.beta").derived
    assert round(phi / e_par, 2) == published_value("curse.alpha")
    assert round(-psi / (1 - e_tot), 3) == published_value("curse.beta")
    recomputed = 1 + e_par + (e_tot - 1)
    assert round(recomputed, 3) == published_value("curse.exponent_compute_recomputed")
    assert abs(recomputed - published_value("curse.exponent_compute")) <= 0.0015


def test_epoch_intervals_contain_points():
    """Each Epoch point estimate lies inside its 95 % interval."""
    for name in ("E", "A", "B", "alpha", "beta"):
        v = published_value(f"other_fits.epoch.{name}")
        lo, hi = v["ci95"]
        assert lo < v["point"] < hi


def test_printed_items_are_not_derived():
    """Items straight from a table are not flagged derived."""
    assert not published("curse.phi").derived
    assert not published("unique_tokens.en").derived
    assert published("crossover.compute_law_text").where == "Sec. 5 text"
    assert published("unique_tokens.en").where == "Table C.1"


def test_bad_path_lists_available_keys():
    """KeyError names the keys at the level where lookup failed."""
    with pytest.raises(KeyError) as exc:
        published("curse.nope")
    msg = str(exc.value)
    assert "phi" in msg and "multipliers" in msg
    with pytest.raises(KeyError) as exc:
        published("crossover.tokens.xx")
    assert "en" in str(exc.value) and "zh" in str(exc.value)
    with pytest.raises(KeyError) as exc:
        published("nosuchsection")
    assert "curse" in str(exc.value) and "study" in str(exc.value)
    with pytest.raises(KeyError):
        published("curse")
    with pytest.raises(KeyError):
        published("curse.phi.extra")
    with pytest.raises(KeyError):
        published("sources.atlas")
