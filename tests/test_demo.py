"""The demo's pieces without sampling: its plan, the true answers, the headline rows.

The demo end to end (real fits, --quick) is in tests/test_cli.py.
"""

import json

import numpy as np
import pytest

from atlas_bayes.demo import DEMO_CI_KIND, DEMO_CI_PROB, FULL_PLAN, QUICK_PLAN
from atlas_bayes.demo import truth as true_values
from atlas_bayes.demo.headline import (
    LANGUAGE_RATIOS,
    headline_recommendations,
    headline_table,
)
from atlas_bayes.demo.outputs import headline_console_table
from atlas_bayes.demo.plan import report_intro
from atlas_bayes.resources import BUNDLED_STUDY_SEED, bundled_study_path


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((bundled_study_path() / "truth.json").read_text(encoding="utf-8"))


def test_plans_fit_the_headline_variants_with_the_bundled_seed():
    # Guards: full mode fits the three variants behind the headline questions, quick mode a
    # subset with no more draws; every fit is seeded with the bundled study's seed.
    assert [item.variant for item in FULL_PLAN] == ["curse", "atlas_matrix", "crossover"]
    full = {item.variant: item.settings for item in FULL_PLAN}
    for item in QUICK_PLAN:
        assert item.variant in full
        assert item.settings.draws <= full[item.variant].draws
    for item in (*FULL_PLAN, *QUICK_PLAN):
        assert item.settings.seed == BUNDLED_STUDY_SEED
    assert {item.settings.chains for item in FULL_PLAN} == {4}
    # Quick mode: two chains each (four took 3 min 6 s, over its 3-minute budget).
    assert {item.settings.chains for item in QUICK_PLAN} == {2}
    assert (DEMO_CI_PROB, DEMO_CI_KIND) == (0.9, "eti")


def test_report_intro_says_simulated_and_states_every_setting():
    # Guards: the report's opening words name the data as simulated and give the settings.
    for plan in (FULL_PLAN, QUICK_PLAN):
        intro = report_intro(plan)
        assert "simulated, not real data" in intro
        for item in plan:
            s = item.settings
            assert f"{item.variant} {s.chains} chains x {s.draws} draws after {s.tune} tuning" in (
                intro
            )


def test_true_answers_come_from_the_truth_file(truth):
    # Guards: the truth column reads the right entries of truth.json.
    assert true_values.multiplier_truth(truth, 2, "params") == pytest.approx(1.18345, abs=1e-4)
    assert true_values.multiplier_truth(truth, 3, "params") is None
    assert true_values.crossover_truth(truth, "en") == pytest.approx(144e9)
    targets, sources = truth["transfer"]["targets"], truth["transfer"]["sources"]
    tau = truth["transfer"]["tau"][targets.index("fr")][sources.index("es")]
    assert true_values.transfer_truth(truth, "fr", "es") == tau
    assert true_values.transfer_truth(truth, "fr", "klingon") is None
    law = truth["languages"]["fr"]
    allocation = true_values.allocation_truth(truth, "fr", 1e20)
    # C = 6 N D, and the loss is the law's at (N*, D*).
    assert 6 * allocation["params"] * allocation["tokens"] == pytest.approx(1e20)
    loss = (
        law["E"]
        + law["A"] / allocation["params"] ** law["alpha"]
        + law["B"] / allocation["tokens"] ** law["beta"]
    )
    assert allocation["loss"] == pytest.approx(loss)


def test_headline_rows_state_the_interval_and_the_truth(curse_fit, truth):
    # Guards: a curse fit answers the adding-languages questions (the others need fits it is
    # not), each shown row carries its interval's probability and kind and the true value,
    # and the ratio beyond the fitted span is flagged.
    headlines = headline_recommendations({"curse": curse_fit}, truth)
    assert [h.key for h in headlines] == [f"add_languages_{r}x" for r in LANGUAGE_RATIOS]
    table = headline_table(headlines, 0.8, "hdi")
    assert len(table) == 2 * len(LANGUAGE_RATIOS)
    assert set(table["ci_prob"]) == {0.8} and set(table["ci_kind"]) == {"hdi"}
    expected = [
        truth["curse"]["multipliers"][str(r)][q]
        for r in LANGUAGE_RATIOS
        for q in ("params", "total_tokens")
    ]
    np.testing.assert_allclose(table["truth"], expected)
    # The constructed posterior is centred on the truth.
    assert table["truth_inside"].all()
    assert table.loc[table["label"].str.startswith("16x"), "extrapolated"].all()
    assert not table.loc[table["label"].str.startswith("2x"), "extrapolated"].any()
    payload = headlines[0].to_json_dict(0.8, "hdi")
    assert payload["results"][0]["ci_prob"] == 0.8 and payload["results"][0]["ci_kind"] == "hdi"
    assert payload["truth"][0]["value"] == pytest.approx(expected[0])
    json.dumps(payload, allow_nan=False)


def test_console_table_names_its_interval(curse_fit, truth):
    # Guards: the printed table's header and caption say which interval the numbers are.
    table = headline_table(headline_recommendations({"curse": curse_fit}, truth), 0.9, "eti")
    rich_table = headline_console_table(table, 0.9, "eti")
    headers = [str(column.header) for column in rich_table.columns]
    assert "mean [90% equal-tailed credible interval]" in headers
    assert "90% equal-tailed credible interval" in str(rich_table.caption)


def test_progress_names_each_stage_on_a_terminal(monkeypatch, curse_fit, tmp_path):
    # Guards: on a terminal the demo shows each long stage as it starts (compiling, sampling,
    # the report); with progress off nothing of the kind is printed.
    import io

    from rich.console import Console

    import atlas_bayes.demo.run as demo_run

    monkeypatch.setattr(demo_run, "demo_plan", lambda quick: QUICK_PLAN[:1])

    def fit_in_stages(study, spec, settings, on_stage=None):
        for stage in ("compiling", "sampling", "summarising"):
            on_stage(stage)
        return curse_fit, dict.fromkeys(("compiling", "sampling", "summarising"), 0.0)

    monkeypatch.setattr(demo_run, "fit_in_stages", fit_in_stages)
    for progress in (True, False):
        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=progress, width=120)
        out = tmp_path / f"demo-{progress}"
        assert demo_run.run_demo(out, console=console, progress=progress) == 0
        shown = buffer.getvalue()
        sampling = f"sampling {QUICK_PLAN[0].settings.chains} chains"
        for words in ("compiling the model", sampling, "rendering the report"):
            assert (words in shown) is progress, words
