"""Study folders: every malformed case is refused at the right file, row and column.

The bad studies under ``tests/data/bad_studies/`` are generated from ``tests/data/good_study/``
by ``tests/data/make_bad_studies.py``; each holds an ``EXPECT.json`` with the location the error
must name.
"""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atlas_bayes.cli import main
from atlas_bayes.study import (
    Study,
    StudyValidationError,
    load_study,
    validate_study,
    write_study,
)

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good_study"
BAD = DATA / "bad_studies"
TABLES = ("runs", "mixture", "evals", "languages")
CASES = sorted(p.name for p in BAD.iterdir() if p.is_dir())


def expected(case: str) -> dict:
    return json.loads((BAD / case / "EXPECT.json").read_text(encoding="utf-8"))


def case_params(with_xfail: bool) -> list:
    params = []
    for case in CASES:
        reason = expected(case).get("xfail")
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason and with_xfail else []
        params.append(pytest.param(case, marks=marks, id=case))
    return params


def matches(issue, want: dict) -> bool:
    return (
        issue.file == want["file"]
        and issue.row == want["row"]
        and issue.column == want["column"]
        and want["message_contains"] in issue.message
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder`` (itself included) with its mtime and size."""
    entries = [folder, *sorted(folder.rglob("*"))]
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in entries}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def copy_good(tmp_path: Path, name: str = "study") -> Path:
    return Path(shutil.copytree(GOOD, tmp_path / name))


def good_frames() -> dict[str, pd.DataFrame]:
    study = load_study(GOOD)
    return {name: getattr(study, name).copy() for name in TABLES}


# ---------------------------------------------------------------------------- bad cases
def test_bad_cases_are_generated():
    assert len(CASES) >= 22
    for case in CASES:
        assert set(expected(case)) >= {"file", "row", "column", "message_contains"}


@pytest.mark.parametrize("case", case_params(with_xfail=True))
def test_load_study_names_the_location(case):
    want = expected(case)
    with pytest.raises(StudyValidationError) as info:
        load_study(BAD / case)
    issues = info.value.issues
    assert any(matches(issue, want) for issue in issues), "\n".join(map(str, issues))
    assert validate_study(BAD / case) == list(issues)


@pytest.mark.parametrize("case", case_params(with_xfail=True))
def test_cli_validate_prints_the_location(case, capsys):
    want = expected(case)
    code, _, err = run_cli(capsys, "validate", str(BAD / case))
    assert code == 2
    pieces = [want["file"], want["message_contains"]]
    if want["column"] is not None:
        pieces.append(f"column '{want['column']}'")
    row = re.compile(rf"\brow {want['row']}\b") if want["row"] is not None else None
    lines = [
        line
        for line in err.splitlines()
        if all(p in line for p in pieces) and (row is None or row.search(line))
    ]
    assert lines, err


@pytest.mark.parametrize("case", case_params(with_xfail=False))
def test_validation_writes_nothing(case, capsys):
    folder = BAD / case
    before = snapshot(folder)
    assert validate_study(folder)
    assert main(["validate", str(folder)]) == 2
    assert main(["validate", str(folder), "--json"]) == 2
    capsys.readouterr()
    assert snapshot(folder) == before


def test_generator_is_reproducible(tmp_path, monkeypatch):
    """The committed cases are exactly what the generator makes from good_study."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_bad_studies", DATA / "make_bad_studies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "BAD", tmp_path / "bad")
    module.main()
    assert sorted(p.name for p in (tmp_path / "bad").iterdir()) == CASES
    for case in CASES:
        for path in sorted((BAD / case).rglob("*")):
            if path.is_file() and path.suffix != ".parquet":  # parquet embeds writer metadata
                twin = tmp_path / "bad" / case / path.relative_to(BAD / case)
                assert twin.read_bytes() == path.read_bytes(), f"{case}/{path.name}"


# ---------------------------------------------------------------------------- the good study
def test_good_study_validates(capsys):
    assert validate_study(GOOD) == []
    code, out, err = run_cli(capsys, "validate", str(GOOD))
    assert code == 0
    assert "valid" in out and "6 runs" in out and err == ""
    code, out, _ = run_cli(capsys, "validate", str(GOOD), "--json")
    assert code == 0
    verdict = json.loads(out)
    assert verdict["valid"] is True
    assert verdict["runs"] == 6
    assert verdict["runs_by_regime"] == {"pretrain": 5, "finetune": 1}
    assert verdict["data_constrained_languages"] == ["fr"]
    assert verdict["checkpoint_evaluations"] == 3
    assert verdict["content_hash"] == load_study(GOOD).content_hash()


def test_summary_command(capsys):
    code, out, _ = run_cli(capsys, "summary", str(GOOD), "--json")
    assert code == 0
    assert json.loads(out)["model_sizes"] == 2
    code, _, err = run_cli(capsys, "summary", str(BAD / "loss_zero"))
    assert code == 2 and "evals.csv, row 6" in err


def test_allow_missing_loss(capsys):
    assert run_cli(capsys, "validate", str(BAD / "loss_empty"), "--allow-missing-loss")[0] == 0
    study = load_study(BAD / "loss_empty", allow_missing_loss=True)
    assert np.isnan(study.evals["loss"].iloc[7])


def test_observations_scale_checkpoints_and_carry_base_tokens():
    obs = load_study(GOOD).observations()
    assert obs.sizes == {"obs": 11, "language": 3}
    assert list(obs["language"].values) == ["en", "fr", "de"]
    fraction = obs["fraction"].values
    np.testing.assert_allclose(fraction[[0, 1, 4, 9, 10]], [1.0, 0.5, 0.25, 1.0, 0.5])
    tokens = obs["tokens"].sel(language="en").values
    assert tokens[0] == 2e9 and tokens[1] == 1e9  # en_small: end of run, then 1e9 of 2e9
    assert tokens[3] == 2e10 and tokens[4] == 5e9  # en_large: checkpoint at 5e9 of 2e10
    # the finetune run: its own fr tokens scale with the checkpoint; its base's do not.
    ft = obs.isel(obs=[9, 10])
    np.testing.assert_array_equal(ft["tokens"].sel(language="fr").values, [5e8, 2.5e8])
    np.testing.assert_array_equal(ft["base_tokens"].sel(language="en").values, [2e9, 2e9])
    np.testing.assert_array_equal(ft["base_tokens"].sel(language=["fr", "de"]).values, 0.0)
    assert obs["base_tokens"].isel(obs=slice(0, 9)).values.sum() == 0
    # the bilingual source-only language de is in the mixture, never evaluated
    assert obs["tokens"].sel(language="de").values[8] == 1e9
    assert "de" not in set(obs["eval_language"].values)
    np.testing.assert_allclose(obs["loss"].values[:2], [3.2, 3.65])


def test_base_tokens_follow_the_whole_chain():
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "params": [1e8, 1e8, 1e8],
            "regime": ["pretrain", "finetune", "finetune"],
            "base_run_id": [None, "a", "b"],
        }
    )
    mixture = pd.DataFrame(
        {"run_id": ["a", "b", "c"], "language": ["en", "fr", "de"], "tokens": [4e9, 2e9, 1e9]}
    )
    evals = pd.DataFrame({"run_id": ["c"], "language": ["de"], "loss": [3.0]})
    obs = Study.from_frames(runs, mixture, evals).observations()
    assert list(obs["language"].values) == ["de", "en", "fr"]  # sorted without a table
    np.testing.assert_array_equal(obs["base_tokens"].values, [[0.0, 4e9, 2e9]])
    np.testing.assert_array_equal(obs["tokens"].values, [[1e9, 0.0, 0.0]])


