"""Column kinds, suggested roles with reasons, target and task guesses, and the user's overrides."""

import numpy as np
import pandas as pd
import pytest

from tapeapp.data.schema import KINDS, TASKS, ColumnInfo, Schema, inspect_frame
from tapeapp.errors import TapeError

RNG = np.random.default_rng(7)


def kind(values, name: str = "x", rows: int | None = None, dtype: str | None = None) -> ColumnInfo:
    """The ColumnInfo of one column inspected next to a plain numeric target."""
    series = pd.Series(values, dtype=dtype)
    frame = pd.DataFrame({name: series, "target": np.arange(len(series)) % 3})
    return inspect_frame(frame, target="target").column(name)


def test_constants():
    assert KINDS == ("numeric", "categorical", "boolean", "identifier", "text", "constant", "date", "empty")
    assert TASKS == ("binary", "multiclass", "regression")


def test_column_info_counts_and_examples():
    info = kind(["b", None, "a", "b", "c", "a"], dtype="str")
    assert (info.kind, info.dtype, info.missing, info.distinct) == ("categorical", "str", 1, 3)
    assert info.examples == ("b", "a", "c")
    assert (info.role, info.reason) == ("feature", "")


@pytest.mark.parametrize(
    "values",
    [
        ["YES", "no", "YES", "no"],
        ["yes", "no", None, "yes"],
        ["True", "false", "True", "false"],
        ["y", "n", "y", "y"],
        ["T", "F", "F", "T"],
        [0, 1, 1, 0],
        [0.0, 1.0, None, 1.0],
        [True, False, True, False],
        [True, None, False, True],
    ],
)
def test_boolean_kind(values):
    assert kind(values[:2] + values).kind == "boolean"


def test_boolean_dtypes():
    assert kind([True, False, None, True], dtype="boolean").kind == "boolean"
    assert kind([True, False, True, True], dtype="bool").kind == "boolean"
    assert kind(["yes", "no", "maybe", "yes"]).kind == "categorical"
    assert kind(["yes", "false", "yes", "yes"]).kind == "categorical"
    assert kind(["yes", "no", "YES", "No"]).kind == "categorical"


def test_dates_as_text_and_datetime():
    iso = pd.date_range("2021-01-01", periods=40, freq="D").strftime("%Y-%m-%d").tolist()
    info = kind(iso)
    assert (info.kind, info.role, info.reason) == (
        "date", "feature",
        "dates written year-month-day (like 2020-12-31): used as time since the first date, year, month and day "
        "of the week",
    )
    assert kind(["03/01/2021", "04/01/2021", "15/02/2021", None] * 5).kind == "date"
    assert kind(["Jan 5, 2021", "Feb 10, 2021", "Mar 3, 2022"] * 3).kind == "date"
    moments = kind(pd.to_datetime(["2021-01-01", "2021-06-01", None, "2022-01-01"]))
    assert (moments.kind, moments.examples) == ("date", ("2021-01-01", "2021-06-01", "2022-01-01"))


def test_numbers_written_as_text_are_not_dates():
    assert kind(["1", "2", "3", "4", "5"] * 3).kind == "categorical"
    assert kind(["2020", "2021", "2022"] * 4).kind == "categorical"


def test_mixed_numbers_and_text_are_categorical():
    info = kind(pd.Series([1, "a", 2.5, "b", 1, "a"], dtype=object))
    assert (info.kind, info.distinct, info.examples) == ("categorical", 4, ("1", "a", "2.5"))


def test_inf_and_huge_values_are_numeric():
    info = kind([np.inf, 1e308, -np.inf, 0.5, 1.5, 2.5])
    assert (info.kind, info.role, info.examples) == ("numeric", "feature", ("inf", "1e+308", "-inf"))


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "int64", "float64"])
def test_numeric_dtypes(dtype):
    info = kind([1, 2, 3, 4, 5, 7, 9, 11], dtype=dtype)
    assert (info.kind, info.dtype) == ("numeric", dtype)


def test_nullable_with_missing_values():
    info = kind(pd.array([1, None, 3, 4, 5], dtype="Int64"))
    assert (info.kind, info.missing, info.distinct) == ("numeric", 1, 4)


def test_category_dtype():
    info = kind(pd.Categorical(["a", "b", "a", "c"]))
    assert (info.kind, info.dtype, info.distinct) == ("categorical", "category", 3)


