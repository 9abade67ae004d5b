"""The default run keeps its best epoch, chosen on training rows held back (or by cross-validation on small tables):
the validation rows the score is reported on never choose it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.tables import make_binary, make_regression
from tapeapp import TrainConfig, evaluate, inspect_frame, preset, start_run
from tapeapp.keep.records import capture, record_from_json, record_to_json


def _run(frame, target, **knobs):
    return start_run(frame, inspect_frame(frame, target=target), TrainConfig(**knobs))


def test_held_back_training_rows_choose_the_epoch_and_its_weights_are_kept():
    run = _run(make_binary(400, seed=3), "target", cv_below=0, patience=4, epochs=60, optimizer="adam",
               learning_rate=0.02, hidden=(128, 128)).fit()
    assert run.choice == "inner" and run.stopped_because == "early_stopping"
    inner = [u.inner["loss"] for u in run.history]
    best = int(np.argmin(inner)) + 1
    assert run.kept_epoch == best == run.history[-1].kept_epoch and len(run.history) == best + 4
    assert f"from epoch {best}" in run.message and "held back" in run.message
    kept = run.history[best - 1]
    assert evaluate(run).headline["accuracy"] == pytest.approx(kept.validation["accuracy"])
    assert run.summary()["validation"]["loss"] == pytest.approx(kept.validation["loss"], abs=1e-6)
    frame = run.history_frame()
    assert {"inner_loss", "inner_accuracy", "kept_epoch"} <= set(frame.columns)


def test_the_validation_rows_never_choose_the_epoch():
    """Turn every validation label around: the training, the held-back rows and the epoch kept stay the same."""
    frame = make_binary(300, seed=5)
    knobs = dict(cv_below=0, patience=3, epochs=40, split="random", optimizer="adam", learning_rate=0.02)
    one = _run(frame, "target", **knobs).fit()
    flipped = frame.copy()
    flipped.loc[one.prepared.val_rows, "target"] = 1 - flipped.loc[one.prepared.val_rows, "target"]
    two = _run(flipped, "target", **knobs).fit()
    assert np.array_equal(one.prepared.val_rows, two.prepared.val_rows)
    assert one.kept_epoch == two.kept_epoch and len(one.history) == len(two.history)
    assert [u.inner["loss"] for u in one.history] == pytest.approx([u.inner["loss"] for u in two.history])
    assert [u.validation["loss"] for u in one.history] != pytest.approx([u.validation["loss"] for u in two.history])


def test_small_tables_choose_the_number_of_epochs_by_cross_validation():
    run = _run(make_regression(150), "price", epochs=30, patience=3)
    assert run.choice == "folds"
    run.fit()
    assert {f.fold for f in run.folds} == {1, 2, 3} and all(f.folds == 3 for f in run.folds)
    assert run.chosen_epochs == len(run.history) == run.kept_epoch and run.history[-1].epochs == run.chosen_epochs
    assert run.stopped_because == "finished" and "cross-validation" in run.message
    losses = {}
    for f in run.folds:
        losses.setdefault(f.fold, []).append(f.loss)
    length = min(map(len, losses.values()))
    assert run.chosen_epochs == int(np.argmin(np.mean([v[:length] for v in losses.values()], axis=0))) + 1


def test_tutorial_preset_trains_60_epochs_and_keeps_the_last():
    run = start_run(make_binary(), inspect_frame(make_binary(), target="target"), preset("Tutorial"))
    assert run.choice == "last"
    run.fit()
    assert len(run.history) == 60 and run.kept_epoch == 60 and not run.folds and not run.history[-1].inner


def test_the_kept_epoch_the_inner_curve_and_the_folds_come_back_from_a_record():
    frame = make_binary(200, seed=1)
    schema = inspect_frame(frame, target="target")
    run = start_run(frame, schema, TrainConfig(epochs=8, patience=2)).fit()
    record = capture(run, schema, 1)
    back = record_from_json(json.loads(json.dumps(record_to_json(record))), record.weights)
    assert back.chosen_epochs == run.chosen_epochs and back.folds == tuple(run.folds)
    assert [u.kept_epoch for u in back.history] == [u.kept_epoch for u in run.history]
    inner = start_run(frame, schema, TrainConfig(epochs=8, patience=2, cv_below=0)).fit()
    again = record_from_json(json.loads(json.dumps(record_to_json(capture(inner, schema, 2)))), ())
    assert [dict(u.inner) for u in again.history] == pytest.approx([dict(u.inner) for u in inner.history])


def skewed_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Visits: counts with a long tail and many zeros; spend: money, skewed; the answer depends on their logs."""
    rng = np.random.default_rng(seed)
    visits = np.where(rng.random(n) < 0.3, 0, rng.lognormal(3, 1.5, n).round())
    spend = rng.lognormal(5, 1.2, n).round(2)
    age = rng.normal(40, 10, n).round()
    score = np.log1p(visits) - np.log(spend) / 2 + rng.normal(0, 0.5, n)
    return pd.DataFrame({"visits": visits, "spend": spend, "age": age,
                         "bought": np.where(score > np.median(score), "yes", "no")})


