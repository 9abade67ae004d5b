"""How good a run is: the evaluation on validation rows, simpler models beside it, advice, the rows behind the numbers.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)  # the names: __init__.pyi
