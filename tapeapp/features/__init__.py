"""Preprocessing fitted on the training rows only, the split, and the Keras layers that carry it into the exported
model.
"""
