"""The docs' screenshots: the first 1280×900 screen of a page, quantised under 150 KB, or a clear refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tools.docs_screenshots import MAX_BYTES, shrink


def test_a_long_page_becomes_a_small_first_screen(tmp_path: Path) -> None:
    page = Image.linear_gradient("L").resize((1280, 2600)).convert("RGB")  # a gradient: thousands of colours
    draw = ImageDraw.Draw(page)
    for row in range(0, 2600, 24):  # table rows and "text"
        draw.rectangle((40, row, 1240, row + 18), outline=(200, 30, 40))
        draw.text((60, row + 4), f"row {row} 中试平台", fill=(20, 20, 20))
    page.save(tmp_path / "page.png")
    size = shrink(tmp_path / "page.png", tmp_path / "small.png")
    with Image.open(tmp_path / "small.png") as small:
        assert small.size == (1280, 900) and small.mode == "P"
    assert size == (tmp_path / "small.png").stat().st_size <= MAX_BYTES


def test_what_cannot_be_made_small_or_is_not_1280_px_wide_is_refused(tmp_path: Path) -> None:
    Image.effect_noise((1280, 900), 128).convert("RGB").save(tmp_path / "noise.png")
    with pytest.raises(SystemExit, match="still"):
        shrink(tmp_path / "noise.png", tmp_path / "small.png")
    Image.new("RGB", (375, 800), "white").save(tmp_path / "phone.png")
    with pytest.raises(SystemExit, match="375 px wide"):
        shrink(tmp_path / "phone.png", tmp_path / "small.png")
