"""The page driven headless with Streamlit's AppTest: every section, a real upload, training, results, errors.

Tables are small and generated here; nothing touches the internet. Training uses three epochs.
"""

from __future__ import annotations

import io
import time
import urllib.error

import numpy as np
import pandas as pd
import pytest

import tapeapp  # noqa: E402
import tapeapp.data.samples  # noqa: E402
from helpers.page import (  # puts the project on sys.path
    charts_on,
    job_of,
    ok,
    page_app,
    seen,
    table_with,
    train_on,
    upload_to,
)
from ui import job as ui_job  # noqa: E402
from ui import target as ui_target  # noqa: E402
from ui.state import Box  # noqa: E402


def _classes_csv(n: int = 120) -> bytes:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"height": rng.normal(170, 10, n).round(1), "weight": rng.normal(70, 12, n).round(1),
                          "colour": rng.choice(["red", "green", "blue"], n), "smoker": rng.choice(["yes", "no"], n)})
    frame["plan"] = np.where(frame["weight"] > 72, "premium", "basic")
    return frame.to_csv(index=False).encode()


def _numbers_csv(n: int = 120) -> bytes:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"rooms": rng.integers(1, 7, n), "area": rng.uniform(30, 200, n).round(1),
                          "district": rng.choice(["north", "south"], n)})
    frame["price"] = (frame["area"] * 3000 + frame["rooms"] * 10000 + rng.normal(0, 5000, n)).round(0)
    return frame.to_csv(index=False).encode()


def test_first_run_shows_the_default_sample_ready_to_train():
    at = ok(page_app().run())
    assert at.title[0].value.startswith("TensorFlow Playground")
    assert [h.value for h in at.header][:4] == ["1. Your data", "2. What to predict", "3. Knobs",
                                                "4. Train and watch it learn"]
    assert at.session_state["sample_pick"] == "breast_cancer"
    assert any("569 rows × 31 columns" in seen(m) for m in at.markdown)
    target = next(s for s in at.selectbox if s.key and s.key.startswith("target_"))
    assert target.value == "diagnosis"
    assert "What 'diagnosis' looks like" in charts_on(at)
    assert not at.button(key="train").disabled and at.button(key="stop").disabled
    assert not at.error


def test_upload_change_target_and_epochs_then_train():
    at = ok(page_app().run())
    at = upload_to(at, _classes_csv(), "people.csv")
    assert any("people.csv" in seen(m) and "120 rows × 5 columns" in seen(m) for m in at.markdown)
    target = next(s for s in at.selectbox if s.key and s.key.startswith("target_"))
    assert target.value == "plan"
    target.set_value("smoker")
    ok(at.run())
    assert at.query_params.get("target") == "smoker"
    at = train_on(at, epochs=3)
    assert at.query_params.get("epochs") == "3"
    assert not at.error
    charts = charts_on(at)
    if job_of(at).run.baselines is None:  # fitted in the background: on a slow machine they may come after the run
        job_of(at).run.wait_baselines(120)
        charts = charts_on(ok(at.run()))
    assert len(charts["Accuracy (higher is better)"][1]) == 3, "the simpler models' scores, as dotted lines"
    table = next(d.value for d in at.dataframe if "model" in d.value.columns)
    assert table["model"].tolist()[0] == "the network (tapeapp)" and len(table) == 4
    assert any(h.value == "Compared with simpler models" for h in at.subheader)
    for title in ("Loss (lower is better)", "Accuracy (higher is better)"):
        data = charts[title][0]
        this_run = data[data["run"] == "this run"]
        assert sorted(this_run.groupby("split")["epoch"].apply(list).to_dict().items()) == [
            ("train", [1, 2, 3]), ("validation", [1, 2, 3])]
    (grads,) = charts["Under the hood: gradient norms per layer"]
    assert grads.groupby("layer")["epoch"].count().tolist() == [3, 3, 3]
    assert "Finished all 3 epochs." in [seen(s) for s in at.success]
    assert {m.label for m in at.metric[:3]} == {"Accuracy", "AUC", "F1 score"}  # the headline scores
    assert {"Confusion matrix", "ROC curve", "Precision-recall curve"} <= set(charts)
    assert [d.proto.label for d in at.get("download_button")] == [
        "Download the project (.zip)", "Download a report (.html)", "model.keras", "history.csv", "config.json",
        "predictions.csv", "reproduce.py"]
    runs = table_with(at, "epochs run")
    assert runs.loc[0, "target"] == "smoker" and runs.loc[0, "epochs run"] == "3 of 3"
    _what_the_network_learned(at)