def test_to_dataset_dims_and_fill_values():
    ds = load_study(GOOD).to_dataset()
    assert ds.sizes == {"run": 6, "language": 3}
    assert list(ds["run"].values) == [
        "en_small",
        "en_large",
        "fr_small",
        "enfr_small",
        "defr_small",
        "fr_ft_small",
    ]
    assert list(ds["language"].values) == ["en", "fr", "de"]  # languages.csv order
    assert ds["tokens"].dims == ("run", "language")
    assert ds["tokens"].sel(run="en_small").values.tolist() == [2e9, 0.0, 0.0]
    assert ds["tokens"].sel(run="defr_small").values.tolist() == [0.0, 1e9, 1e9]
    unique = ds["unique_tokens"]
    assert unique.sel(run="fr_small", language="fr") == 5e8
    assert int(unique.notnull().sum()) == 1  # NaN where not trained or not data-constrained
    assert ds["base_run_id"].values.tolist() == ["", "", "", "", "", "en_small"]
    assert ds["kind"].sel(run="enfr_small") == "bilingual"
    assert ds["params"].attrs["units"] == "parameters"
    assert ds["tokens"].attrs["units"] == "tokens"
    assert ds["name"].values.tolist() == ["English", "French", "German"]
    assert set(ds.coords) >= {"script", "family"}


