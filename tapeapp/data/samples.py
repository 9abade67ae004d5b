"""Built-in tables to try the app with: four bundled with scikit-learn (offline) and the tutorial's heart table."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tapeapp.data.table import Table, TableInfo, read_table
from tapeapp.errors import TapeError

HEART_URLS: tuple[str, ...] = (
    "https://raw.githubusercontent.com/GuySuphakit/Heart-Failure-Prediction/"
    "19aa1dd402c5b79a4471b843c5858a9e271657c4/heart.csv",
    "https://raw.githubusercontent.com/anik199/Heart-failure-prediction/"
    "4f6232b3be3a9b3aa1992b3b2c66152748ec8b71/heart.csv",
)
HEART_SHA256 = "948420b084d8a3a0ca42b8419fce9aee175879e43f8aedf712377899a67aa49b"
TIMEOUT_SECONDS = 10.0

# Scikit-learn calls the diabetes blood measurements s1..s6; its documentation says what each one is.
_DIABETES_NAMES = {"s1": "total_cholesterol", "s2": "ldl", "s3": "hdl", "s4": "cholesterol_hdl_ratio",
                   "s5": "log_triglycerides", "s6": "blood_sugar"}


@dataclass(frozen=True)
class Sample:
    """One built-in table, described for someone choosing what to try."""

    key: str
    title: str
    description: str
    target: str
    offline: bool = True


SAMPLES: dict[str, Sample] = {
    s.key: s
    for s in (
        Sample("breast_cancer", "Breast cancer",
               "569 tumour biopsies, 30 measurements each: is the tumour malignant or benign? (two classes)",
               "diagnosis"),
        Sample("iris", "Iris flowers",
               "150 flowers, 4 petal and sepal sizes: which of three species is it? (three classes)", "species"),
        Sample("wine", "Wine",
               "178 wines, 13 chemical measurements: which of three growers made it? (three classes)", "cultivar"),
        Sample("diabetes", "Diabetes progression",
               "442 patients, 10 measurements: how far will the disease progress in a year? (a number)",
               "disease_progression"),
        Sample("heart", "Heart failure (the tutorial's table)",
               "918 patients, 11 measurements: does the patient have heart disease? Downloaded once, then cached.",
               "HeartDisease", offline=False),
    )
}


def load_sample(key: str) -> Table:
    """The sample as a Table, read the same way an upload is described."""
    if key not in SAMPLES:
        raise TapeError(f"Unknown sample '{key}'; choose one of {', '.join(SAMPLES)}.")
    if key == "heart":
        return _heart()
    frame = _SKLEARN[key]()
    sample = SAMPLES[key]
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
    info = TableInfo(name=sample.title, format="sample", delimiter=None, encoding=None, header=True, decimal=".",
                     rows=len(frame), columns=frame.shape[1], sha256=digest,
                     notes=("A built-in sample from scikit-learn's bundled datasets.",))
    return Table(frame=frame, info=info)


def _bunch_frame(loader: Callable, target: str, labels: bool, **kwargs) -> pd.DataFrame:
    bunch = loader(as_frame=True, **kwargs)
    frame = bunch.frame.rename(columns={"target": target})
    if labels:
        frame[target] = pd.Series(bunch.target_names[bunch.target.to_numpy()], index=frame.index)
    return frame


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer  # 1.1 s to import: only when that sample is opened

    return _bunch_frame(load_breast_cancer, "diagnosis", labels=True)


def _iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris  # 1.1 s to import: only when that sample is opened

    frame = _bunch_frame(load_iris, "species", labels=True)
    return frame.rename(columns=lambda c: c.replace(" (cm)", "_cm").replace(" ", "_"))


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine  # 1.1 s to import: only when that sample is opened

    frame = _bunch_frame(load_wine, "cultivar", labels=False)
    frame["cultivar"] = frame["cultivar"].map(lambda i: f"grower_{i + 1}")
    return frame


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes  # 1.1 s to import: only when that sample is opened

    frame = _bunch_frame(load_diabetes, "disease_progression", labels=False, scaled=False)
    return frame.rename(columns=_DIABETES_NAMES)


_SKLEARN: dict[str, Callable[[], pd.DataFrame]] = {
    "breast_cancer": _breast_cancer, "iris": _iris, "wine": _wine, "diabetes": _diabetes,
}


def cache_dir() -> Path:
    """Where downloaded samples are kept between sessions (XDG's cache folder, ~/.cache by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tapeapp"


def fetch_url(url: str, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """Download one URL (tests replace this function: the machines they run on may be offline)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _heart() -> Table:
    path = cache_dir() / "heart.csv"
    raw = _read_cached(path)
    note = f"Read from the download cache ({path})."
    if raw is None:
        raw, url = _download_heart()
        note = f"Downloaded from {url} and checked; kept in {path} for next time."
        _write_cache(path, raw)
    table = read_table(raw, "heart.csv")
    info = dataclasses.replace(table.info, format="sample", notes=(*table.info.notes, note))
    return Table(frame=table.frame, info=info)


def _read_cached(path: Path) -> bytes | None:
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    return raw if hashlib.sha256(raw).hexdigest() == HEART_SHA256 else None


def _write_cache(path: Path, raw: bytes) -> None:
    """A cache that cannot be written is not the user's problem: the table is in memory already."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(raw)
        tmp.replace(path)
    except OSError:
        pass


def _download_heart() -> tuple[bytes, str]:
    mismatch = False
    for url in HEART_URLS:
        try:
            raw = fetch_url(url)
        except Exception:  # noqa: BLE001 - any network failure means "try the next copy"
            continue
        if hashlib.sha256(raw).hexdigest() == HEART_SHA256:
            return raw, url
        mismatch = True
    why = "the copies online are not the expected table" if mismatch else "there seems to be no internet connection"
    raise TapeError(f"The heart failure table could not be downloaded: {why}. The other samples work offline, "
                    "or upload your own copy of heart.csv.")
