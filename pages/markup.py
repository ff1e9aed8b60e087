"""Markdown that users write, shown safely.

markdown2's ``safe_mode='escape'`` turns any raw HTML into text and unsafe link targets
(``javascript:``, ``data:``…) into ``#``; image sources other than http(s) are dropped here
too. The HTML then goes through ui.html's client-side DOMPurify as well, so a description can
never run a script or inject markup into the page.
"""

from __future__ import annotations

import re

import markdown2
from nicegui import ui

EXTRAS = ['fenced-code-blocks', 'tables', 'cuddled-lists', 'strike', 'break-on-newline']
_SRC = re.compile(r'\ssrc="(?!https?://)[^"]*"', re.IGNORECASE)


def to_html(text: str) -> str:
    """Safe HTML for Markdown `text`: no raw HTML, no script links, only http(s) images."""
    html = markdown2.markdown(text or '', safe_mode='escape', extras=EXTRAS)
    return _SRC.sub(' src=""', html)


def markdown(text: str) -> ui.html:
    return ui.html(to_html(text), sanitize=True).classes('nicegui-markdown break-words')
