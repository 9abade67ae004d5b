"""The CLI's contract: per-epoch lines on stderr, one JSON object as the last stdout line, `error:` and status 2."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.cli import ROOT, cli, cli_at_once, one_error_line

pytestmark = pytest.mark.subprocess


@pytest.fixture
def csv_path(tmp_path):
    from helpers.tables import make_binary

    path = tmp_path / "table.csv"
    make_binary().to_csv(path, index=False)
    return path


def test_train_prints_epochs_then_one_json_line(csv_path, tmp_path):
    out = tmp_path / "out"
    result = cli("train", csv_path, "--target", "target", "--epochs", "3", "--patience", "0", "--seed", "1",
                 "--hidden", "16,8", "--val-fraction", "0.25", "--out", out)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {"task", "target", "epochs_run", "stopped_because", "seconds_per_epoch", "rows",
                            "train", "validation", "baselines"}
    assert summary["task"] == "binary" and summary["target"] == "target" and summary["epochs_run"] == 3
    assert summary["stopped_because"] == "finished" and summary["rows"] == {"train": 120, "validation": 40}
    assert set(summary["validation"]) == {"loss", "accuracy", "auc"}
    assert result.stderr.count("epoch ") >= 3
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "background.csv", "config.json", "data/table.csv", "history.csv", "importance.csv", "manifest.json",
        "model.keras", "predictions.csv", "report.html", "reproduce.py", "run.json", "session.json", "weights.npz"]
    assert (out / "data" / "table.csv").read_bytes() == csv_path.read_bytes()
    assert "<svg" in (out / "report.html").read_text() and "<script" not in (out / "report.html").read_text()
    ranked = pd.read_csv(out / "importance.csv")
    assert list(ranked.columns) == ["column", "importance", "std"]
    assert sorted(ranked["column"]) == ["age", "color", "dose"]
    predicted = cli("predict", out / "model.keras", csv_path)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines()[0] == "predicted_target,probability_0,probability_1"
    assert len(predicted.stdout.splitlines()) == 161


def test_tutorial_preset_and_regression_keys(tmp_path):
    from helpers.tables import make_regression

    path = tmp_path / "houses.csv"
    make_regression().to_csv(path, index=False)
    result = cli("train", path, "--target", "price", "--epochs", "2", "--preset", "tutorial")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["task"] == "regression" and set(summary["train"]) == {"loss", "mae", "rmse", "r2"}


def test_the_tutorial_preset_with_the_default_preprocessing_keeps_the_tutorial_split(csv_path, tmp_path):
    result = cli("train", csv_path, "--target", "target", "--epochs", "1", "--preset", "tutorial",
                 "--preprocessing", "standard", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    settings = config["config"]
    assert settings["split"] == "random" and settings["preprocessing"] == "standard"


def test_inspect(csv_path):
    result = cli("inspect", csv_path)
    assert result.returncode == 0, result.stderr
    assert "target: target" in result.stdout and "task: binary" in result.stdout and "color" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["train", "missing.csv"], "no file"),
    (["train", "{csv}", "--target", "nope"], "nope"),
    (["train", "{csv}", "--epochs", "-3"], "epochs"),
    (["train", "{csv}", "--lr", "abc"], "not a valid value"),
    (["train", "{csv}", "--task", "cluster"], "cluster"),
    (["train", "{csv}", "--preset", "turbo"], "Unknown preset"),
    (["train", "{csv}", "--split", "sorted"], "Unknown split 'sorted'"),
    (["predict", "{csv}", "{csv}"], "not a model"),
    (["fly"], "fly"),
])
def test_user_mistakes_exit_2_with_one_error_line(csv_path, args, words):
    result = cli(*[a.format(csv=csv_path) for a in args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
    assert "Traceback" not in result.stderr


def test_a_model_worse_than_the_average_guess_is_pointed_out(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"rooms": rng.integers(1, 7, 150), "area": rng.uniform(30, 200, 150).round(1)})
    frame["price"] = (frame["area"] * 3000 + frame["rooms"] * 10000 + rng.normal(0, 5000, 150)).round(0)
    path = tmp_path / "flats.csv"
    frame.to_csv(path, index=False)
    bad, good = cli_at_once(("train", path, "--target", "price", "--epochs", "3", "--lr", "10"),
                            ("train", path, "--target", "price", "--epochs", "40", "--optimizer", "adam",
                             "--lr", "0.01"))
    assert bad.returncode == 0, bad.stderr
    assert "warning: The model predicts 'price' worse than always predicting the average" in bad.stderr
    assert good.returncode == 0 and "worse than always" not in good.stderr, good.stderr


@pytest.mark.parametrize("flag, value, words", [
    ("--epochs", "1e400", "not a finite number"),
    ("--seed", "1e17", "too large"),
    ("--seed", "1e400", "not a finite number"),
    ("--batch-size", "0", "batch size"),
    ("--hidden", "64,x", "whole numbers"),
])
def test_knobs_out_of_range_exit_2_with_one_error_line(csv_path, flag, value, words):
    result = cli("train", csv_path, "--target", "target", flag, value)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert "Traceback" not in result.stderr


def test_a_refused_train_says_so_before_tensorflow_is_imported(csv_path):
    """A mistake in the knobs, the file or the target is said at once, not after seconds of TensorFlow's import."""
    code = ("import sys; from tapeapp.cli import main; status = main(sys.argv[1:]); "
            "print(status, 'tensorflow' in sys.modules)")
    for args in (["--epochs", "1e400"], ["--target", "nope"]):
        done = subprocess.run([sys.executable, "-c", code, "train", str(csv_path), *args], capture_output=True,
                              text=True, cwd=ROOT, check=True)
        assert done.stdout.split() == ["2", "False"], (args, done.stdout, done.stderr)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A real model.keras (with a text column, so a StringLookup layer) and the rows it predicts."""
    import tapeapp
    from helpers.tables import make_binary

    frame = make_binary()
    run = tapeapp.start_run(frame, tapeapp.inspect_frame(frame, target="target"), tapeapp.TrainConfig(epochs=1)).fit()
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.keras").write_bytes(tapeapp.export_files(run)["model.keras"])
    frame.to_csv(folder / "rows.csv", index=False)
    return folder


def _rewritten(source: Path, target: Path, change) -> Path:
    """A copy of a .keras zip with ``change(name, bytes) -> {name: bytes}`` applied to each member."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            for name, data in change(info.filename, old.read(info)).items():
                new.writestr(name, data)
    return target


