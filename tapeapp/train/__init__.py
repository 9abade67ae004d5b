"""The network and the hand-written GradientTape loop: the step, the compiled epoch, the per-epoch generator, the Run
that holds them, stopping, scores as data, the learning-rate finder and the CPU queue.
"""
