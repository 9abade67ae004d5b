"""Fuzzing the whole path: generated tables, corrupted the ways real files are, end in a trained run or a TapeError.

Each example builds a small table (at most 40 rows and 6 columns of numbers, categories, yes/no, dates, IDs, text),
corrupts it (drops, duplicates and renames columns, injects junk values, changes the delimiter, the decimal mark,
line endings and the encoding, compresses or truncates the bytes) and runs read -> inspect -> start_run -> one epoch
-> evaluate -> predict. Anything but a TapeError escaping is a bug.

The CI run is fixed: 300 examples, derandomized. For a longer hunt:
    TAPEAPP_FUZZ_EXAMPLES=3000 TAPEAPP_FUZZ_SEED=7 .venv/bin/python -m pytest tests/test_fuzz.py \
        --hypothesis-show-statistics
(a seed makes a different, reproducible run; without one the examples are the CI ones).
"""

from __future__ import annotations

import csv
import gzip
import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from tapeapp import TASKS, TapeError, TrainConfig, evaluate, inspect_frame, read_table, start_run

EXAMPLES = int(os.environ.get("TAPEAPP_FUZZ_EXAMPLES", "300"))
SEED = os.environ.get("TAPEAPP_FUZZ_SEED")

KINDS = ("float", "int", "few", "category", "yesno", "date", "id", "text", "constant", "empty", "money")
USUAL_KINDS = ("float", "few", "category", "yesno")  # drawn more often, so that many tables can be trained on
JUNK = ("", " ", "NA", "N/A", "?", "null", "-", "NaN", "#N/A", "inf", "-inf", "1e400", "-1e308", "3e38", "abc",
        "1,234", "45%", "$3", "1.234,5", "🎉", "é", "naïve", '"', "a,b", "x;y", "p|q", "line\nbreak", "TRUE", "no",
        "0", "   7 ", "\t", "9" * 40, "2024-13-45", "<html>", "\x00", "−5")
NAMES = ("age", "first name", "a.b", "a b", "price [€]", "Größe", "🎉", "x(1)", "1st", "/", "", "Unnamed: 3",
         "target", "label", "id", "名前", " padded ", "a_b", "weight\n(kg)")
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "latin-1")
NEWLINES = ("\n", "\r\n", "\r", "mixed")


def column_values(kind: str, rows: int, rng: np.random.Generator) -> list[str]:
    """One column written as text, the way a spreadsheet would save it."""
    if kind == "float":
        return [f"{v:.3f}" for v in rng.normal(50, 20, rows)]
    if kind == "int":
        return [str(v) for v in rng.integers(0, 1000, rows)]
    if kind == "few":
        return [str(v) for v in rng.integers(0, 4, rows)]
    if kind == "category":
        return list(rng.choice(["red", "green", "blue", "Zürich", "a b"], rows))
    if kind == "yesno":
        return list(rng.choice(["yes", "no"], rows))
    if kind == "date":
        return [f"2024-{m:02d}-{d:02d}" for m, d in zip(rng.integers(1, 13, rows), rng.integers(1, 29, rows))]
    if kind == "id":
        return [f"C{i:05d}" for i in range(rows)]
    if kind == "text":
        return [f"comment {i} about item {v}" for i, v in enumerate(rng.integers(0, 9, rows))]
    if kind == "constant":
        return ["same"] * rows
    if kind == "money":
        return [f"${v:,.2f}" for v in rng.uniform(0, 5000, rows)]
    return [""] * rows


