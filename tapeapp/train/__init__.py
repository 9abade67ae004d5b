"""The network and the hand-written GradientTape loop: the step, the compiled epoch, the per-epoch generator, the Run
that holds them, stopping, scores as data, the learning-rate finder and the CPU queue.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)  # the names: __init__.pyi
