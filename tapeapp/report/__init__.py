"""What is drawn for people: Altair charts of a run, and the self-contained HTML report.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)  # the names: __init__.pyi
