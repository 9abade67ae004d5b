"""A server's memory: a run that fits starts, a table too big trains on a sample (said plainly), none fits: refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tapeapp
from tapeapp.data import budget


def test_a_run_that_fits_uses_every_row():
    assert budget.allowance(10_000, 20, budget=2_000_000_000, used=900_000_000) == budget.Allowance(10_000)


def test_a_table_too_big_for_what_is_left_gets_a_sample_and_a_note():
    room = budget.RUN_OVERHEAD + 50_000 * 20 * budget.BYTES_PER_INPUT  # 50,000 rows of 20 inputs fit
    allowed = budget.allowance(200_000, 20, budget=900_000_000 + int(room), used=900_000_000)
    assert allowed.rows == 50_000 and "random 50,000 of them (25%)" in allowed.note


def test_a_server_at_its_budget_refuses_in_plain_words():
    with pytest.raises(tapeapp.TapeError, match="using most of its memory right now"):
        budget.allowance(200_000, 20, budget=1_000_000_000, used=990_000_000)


def test_a_file_is_read_whole_waits_or_is_sampled_by_what_it_needs_against_what_is_free():
    gb = 1_000_000_000
    assert budget.reading_plan(int(0.5 * gb), 1_000_000, budget=2 * gb, used=1 * gb) == budget.ReadPlan()
    with pytest.raises(budget.NoRoomYet, match="Your file is kept"):  # would fit on a quieter server: wait
        budget.reading_plan(int(0.9 * gb), 1_000_000, budget=2 * gb, used=int(1.5 * gb))
    plan = budget.reading_plan(4 * gb, 1_000_000, budget=2 * gb, used=1 * gb)  # too big even for an idle one
    assert plan.fraction == pytest.approx(0.5 * 1 / 4) and "a random 12% of its rows was read" in plan.note
    with pytest.raises(tapeapp.TapeError, match="Split it into smaller files"):  # rows to predict: all or none
        budget.reading_plan(4 * gb, 1_000_000, sample=False, budget=2 * gb, used=1 * gb)
    with pytest.raises(budget.NoRoomYet, match="not even a sample"):
        budget.reading_plan(4 * gb, 1_000, budget=2 * gb, used=1 * gb)


def test_a_text_file_needs_memory_for_its_fields_not_only_its_bytes():
    """Short fields cost more than their bytes: '1,,,,' peaked at 17x the file (measured: 17-26 bytes a field)."""
    assert budget.text_need(10_000_000, 100_000, 10) == 6 * 10_000_000
    assert budget.text_need(22_000_000, 2_000_000, 10) == 22_000_000 + budget.FIELD_BYTES * 20_000_000


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TAPEAPP_MEMORY_BUDGET_MB", "1500")
    assert budget.budget_bytes() == 1_500_000_000
    monkeypatch.setenv("TAPEAPP_MEMORY_BUDGET_MB", "lots")
    assert budget.budget_bytes() == budget.DEFAULT_BUDGET_MB * 1_000_000


def test_a_run_on_a_sample_trains_on_that_many_rows_and_says_so():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=2_000), "colour": rng.choice(["a", "b"], 2_000)})
    frame["y"] = (frame["x"] > 0).astype(int)
    schema = tapeapp.inspect_frame(frame, target="y")
    from tapeapp.features.prepare import inputs_estimate

    assert inputs_estimate(schema) == 1 + 3
    run = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(epochs=1, val_fraction=0.25), max_rows=400)
    assert len(run.prepared.y_train) + len(run.prepared.y_val) == 400
    assert any("trains on a random 400 of them" in w for w in run.warnings)
    again = tapeapp.start_run(frame, schema, tapeapp.TrainConfig(epochs=1, val_fraction=0.25), max_rows=400)
    assert np.array_equal(run.prepared.train_rows, again.prepared.train_rows), "the same seed, the same sample"
