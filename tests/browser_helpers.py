"""Debian's chromium driven through playwright, as the browser tests use it (tests/test_browser.py, and the
learner's Assignments tab on the class hub in tests/test_hub.py). Test support; pytest puts tests/ on the path.

playwright's own browser download does not work on these machines: `executable_path` points at
/usr/bin/chromium (or $CHROMIUM). Without it (or without playwright) the browser tests skip, with the
remedy in the reason; MNIST_REQUIRE_BROWSER=1 (CI) makes that a failure instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "browser"  # screenshots and server logs (git-ignored)
REQUIRE_BROWSER = "MNIST_REQUIRE_BROWSER"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The flags these machines need (see the machine notes): no sandbox as root, and no background
# connections, which the closed network refuses many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # one list of flags, wrapped  # fmt: skip


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, with the remedy; None when they can."""
    if not Path(CHROMIUM).exists():
        return (
            f"no chromium at {CHROMIUM}: install Debian's browser with `sudo apt-get install chromium` "
            "(or set CHROMIUM to a Chromium binary)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[dev]'"
    return None


def required(*settings: str) -> str | None:
    """The first of `settings` (environment variables) set to 1: a browser test that cannot run fails then."""
    return next((name for name in settings if os.environ.get(name) == "1"), None)


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def menu(page, top: str, item: str) -> None:
    """Click JupyterLab's menu `top`, then its item `item`."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()
