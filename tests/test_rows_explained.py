"""Why did it say that (issue 21): the rows behind every number, one row taken apart, where the model is weak.

Shapley values are checked against an independent brute force that builds every mixed row with pandas and asks
``Run.predict``; the rows behind the numbers against ``evaluate``'s own counts.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math

import numpy as np
import pandas as pd
import pytest

import tapeapp
from helpers.tables import make_binary, make_dates, make_multiclass, make_regression
from tapeapp.explain import contributions, shapley
from tapeapp.judge import cases
from tapeapp.keep import explain_files
from tapeapp.keep.export import save_run


def _train(frame: pd.DataFrame, target: str, **knobs) -> tapeapp.Run:
    schema = tapeapp.inspect_frame(frame, target=target)  # every epoch trained and the last kept, unless told
    return tapeapp.start_run(frame, schema, tapeapp.TrainConfig(**{"patience": 0, **knobs})).fit()


def _xor(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    return pd.DataFrame({"x1": x1, "x2": x2, "noise": rng.normal(size=n), "sign": np.sign(x1 * x2).astype(int)})


def _wide(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Eight input columns (seven numbers, one text): more than the exact estimator takes."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"n{j}": rng.normal(size=n) for j in range(7)})
    frame["kind"] = rng.choice(["a", "b", "c"], n)
    score = frame["n0"] * frame["n1"] + frame["n2"] - 0.5 * frame["n3"] + (frame["kind"] == "a") + rng.normal(0, .3, n)
    frame["y"] = (score > 0.3).astype(int)
    return frame


@pytest.fixture(scope="module")
def xor_run():
    return _train(_xor(), "sign", hidden=(32, 32), optimizer="adam", learning_rate=0.01, epochs=40)


@pytest.fixture(scope="module")
def runs():
    """Small runs of every task, with a text column (binary, regression) and a date column (dates)."""
    return {
        "binary": (make_binary(), _train(make_binary(), "target", epochs=8)),
        "multiclass": (make_multiclass(), _train(make_multiclass(), "species", epochs=8)),
        "regression": (make_regression(), _train(make_regression(), "price", epochs=8)),
        "dates": (make_dates(), _train(make_dates(), "season", epochs=8)),
    }


def _output(run: tapeapp.Run, rows: pd.DataFrame, explained: object = None) -> np.ndarray:
    """The explained number of each row from ``Run.predict`` alone: P(second class), P(a class), or the value."""
    predicted = run.predict(rows)
    if run.task == "regression":
        return predicted[f"predicted_{run.target}"].to_numpy(dtype="float64")
    chosen = run.prepared.target_encoder.classes_[1] if explained is None else explained
    return predicted[f"probability_{chosen}"].to_numpy(dtype="float64")


def _brute_force(run: tapeapp.Run, row: pd.DataFrame, background: pd.DataFrame, explained: object = None) -> dict:
    """Exact interventional Shapley values by the textbook formula, every mixed row built in pandas."""
    columns = list(run.prepared.features)
    k, n = len(columns), len(background)
    subsets = [s for r in range(k + 1) for s in itertools.combinations(range(k), r)]
    mixed = []
    for subset in subsets:
        rows = background[columns].reset_index(drop=True).copy()
        for j in subset:
            rows[columns[j]] = [row[columns[j]].iloc[0]] * n
        mixed.append(rows)
    values = _output(run, pd.concat(mixed, ignore_index=True), explained).reshape(len(subsets), n).mean(axis=1)
    value = dict(zip(subsets, values))
    phi = {}
    for j, column in enumerate(columns):
        others = [i for i in range(k) if i != j]
        phi[column] = sum(math.factorial(r) * math.factorial(k - r - 1) / math.factorial(k)
                          * (value[tuple(sorted(s + (j,)))] - value[s])
                          for r in range(k) for s in itertools.combinations(others, r))
    return phi


def _by_column(explained) -> dict:
    return dict(zip(explained.contributions["column"], explained.contributions["contribution"]))


# ------------------------------------------------------------------------------------------------- one row apart

def test_xor_columns_carry_the_answer_and_the_noise_column_does_not(xor_run):
    assert xor_run.history[-1].validation["accuracy"] > 0.9
    background = contributions.validation_background(xor_run)
    for x1, x2 in [(0.8, 0.8), (-0.8, 0.8), (0.8, -0.8), (-0.8, -0.8)]:
        explained = contributions.explain_row(xor_run, {"x1": x1, "x2": x2, "noise": 0.0}, background)
        share = _by_column(explained)
        assert explained.exact and explained.explained == "probability of '1'"
        assert explained.prediction == (1 if x1 * x2 > 0 else -1)
        direction = 1 if x1 * x2 > 0 else -1  # both columns push towards the corner's answer
        assert direction * share["x1"] > 0.15 and direction * share["x2"] > 0.15, share
        assert abs(share["noise"]) < 0.05, share


@pytest.mark.parametrize("name", ["binary", "multiclass", "regression", "dates"])
def test_base_plus_contributions_is_the_rows_output_and_run_predicts_the_same(runs, name):
    _, run = runs[name]
    pre = run.prepared.preprocessor
    for position in (0, 7):
        row = run.prepared.raw_val.iloc[[position]]
        explained = contributions.explain_row(run, row)
        assert list(explained.contributions.columns) == ["column", "value", "contribution"]
        assert sorted(explained.contributions["column"]) == sorted(pre.columns)  # a text or date column once
        total = explained.base + explained.contributions["contribution"].sum()
        assert total == pytest.approx(explained.output, abs=1e-3)
        predicted = run.predict(row)
        assert explained.prediction == predicted[f"predicted_{run.target}"].iloc[0]
        if run.task == "regression":
            assert explained.probabilities is None
            assert explained.output == pytest.approx(predicted[f"predicted_{run.target}"].iloc[0], rel=1e-6)
        else:
            assert explained.output == pytest.approx(predicted[f"probability_{explained.explained_class}"].iloc[0],
                                                     abs=1e-6)
            assert sum(explained.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        if run.task == "multiclass":
            assert explained.explained_class == explained.prediction  # the predicted class's probability
        background = contributions.validation_background(run)
        assert explained.base == pytest.approx(_output(run, background, explained.explained_class).mean(), abs=1e-5)


@pytest.mark.parametrize("name", ["binary", "regression", "dates"])
def test_few_columns_give_exact_shapley_values(runs, name):
    _, run = runs[name]
    background = contributions.validation_background(run, rows=15, seed=5)
    row = run.prepared.raw_val.iloc[[3]]
    explained = contributions.explain_row(run, row, background)
    expected = _brute_force(run, row, background)
    got = _by_column(explained)
    scale = 1.0 if run.task != "regression" else float(np.std(run.prepared.raw_val[run.target]))
    assert explained.exact
    for column, value in expected.items():
        assert got[column] == pytest.approx(value, abs=0.01 * scale), column


def test_the_other_of_two_classes_and_any_class_of_several(runs):
    _, run = runs["binary"]
    row = run.prepared.raw_val.iloc[[2]]
    second = contributions.explain_row(run, row)
    first = contributions.explain_row(run, row, explain_class="0")  # as the confusion matrix writes it
    assert first.explained_class == 0 and first.output == pytest.approx(1 - second.output, abs=1e-6)
    assert first.base == pytest.approx(1 - second.base)
    assert _by_column(first)["dose"] == pytest.approx(-_by_column(second)["dose"])
    _, run = runs["multiclass"]
    row = run.prepared.raw_val.iloc[[2]]
    for label in run.prepared.target_encoder.classes_:
        explained = contributions.explain_row(run, row, explain_class=label)
        assert explained.output == pytest.approx(_output(run, row, label)[0], abs=1e-6)
        assert explained.base + explained.contributions["contribution"].sum() == pytest.approx(explained.output)
    with pytest.raises(tapeapp.TapeError, match="'delta' is not one of the classes of 'species'"):
        contributions.explain_row(run, row, explain_class="delta")


@pytest.fixture(scope="module")
def wide_run():
    return _train(_wide(), "y", epochs=15, optimizer="adam", learning_rate=0.01)


def test_more_than_six_columns_are_sampled_close_to_exact_and_still_add_up(wide_run):
    run = wide_run
    background = contributions.validation_background(run, rows=12, seed=1)
    for position in (0, 5):
        row = run.prepared.raw_val.iloc[[position]]
        explained = contributions.explain_row(run, row, background)
        assert not explained.exact and explained.background_rows == 12
        assert explained.base + explained.contributions["contribution"].sum() == pytest.approx(explained.output,
                                                                                               abs=1e-6)
        expected = _brute_force(run, row, background)
        got = _by_column(explained)
        spread = max(abs(v) for v in expected.values())
        assert spread > 0.05, "the row must have something to explain"
        for column, value in expected.items():
            assert got[column] == pytest.approx(value, abs=0.01), column


def test_the_estimators_agree_with_the_formula_on_a_plain_function():
    """The estimator alone, on a function of 8 numbers with interactions: exact when asked, sampled by default."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(8, 2))

    def forward(parts):
        x = parts[0]
        return np.column_stack([np.tanh(x @ weights[:, 0]) + x[:, 0] * x[:, 1], (x[:, 2] > 0) * x[:, 3]])

    row, background = (rng.normal(size=(1, 8)),), (rng.normal(size=(25, 8)),)
    owners = [np.arange(8)]

    def value(subset):
        take = np.zeros((25, 8), bool)
        take[:, list(subset)] = True
        return forward((np.where(take, row[0], background[0]),)).mean(axis=0)

    expected = np.zeros((8, 2))
    for j in range(8):
        others = [i for i in range(8) if i != j]
        for r in range(8):
            for s in itertools.combinations(others, r):
                expected[j] += (math.factorial(r) * math.factorial(7 - r) / math.factorial(8)
                                * (value(s + (j,)) - value(s)))
    exact = shapley.shapley_values(forward, row, background, owners, exact_columns=8)
    sampled = shapley.shapley_values(forward, row, background, owners)
    np.testing.assert_allclose(exact.values, expected, atol=1e-9)
    assert exact.exact and not sampled.exact and sampled.orders >= 2
    np.testing.assert_allclose(sampled.values, expected, atol=0.05 * np.abs(expected).max())
    for result in (exact, sampled):
        np.testing.assert_allclose(result.base + result.values.sum(axis=0), forward(row)[0], atol=1e-9)


