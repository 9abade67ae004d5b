"""'6. One case at a time' on the page (issue 21): a cell of the confusion matrix lists exactly its rows, a row
picked there is taken apart, an edited value changes the answer as the model would, the groups are scored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.page import job_of, ok, page_app, plain, seen, train_on, upload_to  # puts the project on sys.path
from helpers.tables import make_binary, make_regression
from tapeapp.explain import contributions
from tapeapp.judge import cases
from ui import state as keys
from ui.cases import EDITED_ROW


def _trained(frame: pd.DataFrame, name: str):
    at = upload_to(ok(page_app().run()), frame.to_csv(index=False).encode(), name)
    return train_on(at, epochs=4)


def _answers(at) -> dict[str, str]:
    """The 'Try one row' answer: each class's probability (or the predicted number) as the metrics show it."""
    return {label: m.value for m in at.metric if " = " in (label := plain(m.label)) or label.startswith("Predicted ")}


def _editor(at, column: str):
    """The input for one column of the edited row (its key is the column's position among the inputs)."""
    columns = [c.column for c in contributions.column_ranges(job_of(at).run)]
    return at.number_input(key=keys.edit(columns.index(column)))


def test_a_cell_of_the_confusion_matrix_lists_exactly_its_rows_and_one_is_taken_apart():
    at = _trained(make_binary(), "visits.csv")
    headers = [h.value for h in at.header]
    assert headers[headers.index("5. Results"):][1:3] == ["6. One case at a time", "7. Use it and take it home"]
    assert any("click a square of the confusion matrix" in seen(c) for c in at.caption)
    run = job_of(at).run
    truth = run.prepared.raw_val["target"].astype(str).to_numpy()
    for actual, predicted in (("1", "0"), ("1", "1")):
        at.session_state[keys.CONFUSION_PICK] = {"selection": {"cell": [{"actual": actual, "predicted": predicted}]}}
        ok(at.run())
        listed = next(d.value for d in at.dataframe if d.key == keys.PICKED_ROWS)
        expected = cases.confusion_rows(run, actual, predicted)
        assert listed["row"].tolist() == expected["row"].tolist()
        positions = [int(np.flatnonzero(run.prepared.val_rows == label)[0]) for label in listed["row"]]
        assert (truth[positions] == actual).all()
        count = len(expected)
        assert any(f"{count:,} validation row" in seen(c) and "in your selection" in seen(c) for c in at.caption)
    row, position = int(expected["row"].iloc[-1]), positions[-1]
    at.number_input(key=keys.EDIT_ROW_NUMBER).set_value(row)
    ok(at.run())
    assert any(f"Starting from row {row}." in seen(c) for c in at.caption)
    model = run.predict(run.prepared.raw_val.iloc[[position]])
    assert _answers(at)["target = 1"] == f"{float(model['probability_1'].iloc[0]):.0%}"
    assert job_of(at).views.get(EDITED_ROW)["age"] == run.prepared.raw_val["age"].iloc[position]
    train_row = int(run.prepared.train_rows[0])
    at.number_input(key=keys.EDIT_ROW_NUMBER).set_value(train_row)
    ok(at.run())
    assert any(f"Row {train_row} is not one of the validation rows" in seen(c) for c in at.caption)
    assert any("Starting from typical values." in seen(c) for c in at.caption)


def test_an_edited_value_changes_the_answer_as_the_model_would_and_marks_the_map():
    at = _trained(make_binary(), "visits.csv")
    run = job_of(at).run
    before = _answers(at)
    dose = _editor(at, "dose")
    dose.set_value(dose.max)
    ok(at.run())
    after = _answers(at)
    edited = job_of(at).views.get(EDITED_ROW)
    assert edited["dose"] == dose.max
    model = run.predict(pd.DataFrame([edited]))
    assert after["target = 1"] == f"{float(model['probability_1'].iloc[0]):.0%}"
    assert after != before, "a large dose pushes towards 1 in this table"
    assert any("pushed" in seen(c) and "the pushes add up to the answer" in seen(c) for c in at.caption)
    assert any("decision_mark" in chart.proto.spec for chart in at.get("vega_lite_chart")), \
        "the edited row is marked on the decision map"


def test_a_dragged_region_lists_its_rows_and_the_weak_groups_are_scored():
    at = _trained(make_regression(), "flats.csv")
    run = job_of(at).run
    assert any("drag a rectangle" in seen(c) for c in at.caption)
    at.session_state[keys.REGION_PICK] = {"selection": {"region": {"predicted": [-1e12, 1e12], "actual": [0, 150_000]}}}
    ok(at.run())
    listed = next(d.value for d in at.dataframe if d.key == keys.PICKED_ROWS)
    truth = run.prepared.raw_val["price"].to_numpy()
    assert len(listed) == int(np.sum(truth <= 150_000)) > 0
    assert (listed["price"] <= 150_000).all()
    assert set(listed["row"]) == set(run.prepared.val_rows[truth <= 150_000])
    at.selectbox(key=keys.WEAK_COLUMN).set_value("area")
    ok(at.run())
    groups = next(d.value for d in at.dataframe if "too_few" in d.value)
    assert sorted(groups["group"]) == ["north", "south"] and groups["rows"].sum() == len(truth)
    pd.testing.assert_frame_equal(groups, cases.slices(run, "area"))
    assert not at.error
