"""Preprocessing is fitted on training rows only; the split is seeded and stratified; nothing is dropped silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tapeapp import TapeError, TrainConfig, inspect_frame
from tapeapp.features.prepare import prepare, split_rows


def _prepare(frame, target, **config):
    return prepare(frame, inspect_frame(frame, target=target), TrainConfig(**config))


def test_scaling_statistics_come_from_training_rows_only(binary_frame):
    data = _prepare(binary_frame, "target", val_fraction=0.3)
    train = binary_frame.loc[data.train_rows]
    pre = data.preprocessor
    assert pre.mean_["age"] == pytest.approx(train["age"].mean())
    assert pre.mean_["age"] != pytest.approx(binary_frame["age"].mean())
    assert data.x_train[:, 0].mean() == pytest.approx(0, abs=1e-5)
    assert set(data.train_rows).isdisjoint(data.val_rows)
    assert len(data.train_rows) + len(data.val_rows) == len(binary_frame)


def test_an_outlier_in_validation_does_not_move_the_scaling(binary_frame):
    data = _prepare(binary_frame, "target", val_fraction=0.3)
    changed = binary_frame.copy()
    changed.loc[data.val_rows[0], "age"] = 1e6
    again = _prepare(changed, "target", val_fraction=0.3)
    assert again.preprocessor.mean_["age"] == data.preprocessor.mean_["age"]
    assert again.x_val.max() <= 10.0, "standard mode clips scaled values"


def test_split_is_seeded_and_stratified(binary_frame):
    a = split_rows(binary_frame, "target", "binary", 0.25, seed=1)
    assert a[3] is True
    b = split_rows(binary_frame, "target", "binary", 0.25, seed=1)
    c = split_rows(binary_frame, "target", "binary", 0.25, seed=2)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    share = binary_frame["target"].mean()
    assert binary_frame["target"].iloc[a[1]].mean() == pytest.approx(share, abs=0.03)


def test_the_split_follows_the_config_not_the_preprocessing(binary_frame):
    from sklearn.model_selection import train_test_split

    plain = train_test_split(np.arange(len(binary_frame)), test_size=0.4, random_state=3)[1]
    for preprocessing in ("standard", "tutorial"):
        random = _prepare(binary_frame, "target", val_fraction=0.4, seed=3, split="random", preprocessing=preprocessing)
        assert not random.stratified and np.array_equal(random.val_rows, np.sort(binary_frame.index[plain]))
        balanced = _prepare(binary_frame, "target", val_fraction=0.4, seed=3, preprocessing=preprocessing)
        assert balanced.stratified and not np.array_equal(balanced.val_rows, random.val_rows)


def test_categories_one_hot_with_missing_and_unseen_values():
    frame = pd.DataFrame({"shade": ["a", "b", None, "a", "b", "a"] * 10, "n": range(60),
                          "y": [0, 1] * 30})
    data = _prepare(frame, "y", val_fraction=0.25)
    pre = data.preprocessor
    assert set(pre.categories_["shade"]) == {"a", "b", ""}
    x = pre.transform(pd.DataFrame({"shade": ["never seen", "a"], "n": [1, np.nan]}))
    assert x.shape == (2, 1 + 4)
    assert x[0, 1] == 1.0 and x[0, 2:].sum() == 0, "unseen goes to the 'other' slot"
    assert np.isfinite(x).all(), "a missing number is imputed"


def test_tutorial_mode_is_codes_and_describe_scaling():
    frame = pd.DataFrame({"sex": ["M", "F", "M", "M"] * 10, "age": np.arange(40.0), "y": [1, 0] * 20})
    data = _prepare(frame, "y", preprocessing="tutorial", val_fraction=0.4)
    train = frame.loc[data.train_rows]
    codes = train["sex"].astype("category").cat.codes
    expected = (codes - codes.mean()) / codes.std()
    np.testing.assert_allclose(data.x_train[:, 1], expected, rtol=1e-5)
    np.testing.assert_allclose(data.x_train[:, 0], (train["age"] - train["age"].mean()) / train["age"].std(),
                               rtol=1e-5)


def test_tutorial_mode_guards_a_zero_std():
    frame = pd.DataFrame({"same": [3.0] * 20, "x": np.arange(20.0), "y": [0, 1] * 10})
    data = _prepare(frame, "y", preprocessing="tutorial")
    assert np.isfinite(data.x_train).all()


def test_missing_targets_are_dropped_and_counted(binary_frame):
    frame = binary_frame.astype({"target": "float"})
    frame.loc[:9, "target"] = np.nan
    data = _prepare(frame, "target")
    assert data.dropped_rows == 10
    assert any("10 row(s) with no value in 'target'" in w for w in data.warnings)
    assert len(data.y_train) + len(data.y_val) == len(frame) - 10


def test_rare_class_falls_back_to_a_random_split_with_a_warning(binary_frame):
    frame = binary_frame.astype({"target": "str"})
    frame.loc[0, "target"] = "rare"
    schema = inspect_frame(frame, target="target").with_task("multiclass")
    data = prepare(frame, schema, TrainConfig())
    assert any("too few rows" in w for w in data.warnings)


def test_single_class_and_too_few_rows_are_refused():
    with pytest.raises(TapeError, match="only one value"):
        _prepare(pd.DataFrame({"x": range(10), "y": ["a"] * 10}), "y")
    with pytest.raises(TapeError, match="at least 4"):
        _prepare(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), "y")


def test_regression_on_text_is_refused():
    frame = pd.DataFrame({"x": range(30), "y": ["cat", "dog", "eel"] * 10})
    with pytest.raises(TapeError):
        prepare(frame, inspect_frame(frame, target="y").with_task("regression"), TrainConfig())
