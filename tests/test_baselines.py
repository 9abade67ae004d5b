"""The simpler models beside the network: same rows, same metric names, in the background, never breaking a run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.tables import make_binary, make_multiclass, make_regression
from tapeapp import (
    TrainConfig,
    compare_with_baselines,
    fit_baselines,
    inspect_frame,
    row_hash,
    start_baselines,
    start_run,
)
from tapeapp.features.prepare import prepare
from tapeapp.judge import baselines as bl


def prepared_for(frame: pd.DataFrame, target: str, **knobs):
    return prepare(frame, inspect_frame(frame, target=target), TrainConfig(**knobs))


@pytest.fixture(scope="module")
def binary_run():
    """One small trained run with its baselines, shared by the tests that only read it."""
    frame = make_binary(200)
    frame.index = [f"row{i}" for i in range(len(frame))]  # labels that are not positions
    run = start_run(frame, inspect_frame(frame, target="target"), TrainConfig(epochs=4, hidden=(16,)),
                    baselines=start_baselines)
    run.fit()
    run.wait_baselines()
    return run


def test_the_baselines_use_exactly_the_networks_rows(binary_run):
    data, base = binary_run.prepared, binary_run.baselines
    assert base.train_rows == len(data.y_train) == base.sampled_from and base.val_rows == len(data.y_val)
    assert base.train_hash == row_hash(data.train_rows) and base.val_hash == row_hash(data.val_rows)
    assert base.train_hash != row_hash(data.val_rows)  # the hash does tell rows apart
    assert not base.sampled and base.note == ""


def test_same_metric_names_as_the_network_and_majority_is_the_majority_share(binary_run):
    base = binary_run.baselines
    assert list(base.scores) == ["majority", "linear", "boosted_trees"]
    for score in base.scores.values():
        assert not score.error and list(score.validation) == list(binary_run.history[-1].validation)
    y_train, y_val = binary_run.prepared.y_train, binary_run.prepared.y_val
    majority = np.bincount(y_train).argmax()
    assert base.scores["majority"].validation["accuracy"] == pytest.approx(np.mean(y_val == majority))
    assert base.scores["linear"].validation["accuracy"] > base.scores["majority"].validation["accuracy"]
    assert json.loads(json.dumps(binary_run.summary()))["baselines"] == base.to_dict()


def test_a_comparison_sentence_once_ready(binary_run):
    text = compare_with_baselines(binary_run)
    assert text and any(word in text for word in ("better", "beats", "about the same"))
    assert compare_with_baselines(start_run(make_binary(), inspect_frame(make_binary(), target="target"),
                                            TrainConfig(epochs=1))) is None


def test_regression_and_multiclass_baselines_share_the_networks_words_and_units():
    frame = make_regression()
    data = prepared_for(frame, "price")
    base = fit_baselines(data, frame)
    assert list(base.scores) == ["mean", "linear", "boosted_trees"]
    mean = base.scores["mean"].validation
    assert list(mean) == ["loss", "mae", "rmse", "r2"]
    assert mean["loss"] == pytest.approx(np.mean(data.y_val.astype("float64") ** 2), rel=1e-6)  # standardised units
    actual = data.target_encoder.decode_regression(data.y_val)
    assert mean["rmse"] == pytest.approx(np.sqrt(np.mean((actual - data.target_encoder.mean_) ** 2)), rel=1e-6)
    assert base.scores["linear"].validation["r2"] > 0.9 > mean["r2"]
    multi = make_multiclass()
    scores = fit_baselines(prepared_for(multi, "species"), multi).scores
    assert all(list(s.validation) == ["loss", "accuracy", "auc"] and not s.error for s in scores.values())


def test_the_network_learns_the_same_with_and_without_baselines_beside_it():
    frame = make_binary()
    schema = inspect_frame(frame, target="target")
    histories = []
    for baselines in (True, False):
        run = start_run(frame, schema, TrainConfig(epochs=3, hidden=(8,), seed=3),
                        baselines=start_baselines if baselines else None)
        histories.append([(dict(u.train), dict(u.validation)) for u in run.fit().history])
        assert (run.wait_baselines(60) is not None) == baselines
        assert ("baselines" in run.summary()) == baselines
    assert histories[0] == histories[1]


def test_big_tables_are_sampled_and_say_so(monkeypatch):
    monkeypatch.setattr(bl, "SAMPLE_ROWS", 50)
    frame = make_binary(200)
    data = prepared_for(frame, "target", seed=4)
    base = fit_baselines(data, frame, seed=4)
    assert base.train_rows == 50 and base.sampled_from == len(data.y_train) and base.sampled
    assert "50 of the 120" in base.note
    chosen = data.train_rows[bl.training_positions(data, 4)]
    assert base.train_hash == row_hash(chosen) and set(chosen) <= set(data.train_rows)


def test_a_failing_baseline_is_recorded_and_the_others_go_on(monkeypatch):
    class Broken:
        def __init__(self, **_):
            raise MemoryError("no room")

    monkeypatch.setattr(bl, "HistGradientBoostingClassifier", Broken)
    frame = make_binary()
    base = fit_baselines(prepared_for(frame, "target"), frame)
    assert base.scores["boosted_trees"].error == "MemoryError: no room"
    assert base.to_dict()["boosted_trees"] == {"error": "MemoryError: no room"}
    assert not base.scores["linear"].error and base.scores["linear"].validation["accuracy"] > 0.5


def test_trees_take_text_with_many_levels_missing_values_and_rows_dropped_for_a_missing_target():
    rng = np.random.default_rng(0)
    n = 400
    code = rng.integers(0, 300, n)
    frame = pd.DataFrame({"city": [f"c{k}" for k in code], "size": rng.normal(size=n),
                          "y": np.where(code % 2 == 0, "even", "odd")})
    frame.loc[::7, "city"] = None
    frame.loc[::11, "size"] = np.nan
    frame.loc[::13, "y"] = None
    data = prepared_for(frame, "y")
    base = fit_baselines(data, frame)
    assert not base.scores["boosted_trees"].error, base.scores["boosted_trees"].error
    assert base.train_hash == row_hash(data.train_rows) and base.train_rows == len(data.y_train)