@st.composite
def messy_files(draw) -> dict:
    """A table as bytes, corrupted; plus which column to predict, the task and a few knobs."""
    rows = 40 - draw(st.integers(0, 40))
    width = 6 - draw(st.integers(0, 5))
    kinds = draw(st.lists(st.sampled_from(USUAL_KINDS + KINDS), min_size=width, max_size=width))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    names = [f"c{i}" for i in range(len(kinds))]
    columns = [column_values(kind, rows, rng) for kind in kinds]
    for action in draw(st.lists(st.sampled_from(("drop", "duplicate", "rename", "junk", "junk", "blank_row")),
                                max_size=5)):
        if action == "drop" and len(columns) > 1:
            at = draw(st.integers(0, len(columns) - 1))
            del names[at], columns[at]
        elif action == "duplicate" and len(columns) < 6:
            at = draw(st.integers(0, len(columns) - 1))
            names.append(draw(st.sampled_from((names[at], names[at] + "_2", ""))))
            columns.append(list(columns[at]))
        elif action == "rename":
            names[draw(st.integers(0, len(names) - 1))] = draw(st.sampled_from(NAMES + tuple(names)))
        elif action == "junk" and rows:
            column = columns[draw(st.integers(0, len(columns) - 1))]
            for _ in range(draw(st.integers(1, max(1, rows // 2)))):
                column[draw(st.integers(0, rows - 1))] = draw(st.sampled_from(JUNK))
        elif action == "blank_row" and rows:
            at = draw(st.integers(0, rows - 1))
            for column in columns:
                column[at] = ""
    delimiter = draw(st.sampled_from(DELIMITERS))
    decimal_comma = delimiter != "," and draw(st.booleans())
    if decimal_comma:
        columns = [[v.replace(".", ",") if v.replace(".", "").isdigit() else v for v in c] for c in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    if draw(st.integers(0, 5)) < 5:  # mostly with a header row (hypothesis favours small numbers)
        writer.writerow(names)
    writer.writerows(zip(*columns))
    text = buffer.getvalue() + "\n" * draw(st.integers(0, 2))
    newline = draw(st.sampled_from(NEWLINES))
    if newline == "mixed":
        text = "".join(line + ("\r\n", "\n", "\r")[i % 3] for i, line in enumerate(text.split("\n")))
    elif newline != "\n":
        text = text.replace("\n", newline)
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    name = "data.csv"
    if draw(st.integers(0, 9)) == 9:
        data, name = gzip.compress(data, mtime=0), "data.csv.gz"
    if data and draw(st.integers(0, 4)) == 4:
        data = data[: len(data) - draw(st.integers(1, len(data)))]
    return {
        "data": data, "name": name,
        "target": draw(st.one_of(st.none(), st.integers(0, 5))),
        "task": draw(st.one_of(st.none(), st.sampled_from(TASKS))),
        "config": draw(st.fixed_dictionaries({
            "batch_size": st.sampled_from((1, 8, 32, 1000)),
            "val_fraction": st.sampled_from((0.05, 0.25, 0.4, 0.9)),
            "preprocessing": st.sampled_from(("standard", "tutorial")),
            "learning_rate": st.sampled_from((1e-3, 1e-3, 10.0)),
        })),
    }


def read_to_prediction(data: bytes, name: str, target: int | None, task: str | None, config: dict) -> str:
    """The user's whole path; returns how the run ended."""
    table = read_table(data, name)
    frame = table.frame
    column = None if target is None else str(frame.columns[target % frame.shape[1]])
    schema = inspect_frame(frame, target=column, task=task)
    run = start_run(frame, schema, TrainConfig(epochs=1, hidden=(4,), **config))
    run.fit()
    evaluation = evaluate(run)
    expected = {"mae", "rmse", "r2"} if run.task == "regression" else {"accuracy", "auc", "f1"}
    assert set(evaluation.headline) == expected
    predictions = run.predict(frame)
    assert len(predictions) == len(frame)
    run.prediction_notes(frame)
    assert run.stopped_because in ("finished", "not_finite")
    if run.stopped_because == "finished" and run.task != "regression":
        probabilities = predictions.drop(columns=f"predicted_{run.target}").to_numpy(dtype="float64")
        assert np.isfinite(probabilities).all() and ((probabilities >= 0) & (probabilities <= 1)).all()
    return f"trained ({run.task}, {run.stopped_because})"


fuzz_settings = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.mark.slow
@pytest.mark.filterwarnings("error::RuntimeWarning", "error::pandas.errors.PerformanceWarning")
@fuzz_settings
@given(case=messy_files())
def test_every_messy_table_trains_or_is_refused_plainly(case):
    try:
        outcome = read_to_prediction(**case)
    except TapeError as error:
        message = str(error)
        assert isinstance(message, str) and message.strip() and not message.startswith("Traceback")
        outcome = "refused: " + " ".join(message.split()[:4])
    event(outcome)


if SEED is not None:
    test_every_messy_table_trains_or_is_refused_plainly = seed(int(SEED))(
        test_every_messy_table_trains_or_is_refused_plainly)


def test_the_fuzz_run_is_fixed_and_large_enough():
    assert EXAMPLES >= 300 or "TAPEAPP_FUZZ_EXAMPLES" in os.environ
    assert fuzz_settings.derandomize or SEED is not None


# --- links and wrapped uploads (issue 17): any link draws the page, any archive unpacks within its limits ---------

KNOB_NAMES = tuple(TrainConfig().to_dict())
LINK_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ("1e400", "-1e400", "nan", "inf", "1e17", "-1", "0", "0.5", "64,64", "[x](http://evil.test/)", "`", "", " ",
     "9" * 400, "1,2,3,4,5,6,7", "adam", "RMSprop", "1024", "1025"))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None)
@given(st.dictionaries(st.sampled_from(KNOB_NAMES) | st.text(max_size=12), LINK_TEXT, max_size=5))
def test_any_link_gives_a_config_or_one_plain_sentence(link):
    try:
        config = TrainConfig.from_dict(link)
    except TapeError as error:
        message = str(error)
        assert message.strip() and "\n" not in message and len(message) < 400, message
        return
    assert TrainConfig.from_dict(config.to_dict()) == config, "a config the link gave survives its own round trip"


@pytest.mark.slow
@settings(max_examples=12, deadline=None, derandomize=SEED is None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KNOB_NAMES + ("sample", "target")) | st.text(max_size=8), LINK_TEXT,
                       max_size=4))
def test_any_link_draws_the_page(link):
    from helpers.page import page_app

    at = page_app()
    at.query_params.update({key: value for key, value in link.items() if key})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [h.value for h in at.header][:3] == ["1. Your data", "2. What to predict", "3. Knobs"]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=SEED is None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from(("gzip", "zip", "zip2", "gzipzip", "truncated")))
def test_any_bytes_in_any_wrapping_give_a_table_or_a_plain_sentence(data, wrapping):
    import zipfile

    if wrapping in ("gzip", "gzipzip", "truncated"):
        data = gzip.compress(data, mtime=0)
    if wrapping in ("zip", "zip2", "gzipzip"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("a.csv", data)
            if wrapping == "zip2":
                archive.writestr("b.csv", data)
        data = buffer.getvalue()
    if wrapping == "truncated":
        data = data[: len(data) // 2]
    try:
        table = read_table(data, "upload")
    except TapeError as error:
        assert str(error).strip() and "\n" not in str(error)
        return
    assert table.info.rows == len(table.frame) > 0
