"""Executed notebooks to HTML with nbconvert: the full report, and a reader's version without code (and without
the provenance dump, which a settings box replaces); and the header every page gets: back to the index, previous
and next page, the step's name with its GAN and seed, and its settings."""

from __future__ import annotations

import dataclasses
import html
import os
import re
from pathlib import Path
from typing import Any

from medgan_lib.atomic import write_text
from medgan_lib.names import gan_name

PROVENANCE_TAG = "provenance"  # the notebooks' version-dump cell: its output is kept in the full version only
NAV_START, NAV_END = "<!-- medgan-nav -->", "<!-- /medgan-nav -->"
_NAV_CSS = ("<style>.medgan-nav{font:14px system-ui,sans-serif;background:#f3f5f8;border-bottom:1px solid #ccd;"
            "padding:.5em 1em;position:sticky;top:0;z-index:10}.medgan-nav a{margin-right:1em}"
            ".medgan-nav b{margin-right:1em}.medgan-nav details{display:inline-block;margin-left:.5em}"
            ".medgan-nav table{font-size:12px;border-collapse:collapse}.medgan-nav td{padding:0 .6em 0 0}</style>")


def render_html(notebook: Path, html_path: Path, hide_code: bool = False) -> Path:
    """Render ``notebook`` (figures embedded) to ``html_path``; ``hide_code`` drops code cells' inputs and prompts
    and the output of the cell tagged ``provenance``."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    if hide_code:
        config.TagRemovePreprocessor.enabled = True
        config.TagRemovePreprocessor.remove_all_outputs_tags = {PROVENANCE_TAG}
    exporter = HTMLExporter(config=config, exclude_input=hide_code, exclude_input_prompt=hide_code,
                            exclude_output_prompt=hide_code)
    body, _ = exporter.from_filename(str(notebook))
    return write_text(html_path, body)


@dataclasses.dataclass(frozen=True)
class Page:
    """One rendered step, as its header shows it (paths relative to the study folder)."""

    name: str
    html: str
    reader_html: str | None
    gan: str | None = None
    seed: int | None = None
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def title(self) -> str:
        """``02_gan_training · DCGAN, seed 0``: the section, and for a per-GAN step which GAN and seed."""
        section = self.name.split("-", 1)[0]
        masks = " (masks only)" if "-masks-" in self.name else ""
        if self.gan is None:
            return section
        return f"{section} · {gan_name(self.gan)}{masks}, seed {self.seed}"


def link_pages(study_dir: Path, pages: list[Page], profile: str = "") -> None:
    """Write (or rewrite) the header of every page in ``pages`` (in reading order): links resolve to pages that
    exist, full versions link to full versions and readers' to readers'."""
    study_dir = Path(study_dir)
    for i, page in enumerate(pages):
        for attr in ("html", "reader_html"):
            rel = getattr(page, attr)
            if not rel or not (study_dir / rel).is_file():
                continue
            here = (study_dir / rel).parent

            def link(target: Page | None, text: str) -> str:
                path = getattr(target, attr, None) if target else None
                if not path or not (study_dir / path).is_file():
                    return ""
                return f'<a href="{html.escape(_relative(study_dir / path, here))}">{html.escape(text)}</a>'

            before = pages[i - 1] if i > 0 else None
            after = pages[i + 1] if i + 1 < len(pages) else None
            other = "full version with code" if attr == "reader_html" else "reader's version"
            other_path = page.html if attr == "reader_html" else page.reader_html
            nav = (f'{NAV_START}{_NAV_CSS}<nav class="medgan-nav">'
                   f'<a href="{html.escape(_relative(study_dir / "index.html", here))}">&#8593; study index</a>'
                   f"{link(before, '← ' + before.title if before else '')}<b>{html.escape(page.title)}</b>"
                   f"{link(after, after.title + ' →' if after else '')}"
                   + (f'<a href="{html.escape(_relative(study_dir / other_path, here))}">{other}</a>'
                      if other_path and (study_dir / other_path).is_file() else "")
                   + _settings_box(page, profile) + f"</nav>{NAV_END}")
            _insert_nav(study_dir / rel, nav, page.title)


def _settings_box(page: Page, profile: str) -> str:
    shown = {"profile": profile, **{k: ", ".join(map(str, v)) if isinstance(v, list) else v
                                    for k, v in page.settings.items() if k != "study_dir"}}
    summary = " · ".join(f"{k} {v}" for k, v in shown.items()
                         if k in ("profile", "dataset", "gans", "seed", "n", "iterations", "resolution") and v not in
                         ("", None))
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in shown.items())
    return f"<details><summary>settings: {html.escape(summary)}</summary><table>{rows}</table></details>"


def _insert_nav(path: Path, nav: str, title: str) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.sub(re.escape(NAV_START) + ".*?" + re.escape(NAV_END), "", text, count=1, flags=re.S)
    body = re.search(r"<body[^>]*>", text)
    if body is None:
        return
    text = text[:body.end()] + nav + text[body.end():]
    text = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", text, count=1, flags=re.S)
    write_text(path, text)


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()
