"""The command line: help everywhere, the demo end to end, exit codes."""

import json

import pytest

from atlas_bayes.cli import main
from atlas_bayes.resources import bundled_study_path


@pytest.mark.parametrize(
    "command", [[], ["validate"], ["summary"], ["simulate"], ["demo"], ["report"], ["recommend"]]
)
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


def test_demo_writes_its_outputs_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quick"]) == 0
    printed = capsys.readouterr().out
    assert "identical" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["study"]["reproducible"] is True
    assert 0 <= summary["fit"]["coverage_of_truth"] <= 1
    assert summary["fit"]["lambda"]["ci_kind"] == "eti"
    assert "simulated" in (out / "summary.md").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["fits", "summary.json", "summary.md"]
    assert (out / "fits" / "data_constrained.nc").is_file()
    before = (out / "summary.json").stat().st_mtime_ns
    assert main(["demo", "--out", str(out), "--quick"]) == 2
    assert (out / "summary.json").stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
