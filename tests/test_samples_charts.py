"""Built-in samples (offline, and the heart table's checked download) and the Altair charts' data and layers."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import urllib.error

import numpy as np
import pandas as pd
import pytest

from tapeapp.data import samples
from tapeapp.errors import TapeError
from tapeapp.report import charts

FAKE_HEART = b"Age,Sex,HeartDisease\n40,M,0\n49,F,1\n37,M,0\n48,F,1\n"


@pytest.mark.parametrize("key, shape, target, values", [
    ("breast_cancer", (569, 31), "diagnosis", {"benign", "malignant"}),
    ("iris", (150, 5), "species", {"setosa", "versicolor", "virginica"}),
    ("wine", (178, 14), "cultivar", {"grower_1", "grower_2", "grower_3"}),
    ("diabetes", (442, 11), "disease_progression", None),
])
def test_offline_samples_have_named_columns_and_the_right_target(key, shape, target, values):
    table = samples.load_sample(key)
    assert samples.SAMPLES[key].target == target
    assert table.frame.shape == shape and table.frame.columns[-1] == target
    assert table.info.format == "sample" and table.info.rows == shape[0] and len(table.info.sha256) == 64
    if values is None:
        assert pd.api.types.is_float_dtype(table.frame[target]) and "bmi" in table.frame
    else:
        assert set(table.frame[target]) == values
    assert not any(str(c).startswith(("s1", "feature_", "0")) for c in table.frame.columns)


def test_unknown_sample_is_a_user_error():
    with pytest.raises(TapeError, match="Unknown sample"):
        samples.load_sample("nope")


@pytest.fixture()
def heart(monkeypatch, tmp_path):
    """An offline heart download: the expected hash is the fake table's, and each fetched URL is recorded."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(samples, "HEART_SHA256", hashlib.sha256(FAKE_HEART).hexdigest())
    calls: list[str] = []

    def serve(responses):
        def fetch(url, timeout=samples.TIMEOUT_SECONDS):
            calls.append(url)
            answer = responses[len(calls) - 1] if len(calls) <= len(responses) else responses[-1]
            if isinstance(answer, Exception):
                raise answer
            return answer
        monkeypatch.setattr(samples, "fetch_url", fetch)
        return calls
    return serve


def test_heart_downloads_checks_and_caches(heart, tmp_path):
    calls = heart([FAKE_HEART])
    table = samples.load_sample("heart")
    assert calls == [samples.HEART_URLS[0]]
    assert list(table.frame.columns) == ["Age", "Sex", "HeartDisease"] and table.info.format == "sample"
    assert (tmp_path / "tapeapp" / "heart.csv").read_bytes() == FAKE_HEART
    calls.clear()
    heart([urllib.error.URLError("offline")])
    assert samples.load_sample("heart").frame.shape == (4, 3)
    assert calls == [], "a cached, checked copy is not downloaded again"


def test_heart_falls_back_to_the_second_copy(heart):
    calls = heart([urllib.error.URLError("404"), FAKE_HEART])
    assert len(samples.load_sample("heart").frame) == 4
    assert calls == list(samples.HEART_URLS)


def test_heart_with_the_wrong_bytes_is_refused(heart, tmp_path):
    heart([b"age,target\n1,0\n"])
    with pytest.raises(TapeError, match="could not be downloaded: the copies online are not the expected table"):
        samples.load_sample("heart")
    assert not (tmp_path / "tapeapp" / "heart.csv").exists()


def test_heart_offline_says_so_plainly(heart):
    heart([urllib.error.URLError("no network"), TimeoutError()])
    with pytest.raises(TapeError) as error:
        samples.load_sample("heart")
    assert "could not be downloaded" in str(error.value) and "other samples work offline" in str(error.value)