def test_an_edited_row_is_predicted_as_run_predict_does(runs):
    _, run = runs["binary"]
    row = contributions.typical_row(run)
    assert set(row) == {"age", "dose", "color"} and isinstance(row["age"], int)
    ranges = {r.column: r for r in contributions.column_ranges(run)}
    assert ranges["color"].kind == "text" and set(ranges["color"].categories) == {"red", "green", "blue"}
    assert ranges["age"].whole and ranges["age"].low <= row["age"] <= ranges["age"].high
    for change in ({}, {"color": "blue", "age": ranges["age"].high}, {"dose": -1.25, "color": "red"},
                   {"color": None, "age": np.nan}):
        edited = {**row, **change}
        explained = contributions.explain_row(run, edited)
        predicted = run.predict(pd.DataFrame([edited]))
        assert explained.prediction == predicted["predicted_target"].iloc[0]
        assert explained.output == pytest.approx(predicted["probability_1"].iloc[0], abs=1e-6)
    _, run = runs["dates"]
    row = contributions.typical_row(run)
    assert isinstance(row["when"], pd.Timestamp)
    assert contributions.column_ranges(run)[-1].kind == "date"
    for when in (row["when"], dt.date(2020, 7, 14), pd.Timestamp("2021-12-30")):
        explained = contributions.explain_row(run, {**row, "when": when})
        written = pd.DataFrame({"when": [pd.Timestamp(when).strftime("%d/%m/%Y")], "noise": [row["noise"]]})
        predicted = run.predict(written)  # the same date written as the training file writes dates
        assert explained.prediction == predicted["predicted_season"].iloc[0]
        assert explained.output == pytest.approx(
            predicted[f"probability_{explained.explained_class}"].iloc[0], abs=1e-6)


