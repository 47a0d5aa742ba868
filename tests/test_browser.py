"""The built book in a real browser (headless Chromium through Selenium), page by page.

Builds the book from the committed executed notebooks (strict), serves it on the loopback address
and opens every page as a reader would: every image loaded, the mathematics typeset by the local
MathJax (no raw `\\(` or `$$` left), no console error, no absolute machine path in the text, and
the intro's dashboard equal to what `results/*/summary.json` says. A screenshot of each page is
kept under `book/_build/screenshots/` (or `$BOOK_SCREENSHOTS`); the book is built into `book/_build`
(or `$BOOK_OUT/_build`).

Marked `browser`: the default test run skips it; `nox -s browser` runs it (`.ci/run` does, after
installing Debian's `chromium` and `chromium-driver`).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from replication.publish import book, scan
from replication.report import dashboard
from replication.runs.paths import project_root

pytestmark = pytest.mark.browser

ROOT = project_root()
RESULTS = ROOT / "results"
SCREENSHOTS = Path(os.environ.get("BOOK_SCREENSHOTS", ROOT / "book" / "_build" / "screenshots"))
SCREENSHOT_MAX_HEIGHT = 16000  # px: long pages are cut there
WINDOW_MAX_HEIGHT = 5000  # px: headless Chrome's window stops growing a little above this

# numbers of each chapter's summary as the dashboard prints them: the first set of keys the
# summary has (a chapter's summary may be a seed ledger or one run's), each (key, format)
HEADLINES = {
    "loss_saturation": [[("grad_ratio_nonsaturating_to_minimax", "{:.0f}")]],
    "parzen_mnist": [
        [("ll_mean_over_seeds", "{:.1f}"), ("ll_sd_over_seeds", "{:.1f}")],
        [("mnist_parzen_ll_mean", "{:.1f}"), ("mnist_parzen_ll_se", "{:.1f}")],
    ],
    "parzen_tfd": [[("parzen_ll_mean", "{:.1f}"), ("parzen_ll_se_across_folds", "{:.1f}")]],
}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site():
    """The strict build of the committed results, served on 127.0.0.1."""
    out = Path(os.environ["BOOK_OUT"]) if os.environ.get("BOOK_OUT") else None
    html = book.build("auto", results_dir=RESULTS, strict=True, out=out, quiet=True)
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Debian's chromium + chromium-driver; GitHub's runners have Google Chrome and a driver
    binary = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    runner_driver = Path(os.environ.get("CHROMEWEBDRIVER", "/nonexistent")) / "chromedriver"
    driver_path = shutil.which("chromedriver") or (
        str(runner_driver) if runner_driver.is_file() else None
    )
    if not binary or not driver_path:
        pytest.fail(
            "headless Chromium and its driver are needed: `apt-get install -y chromium "
            "chromium-driver` (Debian), then `nox -s browser`"
        )
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.add_argument("--window-size=1280,1000")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _pages(html: Path) -> list[str]:
    return sorted(
        str(p.relative_to(html)) for p in html.rglob("*.html") if "_static" not in p.parts
    )


WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done(true), () => done(false));
} else { done(null); }
"""
LOAD_IMAGES = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(i => { i.loading = 'eager'; });
Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
  i.addEventListener('load', r); i.addEventListener('error', r); }))).then(() => done(
  imgs.map(i => [i.getAttribute('src'), i.naturalWidth])));
"""


def _open(driver, url: str) -> dict:
    driver.get(url)
    math_ok = driver.execute_async_script(WAIT_FOR_MATH)
    images = driver.execute_async_script(LOAD_IMAGES)
    return {
        "math_ok": math_ok,
        "images": images,
        "math_nodes": driver.execute_script(
            "return document.querySelectorAll('.math, span.math, div.math').length"
        ),
        "typeset": driver.execute_script(
            "return document.querySelectorAll('mjx-container').length"
        ),
        # TeX that MathJax could not read is drawn in red: an unknown macro as red text (its
        # assistive MathML keeps it as <mtext mathcolor="red">), a syntax error as <mjx-merror>
        "math_errors": driver.execute_script(
            "return Array.from(document.querySelectorAll("
            "'mjx-merror, [data-mjx-error], mtext[mathcolor=\"red\"]'))"
            ".map(e => e.getAttribute('data-mjx-error') || e.textContent)"
        ),
        "text": driver.execute_script("return document.body.innerText"),
        "console": driver.get_log("browser"),
    }


def _favicon_request(message: str) -> bool:
    """The browser asks every site for /favicon.ico on its own; the book has none, and its
    absence is not an error of the page."""
    return "/favicon.ico" in message and "Failed to load resource" in message


def _screenshot(driver, name: str) -> list[Path]:
    """The page as a reader scrolls it: the window as tall as Chrome allows, one picture per
    window-full (`<page>.png`, `<page>-2.png`, ...), to SCREENSHOT_MAX_HEIGHT pixels."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    window = max(800, min(height, WINDOW_MAX_HEIGHT))
    driver.set_window_size(1280, window)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = name.replace("/", "__").removesuffix(".html")
    paths = []
    for k, top in enumerate(range(0, min(height, SCREENSHOT_MAX_HEIGHT), window)):
        driver.execute_script("window.scrollTo(0, arguments[0])", top)
        path = SCREENSHOTS / (f"{stem}-{k + 1}.png" if k else f"{stem}.png")
        driver.save_screenshot(str(path))
        paths.append(path)
    driver.set_window_size(1280, 1000)
    return paths