def test_a_damaged_cache_is_downloaded_again(heart, tmp_path):
    (tmp_path / "tapeapp").mkdir()
    (tmp_path / "tapeapp" / "heart.csv").write_bytes(b"garbage")
    calls = heart([FAKE_HEART])
    samples.load_sample("heart")
    assert len(calls) == 1 and (tmp_path / "tapeapp" / "heart.csv").read_bytes() == FAKE_HEART


def _history(epochs: int, layers=("hidden_1", "hidden_2", "output")) -> pd.DataFrame:
    e = np.arange(1, epochs + 1)
    frame = pd.DataFrame({"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "train_accuracy": 1 - 0.5 / e,
                          "val_accuracy": 1 - 0.6 / e, "train_rmse": 2 / e, "val_rmse": 3 / e})
    for i, layer in enumerate(layers):
        frame[f"grad_norm_{layer}"] = (i + 1) / e
    return frame


def _data(chart) -> list[list[dict]]:
    return list(chart.to_dict()["datasets"].values())


def _layers(chart) -> int:
    return len(chart.to_dict().get("layer", [None]))


def test_loss_chart_has_a_point_per_epoch_and_split_and_the_previous_run_faded():
    (rows,) = _data(charts.loss_chart(_history(7)))
    assert len(rows) == 14 and {r["split"] for r in rows} == {"train", "validation"}
    (rows,) = _data(charts.loss_chart(_history(7), previous=_history(4), epochs=10))
    assert sum(r["run"] == "previous run" for r in rows) == 8 and sum(r["run"] == "this run" for r in rows) == 14
    spec = charts.loss_chart(_history(7), previous=_history(4), epochs=10).to_dict()
    assert spec["encoding"]["x"]["scale"]["domain"] == [1, 10]
    assert spec["encoding"]["opacity"]["scale"]["range"] == [1.0, 0.3]


def test_curves_skip_missing_values_and_thin_very_long_runs():
    history = _history(5).assign(val_loss=[0.5, np.nan, 0.4, np.nan, 0.3])
    (rows,) = _data(charts.loss_chart(history))
    assert len(rows) == 8
    (rows,) = _data(charts.metric_chart(_history(9000), "accuracy"))
    assert len(rows) <= charts.MAX_POINTS and max(r["epoch"] for r in rows) == 9000
    for epochs in (2501, 2999, 5001):  # every line keeps its last epoch, and no chart passes Altair's row limit
        (rows,) = _data(charts.loss_chart(_history(epochs), previous=_history(epochs)))
        assert len(rows) <= charts.MAX_POINTS
        assert charts.CHART_EPOCHS // 2 < len({r["epoch"] for r in rows}) <= charts.CHART_EPOCHS, "thinned, not more"
        (rows,) = _data(charts.grad_norm_chart(_history(epochs, layers=[f"hidden_{i}" for i in range(7)])))
        assert len(rows) <= charts.MAX_POINTS
        assert charts.CHART_EPOCHS // 2 < len({r["epoch"] for r in rows}) <= charts.CHART_EPOCHS
        assert max(r["epoch"] for r in rows) == epochs


def test_metric_chart_scales_shares_and_units():
    accuracy = charts.metric_chart(_history(3), "accuracy").to_dict()
    assert accuracy["encoding"]["y"]["scale"]["domain"] == [0, 1]
    rmse = charts.metric_chart(_history(3), "rmse").to_dict()
    assert "lower is better" in rmse["title"]["text"] and len(_data(charts.metric_chart(_history(3), "rmse"))[0]) == 6


def test_gradient_norm_chart_is_per_layer_on_a_log_scale():
    chart = charts.grad_norm_chart(_history(6))
    spec = chart.to_dict()
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    (rows,) = _data(chart)
    assert pd.DataFrame(rows).groupby("layer")["epoch"].count().to_dict() == {"hidden 1": 6, "hidden 2": 6,
                                                                               "output": 6}
    zero = _history(3).assign(grad_norm_output=[0.0, np.nan, 1.0])
    (rows,) = _data(charts.grad_norm_chart(zero))
    assert sum(r["layer"] == "output" for r in rows) == 1, "a log scale cannot show zero or missing norms"