def test_a_row_needs_every_column_and_exactly_one_row(runs):
    _, run = runs["binary"]
    with pytest.raises(tapeapp.TapeError, match="These columns are missing: 'dose'"):
        contributions.explain_row(run, {"age": 50, "color": "red"})
    with pytest.raises(tapeapp.TapeError, match="exactly one row"):
        contributions.explain_row(run, run.prepared.raw_val.head(2))


def test_the_background_is_training_rows_of_the_table_the_run_started_from(runs):
    frame, run = runs["binary"]
    background = contributions.background_rows(run, frame, rows=30)
    assert list(background.columns) == list(run.prepared.features) and len(background) == 30
    training = frame.iloc[run.prepared.train_positions]
    joined = background.merge(training, on=list(run.prepared.features), how="left", indicator=True)
    assert (joined["_merge"] == "both").all()
    assert background.equals(contributions.background_rows(run, frame, rows=30))  # seeded
    with pytest.raises(tapeapp.TapeError, match="not the table the model was trained on"):
        contributions.background_rows(run, frame.head(20))
    first = contributions.explainer(run, background)
    assert contributions.explainer(run, background).encoded[0] is first.encoded[0]  # transformed once per background
    other = contributions.explainer(run, background.head(10))
    assert len(other.background) == 10 and other.encoded[0] is not first.encoded[0]


