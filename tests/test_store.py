"""The run store: a session comes back whole, without training, after anything short of its expiry; damage, a full
store and ids that are not ids each end in plain words, never in a traceback or a file outside the store."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from concurrent.futures import Future

import numpy as np
import pytest

from helpers.tables import make_binary, make_multiclass, make_regression
from tapeapp import TapeError, TrainConfig, inspect_frame, read_table, start_run
from tapeapp.keep.records import (
    RunRecord,
    TableSource,
    baselines_from_json,
    baselines_to_json,
    rebuild_schema,
    record_from_json,
    record_to_json,
    restore_run,
)
from tapeapp.keep.store import Autosave, RunStore, StoreUnavailable, check_id, new_id, open_store, valid_id
from tapeapp.train.loop import EpochUpdate
from tapeapp.train.scores import Baselines, BaselineScore

NOT_IDS = ["../x", ".", "..", "", "abc", "a" * 31, "a" * 33, "a" * 31 + "/", "a" * 31 + ".", "a" * 31 + "\n",
           "../" + "a" * 29, "a" * 31 + "é", None, 12345, "sessions"]


def _baselines(task: str = "binary") -> Baselines:
    scores = {"majority": BaselineScore("majority", {"loss": 0.69, "accuracy": 0.55, "auc": 0.5}, 0.04, 0.01),
              "linear": BaselineScore("linear", {"loss": math.nan, "accuracy": 0.8}, math.nan, 0.2),
              "boosted_trees": BaselineScore("boosted_trees", error="it broke")}
    return Baselines(task, scores, 120, "a" * 64, 40, "b" * 64, 120, 0.3)


def _csv_table(frame, name="table.csv"):
    raw = frame.to_csv(index=False).encode()
    return raw, read_table(raw, name)


@pytest.fixture(scope="module")
def binary():
    """A finished run with baselines, a stopped run with roles chosen, on one uploaded CSV."""
    raw, table = _csv_table(make_binary(), "patients.csv")
    schema = inspect_frame(table.frame, target="target")
    first = start_run(table.frame, schema, TrainConfig(hidden=(8,), epochs=3, val_fraction=0.25),
                      source_sha256=table.info.sha256).fit()
    first.baselines_future = Future()
    first.baselines_future.set_result(_baselines())
    chosen = schema.with_roles({"color": "ignored"})
    second = start_run(table.frame, chosen, TrainConfig(hidden=(4, 4), epochs=5, seed=3, optimizer="adam"),
                       source_sha256=table.info.sha256)
    for update in second.epochs():
        if update.epoch == 2:
            second.request_stop()
    return raw, table, schema, chosen, first, second


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


def _saved(store, binary) -> str:
    raw, table, schema, chosen, first, second = binary
    session = new_id()
    store.save_table(session, TableSource.upload(raw, table.info))
    store.save_state(session, {"target": "target", "knobs": {"epochs": 3, "lr": 1e-3}, "lesson": None})
    store.save_run(session, 1, first, schema, {"table": "patients.csv"})
    store.save_run(session, 2, second, chosen, {"table": "patients.csv", "failure": ""})
    return session


def _rows(history):
    return [json.dumps(u.row(), default=str) for u in history]


def _same_run(restored, original):
    assert _rows(restored.history) == _rows(original.history)
    for got, want in zip(restored.model.get_weights(), original.model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(restored.prepared.val_rows, original.prepared.val_rows)
    got, want = restored.predict(restored.prepared.raw_val), original.predict(original.prepared.raw_val)
    assert got.equals(want)  # exactly the same validation predictions, not merely close
    assert (restored.stopped_because, restored.message) == (original.stopped_because, original.message)


# -------------------------------------------------------------------------------------------------------- ids

def test_ids_are_long_random_and_url_safe():
    ids = {new_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 32 and valid_id(i) for i in ids)
    assert check_id(next(iter(ids))) in ids


@pytest.mark.parametrize("bad", NOT_IDS)
def test_ids_that_are_not_ids_are_refused_without_touching_the_disk(tmp_path, bad):
    store = RunStore(tmp_path / "store")
    calls = [store.load_session, store.exists, store.touch, store.delete_session, store.mark_in_use,
             store.release, store.load_lesson, store.entry_bytes, lambda i: store.save_state(i, {"a": 1}),
             lambda i: store.save_table(i, TableSource.builtin("iris")), lambda i: store.delete_run(i, 1)]
    for call in calls:
        with pytest.raises(TapeError, match=r"^The code in this link is not valid"):
            call(bad)
    assert not valid_id(bad)
    assert list(tmp_path.iterdir()) == []  # not even the store's own folder was made


def test_the_store_logs_nothing_and_hands_out_no_ids(store, binary, caplog):
    with caplog.at_level(logging.DEBUG):
        session = _saved(store, binary)
        store.load_session(session)
        assert store.evict() == 0 and store.expire() == 0
    assert session not in caplog.text
    assert store.load_session(new_id()) is None  # a valid id that was never given out: nothing, not an error
    assert oct(os.stat(store.root).st_mode & 0o777) == oct(0o700)


# ----------------------------------------------------------------------------------------------- round trips

def test_a_session_comes_back_whole_without_training(store, binary, monkeypatch):
    raw, table, schema, chosen, first, second = binary
    session = _saved(store, binary)
    monkeypatch.setattr("tapeapp.train.run.Run.epochs", lambda *a, **k: pytest.fail("a restored run trained again"))
    kept = RunStore(store.root).load_session(session)  # a new store object: as after a server restart
    assert kept.problems == ()
    assert kept.state == {"target": "target", "knobs": {"epochs": 3, "lr": 1e-3}, "lesson": None}
    assert kept.table.data == raw and kept.table.name == "patients.csv" and kept.table.fraction == 1.0
    assert [r.number for r in kept.runs] == [1, 2]
    assert kept.run(2).extra == {"table": "patients.csv", "failure": ""} and kept.run(3) is None
    frame = kept.table.read().frame
    one, two = restore_run(kept.run(1), frame), restore_run(kept.run(2), frame)
    _same_run(one, first)
    _same_run(two, second)
    assert two.stopped_because == "stopped" and len(two.history) == 2
    assert dict(rebuild_schema(frame, kept.run(2)).chosen) == {"color": "ignored"}
    assert "color" not in two.prepared.features
    assert baselines_to_json(one.baselines) == baselines_to_json(_baselines()) and two.baselines_future is None
    for got, want in zip(one.optimizer_state, first.optimizer_state, strict=True):
        np.testing.assert_array_equal(got, want)
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match="trains once"):
        next(one.epochs())


@pytest.mark.parametrize("make, target, task", [(make_regression, "price", None),
                                                 (make_multiclass, "species", "multiclass")])
def test_other_tasks_and_a_chosen_task_come_back(store, make, target, task):
    raw, table = _csv_table(make())
    schema = inspect_frame(table.frame, target=target, task=task)
    run = start_run(table.frame, schema, TrainConfig(hidden=(6,), epochs=2, val_fraction=0.3)).fit()
    session = new_id()
    store.save_table(session, TableSource.upload(raw, table.info))
    store.save_run(session, 1, run, schema)
    record = store.load_session(session).run(1)
    assert record.task == (task or "")
    _same_run(restore_run(record, table.frame), run)


def test_a_sample_of_a_big_file_and_a_run_on_a_sample_of_rows_come_back_the_same(store):
    raw = make_binary(2000).to_csv(index=False).encode()
    table = read_table(raw, "big.csv", budget=300_000, used=0)
    assert table.info.fraction < 1
    schema = inspect_frame(table.frame, target="target")
    run = start_run(table.frame, schema, TrainConfig(hidden=(4,), epochs=1), max_rows=300).fit()
    session = new_id()
    store.save_table(session, TableSource.upload(raw, table.info))
    store.save_run(session, 1, run, schema)
    kept = store.load_session(session)
    again = kept.table.read()
    assert again.frame.equals(table.frame)
    restored = restore_run(kept.run(1), again.frame)
    np.testing.assert_array_equal(restored.prepared.train_rows, run.prepared.train_rows)
    _same_run(restored, run)


def test_a_run_needs_the_table_it_was_trained_on(store, binary):
    session = _saved(store, binary)
    other = make_binary(seed=5)
    with pytest.raises(TapeError, match=r"^This table is not the one run 1 was trained on"):
        restore_run(store.load_session(session).run(1), other)


def test_history_with_numbers_that_are_not_finite_is_kept_as_strict_json():
    update = EpochUpdate(epoch=1, epochs=3, train={"loss": math.nan, "accuracy": 0.5},
                         validation={"loss": math.inf, "accuracy": -math.inf}, learning_rate=1e-3, seconds=0.1,
                         samples_per_second=math.nan, grad_norms={"hidden_1": math.inf}, stop_reason="not_finite",
                         message="Training stopped in epoch 1.")
    record = RunRecord(number=1, config=TrainConfig(), target="t", task="", roles=(("a", "ignored"),), rows_used=10,
                       source_sha256="s", data_sha256="d", history=(update,), weights=(np.zeros(2, "float32"),),
                       baselines=baselines_to_json(_baselines()), extra={"n": np.int64(3), "x": math.nan})
    text = json.dumps(record_to_json(record), allow_nan=False)  # strict JSON: other tools can read it
    back = record_from_json(json.loads(text), record.weights)
    got = back.history[0]
    assert math.isnan(got.train["loss"]) and got.validation == {"loss": math.inf, "accuracy": -math.inf}
    assert math.isnan(got.samples_per_second) and got.grad_norms == {"hidden_1": math.inf}
    assert (got.stop_reason, got.message, back.roles) == ("not_finite", update.message, (("a", "ignored"),))
    restored = baselines_from_json(back.baselines)
    assert restored.scores["majority"] == _baselines().scores["majority"]
    assert math.isnan(restored.scores["linear"].standard_error) and restored.scores["boosted_trees"].error
    assert back.extra == {"n": 3, "x": "nan"}


def test_baselines_that_arrive_after_the_run_ended_are_added_to_it(store, binary):
    raw, table, schema, chosen, first, second = binary
    session = new_id()
    pending: Future = Future()
    second.baselines_future = pending
    try:
        store.save_run(session, 2, second, chosen)
        assert store.load_session(session).run(2).baselines is None
        pending.set_result(_baselines())
    finally:
        second.baselines_future = None
    assert store.load_session(session).run(2).baselines == baselines_to_json(_baselines())


# -------------------------------------------------------------------------------------- a run still training

def test_a_checkpointed_run_comes_back_stopped_at_its_last_saved_epoch(store):
    raw, table = _csv_table(make_binary())
    schema = inspect_frame(table.frame, target="target")
    run = start_run(table.frame, schema, TrainConfig(hidden=(8,), epochs=6), source_sha256=table.info.sha256)
    session = new_id()
    store.save_table(session, TableSource.upload(raw, table.info))
    saved_weights = None
    for update in run.epochs():
        if update.epoch == 3:
            store.checkpoint_run(session, 1, run, schema, {"table": "table.csv"})
            saved_weights = run.model.get_weights()
            break  # the server went away here: nothing after epoch 3 was saved
    record = store.load_session(session).run(1)
    assert record.running and record.epochs_done == 3
    restored = restore_run(record, table.frame)
    assert restored.stopped_because == "stopped"
    assert restored.message == ("This run was training when the server stopped: it is back as it was at epoch 3 of 6, "
                                "its last saved epoch.")
    assert _rows(restored.history) == _rows(run.history[:3])
    for got, want in zip(restored.model.get_weights(), saved_weights, strict=True):
        np.testing.assert_array_equal(got, want)
    assert restored.predict(restored.prepared.raw_val).equals(run.predict(run.prepared.raw_val))


def test_autosave_checkpoints_every_few_seconds_not_every_epoch(store, monkeypatch):
    monkeypatch.setattr("tapeapp.keep.store.COST_SHARE", 0)  # every epoch's checkpoint counts, however long
    raw, table = _csv_table(make_binary())
    schema = inspect_frame(table.frame, target="target")
    run = start_run(table.frame, schema, TrainConfig(hidden=(4,), epochs=4))
    session = new_id()
    rarely, always = Autosave(store, session, 1, schema, every=3600), Autosave(store, session, 2, schema, every=0)
    saved = [(rarely.after_epoch(run), always.after_epoch(run)) for _ in run.epochs()]
    assert saved == [(False, True)] * 4
    assert store.load_session(session).run(2).epochs_done == 4 and store.load_session(session).run(1) is None
    rarely.finish(run)
    kept = store.load_session(session).run(1)
    assert not kept.running and kept.stopped_because == "finished" and kept.epochs_done == 4


def test_a_slow_checkpoint_waits_longer_before_the_next(store, binary):
    raw, table, schema, chosen, first, second = binary
    autosave = Autosave(store, new_id(), 1, schema, every=5, cost=1.0, last=time.monotonic() - 10)
    assert autosave.after_epoch(first) is False  # 10 s since the last, but it took 1 s: wait 20
    autosave.last -= 15
    assert autosave.after_epoch(first) is True and 0 < autosave.cost < 1.0


def test_a_store_that_cannot_be_written_does_not_stop_the_work(tmp_path, binary):
    raw, table, schema, chosen, first, second = binary
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    store = RunStore(blocked / "store")
    with pytest.raises(StoreUnavailable, match=r"^Your work cannot be kept on this server right now"):
        store.save_state(new_id(), {"a": 1})
    autosave = Autosave(store, new_id(), 1, schema, every=0)
    assert autosave.after_epoch(first) is False and autosave.problem.startswith("Your work cannot be kept")


# ------------------------------------------------------------------------------------------------- damage

def test_a_truncated_weights_file_loses_that_run_only(store, binary):
    session = _saved(store, binary)
    weights = next((store.root / "sessions" / session / "runs" / "000002").glob("weights-*.npz"))
    weights.write_bytes(weights.read_bytes()[:100])
    kept = store.load_session(session)
    assert kept.problems == ("Run 2 could not be read back (its saved model is damaged); the other runs are here.",)
    assert [r.number for r in kept.runs] == [1] and kept.table.data and kept.state["target"] == "target"
    restore_run(kept.run(1), kept.table.read().frame)


def test_a_damaged_record_table_or_state_is_said_in_plain_words(store, binary):
    session = _saved(store, binary)
    folder = store.root / "sessions" / session
    (folder / "runs" / "000001" / "run.json").write_text('{"format": 1, "histo')
    (folder / "state.json").write_text("[1, 2")
    next(folder.glob("table-*.bin")).write_bytes(b"age,dose\n1,2\n")  # not the bytes its sha256 names
    kept = store.load_session(session)
    assert kept.problems == (
        "The table of this session could not be read back (its saved copy is damaged); open it again.",
        "The settings of this session could not be read back; they are back to their defaults.",
        "Run 1 could not be read back (its saved settings and history are damaged); the other runs are here.")
    assert kept.table is None and kept.state == {} and [r.number for r in kept.runs] == [2]
    (folder / "runs" / "000002" / "run.json").write_text("null")
    assert store.load_session(session).problems[-1] == ("Run 2 could not be read back (its saved settings and "
                                                        "history are damaged).")


def test_a_record_cannot_point_outside_its_folder(store, binary):
    session = _saved(store, binary)
    path = store.root / "sessions" / session / "runs" / "000001" / "run.json"
    data = json.loads(path.read_text())
    data["weights"]["file"] = "../000002/" + data["weights"]["file"]
    path.write_text(json.dumps(data))
    assert store.load_session(session).problems[0].startswith("Run 1 could not be read back")


# ------------------------------------------------------------------------------------ budget, use and expiry

def _session_of_size(store, size: int, age: float) -> str:
    session = new_id()
    store.save_state(session, {"pad": "x" * size})
    when = time.time() - age
    os.utime(store.root / "sessions" / session, (when, when))
    return session


def test_a_full_store_evicts_the_oldest_sessions_but_never_one_in_use(tmp_path):
    store = RunStore(tmp_path / "store", budget_bytes=350_000, in_use_seconds=600)
    oldest, marked, old, recent = (_session_of_size(store, 100_000, age) for age in (5000, 4000, 3000, 100))
    store.mark_in_use(marked)
    newest = _session_of_size(store, 100_000, 0)  # five sessions of 100 kB: over the 350 kB budget
    assert store.evict(keep=newest) == 2
    assert [store.exists(s) for s in (oldest, marked, old, recent, newest)] == [False, True, False, True, True]
    assert store.total_bytes() <= 350_000
    store.release(marked)
    assert not store.in_use(marked)
    assert store.evict() == 0  # under budget now: nothing more goes


def test_when_everything_is_in_use_nothing_is_evicted(tmp_path):
    store = RunStore(tmp_path / "store", budget_bytes=100_000, in_use_seconds=600)
    sessions = [_session_of_size(store, 80_000, age) for age in (300, 200, 100)]  # all used in the last 10 minutes
    assert store.evict() == 0 and all(store.exists(s) for s in sessions)
    big = new_id()
    store.save_table(big, TableSource(name="t.csv", data=b"a,b\n" + b"1,2\n" * 50_000))  # save_table tidies
    assert store.exists(big)


def test_saving_keeps_the_store_within_its_budget(tmp_path):
    store = RunStore(tmp_path / "store", budget_bytes=250_000, in_use_seconds=60)
    old = _session_of_size(store, 200_000, 3600)
    session = new_id()
    store.save_table(session, TableSource(name="t.csv", data=b"a,b\n" + b"1,2\n" * 25_000))
    assert not store.exists(old) and store.exists(session)


def test_entries_unused_for_the_maximum_age_expire(tmp_path):
    store = RunStore(tmp_path / "store", max_age_days=1)
    lesson = store.save_lesson(TableSource.builtin("iris"), {"target": "species"})
    when = time.time() - 2 * 86_400
    os.utime(store.root / "lessons" / lesson, (when, when))
    stale, marked, fresh = (_session_of_size(store, 10, age) for age in (2 * 86_400, 3 * 86_400, 3600))
    store.mark_in_use(marked)
    assert store.expire() == 2
    assert [store.exists(s) for s in (stale, marked, fresh)] == [False, True, True]
    assert store.load_lesson(lesson) is None
    assert not list((store.root / "trash").iterdir())


def test_opening_a_session_counts_as_using_it(tmp_path):
    store = RunStore(tmp_path / "store", max_age_days=1)
    session = _session_of_size(store, 10, 2 * 86_400)
    store.load_session(session)
    assert store.expire() == 0 and store.exists(session)


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEAPP_STORE", str(tmp_path / "mine"))
    monkeypatch.setenv("TAPEAPP_STORE_MB", "50")
    monkeypatch.setenv("TAPEAPP_STORE_DAYS", "0.5")
    store = open_store()
    assert (store.root, store.budget_bytes, store.max_age_seconds) == (tmp_path / "mine", 50_000_000, 43_200)
    monkeypatch.setenv("TAPEAPP_STORE_MB", "-3")
    monkeypatch.setenv("TAPEAPP_STORE_DAYS", "a week")
    monkeypatch.delenv("TAPEAPP_STORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    store = RunStore()
    assert (store.root, store.budget_bytes, store.max_age_seconds) == (tmp_path / "cache" / "tapeapp" / "store",
                                                                       2_000_000_000, 7 * 86_400)
    monkeypatch.setenv("TAPEAPP_STORE", "off")
    assert open_store() is None


# ------------------------------------------------------------------------------------- lessons and threads

def test_a_lesson_is_kept_and_opened_by_its_own_id(store):
    raw = make_binary().to_csv(index=False).encode()
    table = read_table(raw, "class.csv")
    lesson = store.save_lesson(TableSource.upload(raw, table.info), {"target": "target", "epochs": 5})
    assert valid_id(lesson) and store.load_session(lesson) is None  # lessons and sessions are apart
    kept = store.load_lesson(lesson)
    assert kept.setup == {"target": "target", "epochs": 5} and kept.table.read().frame.equals(table.frame)
    sample = store.load_lesson(store.save_lesson(TableSource.builtin("iris"), {}))
    assert sample.table.sample == "iris" and sample.table.available
    assert store.load_lesson(new_id()) is None
    (store.root / "lessons" / lesson / "setup.json").write_text("{")
    with pytest.raises(TapeError, match=r"^This lesson could not be read back"):
        store.load_lesson(lesson)


def test_many_threads_write_and_read_at_once(store, binary):
    raw, table, schema, chosen, first, second = binary
    shared, errors = new_id(), []
    store.save_run(shared, 1, first, schema)

    def work(i: int) -> None:
        try:
            own = new_id()
            for step in range(5):
                store.save_state(shared, {"writer": i, "step": step})
                store.save_state(own, {"writer": i})
                store.checkpoint_run(shared, 2 + i % 2, second, chosen)
                kept = store.load_session(shared)
                assert kept.problems == () and kept.state["step"] in range(5)
        except Exception as error:  # noqa: BLE001  (handed to the main thread)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = store.load_session(shared)
    assert [r.number for r in kept.runs] == [1, 2, 3]
    assert all(len(list((store.root / "sessions" / shared / "runs" / f"{n:06d}").glob("weights-*"))) == 1
               for n in (1, 2, 3))
    assert not list((store.root / "tmp").iterdir())
