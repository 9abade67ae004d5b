"""Bytes to a described table: reading every format under the memory budget, cleaning, dates, the columns' kinds and
roles, the built-in samples.
"""
