"""The tumor-board report of a scored case: one A4 page, a continuation page when its checks
run long (PDF drawn with matplotlib, no Streamlit).

:func:`~survival_core.report.pdf.gather_report` collects and formats what the page shows into a
:class:`~survival_core.report.pdf.ReportContent`; :func:`~survival_core.report.pdf.render_report`
draws it on an A4 portrait page; :func:`~survival_core.report.pdf.build_report` does both.
"""

from survival_core.report.pdf import (
    DISCLAIMER,
    ReportContent,
    build_report,
    explanation_method,
    gather_report,
    render_report,
    report_figures,
)

__all__ = [
    "DISCLAIMER",
    "ReportContent",
    "build_report",
    "explanation_method",
    "gather_report",
    "render_report",
    "report_figures",
]
