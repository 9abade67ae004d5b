"""What the network learned, on tables with known answers: XOR's four quadrants, one text column carrying the signal,
a hidden picture that does not flip, and one tape step that changes nothing but explains everything."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_selection import f_classif
from sklearn.inspection import partial_dependence

import tapeapp
from helpers.tables import make_dates, make_multiclass, make_regression
from tapeapp.explain import insight
from tapeapp.explain import tape_step as explain
from tapeapp.explain.estimator import rows_estimator
from tapeapp.report import charts


def _xor(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    return pd.DataFrame({"a": a, "b": b, "noise_1": rng.normal(size=n), "noise_2": rng.uniform(size=n),
                         "xor": ((a > 0) != (b > 0)).astype(int)})


def _train(frame: pd.DataFrame, target: str, **knobs) -> tapeapp.Run:
    schema = tapeapp.inspect_frame(frame, target=target)  # every epoch trained and the last kept, unless told
    return tapeapp.start_run(frame, schema, tapeapp.TrainConfig(**{"patience": 0, **knobs})).fit()


@pytest.fixture(scope="module")
def xor_run() -> tapeapp.Run:
    return _train(_xor(), "xor", hidden=(32, 32), optimizer="adam", learning_rate=0.01, epochs=40)


def test_the_xor_map_shows_four_quadrants(xor_run):
    assert xor_run.history[-1].validation["accuracy"] > 0.9
    grid = tapeapp.decision_map(xor_run, "a", "b", resolution=20)
    assert list(grid.columns) == ["x", "y", "value"] and len(grid) == 400
    assert grid["x"].min() == pytest.approx(xor_run.prepared.preprocessor.range_["a"][0])
    clear = (grid["x"].abs() > 0.2) & (grid["y"].abs() > 0.2)  # away from the boundaries
    same = grid[clear & ((grid["x"] > 0) == (grid["y"] > 0))]
    differ = grid[clear & ((grid["x"] > 0) != (grid["y"] > 0))]
    assert same["value"].mean() < 0.25, "same-sign quadrants must read class 0"
    assert differ["value"].mean() > 0.75, "opposite-sign quadrants must read class 1"


def test_the_maps_default_axes_rank_the_signal_first_without_warnings(monkeypatch):
    """Constant inputs are left out of scikit-learn's F test rather than its warning silenced: silencing warnings
    is process-wide and not thread-safe, and sessions train in threads."""
    seen = []

    def f_test(x, y):
        seen.append(int((np.ptp(x, axis=0) == 0).sum()))
        return f_classif(x, y)

    monkeypatch.setattr(insight, "f_classif", f_test)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"noise": rng.normal(size=400), "signal": rng.normal(size=400),
                          "group": rng.choice(["a", "b", "c"], 400)})  # its 'other' slot is a constant input
    frame["y"] = (frame["signal"] > 0).astype(int)
    run = _train(frame, "y", epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        order = insight.useful_columns(run)
    assert order == ["signal", "noise", "group"]
    assert seen == [0], "no constant input reaches the F test"


def test_the_map_is_scikit_learns_two_way_partial_dependence(xor_run):
    rows, resolution = 12, 4
    grid = tapeapp.decision_map(xor_run, "b", "noise_1", resolution=resolution, rows=rows)
    base = xor_run.prepared.raw_val.iloc[insight.validation_positions(xor_run, rows)]
    gx, gy = insight.grid_values(xor_run, "b", resolution), insight.grid_values(xor_run, "noise_1", resolution)
    table = pd.concat([base, base.iloc[[0] * len(gx)].assign(b=gx), base.iloc[[0] * len(gy)].assign(noise_1=gy)])
    estimator = rows_estimator(xor_run, table)
    columns = list(estimator.columns)
    jx, jy = columns.index("b"), columns.index("noise_1")
    expected = partial_dependence(
        estimator, estimator.identity(rows), features=[jx, jy], categorical_features=[True] * len(columns),
        custom_values={jx: rows + np.arange(len(gx)), jy: rows + len(gx) + np.arange(len(gy))}, kind="average")
    np.testing.assert_allclose(grid["value"].to_numpy(), expected["average"][0].reshape(-1), rtol=1e-5, atol=1e-6)


def test_importance_ranks_the_xor_columns_first_and_noise_near_zero(xor_run):
    frame = tapeapp.importance(xor_run, repeats=5)
    assert list(frame.columns) == ["column", "importance", "std"]
    assert set(frame["column"][:2]) == {"a", "b"}
    assert frame.set_index("column").loc[["a", "b"], "importance"].min() > 0.2
    assert frame.set_index("column").loc[["noise_1", "noise_2"], "importance"].abs().max() < 0.03
    assert (frame["importance"].diff().dropna() <= 0).all(), "sorted, most important first"


def test_a_text_column_that_carries_the_signal_is_first_and_reported_once():
    rng = np.random.default_rng(3)
    n = 400
    colour = rng.choice(["red", "green", "blue", "grey"], n)
    frame = pd.DataFrame({"colour": colour, "size": rng.normal(size=n), "shop": rng.choice(["a", "b", "c"], n),
                          "bought": np.where(np.isin(colour, ["red", "blue"]), "yes", "no")})
    run = _train(frame, "bought", epochs=15)
    ranked = tapeapp.importance(run, repeats=3)
    assert ranked["column"].tolist()[0] == "colour"
    assert sorted(ranked["column"]) == ["colour", "shop", "size"], "one row per raw column, one-hot blocks once"
    assert ranked["importance"].iloc[0] > 0.3


def test_the_hidden_picture_is_aligned_from_one_epoch_to_the_next():
    frame = make_multiclass(n=300)
    schema = tapeapp.inspect_frame(frame, target="species")
    run = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(epochs=12, learning_rate=0.01, hidden=(16, 8)))
    pictures, raw = [], []
    for update in run.epochs():
        if update.epoch in (6, 7):
            pictures.append(tapeapp.hidden_map(run, rows=50))
            raw.append(insight._project(insight.hidden_values(run, insight.validation_positions(run, 50, 2))))
    before, after = (p[["x", "y"]].to_numpy() for p in pictures)
    assert list(pictures[0].columns) == ["x", "y", "label", "correct"] and len(before) == 50
    assert set(pictures[0]["label"]) <= {"alpha", "beta", "gamma"}
    for axis in range(2):  # each aligned axis keeps its direction: no flip between the two epochs
        assert np.corrcoef(before[:, axis], after[:, axis])[0, 1] > 0.8
    flips = [np.diag(signs) for signs in ([1, 1], [-1, 1], [1, -1], [-1, -1])]
    unaligned = [np.linalg.norm(raw[1] @ flip - before) for flip in flips]
    assert np.linalg.norm(after - before) <= min(unaligned) + 1e-9, "at least as close as any flip of plain PCA"
    spec = charts.hidden_map_chart(pictures[1], run.task, run.target, 8,
                                   run.prepared.target_encoder.classes_).to_dict()  # the same picture from Python
    assert spec["title"]["text"] == "Inside the last hidden layer" and len(spec["datasets"]["hidden_rows"]) == 50


def test_explain_step_changes_nothing_and_its_update_is_the_optimizers():
    frame = make_regression(n=120)
    run = _train(frame, "price", epochs=3, optimizer="sgd", momentum=0.0, learning_rate=0.05)
    weights = [w.copy() for w in run.model.get_weights()]
    step = tapeapp.explain_step(run, rows=16)
    for before, after in zip(weights, run.model.get_weights()):
        np.testing.assert_array_equal(before, after)
    ex = step.example
    assert ex["new_value"] - ex["value"] == pytest.approx(-0.05 * ex["gradient"], rel=1e-4, abs=1e-7)
    assert step.update_norms == pytest.approx({k: 0.05 * v for k, v in step.grad_norms.items()}, rel=1e-4)
    assert list(step.grad_norms) == ["hidden_1", "hidden_2", "output"] and step.rows == 16
    assert "tape.gradient" in step.source and "apply_gradients" in step.source
    assert step.learning_rate == pytest.approx(0.05) and step.loss_after < step.loss
    assert [title for title, _ in step.story()] == ["Forward pass", "Loss", "tape.gradient", "apply_gradients",
                                                     "What changed"]


def test_explain_step_continues_from_the_runs_own_optimizer_state(xor_run):
    step = tapeapp.explain_step(xor_run, rows=8)
    assert step.optimizer == "adam" and np.isfinite(step.loss) and np.isfinite(step.loss_after)
    assert str(step.first_row["target"]) in {"0", "1"} and 0 <= step.first_row["prediction"] <= 1


def test_the_map_for_several_classes_and_for_a_number():
    run = _train(make_multiclass(n=150), "species", epochs=4)
    grid = tapeapp.decision_map(run, "x1", "x2", resolution=6)
    assert list(grid.columns) == ["x", "y", "value", "confidence"]
    assert set(grid["value"]) <= {"alpha", "beta", "gamma"} and grid["confidence"].between(1 / 3, 1).all()
    regression = _train(make_regression(n=150), "price", epochs=4)
    grid = tapeapp.decision_map(regression, "size", "area", resolution=5)
    assert list(grid["y"].unique()) == ["north", "south"], "a text axis has one line per category"
    assert grid["value"].between(10_000, 400_000).all(), "predictions in the target's own units"
    spec = charts.decision_map_chart(grid, insight.map_points(regression, "size", "area"), "size", "area",
                                     "regression", "price", y_kind="text").to_dict()
    assert spec["title"]["text"] == "Decision map" and len(spec["datasets"]["decision_cells"]) == len(grid)
    with pytest.raises(tapeapp.TapeError, match="two different columns"):
        tapeapp.decision_map(regression, "size", "size")
    with pytest.raises(tapeapp.TapeError, match="not one of the columns"):
        tapeapp.decision_map(regression, "size", "price")


def test_a_date_axis_runs_through_the_training_dates_and_the_season_shows():
    run = _train(make_dates(400), "season", epochs=40, learning_rate=0.01, hidden=(32, 32))
    grid = tapeapp.decision_map(run, "when", "noise", resolution=12)
    assert pd.api.types.is_datetime64_any_dtype(grid["x"]) and grid["x"].min().year == 2019
    assert grid.groupby(grid["x"].dt.month)["value"].agg(lambda v: v.mode()[0]).loc[[7, 8]].eq("summer").all()
    dots = insight.map_points(run, "when", "noise")
    assert pd.api.types.is_datetime64_any_dtype(dots["x"]) and dots["x"].isna().sum() <= 2  # missing, garbled
    spec = charts.decision_map_chart(grid, dots, "when", "noise", "multiclass", "season",
                                     run.prepared.target_encoder.classes_, x_kind="date").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["type"] == "temporal"
    assert tapeapp.importance(run, repeats=2)["column"].iloc[0] == "when"
    names = explain._input_names(run)
    assert "when: year" in names and "when: day of week (cosine)" in names and all(names)
    assert tapeapp.explain_step(run).example["input"] in names


def test_views_of_a_huge_network_use_fewer_rows_to_stay_about_a_second():
    """6 x 1024 neurons cost ~10 million operations a row: the 40 x 40 map at 60 rows a point would take a minute."""
    from helpers.tables import make_binary
    from tapeapp.explain.insight import VIEW_FLOPS, affordable_rows

    frame = make_binary()
    schema = tapeapp.inspect_frame(frame, target="target")
    small = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(epochs=0))
    huge = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(epochs=0, hidden=(1024,) * 6))
    assert affordable_rows(small, 40 * 40, 60) == 60
    rows = affordable_rows(huge, 40 * 40, 60)
    weights = sum(int(np.prod(v.shape)) for v in huge.model.trainable_variables)
    assert 1 <= rows < 60 and rows * 40 * 40 * 2 * weights <= VIEW_FLOPS or rows == 1
    assert affordable_rows(huge, 5 * 4, 2_000, floor=100) == 100
