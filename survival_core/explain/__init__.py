"""Explanations of fitted survival models.

:mod:`survival_core.explain.tabular` gives Integrated Gradients attributions (Captum) of the
neural models' risk to each model input column (after preprocessing and feature reduction), per
patient and ranked over a cohort, with the completeness check that tells whether the integral was
approximated closely enough; the linear Cox models get their exact attributions
coefficient x (x - baseline) from :func:`~survival_core.explain.tabular.linear_attributions`.

:mod:`survival_core.explain.maps` gives Grad-CAM and voxel Integrated Gradients maps of the 3-D CNN,
resampled back to the original CT grid and saved as NIfTI, with the enrichment of the top voxels in
the GTV; :mod:`survival_core.explain.correlation` gives Spearman correlation matrices with p and
Benjamini-Hochberg q between feature groups (clinical, radiomics, deep).
"""
