"""A run that outlives the process: its record, the run store, the project file, the exported model and reproduce.py.
"""
