"""Debian's Chromium, as the browser tests and the benchmarks launch it (never `playwright install`)."""

from __future__ import annotations

from pathlib import Path

PATH = Path('/usr/bin/chromium')
ARGS = [
    '--no-sandbox',
    '--headless',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--disable-sync',
]
