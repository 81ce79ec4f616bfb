"""Preprocessing: resampling, CT windows, intensity standardisation, gray-level discretisation, ROIs,
re-segmentation and image filters.

The modules hold functions over SimpleITK images or numpy arrays that do the work (``resample``,
``window``, ``intensity``, ``quantize``, ``roi``, ``resegment``, ``filters``); ``transforms`` holds
small composable callables that apply them to a :class:`survival_core.case.Case` and return a new
case.
"""
