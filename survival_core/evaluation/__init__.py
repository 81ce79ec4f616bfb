"""Evaluation of survival models: discrimination, calibration, clinical usefulness, comparison.

Conventions shared by every module: a survival outcome ``y`` is a scikit-survival structured array
(``sksurv.util.Surv.from_arrays(event, time)``) or an ``(event, time)`` pair; risk scores are
"higher = worse" (shorter survival); times and horizons are in days. Estimates with intervals are
:class:`~survival_core.evaluation.bootstrap.Estimate` (value, ci_low, ci_high, method); model
comparisons are :class:`~survival_core.evaluation.comparison.Comparison` (difference, CI, p).

Modules: ``concordance`` (Harrell, Uno; shared outcome/IPCW primitives), ``bootstrap`` (BCa),
``td_auc`` (cumulative/dynamic AUC), ``brier`` (IPCW Brier, IBS), ``calibration`` (grouped,
slope, ICI/E50/E90), ``decision_curve`` (net benefit), ``delong`` (AUC variance and test),
``comparison`` (paired bootstrap, Benjamini-Hochberg), ``risk_groups`` (training-fitted cuts,
Kaplan-Meier, log-rank, hazard ratio); ``splits`` holds the evaluation designs (folds).
"""
