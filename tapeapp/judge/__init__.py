"""How good a run is: the evaluation on validation rows, simpler models beside it, advice, the rows behind the numbers.
"""
