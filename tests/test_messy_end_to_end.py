"""Every messy table gets a plain answer: trained (with which columns and task), warned (in which words) or refused
(a TapeError a non-programmer understands). Each file is built as bytes here and pushed through the whole pipeline:
read -> inspect -> start_run -> one or two epochs -> evaluate -> predict.

tests/test_table.py and tests/test_schema.py check the file-level details; these tests add that what was read can
really be trained on (or that the refusal is clean). A few cases also go through ``python -m tapeapp train``.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from helpers.cli import cli
from helpers.tables import make_binary, make_regression
from tapeapp import (
    Evaluation,
    Run,
    Schema,
    Table,
    TapeError,
    TrainConfig,
    evaluate,
    export_files,
    inspect_frame,
    load_model,
    predict_with_model,
    read_table,
    start_run,
)
from tapeapp._tf import keras
from tapeapp.data import table

# numpy overflows and pandas' fragmentation warnings are noise on the page and the CLI's stderr: none may escape
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning", "error::pandas.errors.PerformanceWarning")

SMALL = {"epochs": 1, "hidden": (4,)}


@dataclass
class Outcome:
    table: Table
    schema: Schema
    run: Run
    evaluation: Evaluation
    predictions: pd.DataFrame

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.run.warnings

    def role(self, name: str) -> tuple[str, str, str]:
        column = self.schema.column(name)
        return column.kind, column.role, column.reason


def pipeline(data: bytes, name: str = "data.csv", target: str | None = None, task: str | None = None,
             predict: pd.DataFrame | None = None, **config) -> Outcome:
    """The whole path a user takes; checks what must hold for every trained run."""
    tab = read_table(data, name)
    schema = inspect_frame(tab.frame, target=target, task=task)
    run = start_run(tab.frame, schema, TrainConfig(**{**SMALL, **config})).fit()
    assert run.stopped_because in ("finished", "not_finite"), run.message
    evaluation = evaluate(run)
    rows = tab.frame if predict is None else predict
    predictions = run.predict(rows)
    assert len(predictions) == len(rows) and predictions.index.equals(rows.index)
    if run.stopped_because == "finished":
        numbers = predictions.drop(columns=f"predicted_{run.target}") if run.task != "regression" else predictions
        assert np.isfinite(numbers.to_numpy(dtype="float64")).all()
    return Outcome(tab, schema, run, evaluation, predictions)


def refused(data: bytes, *words: str, name: str = "data.csv", **kwargs) -> str:
    """The pipeline ends in one plain TapeError that contains every one of ``words``."""
    with pytest.raises(TapeError) as caught:
        pipeline(data, name, **kwargs)
    message = str(caught.value)
    assert message and "\n" not in message and message.endswith("."), message
    for word in words:
        assert word in message, (word, message)
    return message


def csv(frame: pd.DataFrame, **options) -> bytes:
    encoding = options.pop("encoding", "utf-8")
    return frame.to_csv(index=False, **options).encode(encoding)


BINARY = make_binary(40)
BINARY_CSV = csv(BINARY)
FEATURES = ("age", "dose", "color")


def assert_binary(outcome: Outcome, features=FEATURES) -> None:
    assert (outcome.run.target, outcome.run.task, outcome.run.prepared.features) == ("target", "binary", features)
    assert set(outcome.evaluation.headline) == {"accuracy", "auc", "f1"}
    assert list(outcome.predictions.columns) == ["predicted_target", "probability_0", "probability_1"]


# ---------------------------------------------------------------------------------------------------------- files


def test_empty_file_is_refused():
    assert refused(b"") == "The file is empty."


def test_header_only_is_refused():
    refused(b"age,dose,color,target\n", "column names but no rows")


def test_a_single_data_row_is_refused_for_too_few_rows():
    refused(b"age,dose,target\n50,1.5,1\n", "Only 1 usable row", "at least 4")


def test_a_single_column_is_refused_with_nothing_to_learn_from():
    refused(b"height\n1.5\n2.5\n3\n4.5\n5\n6.5\n", "only one column", "'height'", "nothing to learn it from")


def test_an_image_renamed_csv_is_refused():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)) * 4
    refused(png, "does not look like a table", "PNG image", name="photo.csv")


def test_a_web_page_saved_as_csv_is_refused():
    page = b"<!DOCTYPE html>\n<html><head><title>Data</title></head><body><table><tr><td>1</td></tr></table></body>"
    refused(page, "web page", "download the data itself", name="data.csv")


def test_an_excel_file_renamed_csv_is_read_as_excel_and_trains():
    buffer = io.BytesIO()
    BINARY.to_excel(buffer, index=False)
    outcome = pipeline(buffer.getvalue(), name="data.csv")
    assert outcome.table.info.format == "excel"
    assert_binary(outcome)


def test_a_gzip_compressed_csv_trains():
    outcome = pipeline(gzip.compress(BINARY_CSV), name="data.csv.gz")
    assert outcome.table.info.notes == ("Decompressed gzip",)
    assert_binary(outcome)


def test_rows_with_differing_field_counts_train_and_say_what_happened():
    rows = [f"{i},{i % 3},{i * 2},{i % 2}" if i % 4 else f"{i},{i % 3},{i % 2}" for i in range(40)]
    data = ("a,b,c,target\n" + "\n".join(rows) + "\n99,1,2,1,extra\n").encode()
    outcome = pipeline(data)
    assert outcome.table.info.notes == ("Named column 5, which had no name, 'column_5'",)
    assert outcome.role("column_5") == ("constant", "ignored", "same value in every row")
    assert outcome.run.prepared.features == ("a", "b", "c")
    assert "10 row(s) with no value in 'target' were left out." in outcome.warnings


def test_duplicate_column_names_are_renamed_and_both_used():
    data = b"x,x,target\n" + b"".join(f"{i},{i * 3 % 7},{i % 2}\n".encode() for i in range(40))
    outcome = pipeline(data)
    assert outcome.table.info.notes == ("Renamed duplicate column 'x' to 'x_2'",)
    assert outcome.run.prepared.features == ("x", "x_2")


def test_blank_names_and_unnamed_columns_from_a_trailing_delimiter():
    body = b"".join(f"{i},{i * 3 % 7},{i % 5},{i % 2},\n".encode() for i in range(40))
    outcome = pipeline(b",x,Unnamed: 2,target,\n" + body)
    assert outcome.table.info.notes == (
        "Named column 1, which had no name, 'column_1'",
        "Named column 3, which had no name, 'column_3'",
        "Dropped 1 empty column without a name",
    )
    assert outcome.run.prepared.features == ("column_1", "x", "column_3")


WEIRD_NAMES = ["first name", "a.b", "a_b", "a b", "price [€]", "Größe", "🎉 party", "x(1)", "1st", "/", "名前", "__"]


def test_column_names_keras_cannot_take_train_export_and_load(tmp_path):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({name: rng.normal(size=40).round(3) for name in WEIRD_NAMES})
    frame["名前"] = rng.choice(["赤", "青", "緑"], 40)
    frame["target"] = [0, 1] * 20
    outcome = pipeline(csv(frame))
    assert list(outcome.table.frame.columns) == WEIRD_NAMES + ["target"]
    assert outcome.run.prepared.features == tuple(n for n in WEIRD_NAMES if n != "名前") + ("名前",)
    names = list(outcome.run.prepared.preprocessor.input_names_.values())
    assert len(set(names)) == len(names) and all(n.replace("_", "").replace("-", "").isalnum() for n in names)
    path = tmp_path / "model.keras"
    path.write_bytes(export_files(outcome.run)["model.keras"])
    model, meta = load_model(path)
    np.testing.assert_allclose(predict_with_model(model, meta, frame)["probability_1"],
                               outcome.predictions["probability_1"], rtol=1e-5, atol=1e-6)


def test_utf8_with_bom():
    outcome = pipeline(BINARY_CSV.decode().encode("utf-8-sig"))
    assert outcome.table.info.encoding == "utf-8-sig"
    assert_binary(outcome)


def test_utf16():
    outcome = pipeline(csv(BINARY, sep="\t", encoding="utf-16"))
    assert (outcome.table.info.encoding, outcome.table.info.delimiter) == ("utf-16", "\t")
    assert_binary(outcome)


def test_cp1252_text_with_accents():
    drinks = ["café", "crème brûlée", "€uro", "naïve"]
    lines = [f"{drinks[i % 4]};{i % 7};{i % 2}" for i in range(40)]
    outcome = pipeline(("drink;price;y\n" + "\n".join(lines) + "\n").encode("cp1252"))
    assert outcome.table.info.encoding == "cp1252"
    assert sorted(outcome.run.prepared.preprocessor.categories_["drink"]) == sorted(drinks)
    assert (outcome.run.target, outcome.run.prepared.features) == ("y", ("price", "drink"))


@pytest.mark.parametrize("newline", [b"\r\n", b"mixed"])
def test_crlf_and_mixed_line_endings(newline):
    lines = BINARY_CSV.splitlines()
    if newline == b"mixed":
        data = b"".join(line + (b"\r\n", b"\n", b"\r")[i % 3] for i, line in enumerate(lines))
    else:
        data = newline.join(lines) + newline
    outcome = pipeline(data)
    assert outcome.table.info.rows == 40
    assert_binary(outcome)


def test_semicolons_with_decimal_commas():
    outcome = pipeline(csv(BINARY, sep=";", decimal=","))
    assert (outcome.table.info.delimiter, outcome.table.info.decimal) == (";", ",")
    assert outcome.schema.column("dose").kind == "numeric"
    np.testing.assert_allclose(outcome.table.frame["dose"], BINARY["dose"])
    assert_binary(outcome)


@pytest.mark.parametrize("delimiter", ["\t", "|"])
def test_tab_and_pipe_delimiters(delimiter):
    outcome = pipeline(csv(BINARY, sep=delimiter))
    assert outcome.table.info.delimiter == delimiter
    assert_binary(outcome)


def test_quoted_fields_with_embedded_delimiters_and_newlines():
    rows = [f'{i % 9},"said ""hi"", then\nleft; {i}","{["a,b", "c|d", "e;f"][i % 3]}",{i % 2}' for i in range(40)]
    outcome = pipeline(("n,comment,pair,target\n" + "\n".join(rows) + "\n").encode())
    assert outcome.table.info.rows == 40
    assert outcome.table.frame["comment"][1] == 'said "hi", then\nleft; 1'
    assert outcome.role("comment")[1] == "ignored"
    assert outcome.run.prepared.features == ("n", "pair")


def test_a_table_without_a_header_row():
    outcome = pipeline(csv(BINARY, header=False))
    assert outcome.table.info.notes == (
        "The first row looks like data, so the columns are named column_1 to column_4",)
    assert (outcome.run.target, outcome.run.prepared.features) == ("column_4", ("column_1", "column_2", "column_3"))
    assert outcome.table.info.rows == 40


def test_trailing_blank_lines():
    outcome = pipeline(BINARY_CSV + b"\n\n  \n\r\n\n")
    assert (outcome.table.info.rows, outcome.table.info.notes) == (40, ())
    assert_binary(outcome)


# --------------------------------------------------------------------------------------------------------- values


@pytest.mark.parametrize("marker", ["", "NA", "N/A", "?", " ", "null", "-"])
def test_missing_value_markers(marker):
    frame = BINARY.astype({"age": "str", "color": "str"})
    frame.loc[[3, 7], ["age", "color"]] = marker
    outcome = pipeline(csv(frame))
    assert outcome.schema.column("age").kind == "numeric" and outcome.schema.column("age").missing == 2
    assert outcome.schema.column("color").missing == 2
    assert_binary(outcome)
    assert outcome.warnings == ()


def test_numbers_with_thousands_separators_and_percent():
    lines = [f'"{1000 + i * 37:,}",{i * 2.5}%,{i % 2}' for i in range(40)]
    outcome = pipeline(("amount,share,target\n" + "\n".join(lines) + "\n").encode())
    assert outcome.table.info.notes == ("Read 'amount' as numbers (removed thousands separators)",
                                        "Read 'share' as numbers (removed % signs, so 45% reads as 45)")
    assert outcome.run.prepared.preprocessor.numeric == ("amount", "share")


def test_yes_no_and_true_false_columns():
    frame = BINARY.assign(smoker=["yes", "no", "no"] * 13 + ["yes"], insured=["TRUE", "FALSE", "TRUE", "TRUE"] * 10)
    outcome = pipeline(csv(frame))
    assert outcome.role("smoker")[:2] == outcome.role("insured")[:2] == ("boolean", "feature")
    assert outcome.run.prepared.features == ("age", "dose", "insured", "color", "smoker")


def test_dates_are_inputs():
    frame = BINARY.assign(day=pd.date_range("2024-01-01", periods=40).strftime("%d/%m/%Y"))
    outcome = pipeline(csv(frame))
    assert outcome.role("day") == ("date", "feature", "dates written day/month/year (like 31/12/2020): used as time "
                                                      "since the first date, year, month and day of the week")
    assert outcome.run.prepared.preprocessor.dates == ("day",)
    assert_binary(outcome, (*FEATURES, "day"))


def test_a_column_mixing_numbers_and_text_is_a_category():
    frame = BINARY.assign(code=[str(i % 5) if i % 4 else "unknown" for i in range(40)])
    outcome = pipeline(csv(frame))
    assert outcome.role("code")[:2] == ("categorical", "feature")
    assert outcome.run.prepared.preprocessor.categorical == ("color", "code")


def test_inf_and_huge_values_are_treated_as_missing_with_a_warning():
    frame = BINARY.astype({"dose": "str"})
    frame.loc[:3, "dose"] = ["inf", "-inf", "1e308", "-1e400"]
    outcome = pipeline(csv(frame), val_fraction=0.25)
    assert outcome.schema.column("dose").kind == "numeric"
    [warning] = outcome.warnings
    assert warning.startswith("'dose' has ") and "infinite or too large to compute with" in warning
    assert warning.endswith("treated as missing.")
    assert np.isfinite(outcome.run.prepared.x_train).all() and np.isfinite(outcome.run.prepared.x_val).all()


def test_a_column_of_only_huge_values_is_refused_plainly():
    frame = pd.DataFrame({"big": ["1e300", "-1e300", "inf", "1e308"] * 10, "target": [0, 1] * 20})
    refused(csv(frame), "'big' has no numbers", "mark it as ignored")


def test_huge_but_representable_values_keep_training_finite():
    frame = BINARY.assign(dose=[3e38, -3e38, 1e30, 5.0] * 10)
    outcome = pipeline(csv(frame))
    assert "'dose' has huge values; it was scaled by its median and spread instead." in outcome.warnings
    assert np.isfinite(outcome.run.prepared.x_train).all()


def test_constant_all_missing_and_id_columns_are_ignored_with_reasons():
    frame = BINARY.assign(patient_id=range(1000, 1040), unit=["mg"] * 40, notes=[""] * 40)
    outcome = pipeline(csv(frame))
    assert outcome.role("patient_id") == ("identifier", "ignored", "unique for every row, looks like an ID")
    assert outcome.role("unit") == ("constant", "ignored", "same value in every row")
    assert outcome.table.info.notes == ()
    assert "notes" not in outcome.table.frame or outcome.role("notes") == ("empty", "ignored", "all values missing")
    assert_binary(outcome)


def test_an_all_missing_column_with_markers_is_ignored():
    frame = BINARY.assign(comment=["NA", "?", "-", "null"] * 10)
    outcome = pipeline(csv(frame))
    assert outcome.role("comment") == ("empty", "ignored", "all values missing")
    assert_binary(outcome)


def test_free_text_with_thousands_of_values_is_ignored():
    rng = np.random.default_rng(0)
    n = 4000
    reviews = [f"review {i}: fine" for i in range(3000)] * 2
    frame = pd.DataFrame({"x": rng.normal(size=n).round(3), "review": reviews[:n], "target": rng.integers(0, 2, n)})
    outcome = pipeline(csv(frame), batch_size=512)
    kind, role, reason = outcome.role("review")
    assert (kind, role) == ("text", "ignored") and "3,000 different values" in reason
    assert outcome.run.prepared.features == ("x",)


def test_a_category_with_more_than_a_thousand_levels_is_used_with_one_warning():
    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame({"shop": [f"S{i % 1200}" for i in range(n)], "x": rng.normal(size=n).round(3),
                          "target": rng.integers(0, 2, n)})
    outcome = pipeline(csv(frame), batch_size=512)
    assert outcome.role("shop")[:2] == ("categorical", "feature")
    about_shop = [w for w in outcome.warnings if "'shop'" in w]
    pre = outcome.run.prepared.preprocessor
    kept = len(pre.categories_["shop"])
    assert len(about_shop) == 1
    assert f"the {kept:,} with at least 5 training rows are used (at most 250)" in about_shop[0]
    assert kept + pre.pooled_["shop"] == frame["shop"].iloc[outcome.run.prepared.train_positions].nunique()


# --------------------------------------------------------------------------------------------------------- target


def test_rows_missing_the_target_are_dropped_and_counted_once():
    frame = BINARY.astype({"target": "str"})
    frame.loc[[0, 5, 9, 14, 20, 33], "target"] = ""
    outcome = pipeline(csv(frame))
    assert outcome.schema.warnings == ("6 rows have no value in 'target' and will be left out.",)
    assert outcome.warnings == ("6 row(s) with no value in 'target' were left out.",)
    assert len(outcome.run.prepared.y_train) + len(outcome.run.prepared.y_val) == 34


def test_a_single_class_is_refused():
    frame = BINARY.assign(target="yes")
    frame.loc[:4, "target"] = ""
    refused(csv(frame), "'target' has only one value", "choose another column to predict")


def test_a_class_with_one_row_falls_back_to_a_random_split_with_a_warning():
    frame = BINARY.assign(target=["a", "b"] * 19 + ["a", "rare"])
    outcome = pipeline(csv(frame))
    assert outcome.run.task == "multiclass" and not outcome.run.prepared.stratified
    [warning] = [w for w in outcome.warnings if "too few rows" in w]
    assert "(rare)" in warning and "the split is random instead of balanced" in warning
    assert outcome.evaluation.per_class["class"].tolist() == ["a", "b", "rare"]


def test_a_class_with_two_rows_is_split_one_and_one():
    frame = BINARY.assign(target=["a", "b"] * 19 + ["rare", "rare"])
    outcome = pipeline(csv(frame))
    data = outcome.run.prepared
    assert data.stratified and outcome.warnings == ()
    rare = data.target_encoder.classes_.index("rare")
    assert (data.y_train == rare).sum() == 1 and (data.y_val == rare).sum() == 1


def test_unique_whole_numbers_are_guessed_as_a_quantity_not_classes():
    frame = BINARY.head(16).drop(columns="target").assign(rank=range(16, 0, -1))
    outcome = pipeline(csv(frame), target="rank")  # 16..1, a row number's shape: never guessed as the answer
    assert (outcome.run.target, outcome.run.task) == ("rank", "regression")
    assert outcome.schema.task_reason == "numbers with 16 distinct values: predicting a quantity"


def test_a_numeric_target_with_few_values_says_it_chose_classes_and_can_switch():
    frame = BINARY.assign(grade=[i % 5 for i in range(40)]).drop(columns="target")
    outcome = pipeline(csv(frame))
    assert (outcome.run.target, outcome.run.task) == ("grade", "multiclass")
    assert outcome.schema.task_reason == ("5 distinct whole numbers: treated as classes; "
                                          "switch to regression if they are amounts")
    assert outcome.predictions.columns.tolist()[:2] == ["predicted_grade", "probability_0"]
    switched = pipeline(csv(frame), task="regression")
    assert switched.run.task == "regression" and switched.schema.task_reason == "chosen by you (predicting a quantity)"
    assert set(switched.evaluation.headline) == {"mae", "rmse", "r2"}


def test_a_text_target_with_hundreds_of_classes_trains_with_a_warning():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=900).round(3), "label": [f"k{i % 300}" for i in range(900)]})
    outcome = pipeline(csv(frame), batch_size=256)
    assert outcome.run.task == "multiclass" and outcome.run.model.output.shape[-1] == 300
    assert ("'label' has 300 different values, too many classes to learn well; choose another column to predict."
            in outcome.warnings)
    assert outcome.predictions.shape == (900, 301)


def test_an_id_like_text_target_is_refused():
    frame = BINARY.assign(customer_id=[f"C{i:04d}" for i in range(40)])
    refused(csv(frame), "appears only once (like an ID)", "choose another column to predict", target="customer_id")


def test_an_id_like_number_target_trains_as_a_quantity_with_a_warning():
    frame = BINARY.assign(id=range(40))
    outcome = pipeline(csv(frame), target="id")
    assert outcome.run.task == "regression"
    assert outcome.warnings == ("'id' looks like an ID (a different value in every row), so there is nothing general "
                                "to learn; choose another column to predict.",)
    refused(csv(frame), "appears only once", "or predict it as a quantity", target="id", task="multiclass")


def test_a_feature_identical_to_the_target_is_a_leak_ignored_with_a_warning():
    frame = BINARY.assign(answer=BINARY["target"])
    outcome = pipeline(csv(frame))
    assert outcome.warnings == ("'answer' is identical to the target: it gives the answer away, so it is ignored.",)
    assert outcome.role("answer")[1] == "ignored"
    assert_binary(outcome)
    forced = outcome.schema.with_roles({"answer": "feature"})
    assert forced.warnings == ("'answer' is identical to the target: it gives the answer away, "
                               "so scores will look too good.",)
    assert start_run(outcome.table.frame, forced, TrainConfig(**SMALL)).warnings == forced.warnings


def test_no_usable_feature_is_refused_with_the_reasons():
    frame = pd.DataFrame({"id": range(40), "unit": ["kg"] * 40, "target": [0, 1] * 20})
    refused(csv(frame), "No column is left to learn from", "'id': unique for every row, looks like an ID",
            "'unit': same value in every row", "mark at least one column as a feature")


# ----------------------------------------------------------------------------------------------------------- size


def test_zero_rows_left_after_dropping_missing_targets_is_refused():
    frame = BINARY.assign(target="")
    refused(csv(frame), "No rows are left", "every row is missing a value in 'target'")


def test_too_few_rows_left_after_cleaning_is_refused():
    frame = BINARY.head(6).assign(target=["", "", "", "", "a", "b"])
    refused(csv(frame), "Only 2 usable row(s)", "at least 4")


def test_more_columns_than_rows():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"f{j}": rng.normal(size=12).round(3) for j in range(30)}).assign(target=[0, 1] * 6)
    outcome = pipeline(csv(frame))
    assert len(outcome.run.prepared.features) == 30 and outcome.run.prepared.x_train.shape == (7, 30)


def test_five_thousand_columns_train():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 5000)).round(2)
    frame = pd.DataFrame(values, columns=[f"f{j}" for j in range(5000)]).assign(target=[0, 1] * 15)
    outcome = pipeline(csv(frame))
    width = outcome.run.prepared.preprocessor.width  # 5,000 and an "is zero" input per skewed column with zeros
    assert len(outcome.run.prepared.features) == 5000 and outcome.run.prepared.x_train.shape == (18, width)
    assert outcome.run.model.input_shape == (None, width)


def test_a_file_over_the_upload_limit_is_refused(monkeypatch):
    monkeypatch.setattr(table, "MAX_BYTES", 1000)
    refused(BINARY_CSV + b"\n" * 1000, "more than the", "limit", "upload a smaller part of it")


# ------------------------------------------------------------------------------------------------------- training


def test_learning_rate_10_stops_with_a_plain_reason_and_keeps_the_last_good_weights():
    outcome = pipeline(csv(make_regression(60)), target="price", learning_rate=10, optimizer="sgd", epochs=5)
    run = outcome.run
    assert run.stopped_because == "not_finite" and "learning rate is too high" in run.message
    assert len(run.history) < 5 and all(np.isfinite(w).all() for w in run.model.get_weights())
    assert set(outcome.evaluation.headline) == {"mae", "rmse", "r2"}


def test_an_integer_learning_rate_is_a_learning_rate():
    outcome = pipeline(BINARY_CSV, learning_rate=10, epochs=2, patience=0)
    assert outcome.run.config.learning_rate == 10.0 and len(outcome.run.history) == 2


def test_a_batch_larger_than_the_training_rows():
    outcome = pipeline(BINARY_CSV, batch_size=10_000, epochs=2)
    assert len(outcome.run.history) == 2 and math.isfinite(outcome.run.history[-1].train["loss"])


def test_zero_epochs_gives_an_untrained_model_that_still_evaluates_and_predicts():
    outcome = pipeline(BINARY_CSV, epochs=0)
    assert outcome.run.history == [] and outcome.run.stopped_because == "finished"
    assert "untrained" in outcome.run.message
    assert_binary(outcome)


def test_a_validation_share_that_leaves_a_class_without_validation_rows():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60).round(3), "target": ["a"] * 28 + ["b"] * 29 + ["c"] * 3})
    outcome = pipeline(csv(frame), val_fraction=0.05)
    assert "No validation rows for class(es) c: use a larger validation share to check them." in outcome.warnings
    per_class = outcome.evaluation.per_class.set_index("class")
    assert per_class.loc["c", "support"] == 0


# ----------------------------------------------------------------------------------------------------- prediction


@pytest.fixture(scope="module")
def trained() -> Outcome:
    return pipeline(BINARY_CSV, epochs=2)


def test_predicting_rows_missing_columns_is_refused(trained):
    with pytest.raises(TapeError, match=r"These columns are missing: 'age', 'color'; add them"):
        trained.run.predict(trained.table.frame.drop(columns=["age", "color"]))


def test_predicting_rows_with_extra_columns_and_another_order(trained):
    rows = trained.table.frame.drop(columns="target")
    shuffled = rows.assign(comment="x", shoe_size=42)[["shoe_size", "color", "comment", "dose", "age"]]
    assert trained.run.unexpected_columns(shuffled) == ["shoe_size", "comment"]
    pd.testing.assert_frame_equal(trained.run.predict(shuffled), trained.run.predict(rows))
    assert trained.run.prediction_notes(shuffled) == []


def test_predicting_unseen_categories_counts_them_as_other(trained):
    rows = trained.table.frame.head(5).assign(color=["purple", "red", "purple", None, "blue"])
    assert len(trained.run.predict(rows)) == 5
    assert trained.run.prediction_notes(rows) == [
        "'color': 2 rows have a value the model did not learn (such as 'purple'), counted as 'other'."]


def test_predicting_numbers_written_as_text(trained):
    rows = trained.table.frame.head(5)
    as_text = rows.astype({"age": "str", "dose": "str"})
    pd.testing.assert_frame_equal(trained.run.predict(as_text), trained.run.predict(rows))
    assert trained.run.prediction_notes(as_text) == []
    junk = as_text.assign(age=["abc", "51", "1,234", "60", None])
    assert np.isfinite(trained.run.predict(junk)["probability_1"]).all()
    assert trained.run.prediction_notes(junk) == [
        "'age': 2 values are not a usable number (such as 'abc') and are filled in like a missing value."]


def test_a_prediction_file_read_from_messy_bytes(trained):
    new = read_table(b"color;dose;age;extra\nred;1,5;50;x\nblue;-0,5;NA;y\n").frame
    predictions = trained.run.predict(new)
    assert predictions.shape == (2, 3) and trained.run.unexpected_columns(new) == ["extra"]


# ---------------------------------------------------------------------------------------------------- model files


def test_model_files_load_only_in_safe_mode(tmp_path, trained):
    path = tmp_path / "model.keras"
    path.write_bytes(export_files(trained.run)["model.keras"])
    with zipfile.ZipFile(path) as archive:
        assert not any(name.endswith((".pkl", ".pickle", ".npy")) for name in archive.namelist())
    assert load_model(path)[1]["target"] == "target"

    inputs = keras.Input(shape=(1,), name="x")
    sneaky = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    bad = tmp_path / "sneaky.keras"
    sneaky.save(bad)
    with zipfile.ZipFile(bad, "a") as archive:
        archive.writestr("tapeapp.json", json.dumps({"task": "binary", "target": "y", "inputs": [], "classes": []}))
    with pytest.raises(TapeError, match="not a model saved by tapeapp"):
        load_model(bad)

    pickled = tmp_path / "pickled.keras"
    pickled.write_bytes(b"\x80\x04\x95" + bytes(64))
    with pytest.raises(TapeError, match="not a model saved by tapeapp"):
        load_model(pickled)


# ------------------------------------------------------------------------------------------------------------ CLI


@pytest.mark.subprocess
@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "does not look like a table"),
    (csv(BINARY.assign(target="same")), "'target' has only one value"),
], ids=["image", "single-class"])
def test_cli_refusals_are_one_error_line_with_status_2(tmp_path, content, words):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    result = cli("train", path, "--epochs", "1", "--hidden", "4")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr


@pytest.mark.subprocess
def test_cli_warnings_are_warning_lines_and_the_run_continues(tmp_path):
    frame = BINARY.rename(columns={"dose": "age"})
    frame.loc[[0, 5, 9], "target"] = np.nan
    path = tmp_path / "data.csv"
    path.write_bytes(csv(frame))
    result = cli("train", path, "--epochs", "1", "--hidden", "4")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[:2] == ["warning: Renamed duplicate column 'age' to 'age_2'",
                         "warning: 3 row(s) with no value in 'target' were left out."]
    assert lines[2].startswith("epoch 1/1") and lines[3].startswith("Finished all 1 epochs.")
    after = ("warning: The model is right no more often", "advice: [")  # then the advice on what to change
    assert all(line.startswith(after) for line in lines[4:]), lines
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["rows"]["train"] + summary["rows"]["validation"] == 37 and summary["stopped_because"] == "finished"


def test_cli_messages_stay_on_one_line_when_a_column_name_has_a_line_break(tmp_path, capsys):
    from tapeapp.cli import main

    path = tmp_path / "data.csv"
    path.write_bytes(b'age,"weight\n(kg)"\n' + b"".join(f"{i},70\n".encode() for i in range(20)))
    assert main(["train", str(path), "--target", "weight\n(kg)", "--epochs", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("error: 'weight (kg)' has only one value (70), so there is nothing to learn: "
                            "choose another column to predict.\n")
