"""Explanations of fitted survival models.

:mod:`survival_core.explain.tabular` gives Integrated Gradients attributions of the neural
models' risk to each model input column (after preprocessing and feature reduction), per patient
and ranked over a cohort, the integral computed exactly over the linear pieces of the path
(completeness checked per patient; Captum's quadrature for networks it cannot split); the linear Cox models get their exact attributions
coefficient x (x - baseline) from :func:`~survival_core.explain.tabular.linear_attributions`.

:mod:`survival_core.explain.maps` gives Grad-CAM and voxel Integrated Gradients maps of the image
models,
resampled back to the original CT grid and saved as NIfTI, with the enrichment of the top voxels in
the GTV; :mod:`survival_core.explain.correlation` gives Spearman correlation matrices with p and
Benjamini-Hochberg q between feature groups (clinical, radiomics, deep);
:mod:`survival_core.explain.case` explains one case under a saved model (the ``explain`` command).
"""
