"""Tables made for the tests: small, generated, each shaped to show one thing."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_binary(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Two numbers, one category, a learnable yes/no target."""
    rng = np.random.default_rng(seed)
    age = rng.normal(50, 10, n).round()
    dose = rng.normal(0, 1, n)
    color = rng.choice(["red", "green", "blue"], n)
    score = 0.08 * (age - 50) + 1.5 * dose + (color == "red") * 1.0 + rng.normal(0, 0.5, n)
    return pd.DataFrame({"age": age, "dose": dose, "color": color, "target": (score > 0.3).astype(int)})


def make_imbalanced(n: int = 600, share: float = 0.05) -> pd.DataFrame:
    """A rare positive class (5 %) that depends on the inputs, but not enough for an unweighted loss to find it."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=n), rng.normal(size=n)
    s = a + 0.5 * b + rng.normal(0, 1.0, n)
    return pd.DataFrame({"a": a, "b": b, "y": (s > np.quantile(s, 1 - share)).astype(int)})


def make_noisy(n: int = 200) -> pd.DataFrame:
    """One informative column of ten, with noise: a big network memorises its training rows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 10))
    y = (x[:, 0] + rng.normal(0, 0.7, n) > 0).astype(int)
    return pd.DataFrame({**{f"x{i}": x[:, i] for i in range(10)}, "y": y})


def make_multiclass(n: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    label = np.where(x1 > 0.4, "alpha", np.where(x2 > 0, "beta", "gamma"))
    return pd.DataFrame({"x1": x1, "x2": x2, "noise": rng.normal(size=n), "species": label})


def make_regression(n: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.uniform(50, 200, n)
    rooms = rng.integers(1, 6, n)
    area = rng.choice(["north", "south"], n)
    price = 1000 * size + 5000 * rooms + np.where(area == "north", 20000, 0) + rng.normal(0, 5000, n)
    return pd.DataFrame({"size": size, "rooms": rooms, "area": area, "price": price})


def make_dates(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A date written day first, a number, and a season that only the date tells (one date missing, one garbled)."""
    rng = np.random.default_rng(seed)
    day = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    season = np.array(["winter", "spring", "summer", "autumn"])[(day.month.to_numpy() % 12) // 3]
    when = pd.Series(day.strftime("%d/%m/%Y"), dtype=object)
    when[5], when[7] = None, "someday"
    return pd.DataFrame({"when": when, "noise": rng.normal(size=n), "season": season})


EVIL = "evil.test"
HOSTILE_NAMES = [
    f"![x](http://{EVIL}/t.png)",
    f"[Your session expired: sign in again](http://{EVIL}/)",
    f"<img src=http://{EVIL}/i.png>",
    f"www.{EVIL}/path",
    f"a`b` [c](http://{EVIL}/c) **bold**",
    "$x^2$ :red[red] :smile: :material/home:",
]
TARGET = f"outcome ![t](http://{EVIL}/t.png)"
HOSTILE_LINK = {"dropout": f"[x](http://{EVIL}/)", "sample": f"`x`[y](http://{EVIL}/)",
                f"[u](http://{EVIL}/)": "1", "epochs": "1e400", "seed": "1e400",
                "hidden": f"![h](http://{EVIL}/h.png)"}


def hostile_frame(n: int = 120) -> pd.DataFrame:
    """A yes/no table whose column names, values and classes are Markdown, HTML and directives aimed elsewhere."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(size=n).round(3) for name in HOSTILE_NAMES[:3]})
    frame[HOSTILE_NAMES[3]] = rng.choice([f"[v](http://{EVIL}/v)", f"![w](http://{EVIL}/w.png)", "plain"], n)
    frame[HOSTILE_NAMES[4]] = rng.integers(0, 5, n)
    frame[HOSTILE_NAMES[5]] = rng.choice(["<b>x</b>", ":red[y]"], n)
    signal = frame[HOSTILE_NAMES[0]] + 0.5 * frame[HOSTILE_NAMES[1]] > 0
    frame[TARGET] = np.where(signal, f"[yes](http://{EVIL}/y)", f"![no](http://{EVIL}/n.png)")
    return frame
