"""Fitting and exporting the model: the head (``train.py``), the text channel (``train_text.py``), the
calibration, headline rule and poster check (``trust.py``), the backbone feature cache (``features.py``)
and the generated non-poster set (``nonposters.py``). Serving code (model/, look/, compare/, catalog/,
api/) never imports this package.

May import: the top level, sources/, model/, evaluation/.
"""
