"""RadSurv core: imaging ingest, preprocessing, features, survival models and evaluation.

Importable without Streamlit; the app in ``app.py`` and ``pages/`` is a thin layer over it.
"""

__version__ = "0.1.0"