# ---------------------------------------------------------------------------- hashing
def reorder_csv(path: Path) -> None:
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([header, *reversed(rows)]) + "\n", encoding="utf-8")


def test_content_hash_ignores_row_and_column_order(tmp_path):
    folder = copy_good(tmp_path)
    for name in TABLES:
        reorder_csv(folder / f"{name}.csv")
    runs = pd.read_csv(folder / "runs.csv", dtype=str, keep_default_na=False)
    runs[list(reversed(runs.columns))].to_csv(folder / "runs.csv", index=False)
    shuffled = load_study(folder)
    assert list(shuffled.runs["run_id"]) != list(load_study(GOOD).runs["run_id"])
    assert shuffled.content_hash() == load_study(GOOD).content_hash()


def test_content_hash_same_for_csv_and_parquet(tmp_path):
    study = load_study(GOOD)
    folder = tmp_path / "parquet"
    folder.mkdir()
    for name in TABLES:
        # typed columns as written by pandas, not the CSV text
        getattr(study, name).to_parquet(folder / f"{name}.parquet", index=False)
    from_parquet = load_study(folder)
    assert from_parquet.content_hash() == study.content_hash()
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(from_parquet, name), getattr(study, name))


def test_content_hash_changes_with_content(tmp_path):
    folder = copy_good(tmp_path)
    text = (folder / "evals.csv").read_text().replace("3.65", "3.66")
    (folder / "evals.csv").write_text(text)
    assert load_study(folder).content_hash() != load_study(GOOD).content_hash()


# ---------------------------------------------------------------------------- in memory
def test_from_frames_accepts_the_good_study():
    frames = good_frames()
    study = Study.from_frames(**frames)
    assert study.content_hash() == load_study(GOOD).content_hash()
    assert study.source is None


def mutate_params_zero(frames):
    frames["runs"].loc[1, "params"] = 0
    return "runs.csv", 2, "params", "expected a finite number > 0, got 0"


def mutate_finetune_without_base(frames):
    frames["runs"].loc[5, "base_run_id"] = None
    return "runs.csv", 6, "base_run_id", "a finetune run needs base_run_id"


def mutate_language_not_listed(frames):
    frames["languages"] = frames["languages"].iloc[:2]
    return "mixture.csv", 6, "language", "'de' is not listed in languages.csv"


def mutate_duplicate_run(frames):
    frames["runs"] = pd.concat([frames["runs"], frames["runs"].iloc[[0]]], ignore_index=True)
    return "runs.csv", 7, "run_id", "duplicate run_id='en_small'"


def mutate_missing_column(frames):
    frames["evals"] = frames["evals"].drop(columns="loss")
    return "evals.csv", None, "loss", "missing required column 'loss'"


def mutate_tokens_seen_too_big(frames):
    frames["evals"].loc[1, "tokens_seen"] = 5e9
    return "evals.csv", 2, "tokens_seen", "exceeds the 2e+09 tokens"


def mutate_loss_nan(frames):
    # NaN in memory is an empty cell, as in a file
    frames["evals"].loc[3, "loss"] = np.nan
    return "evals.csv", 4, "loss", "empty cell"


