"""Measuring and reporting the model: multi-label metrics (``metrics.py``), the ``evaluate`` command's
core (``evaluate.py``), the model card (``card.py``) and the explain sheet (``explain_sheet.py``).

May import: the top level, sources/, model/, training/ (the feature cache).
"""
