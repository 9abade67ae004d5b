"""A run that outlives the process: its record, the run store, the project file, the exported model and reproduce.py.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)  # the names: __init__.pyi
