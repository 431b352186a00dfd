"""``quiz.html``: the Turing test as one self-contained page (images embedded as data URIs, no server, no network),
taken one image at a time in an order shuffled per reader. It never holds the answer key: only the images and
their quiz numbers. At the end the reader downloads a CSV in the scoring format (and, when the page is served by
``medgan turing serve``, it is also sent to the teacher's laptop).
"""

from __future__ import annotations

import base64
import html
import json

# Columns of the answer CSV the page writes; ``scoring.read_answers`` reads image, answer, confidence, seconds, reader.
CSV_COLUMNS = ("image", "answer", "confidence", "seconds", "position", "reader", "answered_at")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #111; color: #eee; }
main { max-width: 40rem; margin: 0 auto; padding: 1rem; text-align: center; }
h1 { font-size: 1.4rem; } p { line-height: 1.4; }
#image { width: min(26rem, 90vw); height: min(26rem, 90vw); image-rendering: pixelated; background: #000;
         border: 1px solid #444; }
button { font-size: 1.1rem; padding: 0.6rem 1.2rem; margin: 0.3rem; border-radius: 0.4rem; border: 1px solid #888;
         background: #2a2a2a; color: #eee; cursor: pointer; }
button.chosen { background: #4a6fa5; border-color: #9cf; }
input { font-size: 1.1rem; padding: 0.4rem; }
progress { width: 100%; height: 0.8rem; }
.hidden { display: none; }
.muted { color: #aaa; font-size: 0.9rem; }
"""

_SCRIPT = """
"use strict";
const IMAGES = JSON.parse(document.getElementById("images").textContent);
const SUBMIT_URL = JSON.parse(document.getElementById("submit-url").textContent);
const $ = (id) => document.getElementById(id);
let reader = "", order = [], position = 0, confidence = "", shownAt = 0, answers = [];

function shuffled(n) {  // Fisher-Yates with the browser's random numbers: every reader gets an own order
  const a = Array.from({length: n}, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(Math.random() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; }
  return a;
}
function start() {
  reader = $("reader").value.trim();
  if (!reader) { $("reader").focus(); $("need-name").classList.remove("hidden"); return; }
  order = shuffled(IMAGES.length); position = 0; answers = [];
  $("intro").classList.add("hidden"); $("quiz").classList.remove("hidden");
  show();
}
function show() {
  const i = order[position];
  $("image").src = IMAGES[i]; $("image").alt = "quiz image " + (i + 1);
  $("progress").value = position; $("progress").max = IMAGES.length;
  $("count").textContent = (position + 1) + " / " + IMAGES.length;
  setConfidence("");
  shownAt = performance.now();
}
function setConfidence(level) {
  confidence = level;
  document.querySelectorAll("[data-confidence]").forEach(
    (b) => b.classList.toggle("chosen", b.dataset.confidence === String(level)));
}
function answer(word) {  // word: "real", "synthetic" or "" (skipped)
  if ($("quiz").classList.contains("hidden")) return;
  if (document.activeElement) document.activeElement.blur();  // Space/Enter must not repeat the last button
  answers.push({image: order[position] + 1, answer: word, confidence: confidence,
                seconds: ((performance.now() - shownAt) / 1000).toFixed(2), position: position + 1,
                reader: reader, answered_at: new Date().toISOString()});
  position += 1;
  if (position < IMAGES.length) show(); else finish();
}
function csvField(value) {
  const text = String(value);
  return /[",\\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}
function answersCsv() {
  const columns = COLUMNS;
  const rows = answers.slice().sort((a, b) => a.image - b.image);
  return [columns.join(",")].concat(rows.map((r) => columns.map((c) => csvField(r[c])).join(","))).join("\\n") + "\\n";
}
function fileName() { return (reader.replace(/[^A-Za-z0-9_-]+/g, "_") || "reader") + ".csv"; }
function finish() {
  $("quiz").classList.add("hidden"); $("done").classList.remove("hidden");
  const answered = answers.filter((a) => a.answer).length;
  $("summary").textContent = answered + " of " + IMAGES.length + " images answered, " +
    (IMAGES.length - answered) + " skipped. Your score is computed by the teacher.";
  if (SUBMIT_URL) submit();
}
function download() {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([answersCsv()], {type: "text/csv"}));
  link.download = fileName();
  document.body.appendChild(link); link.click(); link.remove();
}
function submit() {
  $("sent").textContent = "sending your answers to the teacher...";
  fetch(SUBMIT_URL, {method: "POST", headers: {"Content-Type": "text/csv", "X-Reader": encodeURIComponent(reader)},
                     body: answersCsv()})
    .then((r) => r.ok ? r.json() : r.text().then((t) => { throw new Error(t); }))
    .then(() => { $("sent").textContent = "sent to the teacher."; })
    .catch((e) => { $("sent").textContent = "not sent (" + e.message + "): download the file and hand it in."; });
}
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT") { if (event.key === "Enter") start(); return; }
  const key = event.key.toLowerCase();
  if (key === "r") answer("real");
  else if (key === "s" || key === "f") answer("synthetic");
  else if (key === "k") answer("");
  else if ("12345".includes(key) && key.length === 1) setConfidence(key);
});
$("start").addEventListener("click", start);
$("real").addEventListener("click", () => answer("real"));
$("synthetic").addEventListener("click", () => answer("synthetic"));
$("skip").addEventListener("click", () => answer(""));
$("download").addEventListener("click", download);
document.querySelectorAll("[data-confidence]").forEach(
  (b) => b.addEventListener("click", () => setConfidence(confidence === b.dataset.confidence ? "" : b.dataset.confidence)));
"""

_BODY = """
<main>
  <h1>{title}</h1>
  <section id="intro">
    <p>You will see {n} images one at a time, in an order drawn for you. About half are real images and
       half were generated by a GAN. For each, answer <b>Real</b> (key R) or <b>Synthetic</b> (key S);
       optionally say how sure you are first, from 1 (guessing) to 5 (certain), with the buttons or keys 1&ndash;5.
       Skip (key K) an image you cannot judge.</p>
    <p><label>Your name <input id="reader" autocomplete="off" autofocus></label></p>
    <p id="need-name" class="hidden">Enter a name first: it labels your answers.</p>
    <button id="start">Start</button>
    <p class="muted">The page keeps no answer key; your answers stay in this page until you download them.</p>
  </section>
  <section id="quiz" class="hidden">
    <progress id="progress" value="0" max="{n}"></progress>
    <p id="count" class="muted"></p>
    <img id="image" alt="">
    <p><button id="real">Real (R)</button><button id="synthetic">Synthetic (S)</button>
       <button id="skip">Skip (K)</button></p>
    <p class="muted">How sure? (optional, before you answer; keys 1&ndash;5) {confidence_buttons}</p>
  </section>
  <section id="done" class="hidden">
    <h2>Done, thank you</h2>
    <p id="summary"></p>
    <button id="download">Download my answers (CSV)</button>
    <p id="sent" class="muted"></p>
  </section>
</main>
"""


def quiz_page(pngs: list[bytes], title: str = "", submit_url: str | None = None) -> str:
    """The quiz page for the images ``pngs`` (quiz order: image 1 first); ``submit_url`` also POSTs the answers."""
    if not pngs:
        raise ValueError("a quiz page needs at least one image")
    title = html.escape(title or "Visual Turing test: real or synthetic?")
    images = [f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}" for png in pngs]
    buttons = "".join(f'<button data-confidence="{k}">{k}</button>' for k in range(1, 6))
    body = _BODY.format(title=title, n=len(pngs), confidence_buttons=buttons)
    script = _SCRIPT.replace("COLUMNS", json.dumps(list(CSV_COLUMNS)))
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f"<style>{_STYLE}</style></head><body>{body}"
            f'<script type="application/json" id="images">{_json(images)}</script>'
            f'<script type="application/json" id="submit-url">{_json(submit_url)}</script>'
            f"<script>{script}</script></body></html>\n")


def _json(value: object) -> str:
    """JSON safe inside a <script> element (no "</" can close it early)."""
    return json.dumps(value).replace("</", "<\\/")
