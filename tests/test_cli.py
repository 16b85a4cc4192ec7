"""The command line: help everywhere, the demo end to end, exit codes, no silent overwrites."""

import dataclasses
import json

import pytest

import atlas_bayes.demo.run as demo_run
from atlas_bayes.cli import main
from atlas_bayes.demo.plan import QUICK_PLAN, DemoFit
from atlas_bayes.inference import SamplerSettings, fit_variant
from atlas_bayes.resources import bundled_study_path
from atlas_bayes.variants import load_variant

SUBCOMMANDS = [
    [],
    ["validate"],
    ["summary"],
    ["fit"],
    ["predict"],
    ["prior-check"],
    ["simulate"],
    ["demo"],
    ["report"],
    ["recommend"],
    *(
        ["recommend", "fit.nc", decision]
        for decision in ("compute-optimal", "add-languages", "crossover", "sources", "mixture")
    ),
]
DEMO_OUTPUTS = ["fits", "recommendations.json", "report.html", "report.md", "summary.md"]
TINY = SamplerSettings(chains=2, draws=20, tune=20, seed=1)
PROBLEM = "R-hat 1.2 > 1.01 (worst: phi[fr]): the chains disagree."


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=lambda c: " ".join(c) or "atlas-bayes")
def test_help_everywhere_with_examples(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: atlas-bayes" in out
    assert "example" in out


def test_summary_json(capsys):
    assert main(["summary", str(bundled_study_path()), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["runs"] == 774
    assert summary["runs_by_regime"] == {"pretrain": 640, "finetune": 134}


@pytest.mark.parametrize("value", ["0", "1", "1.5", "ninety"])
def test_interval_probability_outside_0_1_is_a_usage_error(value, capsys):
    # Guards: a bad --ci-prob exits with 2 before any work, with the reason.
    with pytest.raises(SystemExit) as info:
        main(["summary", "fit.nc", "--ci-prob", value])
    assert info.value.code == 2
    assert "--ci-prob" in capsys.readouterr().err


#: The quick demo's variants with shorter chains: the test checks the whole job's outputs,
#: not the numbers, so it spends its time on compiling rather than sampling.
TEST_PLAN = tuple(
    dataclasses.replace(
        item, settings=dataclasses.replace(item.settings, chains=2, draws=40, tune=60)
    )
    for item in QUICK_PLAN
)


def test_demo_writes_its_outputs_and_refuses_to_overwrite(monkeypatch, tmp_path, capsys):
    # Guards: the quick demo (the real job: fits, decisions, report) writes every output,
    # every number names its interval, and a second run without --force exits 2 untouched.
    monkeypatch.setattr(demo_run, "demo_plan", lambda quick: TEST_PLAN if quick else None)
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quick"]) == 0
    # Rich wraps lines at the console's width; compare words.
    printed = " ".join(capsys.readouterr().out.split())
    assert "identical" in printed and "report.html" in printed
    assert "90% equal-tailed credible interval" in printed
    assert sorted(p.name for p in out.iterdir()) == DEMO_OUTPUTS
    assert sorted(p.name for p in (out / "fits").iterdir()) == [
        f"{item.variant}.nc" for item in sorted(TEST_PLAN, key=lambda i: i.variant)
    ]
    saved = json.loads((out / "recommendations.json").read_text())
    assert saved["interval"] == {"ci_prob": 0.9, "ci_kind": "eti"}
    assert saved["study"]["reproducible_from_seed"] is True
    assert saved["mode"] == "quick"
    keys = [r["key"] for r in saved["recommendations"]]
    assert keys == [
        "add_languages_2x",
        "add_languages_4x",
        "add_languages_8x",
        "add_languages_16x",
        "compute_optimal_fr",
        "sources_fr",
    ]
    rows = [row for r in saved["recommendations"] for row in r["results"]]
    assert all(row["ci_prob"] == 0.9 and row["ci_kind"] == "eti" for row in rows)
    html = (out / "report.html").read_text()
    assert "5. Recommendations" in html and "90% equal-tailed credible interval" in html
    summary = (out / "summary.md").read_text()
    assert "simulated" in summary
    assert all(item.describe().split(": ", 1)[1] in summary for item in TEST_PLAN)

    before = (out / "recommendations.json").stat().st_mtime_ns
    assert main(["demo", "--out", str(out), "--quick"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (out / "recommendations.json").stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


@pytest.fixture
def constructed_demo(monkeypatch, curse_fit):
    """The demo with one cheap fit: the constructed curse posterior instead of sampling."""
    plan = (DemoFit("curse", QUICK_PLAN[0].settings),)
    monkeypatch.setattr(demo_run, "demo_plan", lambda quick: plan)
    state = {"fit": curse_fit}

    def fit_in_stages(study, spec, settings, on_stage=None):
        return state["fit"], {"compiling": 0.0, "sampling": 0.0, "summarising": 0.0}

    monkeypatch.setattr(demo_run, "fit_in_stages", fit_in_stages)
    return state


@pytest.fixture(scope="module")
def tiny_fit(small_study):
    """A real but very short chinchilla fit (seconds): its gate status is set by each test."""
    return fit_variant(small_study, load_variant("chinchilla"), TINY)


def failed(fit):
    return dataclasses.replace(
        fit, diagnostics=dataclasses.replace(fit.diagnostics, problems=[PROBLEM])
    )


def passed(fit):
    return dataclasses.replace(fit, diagnostics=dataclasses.replace(fit.diagnostics, problems=[]))


def test_demo_strict_exits_3_when_a_fit_fails_its_gate(constructed_demo, tmp_path, capsys):
    # Guards: under --strict a failed gate is exit 3, with every output written (to inspect)
    # and the failure named; a passing fit is exit 0; --force replaces the folder.
    out = tmp_path / "demo"
    constructed_demo["fit"] = failed(constructed_demo["fit"])
    assert main(["demo", "--out", str(out), "--strict"]) == 3
    captured = capsys.readouterr()
    assert "curse failed the convergence gate" in captured.out
    assert "WARNING" in captured.err
    assert sorted(p.name for p in out.iterdir()) == DEMO_OUTPUTS
    assert "failed the convergence gate" in (out / "report.html").read_text()
    saved = json.loads((out / "recommendations.json").read_text())
    assert saved["fits"]["curse"]["problems"] == [PROBLEM]
    constructed_demo["fit"] = passed(constructed_demo["fit"])
    assert main(["demo", "--out", str(out), "--force", "--strict", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    saved = json.loads((out / "recommendations.json").read_text())
    assert saved["fits"]["curse"]["problems"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_demo_leaves_nothing_half_written_when_it_fails(monkeypatch, tmp_path):
    # Guards: an error mid-way removes the staging folder and keeps an existing folder as it
    # was, even with --force.
    def broken(*args, **kwargs):
        raise RuntimeError("sampler crashed")

    monkeypatch.setattr(demo_run, "fit_in_stages", broken)
    out = tmp_path / "demo"
    with pytest.raises(RuntimeError, match="sampler crashed"):
        main(["demo", "--out", str(out), "--quick", "--quiet"])
    assert list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError, match="sampler crashed"):
        main(["demo", "--out", str(out), "--quick", "--force", "--quiet"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]
    assert (out / "keep.txt").read_text() == "old"


@pytest.fixture(scope="module")
def gate_fits(tiny_fit, tmp_path_factory):
    """The tiny fit saved twice: as failing its gate and as passing it."""
    folder = tmp_path_factory.mktemp("gate")
    return {
        "failed": failed(tiny_fit).save(folder / "failed.nc"),
        "passed": passed(tiny_fit).save(folder / "passed.nc"),
    }


@pytest.mark.parametrize(
    "command",
    [
        ["summary", "{fit}", "--quiet"],
        ["summary", "{fit}", "--json"],
        # --quiet belongs to recommend, --strict to the decision.
        [
            "recommend",
            "--quiet",
            "{fit}",
            "compute-optimal",
            "--language",
            "fr",
            "--compute",
            "1e20",
        ],
    ],
    ids=["summary", "summary --json", "recommend"],
)
def test_strict_exits_3_for_a_fit_that_failed_its_gate(command, gate_fits, capsys):
    # Guards: a command that reads a fit answers as usual, and with --strict exits 3 when the
    # fit failed its gate (0 when it passed).
    def args(path):
        return [part.format(fit=path) for part in command]

    assert main(args(gate_fits["failed"])) == 0
    assert main([*args(gate_fits["failed"]), "--strict"]) == 3
    assert main([*args(gate_fits["passed"]), "--strict"]) == 0
    capsys.readouterr()


def test_report_strict_writes_the_report_then_exits_3(gate_fits, tmp_path, capsys):
    # Guards: report --strict still writes the report (to inspect), then exits 3.
    out = tmp_path / "report.html"
    command = ["report", str(gate_fits["failed"]), "--out", str(out), "--no-markdown"]
    assert main([*command, "--strict", "--quiet"]) == 3
    assert "failed the convergence gate" in out.read_text()
    assert main([*command, "--strict", "--quiet"]) == 2  # exists: never overwritten
    assert "exists; pass --force" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