@pytest.mark.parametrize(
    "mutate",
    [
        mutate_params_zero,
        mutate_finetune_without_base,
        mutate_language_not_listed,
        mutate_duplicate_run,
        mutate_missing_column,
        mutate_tokens_seen_too_big,
        mutate_loss_nan,
    ],
)
def test_from_frames_rejects_what_files_reject(mutate):
    frames = good_frames()
    file, row, column, message = mutate(frames)
    with pytest.raises(StudyValidationError) as info:
        Study.from_frames(**frames)
    want = {"file": file, "row": row, "column": column, "message_contains": message}
    assert any(matches(i, want) for i in info.value.issues), info.value


# ---------------------------------------------------------------------------- writing
def test_write_study_round_trips(tmp_path):
    study = load_study(GOOD)
    out = write_study(study, tmp_path / "copy", extra_files={"README.md": "hello\n"})
    assert out == tmp_path / "copy"
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "evals.csv",
        "languages.csv",
        "mixture.csv",
        "runs.csv",
    ]
    again = load_study(out)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(study, name))
    assert again.content_hash() == study.content_hash()
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]  # no staging folder left behind


def test_write_study_refuses_to_overwrite(tmp_path):
    study = load_study(GOOD)
    out = tmp_path / "copy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_study(study, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    write_study(study, out, overwrite=True)
    assert not (out / "keep.txt").exists()
    assert load_study(out).content_hash() == study.content_hash()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]


# ---------------------------------------------------------------------------- paths
def test_path_that_is_not_a_folder(capsys):
    path = GOOD / "runs.csv"
    with pytest.raises(StudyValidationError, match="is not a folder"):
        load_study(path)
    code, _, err = run_cli(capsys, "validate", str(path))
    assert code == 2 and "is not a folder" in err


def test_missing_path(tmp_path, capsys):
    path = tmp_path / "nowhere"
    assert [i.message for i in validate_study(path)] == ["does not exist"]
    code, _, err = run_cli(capsys, "validate", str(path))
    assert code == 2 and "does not exist" in err
    assert not path.exists()


# ------------------------------------------------- regressions: line numbers, offsets, paths
def test_line_numbers_count_blank_lines(tmp_path):
    folder = copy_good(tmp_path)
    lines = (folder / "runs.csv").read_text().splitlines()
    lines[3] = lines[3].replace("1e8", "abc")  # data row 3 (fr_small), line 4
    lines.insert(2, "")  # a blank line after row 1: fr_small moves to line 5
    (folder / "runs.csv").write_text("\n".join(lines) + "\n")
    (issue,) = validate_study(folder)
    assert (issue.row, issue.column) == (3, "params")
    assert issue.line == 5


def test_non_utf8_offset_is_absolute(tmp_path):
    folder = copy_good(tmp_path)
    body = (folder / "evals.csv").read_bytes()
    body += b"".join(b"en_small,en,3.%d,\n" % (i % 10) for i in range(30000))
    offset = len(body) + len(b"en_small,fr,3")  # 0-based offset of the bad byte
    (folder / "evals.csv").write_bytes(body + b"en_small,fr,3\xe9,\n")
    (issue,) = validate_study(folder)
    assert "not UTF-8" in issue.message
    assert f"at byte offset {offset}" in issue.message


def test_cli_path_with_brackets(tmp_path, capsys):
    folder = Path(shutil.copytree(BAD / "loss_zero", tmp_path / "study[/b]v2"))
    code, _, err = run_cli(capsys, "validate", str(folder))
    assert code == 2
    assert str(folder) in err.splitlines()[0]


def test_write_study_folder_has_default_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    wanted = 0o777 & ~umask
    if wanted == 0o700:
        pytest.skip("umask makes 0700 the default")
    out = write_study(load_study(GOOD), tmp_path / "copy")
    assert out.stat().st_mode & 0o777 == wanted


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    folder = copy_good(tmp_path)
    for name in TABLES:
        path = folder / f"{name}.csv"
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_study(folder).content_hash() == load_study(GOOD).content_hash()