def test_every_page_reads_in_a_browser(site, browser):
    html, base = site
    pages = _pages(html)
    assert "intro.html" in pages and any(p.startswith("chapters/") for p in pages)
    problems: dict[str, list[str]] = {}
    for page in pages:
        seen = _open(browser, f"{base}/{page}")
        bad = []
        bad += [f"image not loaded: {src}" for src, width in seen["images"] if not width]
        if seen["math_nodes"]:
            if not seen["math_ok"] or seen["typeset"] < seen["math_nodes"]:
                bad.append(
                    f"math not typeset: {seen['typeset']} of {seen['math_nodes']} "
                    f"(MathJax loaded: {seen['math_ok']})"
                )
        bad += [f"TeX error: {e}" for e in seen["math_errors"]]
        raw = [t for t in ("\\(", "\\[", "$$") if t in seen["text"]]
        bad += [f"raw TeX delimiter {t!r} in the page text" for t in raw]
        bad += [
            f"console {e['level']}: {e['message'][:300]}"
            for e in seen["console"]
            if e["level"] == "SEVERE" and not _favicon_request(e["message"])
        ]
        bad += [f"machine path {p}" for p in scan.machine_paths(seen["text"])]
        _screenshot(browser, page)
        if bad:
            problems[page] = bad
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def test_chapter_pages_lead_with_their_result(site, browser):
    html, base = site
    from replication.chapters.registry import names

    for name in names():
        if book.executed_notebook(RESULTS, name, "auto") is None:
            continue  # a placeholder page says the chapter has not run
        browser.get(f"{base}/chapters/{name}.html")
        text = browser.execute_script(
            "return document.querySelector('main, article, body').innerText"
        )
        lead_at = text.find("published")
        code_at = text.find("import ")
        assert lead_at >= 0, f"{name}: no published value on the page"
        assert code_at == -1 or lead_at < code_at, f"{name}: code shown before the result"
        assert "# Parameters" not in text, f"{name}: Papermill's injected cell rendered"


def _dashboard_rows(browser) -> list[list[str]]:
    rows = browser.execute_script(
        """
        const marker = Array.from(document.querySelectorAll('table')).find(t =>
          t.innerText.includes('verdict') && t.innerText.includes('ours'));
        if (!marker) return [];
        return Array.from(marker.querySelectorAll('tbody tr')).map(tr =>
          Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()));
        """
    )
    # a chapter is named on its first claim only: carry it down to its other rows
    for i in range(1, len(rows)):
        if rows[i] and not rows[i][0]:
            rows[i][0] = rows[i - 1][0]
    return rows


QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def _norm(s: str) -> str:
    """Whitespace folded, Sphinx's typographic quotes and the Markdown escape of | undone."""
    return re.sub(r"\s+", " ", s.replace("\\|", "|").translate(QUOTES)).strip()


def test_dashboard_numbers_equal_the_summaries(site, browser):
    _, base = site
    browser.get(f"{base}/intro.html")
    shown = _dashboard_rows(browser)
    want = dashboard.claim_rows(RESULTS)
    assert len(shown) == len(want), (shown, want)
    for cells, row in zip(shown, want, strict=True):
        _, claim, published, ours, verdict = cells
        assert _norm(claim) == _norm(row["claim"])
        assert _norm(ours) == _norm(row["ours"] or "–")
        assert _norm(published) == _norm(row["published"] or "–")
        assert _norm(row["verdict"]) in _norm(verdict)
        assert verdict.startswith(dashboard.MARKS.get(dashboard._base(row["verdict"]), ""))
    # and independently of the table's own code: the summaries' headline numbers are there
    for name, key_sets in HEADLINES.items():
        path = RESULTS / name / "summary.json"
        if not path.is_file():
            continue
        summary = json.loads(path.read_text())
        keys = next((ks for ks in key_sets if all(k in summary for k, _ in ks)), None)
        assert keys, f"{name}: none of {key_sets} in its summary.json"
        ours = " ".join(c[3] for c in shown if c[0] and name_title(name) in c[0])
        for key, fmt in keys:
            assert fmt.format(summary[key]) in ours, (name, key, ours)


def name_title(name: str) -> str:
    from replication.chapters.registry import CHAPTERS

    return next(c.title for c in CHAPTERS if c.name == name)
