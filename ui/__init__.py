"""Streamlit glue shared by the pages: session state, cached loaders, widgets. No science here."""
