"""Radiomics feature extraction: settings, presets of published studies, extraction on pyradiomics,
cohort-scale extraction with a cache, and feature tables that record how they were made.

- ``settings``: frozen, hashable :class:`~survival_core.features.settings.ExtractionSettings`.
- ``presets``: the settings of the studies we reproduce (``wei2021``, ``han2020``, ``full``).
- ``radiomics``: features of one case (image + masks) on pyradiomics' feature classes.
- ``cohort``: a whole cohort folder in parallel, cached by case content and settings.
- ``table``: Parquet feature tables with the settings in their metadata.
- ``ibsi_reference``, ``ibsi_ct_phantom``, ``ibsi_filters`` and ``conformance``: our values against
  the IBSI reference values (chapter 1 CT phantom, configurations A-E; chapter 2 filter response
  maps), as ``python -m survival_core ibsi`` reports them.
"""