def _layer_config(change_layer):
    """Apply ``change_layer`` to every layer config in the model, nested models' layers included."""
    def walk(node):
        if isinstance(node, dict):
            if "class_name" in node and "config" in node:
                change_layer(node)
            for value in list(node.values()):
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    def change(name, data):
        if name != "config.json":
            return {name: data}
        config = json.loads(data)
        walk(config)
        return {name: json.dumps(config).encode()}
    return change


def _names_os_system(layer):
    if layer["class_name"] == "Dense":
        layer.update(module="os", class_name="system", registered_name=None)


def _vocabulary_from_a_file(layer):
    if layer["class_name"] == "StringLookup":
        layer["config"]["vocabulary"] = "/etc/passwd"


HOSTILE_MODELS = {
    "names os.system": _layer_config(_names_os_system),
    "reads a vocabulary file": _layer_config(_vocabulary_from_a_file),
    "carries another file":
        lambda name, data: {name: data, **({"run_me.py": b"import os"} if name == "config.json" else {})},
    "metadata of another shape":
        lambda name, data: {name: b'{"task": "binary", "inputs": "all"}' if name == "tapeapp.json" else data},
    "a path out of the archive": lambda name, data: {("../" + name if name == "metadata.json" else name): data},
}


@pytest.mark.parametrize("case", list(HOSTILE_MODELS))
def test_predict_refuses_a_model_file_that_was_tampered_with_in_one_line(model_file, tmp_path, case):
    hostile = _rewritten(model_file / "model.keras", tmp_path / "model.keras", HOSTILE_MODELS[case])
    result = cli("predict", hostile, model_file / "rows.csv")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "not a model saved by tapeapp" in lines[0], lines
    assert "Traceback" not in result.stderr


def test_predict_with_the_untouched_model_works(model_file):
    result = cli("predict", model_file / "model.keras", model_file / "rows.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("predicted_target,")


def test_inspect_on_a_cell_with_a_long_run_of_spaces(tmp_path):
    path = tmp_path / "spaces.csv"
    path.write_bytes(b"a,b\n1" + b" " * 20_000 + b"x,2\n3,4\n")
    result = cli("inspect", path)
    assert result.returncode == 0, result.stderr
    assert "2 rows x 2 columns" in result.stdout


def test_explain_takes_rows_apart_with_the_run_folder_train_wrote(csv_path, tmp_path):
    """`train --out` writes background.csv beside model.keras; `explain FOLDER ROWS` prints the contributions."""
    out = tmp_path / "run"
    trained = cli("train", csv_path, "--target", "target", "--epochs", "3", "--no-baselines", "--out", out)
    assert trained.returncode == 0, trained.stderr
    assert (out / "background.csv").is_file()
    result = cli("explain", out, csv_path)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout))
    assert list(frame.columns) == ["row", "prediction", "class", "probability", "base", "column", "value",
                                   "contribution"]
    assert set(frame["column"]) == {"age", "dose", "color"}
    sums = frame.groupby("row").apply(lambda rows: rows["base"].iloc[0] + rows["contribution"].sum(),
                                      include_groups=False)
    assert np.allclose(sums, frame.groupby("row")["probability"].first(), atol=1e-3)
    refused = cli("explain", tmp_path / "nowhere", csv_path)
    assert refused.returncode == 2 and one_error_line(refused)


def test_out_as_a_zip_is_the_same_project_and_predict_and_explain_take_it(csv_path, tmp_path):
    """`train --out FILE.zip` writes the folder's files as one project; `predict` and `explain` take the zip and
    give what they give with the folder; `--no-table` leaves the table out."""
    from tapeapp.keep.project import FILES, open_project_file

    folder, packed, bare = tmp_path / "run", tmp_path / "run.zip", tmp_path / "bare.zip"
    train = ("train", csv_path, "--target", "target", "--no-baselines")
    for trained in cli_at_once((*train, "--epochs", "3", "--out", folder), (*train, "--epochs", "3", "--out", packed),
                               (*train, "--epochs", "1", "--no-table", "--out", bare)):
        assert trained.returncode == 0, trained.stderr
    with zipfile.ZipFile(packed) as archive:
        assert sorted(archive.namelist()) == sorted([*FILES, "data/table.csv"])
    for command in ("predict", "explain"):
        from_folder, from_zip = cli_at_once((command, folder, csv_path), (command, packed, csv_path))
        assert from_zip.returncode == 0, from_zip.stderr
        assert from_zip.stdout == from_folder.stdout and len(from_zip.stdout.splitlines()) > 160
    project = open_project_file(packed)
    assert project.table.available and project.record.epochs_done == 3
    opened = open_project_file(bare)
    assert not opened.table.available and opened.table.sha256 == hashlib.sha256(csv_path.read_bytes()).hexdigest()
    assert cli("predict", bare, csv_path).returncode == 0
