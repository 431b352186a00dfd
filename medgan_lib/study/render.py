"""Executed notebooks to HTML with nbconvert: the full report, and a reader's version without code."""

from __future__ import annotations

from pathlib import Path

from medgan_lib.atomic import write_text


def render_html(notebook: Path, html: Path, hide_code: bool = False) -> Path:
    """Render ``notebook`` (figures embedded) to ``html``; ``hide_code`` drops code cells' inputs and prompts."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=hide_code, exclude_input_prompt=hide_code,
                            exclude_output_prompt=hide_code)
    body, _ = exporter.from_filename(str(notebook))
    return write_text(html, body)