def _what_the_network_learned(at) -> None:
    """The section between training and results: a live decision map, the hidden layer, importance, one step."""
    headers = [h.value for h in at.header]
    assert headers[3:6] == ["4. Train and watch it learn", "What the network learned", "5. Results"]
    charts = charts_on(at)
    grid, points, _marked = charts["Decision map"]
    assert {"x", "y", "value"} <= set(grid.columns) and grid["value"].between(0, 1).all()
    assert len(points) == 48 and set(points["truth"]) == {"yes", "no"}  # every validation row, true class
    assert at.selectbox(key="map_x").value in ("height", "weight") and at.selectbox(key="map_y").value in (
        "height", "weight"), "numbers first, by how much they tell about the target"
    (hidden,) = charts["Inside the last hidden layer"]
    assert list(hidden.columns[:4]) == ["x", "y", "label", "correct"] and len(hidden) == 48
    (ranked,) = charts["Which columns matter"]
    assert sorted(ranked["column"]) == ["colour", "height", "plan", "weight"]
    (step,) = [e for e in at.expander if e.label == "One step under the tape"]
    assert "tape.gradient" in step.code[0].value and "apply_gradients" in " ".join(seen(m) for m in step.markdown)
    at.selectbox(key="map_x").set_value("colour")
    ok(at.run())
    grid, *_ = charts_on(at)["Decision map"]
    assert set(grid["x"]) == {"red", "green", "blue"}, "a text axis: one line per category"


def test_threshold_moves_the_confusion_matrix():
    at = train_on(ok(page_app().run()))
    (before,) = charts_on(at)["Confusion matrix"]
    at.slider(key="threshold").set_value(0.95)
    ok(at.run())
    (after,) = charts_on(at)["Confusion matrix"]
    assert before["count"].sum() == after["count"].sum()
    assert not before["count"].equals(after["count"])


def test_second_run_draws_the_first_one_faded_and_is_compared():
    at = train_on(ok(page_app().run()), epochs=3)
    at = train_on(at, epochs=4)
    (loss,) = charts_on(at)["Loss (lower is better)"]
    assert loss.groupby("run")["epoch"].max().to_dict() == {"previous run": 3, "this run": 4}
    runs = table_with(at, "epochs run")
    assert runs["epochs run"].tolist() == ["3 of 3", "4 of 4"]
    assert any(m.proto.delta for m in at.metric)


def test_regression_table():
    at = upload_to(ok(page_app().run()), _numbers_csv(), "flats.csv")
    assert any("A number (regression)" in seen(m) for m in at.markdown)
    (histogram,) = charts_on(at)["What 'price' looks like"]
    assert histogram["rows"].sum() == 120
    at = train_on(at)
    assert not at.error
    assert {m.label for m in at.metric[:3]} == {"Average error (MAE)", "Typical error (RMSE)", "R²"}
    charts = charts_on(at)
    rmse = charts["RMSE (lower is better)"][0]
    assert rmse.groupby("split")["epoch"].count().tolist() == [3, 3]
    points = charts["Predicted against actual"]
    assert max(len(p) for p in points) == 48  # the 40% validation rows
    assert "Errors (residuals)" in charts
    grid, points, _marked = charts["Decision map"]
    assert grid["value"].between(0, 1_500_000).all() and points["truth"].between(0, 1_500_000).all()
    assert len(at.get("download_button")) == 7


@pytest.mark.parametrize("content, name", [(b"", "empty.csv"), (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "x.csv")])
def test_a_file_that_is_not_a_table_is_a_plain_error(content, name):
    at = upload_to(ok(page_app().run()), content, name)
    assert at.error, "expected a plain error message"
    assert at.button(key="train").disabled


