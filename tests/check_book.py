"""Check the rendered book in a real browser.

Serves ``_build/html`` on localhost, opens every page of the table of contents in
headless Chromium and fails on a missing page, a broken image, an image without a
meaningful ``alt`` text, a broken internal link (file or anchor), a JavaScript error,
anything loaded from outside the book (a CDN: the book must read offline) or maths
that MathJax did not typeset. Saves a screenshot of each page under
``_build/screenshots/``. Run through ``make check-book``.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import re
import sys
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import yaml
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

#: An alt text that is only a file name or a content hash (what MyST-NB writes for an
#: output image without one) says nothing about the figure.
MEANINGLESS_ALT = re.compile(r"^\s*$|[0-9a-f]{16,}|\.(png|jpe?g|svg|gif)$", re.IGNORECASE)

#: Every resource the page fetched, from the browser's own record (scripts, styles,
#: fonts, images, XHR), and every element that names one outside the page's origin.
RESOURCES_JS = """
return performance.getEntriesByType('resource').map(e => e.name).concat(
    Array.from(document.querySelectorAll('script[src], link[rel~="stylesheet"][href]'))
         .map(e => e.src || e.href));
"""

#: Resolves once MathJax has typeset the page: whether MathJax is there at all and how
#: many formulas it rendered.
MATHJAX_JS = """
const done = arguments[arguments.length - 1];
if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    done({loaded: false, rendered: 0});
} else {
    MathJax.startup.promise.then(
        () => done({loaded: true, rendered: document.querySelectorAll('mjx-container').length}),
        () => done({loaded: true, rendered: 0}));
}
"""


def external_loads(base: str, urls: list[str]) -> list[str]:
    """The fetched resources that do not come from the served book."""
    return sorted({url for url in urls
                   if url and not url.startswith((base, "data:", "blob:", "about:"))})


def alt_problems(images: list[dict]) -> list[str]:
    """Images whose ``alt`` is missing, empty, or only a file name or hash."""
    return [f"image {image['src']!r} has no meaningful alt text (alt={image['alt']!r})"
            for image in images
            if image["alt"] is None or MEANINGLESS_ALT.search(image["alt"])]


def toc_pages(toc_file: Path) -> list[str]:
    """Every document named in a Jupyter Book ``_toc.yml``, root first."""
    toc = yaml.safe_load(toc_file.read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", page) for page in pages]


class _Anchors(HTMLParser):
    """Collects the ids and names a page defines, which ``#fragment`` links can target."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def anchors_of(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on a free localhost port; return the server and its base URL."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the report readable
            pass

    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def browser(profile: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1600",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def check_links(html_dir: Path, page_file: Path, base: str, page_url: str,
                hrefs: list[str]) -> list[str]:
    """Internal links of one page whose target file or anchor does not exist."""
    problems = []
    for href in hrefs:
        absolute = urljoin(page_url, href)
        if not absolute.startswith(base):
            continue  # external links are not this check's business (no network here)
        url, fragment = urldefrag(absolute)
        relative = unquote(urlparse(url).path)[len(urlparse(base).path):]
        target = html_dir / relative
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link {href!r}: {target.relative_to(html_dir)} does not exist")
        elif fragment and target.suffix == ".html" and fragment not in anchors_of(target):
            problems.append(f"broken link {href!r}: no anchor #{fragment} in "
                            f"{target.relative_to(html_dir)}")
    return problems


def check_book(html_dir: Path, toc_file: Path, shots: Path) -> list[str]:
    """Open every page of the table of contents; return the problems found."""
    shots.mkdir(parents=True, exist_ok=True)
    server, base = serve(html_dir)
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(profile)
        driver.set_script_timeout(30)  # MathJax typesets a long chapter in seconds
        try:
            for page in toc_pages(toc_file):
                page_file = html_dir / f"{page}.html"
                if not page_file.is_file():
                    problems.append(f"{page}: missing page {page_file.relative_to(html_dir)}")
                    continue
                url = urljoin(base, f"{page}.html")
                driver.get(url)
                found = []
                for entry in driver.get_log("browser"):
                    if entry["level"] != "SEVERE":
                        continue
                    found.append(f"JavaScript error: {entry['message']}")
                broken = driver.execute_script(
                    "return Array.from(document.images)"
                    ".filter(i => !(i.complete && i.naturalWidth > 0))"
                    ".map(i => i.getAttribute('src'));")
                found += [f"broken image {src!r}" for src in broken]
                found += alt_problems(driver.execute_script(
                    "return Array.from(document.images)"
                    ".map(i => ({src: i.getAttribute('src'), alt: i.getAttribute('alt')}));"))
                found += [f"loads {url} from outside the book (it must read offline)"
                          for url in external_loads(base, driver.execute_script(RESOURCES_JS))]
                if driver.execute_script("return document.querySelector('.math') !== null;"):
                    mathjax = driver.execute_async_script(MATHJAX_JS)
                    if not mathjax["rendered"]:
                        found.append(f"maths not typeset (MathJax loaded: {mathjax['loaded']})")
                hrefs = driver.execute_script(
                    "return Array.from(document.querySelectorAll('a[href]'))"
                    ".map(a => a.getAttribute('href'));")
                found += check_links(html_dir, page_file, base, url, hrefs)
                shot = shots / (page.replace("/", "__") + ".png")
                driver.save_screenshot(str(shot))
                status = "ok" if not found else f"{len(found)} problem(s)"
                print(f"{page}: {len(hrefs)} links, {status}, screenshot {shot.relative_to(ROOT)}")
                problems += [f"{page}: {p}" for p in found]
        finally:
            driver.quit()
            server.shutdown()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html",
                        help="the built book (default: _build/html)")
    parser.add_argument("--toc", type=Path, default=ROOT / "_toc.yml",
                        help="the table of contents to walk (default: _toc.yml)")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots",
                        help="where to save one screenshot per page")
    args = parser.parse_args(argv)
    problems = check_book(args.html, args.toc, args.screenshots)
    for problem in problems:
        print("FAIL", problem)
    pages = len(toc_pages(args.toc))
    print(f"check-book: {pages} pages, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