def test_constant_column():
    info = kind(["same"] * 5 + [None])
    assert (info.kind, info.role, info.reason, info.missing) == ("constant", "ignored", "same value in every row", 1)


def test_all_missing_column():
    info = kind([None, None, None], dtype="float64")
    assert (info.kind, info.role, info.reason, info.distinct, info.examples) == (
        "empty", "ignored", "all values missing", 0, (),
    )


@pytest.mark.parametrize("name", ["id", "ID", "customer_id", "CustomerId", "index", "row"])
def test_numeric_id_column(name):
    info = kind(np.arange(1000, 1100), name=name)
    assert (info.kind, info.role, info.reason) == ("identifier", "ignored", "unique for every row, looks like an ID")


def test_unique_numbers_without_an_id_name_stay_numeric():
    assert kind(np.arange(100), name="year").kind == "numeric"
    assert kind(RNG.permutation(10_000)[:100], name="id").kind == "numeric"


def test_text_id_column():
    info = kind([f"C-{i:04d}" for i in range(30)], name="code")
    assert (info.kind, info.role, info.reason) == ("identifier", "ignored", "unique for every row, looks like an ID")
    assert kind([f"C-{i:04d}" for i in range(20)]).kind == "categorical"


def test_free_text_with_thousands_of_values():
    words = [f"w{i}" for i in range(3000)]
    info = kind(words + words[:1000])
    assert (info.kind, info.role, info.reason) == ("text", "ignored", "free text with 3,000 different values")


def test_long_unique_sentences_are_text_not_ids():
    sentences = [f"customer {i} wrote that the delivery was late again" for i in range(40)]
    info = kind(sentences)
    assert (info.kind, info.reason) == ("text", "long free text (about 50 characters a value)")
    long = kind(["a rather long comment about the product quality"] * 3 + ["another long comment, about the price"] * 3)
    assert (long.kind, long.reason) == ("text", "long free text (about 42 characters a value)")


def test_categorical_with_many_levels_is_a_feature_with_a_warning():
    levels = [f"L{i}" for i in range(1200)]
    frame = pd.DataFrame({"shop": levels * 2 + levels[:200], "sales": RNG.normal(size=2600)})
    schema = inspect_frame(frame)
    assert schema.column("shop").kind == "categorical"
    assert schema.column("shop").role == "feature"
    assert schema.warnings == ("'shop' has 1,200 different values; only the most common ones will be used.",)


def test_to_frame():
    frame = pd.DataFrame({"id": range(30), "colour": ["red", "blue", None] * 10, "y": [0.5, 1.5, 2.5] * 10})
    shown = inspect_frame(frame).to_frame()
    assert list(shown.columns) == ["name", "kind", "missing", "distinct", "examples", "role", "reason"]
    assert shown.to_dict("records") == [
        {"name": "id", "kind": "identifier", "missing": 0, "distinct": 30, "examples": "0, 1, 2",
         "role": "ignored", "reason": "unique for every row, looks like an ID"},
        {"name": "colour", "kind": "categorical", "missing": 10, "distinct": 2, "examples": "red, blue",
         "role": "feature", "reason": ""},
        {"name": "y", "kind": "numeric", "missing": 0, "distinct": 3, "examples": "0.5, 1.5, 2.5",
         "role": "target", "reason": "the column to predict (guessed: its name reads as an outcome)"},
    ]


@pytest.mark.parametrize(
    "name", ["Outcome", "heart_disease", "Heart Disease", "my_label", "SalePriceTarget", "y", "Survived", "class"],
)
def test_target_guessed_from_name(name):
    frame = pd.DataFrame({"a": [1, 2, 3, 4], name: [0, 1, 0, 1], "b": [5, 6, 7, 8]})
    assert inspect_frame(frame).target == name


def test_target_guess_is_last_usable_column():
    frame = pd.DataFrame({
        "size": RNG.normal(size=24),
        "price": RNG.normal(size=24),
        "row_id": range(24),
        "source": ["web"] * 24,
        "empty": [None] * 24,
    })
    schema = inspect_frame(frame)
    assert schema.target == "price"
    assert schema.features == ("size",)


