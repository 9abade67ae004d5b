"""Date columns are inputs: the way they are written is detected (and said), and the same dates reach the network
in training, in ``Run.predict``, in the exported ``.keras`` file and through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.tables import make_dates
from tapeapp import TrainConfig, date_parts, export_files, inspect_frame, load_model, predict_with_model, start_run
from tapeapp._tf import tf
from tapeapp.cli import main

USES = "used as time since the first date, year, month and day of the week"
WITH_HOURS = "used as time since the first date, year, month, day of the week and hour of the day"
SPREAD = pd.Timestamp("2020-01-07 09:15") + pd.to_timedelta(np.arange(30) * 37, unit="D")


def column(values, name: str = "when"):
    """The schema's view of one column inspected next to a numeric target."""
    frame = pd.DataFrame({name: values, "target": np.arange(len(values)) % 2})
    schema = inspect_frame(frame, target="target")
    return schema.column(name), schema.date_formats().get(name)


@pytest.mark.parametrize("values, reason", [
    (SPREAD.strftime("%Y-%m-%d"), f"dates written year-month-day (like 2020-12-31): {USES}"),
    (SPREAD.strftime("%Y-%m-%dT%H:%M:%S"), f"dates and times written year-month-day (like 2020-12-31 13:45): "
                                           f"{WITH_HOURS}"),
    (SPREAD.strftime("%Y-%m-%d %H:%M"), f"dates and times written year-month-day (like 2020-12-31 13:45): "
                                        f"{WITH_HOURS}"),
    (SPREAD.strftime("%d/%m/%Y"), f"dates written day/month/year (like 31/12/2020): {USES}"),
    (SPREAD.strftime("%d.%m.%Y"), f"dates written day.month.year (like 31.12.2020): {USES}"),
    (SPREAD.strftime("%m/%d/%Y"), f"dates written month/day/year (like 12/31/2020): {USES}"),
    (SPREAD.strftime("%d/%m/%Y %H:%M"), f"dates and times written day/month/year (like 31/12/2020 13:45): "
                                        f"{WITH_HOURS}"),
    ([f"{d.day} {d:%b %Y}" for d in SPREAD], f"dates written with month names (like 31 Dec 2020): {USES}"),
    ([f"{d:%b} {d.day}, {d.year}" for d in SPREAD], f"dates written with month names (like Dec 31, 2020): {USES}"),
    (SPREAD, f"dates and times stored as dates in the file: {WITH_HOURS}"),
    (SPREAD.normalize(), f"dates stored as dates in the file: {USES}"),
], ids=["iso", "iso-T-time", "iso-space-time", "day-first", "day-first-dots", "month-first", "day-first-time",
        "day-month-name", "month-name-day", "datetime64", "datetime64-days"])
def test_each_way_of_writing_dates_is_detected_and_said(values, reason):
    info, fmt = column(list(values) if not isinstance(values, pd.DatetimeIndex) else values)
    assert (info.kind, info.role, info.reason) == ("date", "feature", reason)
    parts = date_parts(pd.Series(values), fmt)
    assert parts.loc[0, ["year", "month", "day_of_week"]].tolist() == [2020, 1, 1]  # a Tuesday
    assert parts.loc[29, ["year", "month"]].tolist() == [2022, 12]
    timed = "times" in reason
    assert parts.loc[0, "hour"] == (9.25 if timed else 0.0)


def test_day_or_month_first_is_read_from_the_values():
    _, fmt = column(["25/01/2021", "03/02/2021", "11/12/2021"] * 4)
    assert (fmt.order, fmt.guessed) == ("day/month/year", False)
    _, fmt = column(["01/25/2021", "02/03/2021", "12/11/2021"] * 4)
    assert (fmt.order, fmt.guessed) == ("month/day/year", False)
    info, fmt = column(["01/02/2021", "03/04/2021", "05/06/2021"] * 4)
    assert (fmt.order, fmt.guessed) == ("month/day/year", True)
    assert "no value shows whether the day comes first, so this order is a guess" in info.reason
    info, fmt = column(["01.02.2021", "03.04.2021", "05.06.2021"] * 4)
    assert (fmt.order, fmt.guessed) == ("day.month.year", True)
    ambiguous = [f"{m:02d}/{d:02d}/{y}" for y in range(1990, 2010) for m in range(1, 13) for d in range(1, 13)]
    _, fmt = column([ambiguous[0], "25/12/2020", *ambiguous[1:]])  # the one telling value is not in the sample
    assert (fmt.order, fmt.guessed) == ("day/month/year", False)


