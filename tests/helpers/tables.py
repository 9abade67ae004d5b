"""Tables made for the tests: small, generated, each shaped to show one thing."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
