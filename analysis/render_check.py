"""Check a report as a reader sees it: render the HTML in headless Chromium and measure the page.

``python -m analysis.render_check REPORT.html [--screenshot FIRST_SCREEN.png]`` loads the page
in headless Chromium at a laptop-sized window (1280 x 900 CSS pixels), and reports whether
every image decoded, whether anything is wider than the page, and whether the summary of
findings fits in the first screen. With ``--screenshot`` it also saves the first screen as
a PNG (palette-compressed, small enough to commit).

No browser-automation package is needed: a copy of the page gets a small script that writes
its measurements into the DOM, and Chromium's ``--dump-dom`` prints the DOM after the page
(and its images) loaded. ``--dry-run`` prints the resolved config and what would be checked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossling.cli import SuiteArgumentParser, config_parser, parse_command, print_dry_run, run_main
from crossling.config import Interval
from crossling.errors import ConfigError, DataError

__all__ = ["RenderCheck", "RenderCheckConfig", "chromium_binary", "check_render", "screenshot", "build_parser",
           "parse_config", "main", "WINDOW"]

#: The first screen of a reader: a laptop browser window, in CSS pixels.
WINDOW = (1280, 900)

_PROBE = """
<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).map(function (i) {
    return i.alt || i.src.slice(0, 40); });
  var W = document.documentElement.clientWidth;
  var wide = Array.from(document.body.querySelectorAll('*')).filter(function (e) {
    var r = e.getBoundingClientRect(); return r.right > W + 1 && getComputedStyle(e).position !== 'fixed'
      && !e.closest('.tw'); }).map(function (e) { return e.tagName + (e.id ? '#' + e.id : ''); });
  var s = document.getElementById('summary');
  var r = s ? s.getBoundingClientRect() : null;
  var out = {images: imgs.length, broken: bad, viewport_width: W, scroll_width: document.documentElement.scrollWidth,
             overflowing: wide.slice(0, 20), viewport_height: window.innerHeight,
             summary_top: r ? r.top : null, summary_bottom: r ? r.bottom : null};
  var pre = document.createElement('pre'); pre.id = 'render-check'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


@dataclass(frozen=True)
class RenderCheck:
    """What Chromium measured: image count and broken images, widths, the summary's box (CSS pixels)."""

    images: int
    broken: list[str]
    viewport_width: int
    scroll_width: int
    overflowing: list[str]
    viewport_height: int
    summary_top: float | None
    summary_bottom: float | None

    @property
    def fits_width(self) -> bool:
        """Nothing is wider than the window (no horizontal scrolling of the page)."""
        return self.scroll_width <= self.viewport_width and not self.overflowing

    @property
    def summary_on_first_screen(self) -> bool:
        """The summary of findings starts and ends inside the first screen."""
        return self.summary_bottom is not None and self.summary_bottom <= self.viewport_height


def chromium_binary() -> str | None:
    """The headless browser on PATH (chromium, chromium-browser or google-chrome), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chromium(args: Sequence[str], timeout: float) -> subprocess.CompletedProcess:
    exe = chromium_binary()
    if exe is None:
        raise ConfigError("No Chromium on PATH; install it (Debian/Ubuntu: apt-get install -y chromium).")
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def check_render(report: str | Path, *, timeout: float = 120.0) -> RenderCheck:
    """Render ``report`` in headless Chromium and measure it (see :class:`RenderCheck`).

    Raises
    ------
    DataError
        If the file is missing or Chromium wrote no measurement (the page failed to load).
    """
    report = Path(report)
    if not report.is_file():
        raise DataError("No report to render.", path=report)
    page = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "page.html"
        probe.write_text(page.replace("</body>", _PROBE + "</body>", 1), encoding="utf-8")
        res = _chromium(["--virtual-time-budget=10000", "--dump-dom", probe.as_uri()], timeout)
    m = re.search(r'<pre id="render-check">(.*?)</pre>', res.stdout, flags=re.DOTALL)
    if not m:
        raise DataError(f"Chromium wrote no measurement (exit {res.returncode}; stderr: {res.stderr[-300:]!r}).",
                        path=report)
    import html

    return RenderCheck(**json.loads(html.unescape(m.group(1))))


def screenshot(report: str | Path, out: str | Path, *, timeout: float = 120.0, colors: int = 64) -> Path:
    """Save the first screen of ``report`` (the window size of :data:`WINDOW`) as a small palette PNG."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "shot.png"
        res = _chromium([f"--screenshot={raw}", Path(report).resolve().as_uri()], timeout)
        if not raw.is_file():
            raise DataError(f"Chromium wrote no screenshot (exit {res.returncode}).", path=report)
        from PIL import Image

        with Image.open(raw) as im:
            im.convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return out


