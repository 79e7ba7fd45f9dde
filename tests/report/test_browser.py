"""The report in a real browser: headless Chromium loads every figure without a console error.

Chromium is driven from the command line (no Python dependency): a copy of report.html gets a
probe script that records, once the page has loaded, each image's natural size, every
resource fetched and every error event, and writes them into the DOM, which ``--dump-dom``
prints. Console messages go to stderr (``--enable-logging=stderr``); the probe logs one marker
message itself, so a run in which console logging is not captured fails instead of passing.
Skipped when Chromium is not installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import html as html_module
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib import image as mpimg

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MARKER = "alliance-report-probe-marker"
PROBE = """<script>
(function () {
  var errors = [];
  window.addEventListener("error", function (event) {
    var target = event.target || {};
    errors.push(String(event.message || target.src || target.href || target.tagName));
  }, true);
  window.addEventListener("load", function () {
    var images = Array.prototype.map.call(document.images, function (img) {
      return {complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
              scheme: img.src.split(":")[0]};
    });
    var resources = performance.getEntriesByType("resource").map(function (e) { return e.name; });
    var out = document.createElement("pre");
    out.id = "probe";
    out.textContent = JSON.stringify({images: images, resources: resources, errors: errors,
                                      tables: document.querySelectorAll("table").length});
    document.body.appendChild(out);
    console.log("MARKER");
  });
})();
</script>
""".replace("MARKER", MARKER)


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (looked for: " + ", ".join(CANDIDATES)
    + "); install it, e.g. `apt-get install chromium`",
)


def run_chromium(page: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Chromium headless, offline-minded, with a throw-away profile."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
        f"--user-data-dir={profile}", *arguments, page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    """Console lines Chromium logged (``...:CONSOLE...] "message", source: ...``)."""
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[:(]", line)]


@pytest.fixture(scope="module")
def probed(rendered: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    folder = tmp_path_factory.mktemp("browser")
    source = (rendered / "report.html").read_text(encoding="utf-8")
    page = folder / "probe.html"
    page.write_text(source.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    result = run_chromium(page, folder / "profile", "--enable-logging=stderr", "--v=0",
                          "--virtual-time-budget=10000", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert match, "the probe did not run: " + result.stderr[-2000:]
    return json.loads(html_module.unescape(match.group(1))), result.stderr


def test_every_figure_loads(probed: tuple[dict[str, Any], str]) -> None:
    report, _ = probed
    assert len(report["images"]) == 8
    for image in report["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
        assert image["scheme"] == "data"
    assert report["tables"] == 11


def test_no_network_requests_and_no_errors(probed: tuple[dict[str, Any], str]) -> None:
    report, _ = probed
    assert report["resources"] == []
    assert report["errors"] == []


def test_no_console_errors(probed: tuple[dict[str, Any], str]) -> None:
    _, stderr = probed
    messages = console_messages(stderr)
    assert any(MARKER in line for line in messages), "console logging was not captured"
    assert [line for line in messages if MARKER not in line] == []


def test_screenshot_shows_the_report(rendered: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = run_chromium(rendered / "report.html", tmp_path / "profile",
                          f"--screenshot={shot}", "--window-size=1200,1600")
    assert result.returncode == 0, result.stderr[-2000:]
    pixels = np.asarray(mpimg.imread(shot))
    assert pixels.shape[:2] == (1600, 1200)
    ink = (pixels[..., :3] < 0.5).any(axis=2).mean()
    assert 0.005 < ink < 0.5, f"share of dark pixels {ink:.3f}: blank or unreadable page"