def test_samples_switch_in_one_click_and_an_offline_download_is_a_plain_error(monkeypatch, tmp_path):
    def offline(url, timeout=0):
        raise urllib.error.URLError("no network here")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(tapeapp.data.samples, "fetch_url", offline)
    at = ok(page_app().run())
    at.pills(key="sample_pick").set_value("wine")
    ok(at.run())
    assert any("178 rows × 14 columns" in seen(m) for m in at.markdown)
    at.pills(key="sample_pick").set_value("heart")
    ok(at.run())
    assert any("could not be downloaded" in seen(e) and "work offline" in seen(e) for e in at.error)
    assert at.session_state["sample_pick"] == "wine"
    assert any("178 rows × 14 columns" in seen(m) for m in at.markdown)
    assert not at.button(key="train").disabled


def test_task_can_be_overridden_and_a_wrong_task_is_explained():
    at = upload_to(ok(page_app().run()), _numbers_csv(), "flats.csv")
    next(s for s in at.selectbox if s.key and s.key.startswith("task_")).set_value("multiclass")
    ok(at.run())
    assert any(m.value.startswith("**Several classes**") for m in at.markdown)
    next(s for s in at.selectbox if s.key and s.key.startswith("task_")).set_value("binary")
    ok(at.run())
    assert any("not a yes/no question" in seen(e) for e in at.error)
    assert at.button(key="train").disabled


def test_role_edits_become_schema_changes_and_the_target_stays():
    before = pd.DataFrame({"name": ["a", "b", "y"], "role": ["feature", "feature", "target"]})
    edited = before.assign(role=["ignored", "feature", "target"])
    assert ui_target.role_changes(before, edited, "y") == ({"a": "ignored"}, False)
    edited = before.assign(role=["feature", "target", "feature"])
    assert ui_target.role_changes(before, edited, "y") == ({}, True)


def test_link_sets_knobs_and_names_bad_settings():
    at = page_app()
    at.query_params.update({"epochs": "7", "hidden": "16,8", "dropout": "lots", "sample": "iris",
                            "patience": "300", "momentum": "0.995", "seed": "123456789012", "learning_rate": "0.002"})
    ok(at.run())
    assert at.slider(key="cfg_epochs").value == 7
    assert at.slider(key="cfg_patience").value == 300 and at.slider(key="cfg_momentum").value == 0.995
    assert at.select_slider(key="cfg_learning_rate").value == 0.002
    assert at.slider(key="cfg_layers").value == 2
    assert at.number_input(key="cfg_width_1").value == 8
    assert any("dropout" in seen(w) for w in at.warning)
    assert at.session_state["sample_pick"] == "iris"
    assert at.query_params.get("epochs") == "7" and "dropout" not in at.query_params


def test_a_link_with_zero_epochs_or_unknown_names_is_explained():
    at = page_app()
    at.query_params.update({"epochs": "0", "colour": "blue", "sample": "nope"})
    ok(at.run())
    warnings = " ".join(seen(w) for w in at.warning)
    assert "epochs=0" in warnings and "colour=blue" in warnings and "sample=nope" in warnings
    assert at.slider(key="cfg_epochs").value == tapeapp.TrainConfig().epochs


def test_preset_sets_every_knob_and_a_change_makes_it_custom():
    at = ok(page_app().run())
    at.selectbox(key="preset").set_value("quick_look")
    ok(at.run())
    assert at.slider(key="cfg_epochs").value == 15
    assert at.selectbox(key="cfg_optimizer").value == "adam"
    at.slider(key="cfg_epochs").set_value(20)
    ok(at.run())
    assert at.selectbox(key="preset").value == "custom"
    at.selectbox(key="preset").set_value("tutorial")
    ok(at.run())
    assert at.selectbox(key="cfg_preprocessing").value == "tutorial" and at.selectbox(key="cfg_split").value == "random"
    assert at.query_params["split"] == "random", "the link carries the split"


def test_predictions_for_new_rows():
    at = train_on(upload_to(ok(page_app().run()), _classes_csv(), "people.csv"))
    rows = pd.read_csv(io.BytesIO(_classes_csv(20))).drop(columns=["plan"]).assign(note="x")
    rows.loc[0, "colour"] = "purple"
    at.file_uploader(key="predict_upload").upload("new.csv", rows.to_csv(index=False).encode(), "text/csv")
    ok(at.run())
    assert any("note" in seen(i) for i in at.info)
    assert any("purple" in seen(i) for i in at.info), "values the model never saw are pointed out"
    assert at.download_button(key="download_new_predictions")
    missing = rows.drop(columns=["weight"])
    at.file_uploader(key="predict_upload").clear().upload("bad.csv", missing.to_csv(index=False).encode())
    ok(at.run())
    assert any("weight" in seen(e) for e in at.error)