def test_given_target_and_unknown_target():
    frame = pd.DataFrame({"a": [1, 2, 1], "b": ["x", "y", "x"]})
    assert inspect_frame(frame, target="a").target == "a"
    with pytest.raises(TapeError, match=r"There is no column named 'c'; the columns are 'a', 'b'\."):
        inspect_frame(frame, target="c")


def test_binary_task():
    frame = pd.DataFrame({"x": range(20), "churn": ["yes", "no"] * 10})
    schema = inspect_frame(frame)
    assert (schema.target, schema.task) == ("churn", "binary")
    assert schema.task_reason == "2 distinct values: a yes/no question"
    assert schema.warnings == ()


def test_multiclass_task_for_text():
    frame = pd.DataFrame({"x": RNG.normal(size=30), "species": ["a", "b", "c"] * 10})
    schema = inspect_frame(frame)
    assert (schema.task, schema.task_reason) == ("multiclass", "3 distinct values: predicting one of several classes")


def test_regression_task_for_decimals():
    frame = pd.DataFrame({"x": range(50), "price": np.linspace(1.5, 99.5, 50)})
    schema = inspect_frame(frame)
    assert (schema.task, schema.task_reason) == ("regression", "numbers with 50 distinct values: predicting a quantity")


def test_regression_task_for_many_integers():
    frame = pd.DataFrame({"x": RNG.normal(size=60), "count": np.arange(60) % 30})
    assert inspect_frame(frame).task == "regression"


def test_few_integers_are_classes_with_a_hint():
    frame = pd.DataFrame({"x": RNG.normal(size=60), "rating": np.arange(60) % 5 + 1})
    schema = inspect_frame(frame, target="rating")
    assert schema.task == "multiclass"
    assert schema.task_reason == (
        "5 distinct whole numbers: treated as classes; switch to regression if they are amounts"
    )


def test_single_class_target_warns():
    frame = pd.DataFrame({"x": [1, 2, 3], "label": ["a", "a", "a"]})
    schema = inspect_frame(frame)
    assert schema.target == "label"
    assert schema.task_reason == "only one value (a) in every row: there is nothing to predict"
    assert schema.warnings == (
        "'label' has the same value in every row, so no model can be trained; choose another column to predict.",
    )


def test_too_many_text_classes_warns():
    frame = pd.DataFrame({"x": range(900), "label": [f"c{i}" for i in range(300)] * 3})
    schema = inspect_frame(frame)
    assert schema.task == "multiclass"
    assert schema.warnings == (
        "'label' has 300 different values, too many classes to learn well; choose another column to predict.",
    )


def test_missing_target_values_and_few_rows_per_class_warn():
    frame = pd.DataFrame({"x": range(6), "target": ["a", "b", "c", None, "a", "b"]})
    assert inspect_frame(frame).warnings == (
        "1 row has no value in 'target' and will be left out.",
        "'target' has only about 1.7 rows for each of its 3 classes; the model will have little to learn from.",
    )


def test_feature_identical_to_target_is_ignored_with_a_warning():
    frame = pd.DataFrame({"x": RNG.normal(size=40), "copy": ["a", "b"] * 20, "target": ["a", "b"] * 20})
    schema = inspect_frame(frame)
    copy = schema.column("copy")
    assert (copy.role, copy.reason) == ("ignored", "gives the answer away: it matches the column to predict")
    assert schema.warnings == ("'copy' is identical to the target: it gives the answer away, so it is ignored.",)
    assert schema.features == ("x",)


def test_feature_mapping_one_to_one_onto_target_is_ignored():
    frame = pd.DataFrame({
        "code": [2, 0, 1] * 10, "x": RNG.normal(size=30), "species": ["c", "a", "b"] * 10,
    })
    schema = inspect_frame(frame)
    assert schema.column("code").role == "ignored"
    assert schema.warnings == ("'code' matches the target one-to-one: it gives the answer away, so it is ignored.",)


def test_unique_numbers_are_not_mistaken_for_a_leak():
    frame = pd.DataFrame({"area": RNG.normal(size=50), "price": RNG.normal(size=50)})
    schema = inspect_frame(frame)
    assert schema.features == ("area",)
    assert schema.warnings == ()


def test_exact_copy_of_a_regression_target_is_a_leak():
    price = RNG.normal(size=50)
    schema = inspect_frame(pd.DataFrame({"x": RNG.normal(size=50), "again": price, "price": price}))
    assert schema.column("again").role == "ignored"


