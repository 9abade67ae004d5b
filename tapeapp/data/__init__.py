"""Bytes to a described table: reading every format under the memory budget, cleaning, dates, the columns' kinds and
roles, the built-in samples.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)  # the names: __init__.pyi