def test_bare_years_stay_numbers_and_unreadable_values_count_as_missing():
    assert column(np.arange(1970, 1983).repeat(3), name="model_year")[0].kind == "numeric"
    assert column(["1970", "1971", "1972"] * 4)[0].kind == "categorical"
    info, fmt = column([f"2021-01-{day:02d}" for day in range(1, 21)] + [None, "soon"])
    assert (info.kind, info.role) == ("date", "feature")
    parts = date_parts(pd.Series(["2021-01-05", "soon", None, "2021-02-30", "05/01/2021"]), fmt)
    assert parts["days"].notna().tolist() == [True, False, False, False, False]


def test_date_parts_gives_the_numbers_a_date_is_made_of():
    parts = date_parts(pd.Series(["31/12/2020 13:30", "01/01/1970", None], index=[7, 8, 9]))
    assert list(parts.index) == [7, 8, 9]
    assert list(parts.columns) == ["days", "year", "month", "day_of_week", "hour"]
    assert parts.loc[7].tolist() == [18627 + 13.5 / 24, 2020, 12, 3, 13.5]  # a Thursday
    assert parts.loc[8].tolist() == [0, 1970, 1, 3, 0]
    assert parts.loc[9].isna().all()


@pytest.fixture(scope="module")
def season_run():
    """The season is told by the date alone (the other input is noise); dates written day first."""
    frame = make_dates(300)
    return frame, start_run(frame, inspect_frame(frame, target="season"), TrainConfig(epochs=25, seed=1)).fit()


def test_a_date_only_signal_is_learned(season_run):
    frame, run = season_run
    pre = run.prepared.preprocessor
    assert (pre.numeric, pre.categorical, pre.dates) == (("noise",), (), ("when",))
    assert pre.slots() == {"noise": slice(0, 1), "when": slice(1, 7)} and pre.width == 7
    assert pre.date_format_["when"].order == "day/month/year"
    assert run.history[-1].validation["accuracy"] >= 0.8  # four seasons: guessing gets about 0.3
    summary = pre.summary().set_index("column")
    first = pd.to_datetime(frame.loc[run.prepared.train_rows, "when"], format="%d/%m/%Y", errors="coerce").min()
    assert summary.loc["when", "treated as"] == f"date: days since {first:%Y-%m-%d}, year, month, day of week"


