"""The render check itself: it catches broken images, pages wider than the window and a buried summary."""

from __future__ import annotations

import base64

import pytest

from analysis.render_check import WINDOW, check_render, main, screenshot
from crossling.cli import run_main

# a valid 1x1 PNG
_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf0000000301010018dd8db40000000049454e44ae426082")).decode()


def _page(tmp_path, body: str):
    p = tmp_path / "r.html"
    p.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>")
    return p


def test_a_good_page_passes(tmp_path, chromium):
    p = _page(tmp_path, f"<section id='summary'><h2>Summary</h2><p>answers</p></section>"
                        f"<img alt='fig' src='data:image/png;base64,{_PNG}'>")
    c = check_render(p)
    assert c.images == 1 and c.broken == [] and c.fits_width and c.summary_on_first_screen
    assert run_main(main, [str(p)]) == 0


def test_broken_image_wide_element_and_buried_summary_are_caught(tmp_path, chromium):
    p = _page(tmp_path, "<div style='height:3000px'>spacer</div>"
                        "<section id='summary'><p>answers</p></section>"
                        "<img alt='broken' src='data:image/png;base64,AAAA'>"
                        f"<div style='width:{WINDOW[0] * 2}px'>too wide</div>")
    c = check_render(p)
    assert c.broken == ["broken"]
    assert not c.fits_width and c.scroll_width > c.viewport_width
    assert not c.summary_on_first_screen
    assert run_main(main, [str(p)]) == 1


def test_a_page_without_summary_fails_the_first_screen_check(tmp_path, chromium):
    c = check_render(_page(tmp_path, "<p>no summary</p>"))
    assert c.summary_top is None and not c.summary_on_first_screen


def test_screenshot_is_small(tmp_path, chromium):
    p = _page(tmp_path, "<section id='summary'><h1>Summary</h1></section>")
    out = screenshot(p, tmp_path / "shot.png")
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == WINDOW
    assert out.stat().st_size < 100_000


def test_missing_report_is_an_error(tmp_path):
    from crossling.errors import DataError

    with pytest.raises(DataError, match="No report"):
        check_render(tmp_path / "absent.html")
