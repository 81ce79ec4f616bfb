"""Preprocessing: resampling, CT windows, intensity standardisation, gray-level discretisation and ROIs.

The modules hold functions over SimpleITK images or numpy arrays that do the work (``resample``,
``window``, ``intensity``, ``quantize``, ``roi``); ``transforms`` holds small composable callables
that apply them to a :class:`survival_core.case.Case` and return a new case.
"""