# ------------------------------------------------------------------------------------------------- the rows behind

@pytest.mark.parametrize("name,threshold", [("binary", 0.5), ("binary", 0.3), ("multiclass", 0.5)])
def test_confusion_rows_are_exactly_the_rows_of_each_cell(runs, name, threshold):
    _, run = runs[name]
    target = run.target
    confusion = tapeapp.evaluate(run, threshold).confusion
    listed = []
    for _, cell in confusion.iterrows():
        rows = cases.confusion_rows(run, cell["actual"], cell["predicted"], threshold)
        assert len(rows) == cell["count"]
        assert (rows[target].astype(str) == cell["actual"]).all()
        assert (rows[f"predicted_{target}"].astype(str) == cell["predicted"]).all()
        assert rows["probability"].is_monotonic_decreasing
        listed += list(rows["row"])
    assert sorted(listed) == sorted(run.prepared.val_rows)
    with pytest.raises(tapeapp.TapeError, match="not one of the classes"):
        cases.confusion_rows(run, "nope", cell["predicted"])


def test_mistakes_are_the_most_confidently_wrong_rows_first(runs):
    _, run = runs["multiclass"]
    every = cases.mistakes(run, n=10_000)
    wrong = every[every["species"] != every["predicted_species"]]
    assert len(wrong) == len(every) > 5
    assert every["probability"].is_monotonic_decreasing
    predictions = run.predict(run.prepared.raw_val)
    for _, row in every.head(5).iterrows():
        position = list(run.prepared.val_rows).index(row["row"])
        assert row["probability"] == pytest.approx(
            predictions[f"probability_{row['predicted_species']}"].iloc[position], abs=1e-6)
    top = cases.mistakes(run, n=3)
    assert list(top["row"]) == list(every["row"].head(3))
    assert list(top.columns) == ["row", "x1", "x2", "noise", "species", "predicted_species", "probability"]
    _, run = runs["regression"]
    worst = cases.mistakes(run, n=7)
    assert len(worst) == 7 and worst["error"].abs().is_monotonic_decreasing
    np.testing.assert_allclose(worst["error"], worst["predicted_price"] - worst["price"], rtol=1e-4)
    points = tapeapp.evaluate(run).points
    assert worst["error"].abs().iloc[0] == pytest.approx(points["residual"].abs().max())


