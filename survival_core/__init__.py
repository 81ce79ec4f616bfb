"""RadSurv core: imaging ingest, preprocessing, features, survival models and evaluation.

Importable without Streamlit; the app in ``app.py`` and ``pages/`` is a thin layer over it.

The package is built in floors (:data:`FLOORS`, lowest first). A module imports only from its own
package and from packages on lower floors, so each floor can be read, tested and reused without
the ones above it (``tests/test_import_graph.py`` fails on an upward import or a circle):

0. foundation: errors, data paths, outcomes, the ``Case`` record, column kinds, work done once
   per key for concurrent sessions, worker processes, the execution engine seam (process pool /
   Ray), the audit log, user strings made safe to show and the versions of the packages that change
   numbers;
1. ``io`` (DICOM, RTSTRUCT, SEG, NIfTI, uploads, clinical values and schemas, manifests, atomic
   writes) and ``preprocess`` (resampling, windows, quantisation);
2. ``evaluation``: survival metrics and tests on arrays (no models);
3. ``models``: estimators, feature reduction, the model card, a saved model loaded for scoring;
4. ``features``: radiomics, deep and DSFR features (networks from ``models``), a case's row for a
   saved model, cohort extraction;
5. ``explain`` and ``viewer``: attributions and figures;
6. ``nomogram`` and ``report``: the nomogram and the tumor-board PDF, built from the figures;
7. ``cohort`` (own cohorts: import, clinical spreadsheets, the Cohort page's statistics) and
   ``synthetic`` (the phantom cohort generator);
8. ``workflows``: what orchestrates the floors below: score a case, train from tables,
   cross-validate, the DSFR study, the bundled demo;
9. ``runs`` (run configs, tracked runs, background jobs) and ``security`` (users, roles);
10. ``cli`` and ``__main__``: the command line.
"""

__version__ = "0.2.3"

#: Packages and top-level modules of ``survival_core`` by floor, lowest first (see above).
FLOORS: tuple[tuple[str, ...], ...] = (
    (
        "errors",
        "paths",
        "outcome",
        "case",
        "columns",
        "once",
        "workers",
        "engine",
        "audit",
        "text",
        "versions",
    ),
    ("io", "preprocess"),
    ("evaluation",),
    ("models",),
    ("features",),
    ("explain", "viewer"),
    ("nomogram", "report"),
    ("cohort", "synthetic"),
    ("workflows",),
    ("runs", "security"),
    ("cli",),
    ("__main__",),
)