def test_handles_pandas_dtypes_together():
    frame = pd.DataFrame({
        "s": pd.Series(["a", "b", None, "a"], dtype="str"),
        "o": pd.Series(["a", 1, None, 2.5], dtype=object),
        "c": pd.Categorical(["x", "y", "x", None]),
        "b": [True, False, True, True],
        "i": pd.array([1, 2, None, 4], dtype="Int64"),
        "f": pd.array([0.5, None, 1.5, 2.5], dtype="Float64"),
        "d": pd.to_datetime(["2020-01-01", None, "2020-03-01", "2020-04-01"]),
        "t": [1.5, 2.5, 3.5, 4.5],
    })
    schema = inspect_frame(frame)
    assert [column.kind for column in schema.columns] == [
        "categorical", "categorical", "categorical", "boolean", "numeric", "numeric", "date", "numeric",
    ]
    assert [column.missing for column in schema.columns] == [1, 1, 1, 0, 1, 1, 1, 0]
    assert schema.target == "s"  # the first column, and a few classes: a statistics table's response


def test_empty_frames_are_refused():
    with pytest.raises(TapeError, match="no columns"):
        inspect_frame(pd.DataFrame())
    with pytest.raises(TapeError, match="no rows"):
        inspect_frame(pd.DataFrame({"a": []}))


def schema_for_changes() -> Schema:
    return inspect_frame(pd.DataFrame({
        "id": range(40),
        "age": RNG.integers(20, 80, 40),
        "income": RNG.normal(50_000, 5_000, 40),
        "city": ["Oslo", "Rome", "Lima", "Pune"] * 10,
        "smoker": ["yes", "no"] * 20,
        "note": ["n"] * 40,
    }), target="smoker")


def test_with_target_recomputes_task_and_roles():
    schema = schema_for_changes()
    assert (schema.target, schema.task, schema.features) == ("smoker", "binary", ("age", "income", "city"))
    moved = schema.with_target("income")
    assert (moved.target, moved.task) == ("income", "regression")
    assert moved.features == ("age", "city", "smoker")
    assert moved.column("smoker").reason == ""
    assert moved.with_target("city").task == "multiclass"
    assert schema.with_target("smoker") is schema


def test_with_target_old_target_ignored_for_a_reason_stays_ignored():
    schema = schema_for_changes().with_target("id")
    assert schema.column("id").role == "target"
    back = schema.with_target("smoker")
    assert (back.column("id").role, back.column("id").reason) == ("ignored", "unique for every row, looks like an ID")


def test_with_target_unknown_column():
    with pytest.raises(TapeError, match="There is no column named 'Age'"):
        schema_for_changes().with_target("Age")


def test_with_task_overrides_and_refuses_impossible_tasks():
    schema = schema_for_changes()
    as_classes = schema.with_target("age").with_task("multiclass")
    assert as_classes.task == "multiclass"
    assert as_classes.task_reason == "chosen by you (predicting one of several classes)"
    assert schema.with_target("age").task == "regression"
    with pytest.raises(TapeError, match=r"'city' holds categories, not numbers.*choose binary or multiclass"):
        schema.with_target("city").with_task("regression")
    with pytest.raises(TapeError, match="'city' has 4 different values, so it is not a yes/no question"):
        schema.with_target("city").with_task("binary")
    with pytest.raises(TapeError, match="'note' has the same value in every row, so there is nothing to predict"):
        schema.with_target("note").with_task("multiclass")
    with pytest.raises(TapeError, match="'sideways' is not a task"):
        schema.with_task("sideways")


def test_task_given_to_inspect_frame_is_checked():
    frame = pd.DataFrame({"x": range(10), "y": ["a", "b"] * 5})
    assert inspect_frame(frame, task="multiclass").task == "multiclass"
    with pytest.raises(TapeError, match="holds categories"):
        inspect_frame(frame, task="regression")


def test_with_roles_applies_user_choices():
    schema = schema_for_changes().with_roles({"income": "ignored", "note": "feature"})
    assert schema.features == ("age", "city", "note")
    assert (schema.column("income").role, schema.column("income").reason) == ("ignored", "chosen by you")
    moved = schema.with_target("age")
    assert moved.column("income").role == "ignored"
    assert moved.features == ("city", "smoker", "note")


