"""What is drawn for people: Altair charts of a run, and the self-contained HTML report.
"""