def test_row_tables_keep_input_columns_named_like_their_own():
    frame = make_binary(120).rename(columns={"age": "row", "dose": "probability"})
    run = _train(frame, "target", epochs=1)
    table = cases.mistakes(run, n=3)
    assert list(table.columns) == ["row_", "row", "probability", "color", "target", "predicted_target",
                                   "probability_"]
    assert set(table["row"]) <= set(frame["row"]) and set(table["row_"]) <= set(run.prepared.val_rows)


def test_region_rows_are_the_points_inside_the_rectangle(runs):
    _, run = runs["regression"]
    points = tapeapp.evaluate(run).points
    low, high = points["predicted"].quantile([0.2, 0.8])
    top = points["actual"].median()
    rows = cases.region_rows(run, predicted=(high, low), actual=(None, top))  # dragged right to left
    inside = points[points["predicted"].between(low, high) & (points["actual"] <= top)]
    assert len(rows) == len(inside) > 0
    assert rows["predicted_price"].between(low, high).all() and rows["error"].abs().is_monotonic_decreasing
    with pytest.raises(tapeapp.TapeError, match="predicts a quantity"):
        cases.region_rows(runs["binary"][1])
    with pytest.raises(tapeapp.TapeError, match="no confusion matrix"):
        cases.confusion_rows(run, 1, 2)


# ------------------------------------------------------------------------------------------------- weak groups

def test_slices_add_up_to_the_validation_rows_and_the_weakest_group_comes_first(runs):
    _, run = runs["binary"]
    n = len(run.prepared.y_val)
    predicted = run.predict(run.prepared.raw_val)["predicted_target"].to_numpy()
    right = pd.Series(predicted == run.prepared.raw_val["target"].to_numpy())
    for column in ("age", "dose", "color"):
        table = cases.slices(run, column)
        assert list(table.columns) == ["group", "rows", "score", "too_few"]
        assert table["rows"].sum() == n
        judged = table[~table["too_few"]]
        assert judged["score"].is_monotonic_increasing and (table["too_few"] == (table["rows"] < 20)).all()
        assert list(table["too_few"]) == sorted(table["too_few"])  # groups too small to judge come last
    colors = cases.slices(run, "color", min_rows=1).set_index("group")
    for color in ("red", "green", "blue"):
        mask = (run.prepared.raw_val["color"] == color).to_numpy()
        assert colors.loc[color, "rows"] == mask.sum()
        assert colors.loc[color, "score"] == pytest.approx(right[mask].mean())
    ages = cases.slices(run, "age", bins=4, min_rows=1)
    assert len(ages) == 4 and any(g.startswith("up to") for g in ages["group"])
    every = cases.weakest_slices(run, top=None)
    assert list(every.columns) == ["column", "group", "rows", "score", "too_few"]
    assert every.groupby("column")["rows"].sum().eq(n).all()
    assert every["score"].iloc[0] == cases.slices(run, every["column"].iloc[0])["score"].iloc[0] or \
        every["too_few"].iloc[0]


def test_slices_of_quantities_dates_and_missing_values(runs):
    _, run = runs["regression"]
    table = cases.slices(run, "area", min_rows=1)
    assert table["score"].is_monotonic_decreasing  # RMSE: the largest error is the weakest group
    points = tapeapp.evaluate(run).points
    north = (run.prepared.raw_val["area"] == "north").to_numpy()
    expected = math.sqrt((points["residual"][north] ** 2).mean())
    assert table.set_index("group").loc["north", "score"] == pytest.approx(expected, rel=1e-4)
    assert set(cases.slices(run, "rooms")["group"]) <= {"1", "2", "3", "4", "5"}  # few values: one group each
    _, run = runs["dates"]
    table = cases.slices(run, "when", min_rows=1)
    assert table["rows"].sum() == len(run.prepared.y_val)
    assert set(table["group"]) - {"(missing)"} <= {"2019", "2020", "2021"}
    frame = make_binary(200)
    frame.loc[frame.index[::7], "color"] = None
    run = _train(frame, "target", epochs=1)
    groups = cases.slices(run, "color", min_rows=1)
    assert "(missing)" in set(groups["group"]) and groups["rows"].sum() == len(run.prepared.y_val)


