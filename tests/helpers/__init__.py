"""Helpers shared by the tests: generated tables, the page driven headless, the command line run in a process."""
