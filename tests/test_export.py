"""What a user takes home works on its own: the .keras file on raw columns, reproduce.py, the CSVs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from tapeapp import TapeError, TrainConfig, export_files, inspect_frame, load_model, predict_with_model, start_run
from tapeapp._tf import keras


def _trained(frame, target, **config):
    return start_run(frame, inspect_frame(frame, target=target), TrainConfig(**config)).fit()


@pytest.fixture(scope="module")
def binary_run():
    from helpers.tables import make_binary

    frame = make_binary()
    frame.loc[3, "age"] = np.nan
    frame.loc[4, "color"] = None
    return frame, _trained(frame, "target", epochs=3, val_fraction=0.25)


def test_keras_file_predicts_from_raw_columns_like_the_run(binary_run, tmp_path):
    frame, run = binary_run
    files = export_files(run)
    assert set(files) == {"model.keras", "history.csv", "config.json", "predictions.csv", "reproduce.py"}
    path = tmp_path / "model.keras"
    path.write_bytes(files["model.keras"])
    with zipfile.ZipFile(path) as z:
        assert not any(n.endswith((".pkl", ".pickle")) for n in z.namelist())
    model, meta = load_model(path)
    new = frame.drop(columns="target").head(8).copy()
    new.loc[new.index[0], "color"] = "purple"
    got = predict_with_model(model, meta, new)
    expected = run.predict(new)
    assert list(got.columns) == ["predicted_target", "probability_0", "probability_1"]
    np.testing.assert_allclose(got["probability_1"], expected["probability_1"], rtol=1e-5, atol=1e-6)
    plain = keras.saving.load_model(path, safe_mode=True)
    assert plain is not None
    for predict in (run.predict, lambda rows: predict_with_model(model, meta, rows)):  # same words from both
        with pytest.raises(TapeError, match=r"^These columns are missing: 'dose'; add them, the model needs"):
            predict(new.drop(columns="dose"))


def test_prediction_needs_the_columns_but_not_their_order(binary_run):
    frame, run = binary_run
    shuffled = frame[["color", "target", "dose", "age"]].head(5)
    np.testing.assert_allclose(run.predict(shuffled)["probability_1"],
                               run.predict(frame.head(5))["probability_1"], rtol=1e-6)
    with pytest.raises(TapeError, match="missing: 'dose'"):
        run.predict(frame.drop(columns="dose"))
    assert run.unexpected_columns(frame.assign(extra=1)) == ["extra"]
    as_text = frame.head(5).astype({"age": "str"})
    np.testing.assert_allclose(run.predict(as_text)["probability_1"],
                               run.predict(frame.head(5))["probability_1"], rtol=1e-6)


def test_history_config_and_predictions(binary_run):
    frame, run = binary_run
    files = export_files(run)
    history = pd.read_csv(io.BytesIO(files["history.csv"]))
    assert list(history["epoch"]) == [1, 2, 3] and "val_auc" in history and "grad_norm_hidden_1" in history
    config = json.loads(files["config.json"])
    assert config["config"]["epochs"] == 3 and len(config["data_sha256"]) == 64
    assert config["rows"] == {"train": 120, "validation": 40}
    predictions = pd.read_csv(io.BytesIO(files["predictions.csv"]))
    assert len(predictions) == 40 and {"row", "target", "predicted_target"} <= set(predictions.columns)


def test_a_non_model_file_is_refused(tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(TapeError, match="not a model saved by tapeapp"):
        load_model(bad)


@pytest.mark.subprocess
@pytest.mark.parametrize("target, maker, config", [
    ("target", "make_binary", {"epochs": 4}),
    ("price", "make_regression", {"epochs": 4, "optimizer": "adam"}),
    ("target", "make_binary", {"epochs": 4, "preprocessing": "tutorial", "val_fraction": 0.4}),
    ("season", "make_dates", {"epochs": 4}),  # dates written day first, one missing and one unreadable
])
def test_reproduce_script_repeats_the_history(tmp_path, target, maker, config):
    from helpers import tables

    frame = getattr(tables, maker)()
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    from tapeapp import read_table

    table = read_table(csv)
    run = start_run(table.frame, inspect_frame(table.frame, target=target), TrainConfig(**config)).fit()
    info = table.info
    script = tmp_path / "reproduce.py"
    script.write_bytes(export_files(run, read_options={"delimiter": info.delimiter, "encoding": info.encoding,
                                                       "decimal": info.decimal, "header": info.header})["reproduce.py"])
    result = subprocess.run([sys.executable, str(script), str(csv)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    ours = run.summary()
    assert printed.keys() == ours.keys()
    for key in ("task", "target", "epochs_run", "stopped_because", "rows"):
        assert printed[key] == ours[key]
    for side in ("train", "validation"):
        for metric, value in ours[side].items():
            assert printed[side][metric] == pytest.approx(value, rel=1e-4, abs=1e-5), (side, metric)
    assert len([line for line in result.stdout.splitlines() if line.startswith("epoch")]) == 4