# ------------------------------------------------------------------------------------------------- a run folder

def test_a_run_folder_explains_rows_like_the_run(runs, tmp_path):
    frame, run = runs["binary"]
    save_run(run, tmp_path)
    (tmp_path / "background.csv").write_bytes(explain_files.background_csv(run, frame, rows=40))
    rows = frame.head(4).assign(comment="seen in clinic")  # the target is expected; 'comment' is not
    rows.to_csv(tmp_path / "rows.csv", index=False)
    result = explain_files.explain_folder(tmp_path, tmp_path / "rows.csv")
    assert result.rows == 4 and result.notes == ("ignored columns the model does not use: comment",)
    table = pd.read_csv(io.StringIO(result.csv))
    assert list(table.columns) == ["row", "prediction", "class", "probability", "base", "column", "value",
                                   "contribution"]
    assert len(table) == 4 * 3 and list(table["row"].unique()) == [0, 1, 2, 3]
    sums = table.groupby("row").apply(lambda g: g["base"].iloc[0] + g["contribution"].sum() - g["probability"].iloc[0])
    assert sums.abs().max() < 1e-3
    predicted = run.predict(rows)
    assert list(table.groupby("row")["prediction"].first()) == list(predicted["predicted_target"])
    np.testing.assert_allclose(table.groupby("row")["probability"].first(), predicted["probability_1"], atol=1e-5)
    same = contributions.explainer(run, contributions.background_rows(run, frame, rows=40))
    for position in range(4):
        mine = _by_column(same.explain(rows.iloc[[position]]))
        theirs = table[table["row"] == position].set_index("column")["contribution"]
        for column, value in mine.items():
            assert theirs[column] == pytest.approx(value, abs=1e-4)


def test_a_regression_folder_and_one_without_background(runs, tmp_path):
    frame, run = runs["regression"]
    save_run(run, tmp_path)
    frame.drop(columns="price").head(12).to_csv(tmp_path / "rows.csv", index=False)
    result = explain_files.explain_folder(tmp_path / "model.keras", tmp_path / "rows.csv")
    assert "no background.csv" in result.notes[0]
    table = pd.read_csv(io.StringIO(result.csv))
    assert list(table.columns) == ["row", "prediction", "base", "column", "value", "contribution"]
    sums = table.groupby("row").apply(lambda g: g["base"].iloc[0] + g["contribution"].sum() - g["prediction"].iloc[0])
    assert sums.abs().max() < 1e-3
    frame.head(3).to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(tapeapp.TapeError, match="There is no background.csv with the model"):
        explain_files.explain_folder(tmp_path, tmp_path / "few.csv")
    with pytest.raises(tapeapp.TapeError, match="There is no model.keras in"):
        explain_files.explain_folder(tmp_path.parent, tmp_path / "rows.csv")


def test_a_folder_with_dates_reads_its_background_back(runs, tmp_path):
    frame, run = runs["dates"]
    save_run(run, tmp_path)
    (tmp_path / "background.csv").write_bytes(explain_files.background_csv(run, frame))
    frame.head(3).to_csv(tmp_path / "rows.csv", index=False)
    table = pd.read_csv(io.StringIO(explain_files.explain_folder(tmp_path, tmp_path / "rows.csv").csv))
    background = contributions.background_rows(run, frame)
    same = contributions.explainer(run, background)
    for position in range(3):
        explained = same.explain(frame.iloc[[position]])
        mine = table[table["row"] == position]
        assert mine["base"].iloc[0] == pytest.approx(explained.base, abs=1e-5)
        assert mine["probability"].iloc[0] == pytest.approx(explained.output, abs=1e-5)
