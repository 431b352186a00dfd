"""``medgan turing serve KIT``: the quiz for a class on the teacher's laptop. Readers' browsers open the quiz page;
each submission is checked and stored atomically as its own sheet in ``KIT/answers/``; the teacher's results page
(guarded by a token printed at start) refreshes itself. Standard library only; bound to localhost unless asked."""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from medgan_lib.atomic import atomic_open
from medgan_lib.turing.kit import Kit
from medgan_lib.turing.page import quiz_page
from medgan_lib.tables import to_html
from medgan_lib.turing.scoring import class_result, parse_answers, reader_table, read_sheets, summary_lines

MAX_SUBMISSION = 1 << 20  # bytes: a sheet of 1,000 images is ~100 kB


class QuizServer(ThreadingHTTPServer):
    """The server and what its handlers share: the kit, the key, the quiz page, the teacher's token."""

    daemon_threads = True

    def __init__(self, kit: Kit, host: str, port: int, token: str, refresh: int):
        self.kit, self.token, self.refresh = kit, token, refresh
        self.is_real = kit.is_real()
        self.page = quiz_page([f.read_bytes() for f in kit.image_files()], submit_url="/submit").encode()
        self.store_lock = threading.Lock()
        kit.answers.mkdir(parents=True, exist_ok=True)
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def results_url(self) -> str:
        return f"{self.url}results?token={self.token}"

    def store(self, text: str, reader: str) -> Path:
        """Check a submission against the quiz and write it as a new sheet (never over another reader's)."""
        sheet = parse_answers(text, len(self.is_real), "submission", default_reader=reader)
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", sheet.reader).strip("_") or "reader"
        with self.store_lock:  # the name is chosen and the file written before the next submission looks
            stamp = time.strftime("%Y%m%dT%H%M%S")
            path, k = self.kit.answers / f"{stem}-{stamp}.csv", 1
            while path.exists():
                k += 1
                path = self.kit.answers / f"{stem}-{stamp}-{k}.csv"
            with atomic_open(path, "w") as handle:
                handle.write(text)
        return path

    def results_page(self) -> str:
        sheets = read_sheets(self.kit.answers, len(self.is_real))
        head = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f'<meta http-equiv="refresh" content="{self.refresh}"><title>Turing test: results</title>'
                "<style>body{font-family:system-ui,sans-serif;margin:2rem} td,th{padding:.2rem .6rem;"
                "text-align:right} th:first-child,td:first-child{text-align:left}</style></head><body>"
                f"<h1>Visual Turing test: results</h1><p>Quiz: {self.url} &middot; refreshes every "
                f"{self.refresh} s</p>")
        if not sheets:
            return head + "<p>No answers yet.</p></body></html>"
        result = class_result(self.is_real, sheets)
        lines = "".join(f"<p>{html.escape(line)}</p>" for line in summary_lines(result))
        table = to_html(reader_table(result), p_columns=["p (vs 50 %)"])
        return head + lines + table + "</body></html>"


class _Handler(BaseHTTPRequestHandler):
    server: QuizServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urllib.parse.urlsplit(self.path)
        if url.path in ("/", "/quiz.html"):
            self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8")
        elif url.path == "/results":
            token = urllib.parse.parse_qs(url.query).get("token", [""])[0]
            if not secrets.compare_digest(token, self.server.token):
                self._send(HTTPStatus.FORBIDDEN, b"the results page needs the teacher's token", "text/plain")
                return
            self._send(HTTPStatus.OK, self.server.results_page().encode(), "text/html; charset=utf-8")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        if urllib.parse.urlsplit(self.path).path != "/submit":
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_SUBMISSION:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length else HTTPStatus.LENGTH_REQUIRED,
                       f"a submission is a CSV of at most {MAX_SUBMISSION} bytes".encode(), "text/plain")
            return
        reader = urllib.parse.unquote(self.headers.get("X-Reader") or "") or "reader"
        try:
            path = self.server.store(self.rfile.read(length).decode("utf-8"), reader)
        except (ValueError, UnicodeDecodeError) as err:
            self._send(HTTPStatus.BAD_REQUEST, str(err).encode(), "text/plain")
            return
        self.log_message("stored %s", path.name)
        self._send(HTTPStatus.OK, f'{{"saved": "{path.name}"}}'.encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # one short line per request, no IP dump
        print(f"{time.strftime('%H:%M:%S')} {format % args}", flush=True)


def make_server(kit_dir: str | Path, lan: bool = False, port: int = 8000, token: str = "",
                refresh: int = 5) -> QuizServer:
    """The quiz server for the kit in ``kit_dir``, on localhost (or every interface with ``lan``)."""
    return QuizServer(Kit(Path(kit_dir)), "0.0.0.0" if lan else "127.0.0.1", port,
                      token or secrets.token_urlsafe(8), refresh)
