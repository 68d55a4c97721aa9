"""HTML → PDF renderers, pluggable by config ``type``.

Chromium is the default: Debian's ``chromium`` lays out CJK text, inline SVG and CSS exactly as the HTML
report looks in a browser, needs no Python packages, and runs offline with a throw-away profile.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field

from mingchu.config import StrictModel


class PdfError(RuntimeError):
    """The PDF could not be produced (renderer missing, crashed or timed out)."""


class ChromiumPdfConfig(StrictModel):
    """Print with headless Chromium."""

    type: Literal["chromium"] = "chromium"
    binary: str = Field(default="chromium", description="executable name or path")
    timeout_s: float = Field(default=60.0, gt=0, description="give up after this long")


PdfConfig = ChromiumPdfConfig


class PdfRenderer(Protocol):
    def render(self, html: str) -> bytes: ...


class ChromiumPdf:
    """One headless Chromium process per PDF, with its own temporary profile (safe to run concurrently)."""

    FLAGS = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--no-pdf-header-footer",
        "--run-all-compositor-stages-before-draw",
    )

    def __init__(self, config: ChromiumPdfConfig) -> None:
        self.config = config

    def binary(self) -> str:
        found = shutil.which(self.config.binary)
        if not found:
            raise PdfError(f"PDF renderer {self.config.binary!r} not found (Debian: apt-get install chromium)")
        return found

    def render(self, html: str) -> bytes:
        binary = self.binary()
        with tempfile.TemporaryDirectory(prefix="mingchu-pdf-") as tmp:
            src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
            src.write_text(html, encoding="utf-8")
            cmd = [
                binary,
                *self.FLAGS,
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--print-to-pdf={out}",
                src.as_uri(),
            ]
            try:
                proc = subprocess.run(cmd, capture_output=True, timeout=self.config.timeout_s, check=False)
            except subprocess.TimeoutExpired as exc:
                raise PdfError(f"chromium did not finish within {self.config.timeout_s:g} s") from exc
            if not out.is_file() or out.stat().st_size == 0:
                tail = proc.stderr.decode("utf-8", "replace")[-400:]
                raise PdfError(f"chromium exited {proc.returncode} without a PDF: {tail}")
            data = out.read_bytes()
        if not data.startswith(b"%PDF"):
            raise PdfError("chromium wrote something that is not a PDF")
        return data


PDF_RENDERERS: dict[str, type[ChromiumPdf]] = {"chromium": ChromiumPdf}


def make_pdf_renderer(config: PdfConfig | None = None) -> PdfRenderer:
    config = config or ChromiumPdfConfig()
    return PDF_RENDERERS[config.type](config)
