"""A loopback MNIST mirror: ``http.server`` on 127.0.0.1 serving copies of the ``.gz`` files.

The only network the tests have. The archives come from the shipped copy beside the
checkout (``../shared/data/MNIST/raw``) or from ``data/MNIST/raw`` after a download.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cnnlessons.data import MNIST_FILES

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE_FOLDERS = (ROOT.parent / "shared" / "data" / "MNIST" / "raw",
                   ROOT / "data" / "MNIST" / "raw")


def archive_folder() -> Path:
    """A folder holding the four ``.gz`` files; skips the test when there is none."""
    for folder in ARCHIVE_FOLDERS:
        if all((folder / f"{name}.gz").is_file() for name in MNIST_FILES):
            return folder
    pytest.skip(f"no copy of the four MNIST .gz files in {' or '.join(map(str, ARCHIVE_FOLDERS))}")


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free loopback port; yield its URL (ending in ``/``)."""

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output readable
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            # torchvision's downloader opens each URL once to follow redirects and
            # hangs up without reading: the reset is expected, the traceback noise.
            pass

    handler = functools.partial(QuietHandler, directory=str(folder))
    server = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def mirror_folder(destination: Path, names: tuple[str, ...] = MNIST_FILES) -> Path:
    """Copy the ``.gz`` files of ``names`` into ``destination`` (the folder to serve)."""
    source = archive_folder()
    destination.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(source / f"{name}.gz", destination / f"{name}.gz")
    return destination


def closed_port_url() -> str:
    """A loopback URL nobody listens on: downloads from it fail at once."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}/"
