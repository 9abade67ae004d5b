"""Import TensorFlow and Keras quietly and deterministically; every core module gets them from here."""

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
logging.getLogger("absl").setLevel(logging.ERROR)
tf.config.experimental.enable_op_determinism()
try:  # one op at a time: a small network's epoch is hundreds of tiny ops, and handing each to a pool costs more
    tf.config.threading.set_inter_op_parallelism_threads(1)  # than it runs; big matmuls still use every core
except RuntimeError:  # TensorFlow was already running in this process (a notebook): keep its settings
    pass
keras.utils.disable_interactive_logging()

__all__ = ["tf", "keras"]