def test_empty_history_draws_empty_charts():
    for chart in (charts.loss_chart(pd.DataFrame()), charts.grad_norm_chart(pd.DataFrame())):
        assert all(len(rows) == 0 for rows in _data(chart))


def test_confusion_heatmap_has_cells_and_counts():
    confusion = pd.DataFrame({"actual": list("aabb"), "predicted": list("abab"), "count": [5, 1, 2, 7]})
    chart = charts.confusion_chart(confusion)
    assert _layers(chart) == 2
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["rect", "text"]
    (rows,) = _data(chart)
    assert [r["count"] for r in rows] == [5, 1, 2, 7] and rows[0]["share"] == pytest.approx(5 / 6)


def test_roc_and_pr_curves():
    roc = pd.DataFrame({"class": ["x"] * 3, "fpr": [0, 0.2, 1], "tpr": [0, 0.7, 1]})
    chart = charts.roc_chart(roc)
    assert _layers(chart) == 2 and sorted(len(d) for d in _data(chart)) == [2, 3]
    pr = pd.DataFrame({"class": ["x", "x", "y", "y"], "recall": [1, 0, 1, 0], "precision": [0.5, 1, 0.4, 1]})
    (rows,) = _data(charts.pr_chart(pr))
    assert [r["step"] for r in rows] == [0, 1, 0, 1]


def test_regression_plots_sample_large_tables():
    rng = np.random.default_rng(0)
    actual = rng.normal(size=20_000)
    points = pd.DataFrame({"actual": actual, "predicted": actual + rng.normal(0, 0.1, 20_000)})
    points["residual"] = points["actual"] - points["predicted"]
    for chart in (charts.predicted_actual_chart(points, "price"), charts.residual_chart(points, "price")):
        assert _layers(chart) == 2
        assert max(len(d) for d in _data(chart)) == charts.MAX_POINTS
    small = points.head(10)
    assert max(len(d) for d in _data(charts.predicted_actual_chart(small))) == 10


def test_target_chart_bins_numbers_and_counts_categories():
    numbers = pd.Series(np.random.default_rng(0).normal(size=100_000), name="y")
    (rows,) = _data(charts.target_chart(numbers, numeric=True))
    assert len(rows) == 30 and sum(r["rows"] for r in rows) == 100_000
    labels = pd.Series([f"v{i % 50}" for i in range(1000)] + [None] * 10, name="c")
    (rows,) = _data(charts.target_chart(labels, numeric=False))
    assert len(rows) == 31 and rows[-1]["value"] == "(21 more values)"
    assert sum(r["rows"] for r in rows) == 1010
    (rows,) = _data(charts.target_chart(pd.Series(["a", "b", "a"]), numeric=False))
    assert {r["value"]: r["rows"] for r in rows} == {"a": 2, "b": 1}


def test_samples_and_charts_import_neither_streamlit_nor_tensorflow():
    code = ("import sys, tapeapp.data.samples, tapeapp.report.charts; "
            "print(sorted(m for m in ('streamlit', 'tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_baselines_are_labelled_lines_and_close_labels_do_not_overlap():
    marks = {"majority": 0.55, "linear": 0.84, "boosted_trees": 0.82, "mean": float("nan")}
    spec = charts.metric_chart(_history(5), "accuracy", baselines=marks).to_dict()
    rules = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "rule"]
    texts = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"]
    assert len(rules) == 1 and len(spec["datasets"][rules[0]["data"]["name"]]) == 3  # NaN: no line
    placed = {row["name"]: layer["mark"]["dy"] for layer in texts for row in spec["datasets"][layer["data"]["name"]]}
    assert placed == {"always the most common class": -6, "linear model": -6, "boosted trees": 10}
