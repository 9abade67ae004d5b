"""The loop: a generator of per-epoch updates that can stop at any time, reproducible, guarded, and correct."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from tapeapp import TapeError, TrainConfig, evaluate, inspect_frame, start_run
from tapeapp._tf import tf
from tapeapp.train.model import build_model, make_loss, make_optimizer


def _run(frame, target, **config):
    """A run of the loop: every epoch asked for is trained and the last kept (patience 0) unless a test says
    otherwise; the defaults' early stopping and folds are tested in test_defaults."""
    return start_run(frame, inspect_frame(frame, target=target), TrainConfig(**{"patience": 0, **config}))


def test_one_update_per_epoch_with_everything_the_page_draws(binary_frame):
    run = _run(binary_frame, "target", epochs=3, val_fraction=0.25)
    updates = list(run.epochs())
    assert [u.epoch for u in updates] == [1, 2, 3]
    u = updates[-1]
    assert set(u.train) == set(u.validation) == {"loss", "accuracy", "auc"}
    assert set(u.grad_norms) == set(u.weight_norms) == {"hidden_1", "hidden_2", "output"}
    assert all(v > 0 for v in u.grad_norms.values())
    assert u.learning_rate == pytest.approx(1e-3) and u.seconds > 0 and u.samples_per_second > 0
    assert [x.stop_reason for x in updates] == [None, None, "finished"]
    assert run.stopped_because == "finished" and len(run.history) == 3
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        dataclasses.replace(u, epoch=9).__setattr__("epoch", 1)


def test_it_learns(binary_frame):
    run = _run(binary_frame, "target", epochs=40, val_fraction=0.25).fit()
    assert run.history[-1].train["loss"] < run.history[0].train["loss"]
    assert run.history[-1].validation["accuracy"] >= 0.8


def test_breaking_out_keeps_the_last_finished_epochs_weights(binary_frame):
    run = _run(binary_frame, "target", epochs=10)
    snapshots = []
    gen = run.epochs()
    for update in gen:
        snapshots.append([w.copy() for w in run.model.get_weights()])
        if update.epoch == 3:
            break
    gen.close()
    assert run.stopped_because == "stopped" and len(run.history) == 3
    assert "after 3 of 10" in run.message
    for now, then in zip(run.model.get_weights(), snapshots[-1]):
        np.testing.assert_array_equal(now, then)
    assert not all(np.array_equal(a, b) for a, b in zip(snapshots[0], snapshots[-1]))


def test_same_seed_same_history_other_seed_other_history(binary_frame):
    a = _run(binary_frame, "target", epochs=4, seed=5).fit().history_frame()
    b = _run(binary_frame, "target", epochs=4, seed=5).fit().history_frame()
    c = _run(binary_frame, "target", epochs=4, seed=6).fit().history_frame()
    cols = [c_ for c_ in a.columns if c_ not in ("seconds", "samples_per_second")]
    assert a[cols].equals(b[cols])
    assert not a[cols].equals(c[cols])


@pytest.mark.parametrize("knobs", [dict(), dict(dropout=0.3, optimizer="adam")])
def test_a_reused_compiled_epoch_trains_exactly_like_a_fresh_one(binary_frame, knobs):
    """The pool hands a finished run's runner to the next run with the same graph: same history as building anew."""
    from tapeapp.train.runners import POOL

    def history(seed: int, learning_rate: float) -> tuple:
        run = _run(binary_frame, "target", epochs=3, seed=seed, learning_rate=learning_rate, **knobs)
        for _ in run.epochs():
            runner = run.runner
        assert run.runner is None, "a finished run gives its compiled epoch back"
        return run.history_frame().drop(columns=["seconds", "samples_per_second"]), runner

    POOL.clear()
    fresh, first = history(7, 3e-3)
    other, second = history(1, 1e-2)  # reuses the first run's runner, now at another seed and learning rate
    assert second is first, "the second run should reuse the first run's compiled epoch"
    POOL.clear()
    again, third = history(1, 1e-2)  # built and traced anew
    assert third is not first
    assert other.equals(again), "a reused runner must train exactly like a new one"
    assert not fresh.equals(other)


def test_folds_and_tables_of_other_lengths_use_the_epoch_traced_once():
    """Tracing costs more than a small table's epoch: the folds (each its own number of rows) and the next, longer
    table with the same graph run the one trace."""
    from helpers.tables import make_binary
    from tapeapp.train.runners import POOL

    POOL.clear()
    runners = []
    for rows in (150, 400):
        run = _run(make_binary(rows), "target", epochs=3, patience=5)
        assert run.choice == "folds"
        for _ in run.epochs():
            runners.append(run.runner)
    assert len(set(map(id, runners))) == 1, "the second table should reuse the first one's compiled epoch"
    assert runners[0]._epoch.experimental_get_tracing_count() == 1
    assert runners[0]._score_at.experimental_get_tracing_count() == 1


