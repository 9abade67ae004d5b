"""The learning-rate finder: a copy is range-tested, the run is untouched, the suggestion trains, the CLI's JSON
line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_cli import cli

from helpers.tables import make_binary, make_regression


@pytest.fixture(scope="module")
def binary():
    from tapeapp import inspect_frame

    frame = make_binary()
    return frame, inspect_frame(frame, target="target")


@pytest.fixture(scope="module")
def tested(binary):
    """A fresh run, its weights before the test, and the finding."""
    from tapeapp import TrainConfig, find_learning_rate, start_run

    run = start_run(*binary, TrainConfig(epochs=20, seed=1))  # 96 training rows: 3 batches an epoch, 60 in all
    before = [w.copy() for w in run.model.get_weights()]
    return run, before, find_learning_rate(run)


def test_the_run_is_untouched_and_trains_afterwards_as_without_the_test(binary, tested):
    from tapeapp import TrainConfig, start_run

    run, before, _ = tested
    after = run.model.get_weights()
    assert len(after) == len(before) and all(np.array_equal(a, b) for a, b in zip(after, before))
    assert run.stopped_because == "not_started" and not run.history
    untested = start_run(*binary, TrainConfig(epochs=20, seed=1)).fit()
    assert [u.row() | {"seconds": 0, "samples_per_second": 0} for u in run.fit().history] == \
           [u.row() | {"seconds": 0, "samples_per_second": 0} for u in untested.history]
    assert run.stopped_because == "finished"


def test_rates_rise_exponentially_from_the_start_and_losses_are_finite(tested):
    _, _, finding = tested
    rates, losses = np.array(finding.learning_rates), np.array(finding.losses)
    assert rates[0] == pytest.approx(1e-6) and len(rates) == len(losses) >= 50
    factors = rates[1:] / rates[:-1]
    assert np.allclose(factors, (1.0 / 1e-6) ** (1 / 99))
    assert np.isfinite(losses).all()
    assert 1e-5 <= finding.suggested_learning_rate <= 1.0
    assert set(finding.suggestions) == {"valley_scaled", "valley", "steep", "minimum"}
    assert finding.suggested_learning_rate == finding.suggestions["valley_scaled"] and "valley" in finding.rule
    assert finding.suggestions["valley_scaled"] == finding.suggestions["valley"]  # 60 batches: shorter than the test


def test_a_longer_run_gets_the_valley_rate_scaled_down(binary, tested):
    from tapeapp import TrainConfig, find_learning_rate, start_run

    _, _, short = tested
    long = find_learning_rate(start_run(*binary, TrainConfig(epochs=100, seed=1)))  # 300 batches
    assert long.losses == short.losses and long.suggestions["valley"] == short.suggestions["valley"]
    assert long.suggested_learning_rate == float(f"{short.suggestions['valley'] * (100 / 300) ** 0.5:.2g}")
    assert "sqrt(100 / 300)" in long.rule


def test_it_stops_when_the_loss_explodes():
    from tapeapp import TrainConfig, find_learning_rate, inspect_frame, start_run

    frame = make_regression()
    run = start_run(frame, inspect_frame(frame, target="price"), TrainConfig(optimizer="sgd", seed=0))
    finding = find_learning_rate(run, end=100.0)  # plain SGD with momentum at rates far above 1 surely blows up
    assert finding.stopped_because == "exploded" and len(finding.losses) < 100
    assert finding.losses[-1] > 4 * min(finding.losses) and all(map(math.isfinite, finding.losses))


def test_the_valley_rule_picks_the_middle_of_the_longest_fall():
    from tapeapp.train.lr_find import _suggest

    rates = list(1e-6 * (1e6 ** (np.arange(100) / 99)))
    losses = [1.0] * 30 + list(np.linspace(1.0, 0.2, 41)[1:]) + list(np.linspace(0.2, 3.0, 30))  # a noiseless curve
    assert _suggest("valley", rates, losses) == float(f"{rates[49]:.2g}")  # falls over batches 29..69
    assert _suggest("minimum", rates, losses) == float(f"{rates[69] / 10:.2g}")


def test_the_suggestion_trains_as_well_as_the_default_rate(binary, tested):
    from tapeapp import TrainConfig, start_run

    _, _, finding = tested
    scores = [start_run(*binary, TrainConfig(epochs=20, seed=1, learning_rate=rate)).fit().history[-1]
              .validation["accuracy"] for rate in (finding.suggested_learning_rate, 1e-3)]  # the tested run's knobs
    assert scores[0] >= 0.8 and scores[0] >= scores[1] - 0.05  # half the rows are positive: chance is 0.5


@pytest.mark.subprocess
def test_cli_prints_one_json_line_last(tmp_path):
    path = tmp_path / "table.csv"
    make_binary().to_csv(path, index=False)
    result = cli("lr-find", path, "--target", "target", "--optimizer", "adam", "--epochs", "5")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(found)[:3] == ["suggested_learning_rate", "learning_rates", "losses"]
    assert len(found["learning_rates"]) == len(found["losses"]) > 0 and found["learning_rates"][0] == 1e-6
    assert 1e-5 <= found["suggested_learning_rate"] <= 1.0
    bad = cli("lr-find", path, "--target", "no_such_column")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error:")
