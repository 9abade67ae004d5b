"""Good defaults on the page (issue 20): which epoch the model keeps and who chose it, what training cost, the
epoch chooser's curve, cross-validation's progress, and the per-column switch for the signed log of skewed numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.page import charts_on, job_of, ok, page_app, plain, upload_to

pytestmark = pytest.mark.slow


def _visits(n: int, seed: int = 0) -> pd.DataFrame:
    """A yes/no answer driven by a heavily skewed count (a few huge values) and a plain number."""
    rng = np.random.default_rng(seed)
    visits = np.floor(rng.lognormal(3, 1.6, n))
    age = rng.normal(40, 12, n).round()
    score = np.log1p(visits) - 3 + 0.03 * (age - 40) + rng.normal(0, 0.6, n)
    return pd.DataFrame({"visits": visits, "age": age, "target": np.where(score > 0, "yes", "no")})


def _train(at):
    at.button(key="train").click()
    ok(at.run())
    job = job_of(at)
    assert job.done.wait(300)
    return ok(at.run()), job


def _captions(at) -> str:
    return "\n".join(plain(c.value) for c in at.caption)


def test_the_default_run_keeps_its_best_epoch_chosen_on_held_back_training_rows():
    at = upload_to(ok(page_app().run()), _visits(2_400).to_csv(index=False).encode(), "visits.csv")
    at, job = _train(at)
    run = job.run
    assert run.choice == "inner" and 1 <= run.kept_epoch <= len(run.history) <= 200
    captions = _captions(at)
    assert f"The model keeps epoch {run.kept_epoch}: its best on the 20% of the training rows held back" in captions
    assert "Training took" in captions
    (loss,) = charts_on(at)["Loss (lower is better)"]
    assert set(loss["split"]) == {"train", "validation", "epoch chooser"}
    runs = next(d.value for d in at.dataframe if "kept epoch" in d.value.columns)
    assert runs.loc[0, "kept epoch"] == run.kept_epoch


def test_a_small_table_lets_cross_validation_choose_the_epochs_and_shows_its_progress():
    from ui import training

    at, job = _train(ok(page_app().run()))  # the built-in sample: fewer than 1,000 training rows
    run = job.run
    assert run.choice == "folds" and run.chosen_epochs == len(run.history) and run.folds
    assert f"3-fold cross-validation on the training rows chose {run.chosen_epochs} epochs" in _captions(at)
    share, text = training.fold_progress(run.folds[len(run.folds) // 2], job)
    assert 0 < share < 1 and text.startswith("Choosing how many epochs to train: fold ")


def test_a_skewed_number_is_logged_unless_its_switch_is_off():
    content = _visits(600).to_csv(index=False).encode()
    at = upload_to(ok(page_app().run()), content, "visits.csv")
    editor = next(d for d in at.dataframe if "log if skewed" in d.value.columns)  # the columns table
    assert editor.value.set_index("name")["log if skewed"].to_dict()["visits"] is True
    at, job = _train(at)
    assert "visits" in job.run.prepared.preprocessor.skew_
    summary = job.run.prepared.preprocessor.summary().set_index("column")
    assert summary.loc["visits", "treated as"] == "number, signed log" and "skewed" in summary.loc["visits", "why"]

    other = upload_to(ok(page_app().run()), content, "visits.csv")
    roles_key = next(k for k in other.session_state if str(k).startswith("roles_"))
    other.session_state["base_roles"] = {roles_key: {"roles": {}, "plain": ["visits"]}}  # as a kept session brings
    ok(other.run())
    other, kept_plain = _train(other)
    assert "visits" not in kept_plain.run.prepared.preprocessor.skew_
    assert kept_plain.schema.plain == ("visits",)
