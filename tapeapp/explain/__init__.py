"""What the network learned and why it answered: decision and hidden maps, importance, one tape step, Shapley
contributions.
"""