def test_the_keras_file_reads_the_users_dates_and_iso_text(season_run, tmp_path):
    frame, run = season_run
    path = tmp_path / "model.keras"
    path.write_bytes(export_files(run)["model.keras"])
    model, meta = load_model(path)
    spec = next(i for i in meta["inputs"] if i["column"] == "when")
    assert (spec["kind"], spec["format"]["formats"]) == ("date", ["%d/%m/%Y", "ISO8601"])
    rows = frame.drop(columns="season").head(12)
    expected = run.predict(rows).filter(like="probability").to_numpy()
    got = predict_with_model(model, meta, rows).filter(like="probability").to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    iso = pd.to_datetime(rows["when"], format="%d/%m/%Y", errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
    feed = {"when": tf.constant(iso.to_numpy(dtype=object).reshape(-1, 1)),
            "noise": tf.constant(rows["noise"].to_numpy("float32").reshape(-1, 1))}
    np.testing.assert_allclose(np.asarray(model(feed)), expected, rtol=1e-5, atol=1e-6)
    as_iso = predict_with_model(model, meta, rows.assign(when=iso.replace("", None)))  # ISO text from the user too
    np.testing.assert_allclose(as_iso.filter(like="probability").to_numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def clock_run():
    """Weekend or not, from ISO dates with times; some dates missing or unreadable, also in the training rows."""
    rng = np.random.default_rng(3)
    moments = pd.Timestamp("2021-01-04") + pd.to_timedelta(rng.integers(0, 400 * 24, 240), unit="h")
    when = pd.Series(moments.strftime("%Y-%m-%d %H:%M"), dtype=object)
    when[[3, 10, 20, 30]] = [None, "later", "", "2021-02-30 10:00"]
    frame = pd.DataFrame({"when": when, "weekend": np.where(moments.day_of_week >= 5, "yes", "no")})
    return frame, start_run(frame, inspect_frame(frame, target="weekend"), TrainConfig(epochs=2)).fit()


def test_times_missing_and_unreadable_dates(clock_run, tmp_path):
    frame, run = clock_run
    pre = run.prepared.preprocessor
    assert pre.slots() == {"when": slice(0, 8)} and pre.date_stats_["when"].hours
    assert any("not a date written like 2020-12-31 13:45" in w and "treated as missing" in w for w in run.warnings)
    path = tmp_path / "model.keras"
    path.write_bytes(export_files(run)["model.keras"])
    model, meta = load_model(path)
    fill = pre.date_stats_["when"].fill
    rows = pd.DataFrame({"when": ["2021-03-04T10:30:00", "2021-03-04 10:30", "2021-03-04 10:30:00+02:00",
                                  "2021-03-04", "2021-03-04 00:00", None, "", "garbage", "2021-13-01", fill]})
    inputs = pre.transform(rows)
    assert (inputs[0] == inputs[1]).all() and (inputs[0] == inputs[2]).all() and (inputs[3] == inputs[4]).all()
    assert (inputs[0, 1:6] == inputs[3, 1:6]).all()  # the same day: only the time of day differs
    assert (inputs[0, [0, 6, 7]] != inputs[3, [0, 6, 7]]).all()
    assert (inputs[5:] == inputs[9]).all()  # missing and unreadable dates are the median training date
    out = run.predict(rows)["probability_yes"].to_numpy()
    np.testing.assert_allclose(predict_with_model(model, meta, rows)["probability_yes"], out, rtol=1e-5, atol=1e-6)
    raw = np.asarray(model({"when": tf.constant(np.array(rows["when"].fillna(""), dtype=object).reshape(-1, 1))}))
    np.testing.assert_allclose(raw.reshape(-1), out, rtol=1e-5, atol=1e-6)
    notes = run.prediction_notes(rows)
    assert notes == ["'when': 2 values are not a date written like 2020-12-31 13:45 (such as 'garbage') and are "
                     "filled in like a missing date."]


def test_dates_stored_as_dates_train_and_take_text_later():
    frame = pd.DataFrame({"when": SPREAD.repeat(2), "y": np.tile([0, 1], 30)})
    run = start_run(frame, inspect_frame(frame, target="y"), TrainConfig(epochs=1)).fit()
    text = frame.assign(when=frame["when"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    np.testing.assert_allclose(run.predict(text)["probability_1"], run.predict(frame)["probability_1"], rtol=1e-6)


def test_cli_trains_and_predicts_on_dates_written_day_first(tmp_path, capsys):
    """The CLI's own entry point, in this process (tests/test_cli.py runs ``python -m tapeapp`` itself)."""
    data = tmp_path / "seasons.csv"
    make_dates(120).to_csv(data, index=False)
    out = tmp_path / "out"
    assert main(["inspect", str(data)]) == 0
    shown = capsys.readouterr().out
    assert "dates written day/month/year (like 31/12/2020): used as time since the first date" in shown
    assert main(["train", str(data), "--target", "season", "--epochs", "2", "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["epochs_run"] == 2
    assert main(["predict", str(out / "model.keras"), str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "predicted_season,probability_autumn,probability_spring,probability_summer,probability_winter"
    assert len(lines) == 121
