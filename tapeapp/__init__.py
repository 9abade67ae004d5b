"""tapeapp: upload a table, pick what to predict, and watch a hand-written GradientTape loop learn it.

The public names for scripts, notebooks, the page and the command line are listed once, in ``__init__.pyi`` (each
folder lists its own in its ``__init__.pyi``). They are loaded on first use (``lazy_loader``, SPEC 1 of the
Scientific Python project): ``import tapeapp`` alone takes 0.02 s where importing every module takes 5-6 s, most of
it TensorFlow, so reading a table, drawing the page's top and refusing a bad command line never wait for it.
"""

import importlib
import os

import lazy_loader

# TensorFlow reads this once, at its own import, which tapeapp defers: set it now so that a script or notebook that
# imports TensorFlow itself after tapeapp still gets the kernels whose histories match the CLI and reproduce.py.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
__all__ += ["warm_up"]


def warm_up() -> None:
    """Import TensorFlow and Keras now (the page calls this in the background so Train does not wait)."""
    importlib.import_module("tapeapp.train.run")
