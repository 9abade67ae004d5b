"""Import TensorFlow and Keras quietly and deterministically; every core module gets them from here."""

import ast
import functools
import logging
import os
import sys
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
logging.getLogger("absl").setLevel(logging.ERROR)
tf.config.experimental.enable_op_determinism()
try:  # one op at a time: a small network's epoch is hundreds of tiny ops, and handing each to a pool costs more
    tf.config.threading.set_inter_op_parallelism_threads(1)  # than it runs; big matmuls still use every core
except RuntimeError:  # TensorFlow was already running in this process (a notebook): keep its settings
    pass
keras.utils.disable_interactive_logging()


def _one_parse_at_a_time() -> None:
    """Make ``ast.parse`` take turns in this process.

    CPython before 3.13 tracks the AST constructor's recursion depth in shared state, and two threads parsing at
    once can fail with "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905). Runs trained on
    threads of their own trace their epochs with AutoGraph, which parses Python source, while the page's scripts are
    compiled (Streamlit parses each script run): both call ``ast.parse`` by name, so one lock around it suffices.
    """
    if sys.version_info >= (3, 13) or getattr(ast.parse, "one_at_a_time", False):
        return
    parse, lock = ast.parse, threading.RLock()

    @functools.wraps(parse)
    def locked(*args, **kwargs):
        with lock:
            return parse(*args, **kwargs)

    locked.one_at_a_time = True
    ast.parse = locked


_one_parse_at_a_time()

__all__ = ["tf", "keras"]
