"""Messy input through the page, as a user meets it: every bad table gets a plain answer and nothing crashes.

Each file goes through the real uploader of an AppTest. The messages are the core's own words, asserted exactly
enough that a traceback or a silent success would fail. The last tests check that a million rows never reach
the browser: the preview, the target chart and the result charts send at most a few thousand rows.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tapeapp  # noqa: E402  (test_app puts the project on sys.path)
import tapeapp.data.table  # noqa: E402
from helpers.page import job_of, ok, page_app, seen, table_with, texts, train_on, upload_to
from ui import vega as ui_vega  # noqa: E402


def _people(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"height": rng.normal(170, 10, n).round(1), "weight": rng.normal(70, 12, n).round(1),
                          "colour": rng.choice(["red", "green", "blue"], n)})
    frame["plan"] = np.where(frame["weight"] > 72, "premium", "basic")
    return frame


def _csv(frame: pd.DataFrame, **options) -> bytes:
    return frame.to_csv(index=False, **options).encode()


def _texts(elements) -> str:
    return texts(elements)


def _target(at):
    return next(s for s in at.selectbox if s.key and s.key.startswith("target_"))


def _click_train(at):
    at.button(key="train").click()
    return ok(at.run())


# --- files that are not tables -----------------------------------------------------------------------------------

NOT_TABLES = {
    "empty": (b"", "The file is empty."),
    "header only": (b"height,weight,plan\n", "The file has column names but no rows of data"),
    "png named .csv": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
                       "This file does not look like a table (it looks like a PNG image)"),
    "html named .csv": (b"<!DOCTYPE html>\n<html><head><title>Data</title></head><body><table><tr><td>1</td>"
                        b"<td>2</td></tr></table></body></html>\n", "This file is a web page (HTML), not a table"),
}


@pytest.mark.parametrize("case", list(NOT_TABLES))
def test_a_file_that_is_not_a_table_gets_a_plain_error_and_cannot_train(case):
    content, words = NOT_TABLES[case]
    at = upload_to(ok(page_app().run()), content, "data.csv")
    assert words in _texts(at.error)
    assert at.button(key="train").disabled
    assert not at.get("vega_lite_chart"), "no chart of a sample left over from before"


def test_a_file_over_the_size_limit_is_refused_in_words(monkeypatch):
    monkeypatch.setattr(tapeapp.data.table, "MAX_BYTES", 20_000)
    content = _csv(_people(2_000))
    assert len(content) > 20_000
    at = upload_to(ok(page_app().run()), content, "too_big.csv")
    assert "more than the" in _texts(at.error) and "limit" in _texts(at.error)
    assert at.button(key="train").disabled


# --- tables with problems ----------------------------------------------------------------------------------------

def test_ragged_rows_are_read_with_notes_and_the_rest_trains():
    lines = _csv(_people()).decode().splitlines()
    for i in (5, 40, 77):
        lines[i] += ",oops,extra"  # three rows too long
    for i in (10, 60):
        lines[i] = lines[i].rsplit(",", 2)[0]  # two rows too short: no colour, no plan
    at = upload_to(ok(page_app().run()), ("\n".join(lines) + "\n").encode(), "ragged.csv")
    assert not at.error
    assert "Named column 5, which had no name, 'column_5'" in _texts(at.info)
    assert "2 rows have no value in 'plan' and will be left out." in _texts(at.warning)
    at = train_on(at, epochs=2)
    assert "Finished all 2 epochs." in _texts(at.success)
    assert job_of(at).run.prepared.features == ("height", "weight", "colour")


def test_a_target_with_a_single_class_is_explained_and_not_trained():
    frame = _people().assign(plan="basic")
    at = upload_to(ok(page_app().run()), _csv(frame), "one_plan.csv")
    _target(at).set_value("plan")
    ok(at.run())
    assert "'plan' has the same value in every row" in _texts(at.warning)
    _click_train(at)
    assert "'plan' has only one value ('basic'), so there is nothing to learn" in _texts(at.error)
    assert job_of(at) is None


def test_a_column_that_gives_the_answer_away_is_warned_about_and_left_out():
    frame = _people()
    frame["plan_code"] = (frame["plan"] == "premium").astype(int)
    at = upload_to(ok(page_app().run()), _csv(frame.drop(columns="plan").assign(plan=frame["plan"])), "leaky.csv")
    assert _target(at).value == "plan"
    assert "'plan_code' matches the target one-to-one: it gives the answer away, so it is ignored." in _texts(
        at.warning)
    at = train_on(at, epochs=2)
    assert "Finished all 2 epochs." in _texts(at.success)
    assert job_of(at).run.prepared.features == ("height", "weight", "colour")


def test_semicolons_and_decimal_commas_are_detected_and_train():
    content = _people().to_csv(index=False, sep=";", decimal=",").encode("cp1252")
    at = upload_to(ok(page_app().run()), content, "europe.csv")
    line = next(seen(m) for m in at.markdown if "europe.csv" in seen(m))
    assert "120 rows × 4 columns" in line and "separated by semicolons" in line and "decimal comma" in line
    assert not at.error
    at = train_on(at, epochs=2)
    assert "Finished all 2 epochs." in _texts(at.success)
    assert job_of(at).run.prepared.preprocessor.numeric == ("height", "weight")


def test_a_table_whose_only_input_is_an_id_says_so_on_train():
    frame = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(120)], "plan": _people()["plan"]})
    at = upload_to(ok(page_app().run()), _csv(frame), "ids.csv")
    assert "No columns are left to learn from" in _texts(at.warning)
    _click_train(at)
    errors = _texts(at.error)
    assert "No column is left to learn from ('customer_id':" in errors
    assert "mark at least one column as a feature" in errors
    assert job_of(at) is None


def test_a_validation_share_that_leaves_a_class_unchecked_is_warned_about():
    frame = _people()
    frame.loc[:2, "plan"] = "gold"
    at = upload_to(ok(page_app().run()), _csv(frame), "rare.csv")
    at.slider(key="cfg_val_fraction").set_value(0.05)
    at = train_on(at, epochs=2)
    assert "No validation rows for class(es) gold" in _texts(at.warning)
    assert "Finished all 2 epochs." in _texts(at.success)
    assert at.metric, "the results are still shown"


def _flats(n: int = 150, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"rooms": rng.integers(1, 7, n), "area": rng.uniform(30, 200, n).round(1)})
    frame["price"] = (frame["area"] * 3000 + frame["rooms"] * 10000 + rng.normal(0, 5000, n)).round(0)
    return frame


def test_a_learning_rate_of_ten_stops_with_a_plain_warning_and_still_shows_results():
    at = page_app()
    at.query_params.update({"learning_rate": "10", "optimizer": "sgd"})
    at = upload_to(ok(at.run()), _csv(_flats()), "flats.csv")
    at = train_on(at, epochs=5)
    said = _texts(at.warning)
    assert "the loss stopped being a finite number, usually because the learning rate is too high" in said
    assert not at.error, "a run that went wrong is still a result, not an error"
    assert [h.value for h in at.header][4:6] == ["What the network learned", "5. Results"]
    assert "Something unexpected" not in said, "the pictures of what it learned cope with a run that blew up"
    assert {m.label for m in at.metric[:3]} == {"Average error (MAE)", "Typical error (RMSE)", "R²"}
    assert table_with(at, "stopped because").loc[0, "stopped because"] == "stopped: the loss was no longer a number"


def test_a_learning_rate_that_only_makes_things_worse_is_pointed_out():
    at = page_app()
    at.query_params.update({"learning_rate": "10"})
    at = upload_to(ok(at.run()), _csv(_flats()), "flats.csv")
    at = train_on(at, epochs=3)
    assert "worse than always predicting the average" in _texts(at.warning)


# --- failures nobody foresaw ------------------------------------------------------------------------------------

def test_an_unforeseen_failure_while_reading_is_plain_words_not_a_traceback(monkeypatch):
    def broken(source, name=None, **options):
        raise ValueError("a corner of pandas nobody met before")

    monkeypatch.setattr(tapeapp, "read_table", broken)
    at = upload_to(ok(page_app().run()), b"odd,file\n1,2\n" * 7 + b"# unique to this test\n", "odd.csv")
    assert "Something unexpected went wrong while reading your table (ValueError)" in _texts(at.error)
    assert "nobody met" not in _texts(at.error), "no internals on the page; they go to the server's log"
    assert at.button(key="train").disabled


def test_an_unforeseen_failure_during_training_ends_the_run_with_plain_words(monkeypatch):
    from tapeapp.train import loop

    real = loop.EpochRunner.run_epoch

    def breaks_in_epoch_two(self, *args, **kwargs):
        if args[-1] == 2:
            raise RuntimeError("out of something")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(loop.EpochRunner, "run_epoch", breaks_in_epoch_two)
    at = train_on(upload_to(ok(page_app().run()), _csv(_people()), "people.csv"), epochs=4)
    assert "Something unexpected went wrong while training (RuntimeError)" in _texts(at.error)
    assert "Stopped by you" not in _texts(at.info), "an error is not a Stop"
    assert len(job_of(at).run.history) == 1 and not job_of(at).running
    assert at.metric, "the model of the finished epoch is still there to look at"
    assert table_with(at, "stopped because").loc[0, "stopped because"] == "stopped by an error"


# --- prediction uploads ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    at = upload_to(ok(page_app().run()), _csv(_people()), "people.csv")
    return train_on(at, epochs=2)


def _predict(at, frame: pd.DataFrame | bytes, name: str = "new.csv"):
    content = frame if isinstance(frame, bytes) else _csv(frame)
    uploader = at.file_uploader(key="predict_upload")
    if uploader.value is not None:
        uploader.clear()
    uploader.upload(name, content, "text/csv")
    return ok(at.run())


def _shown_predictions(at) -> pd.DataFrame:
    return table_with(at, "probability_premium")  # the rows behind the results have only 'probability'


NEW_ROWS = _people(20, seed=5).drop(columns="plan")


def test_prediction_rows_missing_a_column_get_a_plain_error(trained):
    at = _predict(trained, NEW_ROWS.drop(columns=["weight", "colour"]))
    assert "These columns are missing: 'weight', 'colour'" in _texts(at.error)
    assert "download_new_predictions" not in [b.key for b in at.get("download_button")]


def test_prediction_rows_with_extra_columns_name_them(trained):
    at = _predict(trained, NEW_ROWS.assign(note="call back", plan="basic", shoe_size=42))
    info = _texts(at.info)
    assert "Not used by the model, so left out: note, shoe_size." in info
    assert not at.error
    assert len(_shown_predictions(at)) == 20


def test_prediction_rows_in_another_column_order_give_the_same_predictions(trained):
    at = _predict(trained, NEW_ROWS)
    before = _shown_predictions(at)["predicted_plan"].tolist()
    at = _predict(trained, NEW_ROWS[["colour", "weight", "height"]], "reordered.csv")
    assert not at.error and not at.info
    assert _shown_predictions(at)["predicted_plan"].tolist() == before


def test_prediction_rows_with_numbers_written_as_text_give_the_same_predictions(trained):
    at = _predict(trained, NEW_ROWS)
    before = _shown_predictions(at)["predicted_plan"].tolist()
    lines = ["height,weight,colour"] + [f'" {h:.1f} ","{w:.1f}",{c}' for h, w, c in NEW_ROWS.itertuples(index=False)]
    at = _predict(trained, ("\n".join(lines) + "\n").encode(), "quoted.csv")
    assert not at.error and not at.info
    assert _shown_predictions(at)["predicted_plan"].tolist() == before


def test_prediction_rows_with_unseen_categories_and_unusable_numbers_are_pointed_out(trained):
    rows = NEW_ROWS.astype({"height": object, "weight": object})
    rows.loc[0, "colour"] = "purple"
    rows.loc[1, "colour"] = "ultraviolet"
    rows.loc[2, "height"] = "tall"
    rows.loc[[3, 5, 7], "weight"] = ["76.6 kg", "80 kg", "heavy"]
    at = _predict(trained, rows, "messy_rows.csv")
    info = _texts(at.info)
    assert "'colour': 2 rows have a value the model did not learn (such as 'purple'), counted as 'other'." in info
    assert "'height': 1 value is not a usable number (such as 'tall') and is filled in like a missing value." in info
    assert "'weight': 3 values are not a usable number (such as '76.6 kg') and are filled in like a missing " \
           "value." in info
    assert not at.error
    shown = _shown_predictions(at)
    assert len(shown) == 20 and shown["predicted_plan"].notna().all()


def test_prediction_rows_that_are_not_a_table_get_a_plain_error(trained):
    at = _predict(trained, b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "photo.csv")
    assert "it looks like a PNG image" in _texts(at.error)
    at = _predict(trained, b"height,weight,colour\n", "header.csv")
    assert "column names but no rows of data" in _texts(at.error)


# --- a million rows ----------------------------------------------------------------------------------------------

def _rows_sent(at) -> dict[str, list[int]]:
    """Rows of every table, and of every data set of every chart, that the page sends to the browser."""
    sent = {f"table {i}": [len(frame.value)] for i, frame in enumerate(at.dataframe)}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title", {})
        rows = [len((spec.get("data") or {}).get("values", [])), *map(len, spec.get("datasets", {}).values())]
        rows += [pa.ipc.open_stream(d.data.data).read_all().num_rows for d in chart.proto.datasets]
        sent[f"chart {title.get('text') if isinstance(title, dict) else title}"] = rows
    return sent


def _most(sent: dict[str, list[int]]) -> int:
    return max(max(rows) for rows in sent.values())


def _million(n: int = 1_000_000) -> bytes:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.uniform(20, 200, n).round(1), "floor": rng.integers(0, 12, n),
                          "city": rng.choice(["Lyon", "Oslo", "Rome", "Graz"], n)})
    frame["rent"] = (frame["size"] * 11 + frame["floor"] * 20 + rng.normal(0, 50, n)).round()
    return _csv(frame)


@pytest.mark.slow
def test_a_million_rows_are_previewed_charted_and_trained_from_a_few_thousand():
    at = page_app()
    at.query_params.update({"epochs": "1", "batch_size": "4096", "hidden": "16"})
    at = ok(at.run())
    started = time.perf_counter()
    at = upload_to(at, _million(), "million.csv")
    at.selectbox(key=next(k for k in at.session_state if str(k).startswith("target_"))).set_value("rent")
    at = ok(at.run())
    first = time.perf_counter() - started
    assert any("1,000,000 rows × 4 columns" in seen(m) for m in at.markdown)
    assert "The first 200 of 1,000,000 rows." in [seen(c) for c in at.caption]
    sent = _rows_sent(at)
    assert "table 0" in sent and "chart What 'rent' looks like" in sent
    assert _most(sent) <= 5_000, sent
    started = time.perf_counter()
    ok(at.run())
    again = time.perf_counter() - started
    assert first < 30 and again < 3, (first, again)

    at.button(key="train").click()
    ok(at.run())
    assert "Finished all 1 epochs." in [seen(s) for s in at.success]
    sent = _rows_sent(at)
    assert {"chart Predicted against actual", "chart Errors (residuals)"} <= set(sent)
    assert _most(sent) == 5_000, sent  # the 400,000 validation rows, sampled


def test_result_charts_of_a_million_validation_rows_are_sampled():
    from tapeapp.report import charts

    rng = np.random.default_rng(0)
    actual = rng.normal(size=1_000_000)
    points = pd.DataFrame({"actual": actual, "predicted": actual + rng.normal(0, 0.1, actual.size)})
    points["residual"] = points["actual"] - points["predicted"]
    for chart in (charts.predicted_actual_chart(points, "rent"), charts.residual_chart(points, "rent")):
        spec = chart.to_dict()
        assert max(len(rows) for rows in spec["datasets"].values()) <= charts.MAX_POINTS


@pytest.mark.parametrize("epochs", [3, 2_000, 20_000])
def test_live_charts_of_a_very_long_run_stay_small(epochs):
    """Seven layers' gradient lines over 2,000 epochs once passed Altair's 5,000-row limit and stopped the page."""
    layers = [f"hidden_{i}" for i in range(1, 7)] + ["output"]
    history = pd.DataFrame({"epoch": range(1, epochs + 1), "train_loss": 1.0, "val_loss": 2.0,
                            "train_rmse": 1.0, "val_rmse": 2.0} | {f"grad_norm_{k}": 0.5 for k in layers})
    specs = ui_vega.chart_specs(history, history, "regression", epochs)
    for name, spec in specs.items():
        rows = [len(v) for v in spec["datasets"].values()]
        assert sum(rows) <= 5_000, (name, rows)
    (loss,) = map(pd.DataFrame, specs["loss"]["datasets"].values())
    assert set(loss["epoch"]) >= {1, epochs}, "the first and the last epoch are always drawn"
    if epochs == 3:
        assert len(loss) == 2 * 2 * 3
