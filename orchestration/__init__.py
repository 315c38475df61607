"""The build on top of everything: raw checks, dbt, the model steps, publishing.

``python -m orchestration.pipeline build`` (what ``make build`` runs) and ``... real <log>``;
the only package that imports both ``models_py`` and ``services``.
"""
