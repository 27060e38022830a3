"""The screenshots of /doc in docs/docpage.rst: made by docs/screenshots.py, light and
dark, and the committed ones referenced by the page.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest

from .browser import chromium_browser, require_chromium
from .servers import ROOT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCHEMES = ("light", "dark")
DOCPAGE = ROOT / "docs" / "docpage.rst"

#: Decodes a PNG (a data: URL) in the page: its size and mean luminance (0-255).
MEASURE = """async (src) => {
  const image = new Image();
  image.src = src;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) {
    sum += 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
  }
  return {width: image.width, height: image.height, luminance: sum / (data.length / 4)};
}"""


def decoded(pngs: dict[str, bytes]) -> dict[str, dict[str, float]]:
    """Each PNG decoded by Chromium: ``{"width", "height", "luminance"}``."""
    with chromium_browser() as browser:
        page = browser.new_page()
        return {
            key: page.evaluate(MEASURE, "data:image/png;base64," + base64.b64encode(png).decode())
            for key, png in pngs.items()
        }


@pytest.mark.e2e
def test_screenshot_script_writes_a_light_and_a_darker_dark_png(tmp_path):
    require_chromium()
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "screenshots.py"), str(tmp_path)],
        cwd=tmp_path,  # runnable from anywhere
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    pngs = {scheme: (tmp_path / f"doc-{scheme}.png").read_bytes() for scheme in SCHEMES}
    assert all(png.startswith(PNG_SIGNATURE) for png in pngs.values())
    assert pngs["light"] != pngs["dark"]
    images = decoded(pngs)
    assert {(image["width"], image["height"]) for image in images.values()} == {(1280, 800)}
    # prefers-color-scheme: dark gives a dark page, light a light one
    assert images["dark"]["luminance"] < 100 < images["light"]["luminance"]


def test_docpage_shows_the_committed_screenshots_and_how_to_remake_them():
    text = DOCPAGE.read_text()
    section = text.partition("\nScreenshots\n-----------\n")[2]
    assert section, "docs/docpage.rst has no Screenshots section"
    images = re.findall(r"^\.\. image:: (\S+)\n   :alt: \S.*$", section, re.M)
    assert images == [f"_static/doc-{scheme}.png" for scheme in SCHEMES]
    for image in images:
        assert (ROOT / "docs" / image).read_bytes().startswith(PNG_SIGNATURE)
    assert "python docs/screenshots.py" in section
