"""Slices, contours and overlays of a case, prepared for display (no Streamlit here)."""
