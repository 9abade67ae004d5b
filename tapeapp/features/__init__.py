"""Preprocessing fitted on the training rows only, the split, and the Keras layers that carry it into the exported
model.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)  # the names: __init__.pyi