PROG = "python -m analysis.render_check"
DESCRIPTION = ("Check a report as a reader sees it: render the HTML in headless Chromium and measure the page "
               "(exit 1 when a check fails).")


@dataclass
class RenderCheckConfig:
    """Configuration of ``python -m analysis.render_check`` (YAML keys = field names).

    Attributes
    ----------
    report : str
        The report HTML file (the positional argument); required.
    screenshot : str or None
        Also save the first screen as this PNG (palette-compressed).
    timeout : float
        Seconds Chromium may take for each page.
    quiet : bool
        Print only the verdict (OK or FAILED: ...), not the measurements.
    """

    report: str = ""
    screenshot: str | None = None
    timeout: float = 120.0
    quiet: bool = False

    #: Declared ranges (:func:`crossling.config.check_params`), checked when the config is loaded.
    _parameter_constraints = {"timeout": [Interval("real", 0, 86400, closed="right")]}

    def validate(self) -> None:
        """Check that a report is named."""
        if not self.report:
            raise ConfigError(f"Name the report HTML file to check: {PROG} REPORT.html.")


def build_parser() -> SuiteArgumentParser:
    """The command line, generated from :class:`RenderCheckConfig`, with the report as a positional argument."""
    p = config_parser(RenderCheckConfig, prog=PROG, description=DESCRIPTION, exclude=("report",))
    p.add_argument("report", nargs="?", default=None, help="the report HTML file")
    # the positional fills the 'report' field like a flag would (see crossling.cli.overrides_from_args)
    p.set_defaults(_field_names=[*p.get_default("_field_names"), "report"])
    return p


def parse_config(argv: Sequence[str] | None) -> tuple[RenderCheckConfig, Any]:
    """Parse ``argv`` into a validated :class:`RenderCheckConfig` and the namespace."""
    return parse_command(RenderCheckConfig, argv, prog=PROG, description=DESCRIPTION, parser=build_parser())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m analysis.render_check``: exit 1 when a check fails."""
    cfg, args = parse_config(argv)
    if args.dry_run:
        return print_dry_run(cfg, [f"would render {cfg.report} in headless Chromium at {WINDOW[0]} x {WINDOW[1]} "
                                   f"({chromium_binary() or 'no Chromium on PATH'})"]
                             + ([f"would save the first screen as {cfg.screenshot}"] if cfg.screenshot else []))
    c = check_render(cfg.report, timeout=cfg.timeout)
    if not cfg.quiet:
        print(json.dumps(c.__dict__, indent=1))
    if cfg.screenshot:
        shot = screenshot(cfg.report, cfg.screenshot, timeout=cfg.timeout)
        if not cfg.quiet:
            print(f"wrote {shot}")
    ok = not c.broken and c.fits_width and c.summary_on_first_screen
    print("OK" if ok else "FAILED: " + ", ".join(x for x, bad in (("broken images", c.broken),
                                                                 ("page wider than the window", not c.fits_width),
                                                                 ("summary not on the first screen",
                                                                  not c.summary_on_first_screen)) if bad))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(run_main(main))