def test_importing_tapeapp_sets_the_kernels_before_tensorflow_loads():
    """A notebook may import TensorFlow itself right after tapeapp: the oneDNN switch must already be set then."""
    code = ("import os, sys; import tapeapp; "
            "print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'), 'tensorflow' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.stdout.split() == ["0", "False"]


def test_compiled_epoch_matches_a_plain_eager_loop_including_the_partial_batch(binary_frame):
    config = TrainConfig(epochs=3, batch_size=32, val_fraction=0.25, dropout=0.0)
    run = start_run(binary_frame, inspect_frame(binary_frame, target="target"), config)
    n = len(run.prepared.y_train)
    assert n % 32 != 0, "the table must leave a partial last batch"
    fast = [u.train["loss"] for u in run.fit().history]

    data = run.prepared
    model = build_model(data.x_train.shape[1], 1, "binary", config)
    loss_fn, optimizer = make_loss("binary"), make_optimizer(config)
    slow = []
    for epoch in range(1, 4):
        order = tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.constant([config.seed, epoch]))
        losses = []
        for start in range(0, n, 32):
            rows = order[start:start + 32]
            with tf.GradientTape() as tape:
                loss = loss_fn(tf.gather(data.y_train, rows), model(tf.gather(data.x_train, rows), training=True))
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            losses.append(float(loss))
        slow.append(float(np.mean(losses)))
    np.testing.assert_allclose(fast, slow, rtol=1e-5)
    x = data.x_val[:5]
    np.testing.assert_allclose(run.model(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("learning_rate", [0.5, 100.0])  # blows up in a later epoch / in the first
def test_huge_learning_rate_stops_with_a_plain_reason_and_keeps_good_weights(regression_frame, learning_rate):
    run = _run(regression_frame, "price", epochs=30, patience=0, learning_rate=learning_rate, optimizer="sgd",
               momentum=0.9)
    updates, snapshots = [], [run.model.get_weights()]
    for update in run.epochs():
        updates.append(update)
        snapshots.append(run.model.get_weights())
    assert run.stopped_because == "not_finite" and updates[-1].stop_reason == "not_finite"
    assert "learning rate is too high" in run.message
    assert len(updates) < 30 and (len(updates) > 1) == (learning_rate < 1)
    for kept, last_good in zip(run.model.get_weights(), snapshots[len(updates) - 1]):
        np.testing.assert_array_equal(kept, last_good)
    assert np.isfinite(run.predict(regression_frame.head(3)).iloc[:, 0]).all()


def test_early_stopping_on_the_validation_rows_restores_their_best_epoch(binary_frame):
    run = _run(binary_frame, "target", epochs=300, patience=3, inner_fraction=0, optimizer="adam",
               learning_rate=0.05, hidden=(128, 128), val_fraction=0.3).fit()
    assert run.stopped_because == "early_stopping" and len(run.history) < 300
    best = min(range(len(run.history)), key=lambda i: run.history[i].validation["loss"])
    assert f"from epoch {best + 1}" in run.message
    assert evaluate(run).headline["accuracy"] == pytest.approx(run.history[best].validation["accuracy"])


def test_zero_epochs_and_batches_larger_than_the_data(binary_frame):
    run = _run(binary_frame, "target", epochs=0).fit()
    assert run.history == [] and run.stopped_because == "finished" and "untrained" in run.message
    run = _run(binary_frame, "target", epochs=2, batch_size=10_000).fit()
    assert len(run.history) == 2 and math.isfinite(run.history[-1].train["loss"])


def test_multiclass_and_regression_heads(multiclass_frame, regression_frame):
    run = _run(multiclass_frame, "species", epochs=30, optimizer="adam", learning_rate=0.01).fit()
    assert run.task == "multiclass" and run.model.output.shape[-1] == 3
    assert run.history[-1].validation["accuracy"] > 0.7
    reg = _run(regression_frame, "price", epochs=60, optimizer="adam", learning_rate=0.01).fit()
    assert reg.task == "regression" and set(reg.history[-1].validation) == {"loss", "mae", "rmse", "r2"}
    assert reg.history[-1].validation["r2"] > 0.8
    assert reg.history[-1].validation["mae"] > 100, "metrics are in the target's units, not scaled ones"


def test_regularisation_dropout_and_class_weights_train(binary_frame):
    run = _run(binary_frame, "target", epochs=3, dropout=0.3, l2=0.01, class_weight="balanced",
               optimizer="adamw", activation="gelu", hidden=(16, 8, 4)).fit()
    assert len(run.history) == 3 and set(run.history[-1].grad_norms) == {"hidden_1", "hidden_2", "hidden_3", "output"}


def test_a_run_trains_once(binary_frame):
    run = _run(binary_frame, "target", epochs=1).fit()
    with pytest.raises(RuntimeError):
        run.fit()


def test_no_feature_left_is_a_user_error(binary_frame):
    schema = inspect_frame(binary_frame, target="target").with_roles(
        {"age": "ignored", "dose": "ignored", "color": "ignored"})
    with pytest.raises(TapeError, match="No column is left"):
        start_run(binary_frame, schema, TrainConfig(epochs=1))


def test_keras_prints_nothing(binary_frame, capfd):
    _run(binary_frame, "target", epochs=2).fit()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_training_matrices_reach_tensorflow_without_a_copy_when_aligned(binary_frame):
    from tapeapp.train.loop import as_tensor

    run = _run(binary_frame, "target", epochs=1)
    x = run.prepared.x_train
    assert x.ctypes.data % 128 == 0 and x.dtype == np.float32
    tensor = as_tensor(x)
    before = float(tensor[0, 0])
    x[0, 0] += 1.0  # the tensor reads the very same memory
    assert float(tensor[0, 0]) == float(x[0, 0]) != before
    x[0, 0] = before
    odd = np.ones(17, np.float32)[1:]  # 4 bytes past an allocation: not aligned, copied instead
    copied = as_tensor(odd)
    odd[0] = 5.0
    assert float(copied[0]) == 1.0 and copied.shape == (16,)


def test_an_error_inside_training_is_told_apart_from_stop(binary_frame, monkeypatch):
    from tapeapp.train import loop

    real = loop.EpochRunner.run_epoch

    def breaks_in_epoch_3(self, *args, **kwargs):
        if args[-1] == 3:
            raise MemoryError("out of memory")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(loop.EpochRunner, "run_epoch", breaks_in_epoch_3)
    run = _run(binary_frame, "target", epochs=5, patience=0)
    with pytest.raises(MemoryError):
        run.fit()
    assert run.stopped_because == "failed" and len(run.history) == 2
    assert run.message == "Training broke off with an error after 2 of 5 epochs."
    stopped = _run(binary_frame, "target", epochs=5, patience=0)
    updates = stopped.epochs()
    next(updates)
    updates.close()
    assert stopped.stopped_because == "stopped" and stopped.message == "Stopped by you after 1 of 5 epochs."


@pytest.mark.parametrize("frame_name,target", [("binary_frame", "target"), ("regression_frame", "price")])
def test_scoring_in_slices_gives_the_same_numbers_as_one_pass(frame_name, target, request, monkeypatch):
    from tapeapp.train import loop

    frame = request.getfixturevalue(frame_name)
    whole = _run(frame, target, epochs=2).fit().history
    monkeypatch.setattr(loop, "SCORE_ROWS", 7)  # validation rows scored 7 at a time, the last slice shorter
    sliced = _run(frame, target, epochs=2).fit().history
    for a, b in zip(whole, sliced):
        assert a.validation.keys() == b.validation.keys()
        for key in a.validation:
            assert b.validation[key] == pytest.approx(a.validation[key], rel=1e-5, abs=1e-6), key


def test_a_long_epoch_runs_in_compiled_chunks_with_the_numbers_of_one_call(binary_frame, monkeypatch):
    """An epoch split into many compiled calls (Stop is heard between them) trains the same weights and scores."""
    from tapeapp.train import loop

    whole = _run(binary_frame, "target", epochs=3, batch_size=16).fit()
    monkeypatch.setattr(loop, "CHUNK_SECONDS", 1e-9)  # every step its own call, every validation row too
    asked = []
    chunked = _run(binary_frame, "target", epochs=3, batch_size=16)
    for _ in chunked.epochs(checkpoint=lambda: asked.append(1) or False):
        pass
    assert len(asked) > 3 * 6, "the checkpoint is asked between the calls of each epoch"
    for a, b in zip(whole.model.get_weights(), chunked.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(whole.history, chunked.history):
        assert a.train["accuracy"] == b.train["accuracy"] and a.train["auc"] == b.train["auc"]
        for key in ("loss",):
            assert b.train[key] == pytest.approx(a.train[key], rel=1e-6)
        for key in a.validation:
            assert b.validation[key] == pytest.approx(a.validation[key], rel=1e-5, abs=1e-7)


def test_a_stop_mid_epoch_keeps_the_last_finished_epochs_weights(binary_frame, monkeypatch):
    from tapeapp.train import loop

    two = _run(binary_frame, "target", epochs=2, batch_size=16).fit()
    monkeypatch.setattr(loop, "CHUNK_SECONDS", 1e-9)
    run = _run(binary_frame, "target", epochs=5, batch_size=16)
    asked_in_epoch_3 = []

    def stop_midway() -> bool:
        if len(run.history) < 2:
            return False
        asked_in_epoch_3.append(1)
        return len(asked_in_epoch_3) == 4  # the epoch's start, then two steps, then stop before the third

    updates = list(run.epochs(checkpoint=stop_midway))
    assert [u.epoch for u in updates] == [1, 2] and run.stopped_because == "stopped"
    assert run.message == "Stopped by you after 2 of 5 epochs."
    for a, b in zip(two.model.get_weights(), run.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_request_stop_from_another_thread_ends_a_long_epoch_within_a_compiled_call(binary_frame, monkeypatch):
    from tapeapp.train import loop

    monkeypatch.setattr(loop, "CHUNK_SECONDS", 1e-9)
    run = _run(binary_frame, "target", epochs=10_000, batch_size=1)
    seen = []
    for update in run.epochs(checkpoint=lambda: False):
        seen.append(update.epoch)
        if len(seen) == 2:
            threading.Timer(0.05, run.request_stop).start()
    assert run.stopped_because == "stopped" and len(run.history) == len(seen) < 10_000