def _iris_job(epochs: int, ticket=None) -> ui_job.Job:
    """A job as the page starts one: the run prepared and its thread training (after its ticket's turn)."""
    table = tapeapp.load_sample("iris")
    schema = tapeapp.inspect_frame(table.frame)
    run = tapeapp.start_run(table.frame, schema, tapeapp.TrainConfig(epochs=epochs, patience=0, hidden=(8,)))
    job = ui_job.Job(number=1, run=run, previous=None, table_name="iris", read_options={}, ticket=ticket)
    return ui_job.begin(job)


def test_a_rerun_during_training_keeps_the_epochs_and_goes_on():
    at = page_app()
    job = _iris_job(200)
    at.session_state["training"] = Box(job)
    ok(at.run())
    assert len(job.run.history) == 200 and job.run.stopped_because == "finished"
    assert "Finished all 200 epochs." in [seen(s) for s in at.success]


def test_stop_ends_the_run_at_once_at_the_last_finished_epoch():
    from tapeapp.train.queueing import TrainingQueue

    queue = TrainingQueue(seats=1)
    queue.join("another student").try_train()  # holds the one seat: this job waits in line
    at = ok(page_app().run())
    job = _iris_job(6, ticket=queue.join("this job"))
    at.session_state["training"] = Box(job)
    job.stop()
    started = time.perf_counter()  # the Stop button's callback (above) runs first in the script run its click starts
    ok(at.run())
    assert time.perf_counter() - started < 30
    assert not job.running and job.run.stopped_because == "stopped" and not job.run.history
    assert "Stopped by you after 0 of 6 epochs." in [seen(i) for i in at.info]
    assert not at.button(key="train").disabled and at.button(key="stop").disabled


def test_stop_mid_run_keeps_the_last_finished_epoch_and_shows_its_results():
    at = page_app()
    job = _iris_job(10_000)
    while len(job.run.history) < 2:
        time.sleep(0.01)
    job.stop()  # what the Stop button's callback does
    at.session_state["training"] = Box(job)
    ok(at.run())
    done = len(job.run.history)
    assert done >= 2 and job.run.stopped_because == "stopped"
    assert f"Stopped by you after {done} of 10000 epochs." in [seen(i) for i in at.info]
    assert at.metric and len(at.get("download_button")) == 5  # a job made by hand: no schema, so no project


def test_advice_under_the_results_sets_the_knobs_it_names():
    at = page_app()
    at.query_params.update({"learning_rate": "10", "optimizer": "sgd"})
    at = upload_to(ok(at.run()), _numbers_csv(), "flats.csv")
    at = train_on(at, epochs=3)
    job = job_of(at)
    job.run.wait_baselines(120)
    ok(at.run())
    apply = [b for b in at.button if b.key and b.key.startswith("apply_")]
    assert apply, "a run the NaN guard stopped gets advice with knobs to change"
    advice = next(a for a in tapeapp.diagnose(job.run) if a.code == "learning_rate_high")
    assert any("learning_rate_high" in b.key for b in apply)
    next(b for b in apply if "learning_rate_high" in b.key).click()
    ok(at.run())
    assert at.session_state["config"].learning_rate == advice.changes["learning_rate"] < 10
    assert at.select_slider(key="cfg_learning_rate").value == advice.changes["learning_rate"]
    assert not at.button(key="train").disabled, "the user then presses Train"


def test_the_learning_rate_finder_suggests_a_rate_and_sets_the_slider():
    at = ok(page_app().run())
    at.button(key="find_lr").click()
    ok(at.run())
    (curve, _mark) = charts_on(at)["Learning-rate finder"]
    assert curve["learning_rate"].min() >= 1e-6 and curve["learning_rate"].is_monotonic_increasing
    suggested = at.session_state["lr_finding"][1].suggested_learning_rate
    at.button(key="use_lr").click()
    ok(at.run())
    assert at.select_slider(key="cfg_learning_rate").value == pytest.approx(float(f"{suggested:.2g}"))
    assert at.session_state["config"].learning_rate == pytest.approx(float(f"{suggested:.2g}"))