def test_skewed_numbers_get_a_signed_log_and_an_is_zero_input_with_the_reason_shown():
    frame = skewed_table()
    run = _run(frame, "bought", epochs=3, patience=0)
    pre = run.prepared.preprocessor
    assert set(pre.skew_) == {"visits", "spend"} and pre.skew_["visits"].is_zero_input
    assert not pre.skew_["spend"].is_zero_input and pre.slots()["visits"] == slice(0, 2) and pre.width == 4
    summary = pre.summary().set_index("column")
    assert summary.loc["visits", "treated as"] == "number, signed log" and summary.loc["age", "treated as"] == "number"
    assert "skewed" in summary.loc["visits", "why"] and "'is zero'" in summary.loc["visits", "why"]
    assert summary.loc["age", "why"] == ""
    x = run.prepared.x_train
    zero = frame["visits"].to_numpy()[run.prepared.train_positions] == 0
    assert np.array_equal(x[:, 1] == 1.0, zero) and set(np.unique(x[:, 1])) == {0.0, 1.0}
    plain = start_run(frame, inspect_frame(frame, target="bought").with_plain(["visits"]),
                      TrainConfig(epochs=3, patience=0)).prepared.preprocessor
    assert set(plain.skew_) == {"spend"} and "chosen by you" in plain.summary().set_index("column").loc["visits", "why"]
    tutorial = start_run(frame, inspect_frame(frame, target="bought"), preset("Tutorial")).prepared.preprocessor
    assert tutorial.skew_ == {}


def test_the_signed_log_is_inside_the_exported_model(tmp_path):
    from tapeapp import export_files, load_model, predict_with_model

    frame = skewed_table()
    frame.loc[5, "visits"] = np.nan
    run = _run(frame, "bought", epochs=3, patience=0).fit()
    path = tmp_path / "model.keras"
    path.write_bytes(export_files(run)["model.keras"])
    model, meta = load_model(path)
    rows = frame.drop(columns="bought").head(20)
    np.testing.assert_allclose(predict_with_model(model, meta, rows)["probability_yes"],
                               run.predict(rows)["probability_yes"], rtol=1e-5, atol=1e-6)


@pytest.mark.subprocess
@pytest.mark.parametrize("knobs", [dict(epochs=15, patience=3), dict(epochs=15, patience=3, cv_below=0)])
def test_reproduce_script_repeats_the_chosen_epochs_and_the_signed_log(tmp_path, knobs):
    import subprocess
    import sys

    from tapeapp import export_files, read_table

    csv = tmp_path / "data.csv"
    skewed_table().to_csv(csv, index=False)
    table = read_table(csv)
    run = start_run(table.frame, inspect_frame(table.frame, target="bought"), TrainConfig(**knobs)).fit()
    assert run.prepared.preprocessor.skew_ and run.choice == ("folds" if "cv_below" not in knobs else "inner")
    script = tmp_path / "reproduce.py"
    script.write_bytes(export_files(run)["reproduce.py"])
    result = subprocess.run([sys.executable, str(script), str(csv)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    ours = run.summary()
    for key in ("epochs_run", "stopped_because", "rows"):
        assert printed[key] == ours[key]
    for side in ("train", "validation"):
        for metric, value in ours[side].items():
            assert printed[side][metric] == pytest.approx(value, rel=1e-4, abs=1e-5), (side, metric)


def test_many_categories_keep_every_level_with_five_training_rows_in_the_exported_model(tmp_path):
    from tapeapp import export_files, load_model, predict_with_model

    rng = np.random.default_rng(2)
    n = 3000
    town = np.array([f"town {i:03d}" for i in range(120)])[rng.integers(0, 120, n)]
    town[:6] = [f"hamlet {i}" for i in range(6)]  # one row each: pooled into 'other'
    effect = {t: rng.normal() for t in np.unique(town)}
    frame = pd.DataFrame({"town": town, "size": rng.normal(size=n)})
    frame["price"] = frame["town"].map(effect) + frame["size"] + rng.normal(0, 0.2, n)
    run = _run(frame, "price", epochs=3, patience=0).fit()
    pre = run.prepared.preprocessor
    counts = frame["town"].iloc[run.prepared.train_positions].value_counts()
    assert set(pre.categories_["town"]) == set(counts.index[counts >= 5]) and len(pre.categories_["town"]) > 100
    assert not any(t.startswith("hamlet") for t in pre.categories_["town"])
    pooled = int((counts < 5).sum())
    assert pre.pooled_["town"] == pooled > 0
    assert f"{pooled} value" in pre.summary().set_index("column").loc["town", "why"]
    path = tmp_path / "model.keras"
    path.write_bytes(export_files(run)["model.keras"])
    model, meta = load_model(path)
    rows = frame.drop(columns="price").head(30)
    np.testing.assert_allclose(predict_with_model(model, meta, rows)["predicted_price"],
                               run.predict(rows)["predicted_price"], rtol=1e-5, atol=1e-5)


def test_a_text_column_of_a_tiny_table_keeps_its_most_common_value():
    """No value has 5 training rows: the most common one is kept (a lookup needs one), the rest count as 'other'."""
    from tapeapp.features.preprocess import Preprocessor

    frame = pd.DataFrame({"kind": ["a", "a", "b", "c", "d", "e"], "x": [1.0, 2, 3, 4, 5, 6]})
    pre = Preprocessor(numeric=("x",), categorical=("kind",)).fit(frame)
    assert pre.categories_["kind"] == ["a"] and pre.pooled_["kind"] == 4
    assert pre.transform(frame).shape[0] == 6