def test_with_roles_with_every_current_role_changes_nothing():
    schema = schema_for_changes()
    same = schema.with_roles({column.name: column.role for column in schema.columns})
    assert same == schema
    assert same.column("id").reason == "unique for every row, looks like an ID"
    back = schema.with_roles({"income": "ignored"}).with_roles({"income": "feature"})
    assert back == schema


def test_with_roles_can_move_the_target_when_the_old_one_is_released():
    schema = schema_for_changes().with_roles({"smoker": "feature", "income": "target"})
    assert (schema.target, schema.task) == ("income", "regression")
    assert "smoker" in schema.features


def test_with_roles_errors():
    schema = schema_for_changes()
    with pytest.raises(TapeError, match="There is no column named 'wage'"):
        schema.with_roles({"wage": "feature"})
    with pytest.raises(TapeError, match="'input' is not a role for 'age'; use feature, ignored or target"):
        schema.with_roles({"age": "input"})
    with pytest.raises(TapeError, match="Only one column can be predicted and 'smoker' already is"):
        schema.with_roles({"age": "target"})
    with pytest.raises(TapeError, match=r"Only one column can be predicted, but 2 were chosen \(age, income\)"):
        schema.with_roles({"age": "target", "income": "target", "smoker": "feature"})
    with pytest.raises(TapeError, match="A column to predict is needed"):
        schema.with_roles({"smoker": "ignored"})


def test_with_roles_feature_that_leaks_keeps_a_warning():
    frame = pd.DataFrame({"x": RNG.normal(size=20), "copy": [1, 0] * 10, "target": ["y", "n"] * 10})
    schema = inspect_frame(frame).with_roles({"copy": "feature"})
    assert schema.features == ("x", "copy")
    assert schema.warnings == (
        "'copy' matches the target one-to-one: it gives the answer away, so scores will look too good.",
    )


def test_no_features_left_warns():
    schema = inspect_frame(pd.DataFrame({"y": [1.5, 2.5, 3.5]}))
    assert schema.features == ()
    assert schema.warnings == ("No columns are left to learn from; make at least one column a feature.",)


def test_column_lookup_error_lists_columns():
    schema = inspect_frame(pd.DataFrame({f"c{i}": [i, i + 1] for i in range(12)}))
    with pytest.raises(TapeError, match=r"the columns are 'c0', 'c1', .*'c9', \.\.\.\."):
        schema.column("zzz")


def test_duplicate_names_are_refused():
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(TapeError, match="Two columns are both called 'a'"):
        inspect_frame(frame)


def test_the_response_first_as_statistics_tables_put_it():
    n = 40
    frame = pd.DataFrame({"wage": RNG.normal(20, 5, n), "age": RNG.integers(20, 60, n), "educ": RNG.integers(8, 20, n),
                          "sex": ["m", "f"] * (n // 2), "region": ["n", "s", "e", "w"] * (n // 4)})
    schema = inspect_frame(frame)
    assert schema.target == "wage" and schema.task == "regression"
    assert "its name reads as a response" in schema.target_reason and "the first column" in schema.target_reason
    assert schema.column("wage").reason.startswith("the column to predict (guessed: ")


def test_y_beside_x_is_a_coordinate_and_row_numbers_are_never_the_answer():
    n = 30
    frame = pd.DataFrame({"x": RNG.normal(size=n), "y": RNG.normal(size=n), "z": RNG.normal(size=n),
                          "carat": RNG.normal(size=n), "cut": ["a", "b", "c"] * 10, "n": range(1, n + 1)})
    schema = inspect_frame(frame)
    assert schema.target != "y" and schema.target != "n"
    assert inspect_frame(frame.drop(columns="x")).target == "y"


def test_a_count_is_predicted_as_a_quantity_and_codes_as_classes():
    visits = np.repeat([0, 1, 2, 3, 4, 5, 7, 9], [80, 50, 30, 15, 10, 8, 5, 2])
    n = len(visits)
    frame = pd.DataFrame({"age": RNG.normal(40, 10, n), "visits": visits})
    schema = inspect_frame(frame, target="visits")
    assert schema.task == "regression" and "a count" in schema.task_reason
    codes = pd.DataFrame({"age": RNG.normal(40, 10, n), "rating": np.arange(n) % 5 + 1})
    assert inspect_frame(codes, target="rating").task == "multiclass"
