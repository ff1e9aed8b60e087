"""One change to NiceGUI, for speed: whether a handler expects arguments is asked once per function.

NiceGUI decides whether to pass an event's arguments to a handler with ``inspect.signature`` (its
``helpers.expects_arguments``), and asks it for the change handler of every element's props,
classes and style, so three times for each element a page builds: 8 % of the server's CPU time
when a hundred lists open (``py-spy``, bench/README.md). Those handlers are bound methods, whose
answer depends only on their function; it is kept per function (weakly, so nothing is kept alive).
Everything else goes to NiceGUI's own check as before.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

from nicegui import helpers

# NiceGUI's own check, also when this module is imported again (a test app re-imports the pages)
_original: Callable[[Callable], bool] = getattr(helpers.expects_arguments, 'original', helpers.expects_arguments)
_by_function: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def expects_arguments(func: Callable) -> bool:
    """`nicegui.helpers.expects_arguments`, remembered per function for bound methods."""
    if not inspect.ismethod(func):
        return _original(func)
    function = func.__func__
    known = _by_function.get(function)
    if known is None:
        known = _by_function[function] = _original(func)
    return known


expects_arguments.original = _original  # type: ignore[attr-defined]


def install() -> None:
    helpers.expects_arguments = expects_arguments
