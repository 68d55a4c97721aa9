"""Reports (日管控 / 周排查 / 月调度 as HTML and PDF) and CSV/XLSX exports built on :mod:`cloud_api.analytics`."""

from cloud_api.reports.export import cases_export, rankings_export
from cloud_api.reports.pdf import ChromiumPdfConfig, PdfError, make_pdf_renderer
from cloud_api.reports.report import REPORT_KINDS, ReportData, build_report, render_html, report_filename

__all__ = [
    "REPORT_KINDS",
    "ChromiumPdfConfig",
    "PdfError",
    "ReportData",
    "build_report",
    "cases_export",
    "make_pdf_renderer",
    "rankings_export",
    "render_html",
    "report_filename",
]
