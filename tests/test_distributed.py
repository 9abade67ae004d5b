"""Training under tf.distribute.MirroredStrategy across two logical CPU devices is as good as on one device,
and a blow-up keeps the last good weights there too."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {tests!r})
    from tapeapp._tf import tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from helpers.tables import make_binary, make_regression
    from tapeapp import TrainConfig, inspect_frame, start_run
    frame = make_binary(400)
    config = TrainConfig(epochs=25, batch_size=32, val_fraction=0.25, optimizer="adam", learning_rate=3e-3,
                         patience=0)  # every epoch: the test compares whole histories
    schema = inspect_frame(frame, target="target")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored = start_run(frame, schema, config, strategy=strategy).fit()
    single = start_run(frame, schema, config).fit()
    prices = make_regression()
    blown = start_run(prices, inspect_frame(prices, target="price"),
                      TrainConfig(epochs=30, learning_rate=0.5, optimizer="sgd", momentum=0.9, patience=0),
                      strategy=strategy).fit()
    print(json.dumps({{"replicas": strategy.num_replicas_in_sync,
                      "mirrored": mirrored.history[-1].validation, "single": single.history[-1].validation,
                      "epochs": len(mirrored.history), "first_loss": mirrored.history[0].train["loss"],
                      "last_loss": mirrored.history[-1].train["loss"], "blown": blown.stopped_because,
                      "blown_epochs": len(blown.history),
                      "blown_finite": all(bool(np.isfinite(w).all()) for w in blown.model.get_weights())}}))
""")


def test_mirrored_strategy_on_two_logical_cpus_learns_as_well():
    tests = str(Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(tests=tests)], capture_output=True, text=True,
                            timeout=600, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["epochs"] == 25
    assert out["last_loss"] < out["first_loss"]
    assert out["mirrored"]["accuracy"] >= out["single"]["accuracy"] - 0.03
    assert out["mirrored"]["auc"] >= out["single"]["auc"] - 0.02
    assert out["blown"] == "not_finite" and 1 < out["blown_epochs"] < 30 and out["blown_finite"]
