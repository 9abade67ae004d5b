"""What the network learned and why it answered: decision and hidden maps, importance, one tape step, Shapley
contributions.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)  # the names: __init__.pyi
