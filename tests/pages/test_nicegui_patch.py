"""`pages.nicegui_patch`: NiceGUI's handler check, remembered per function for bound methods."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Iterator
from types import ModuleType

import pytest
from nicegui import helpers

from tests.pages.helpers import page_module


@pytest.fixture
def patch() -> Iterator[ModuleType]:
    with page_module('pages.nicegui_patch') as module:
        yield module


class Handlers:
    def takes_event(self, event) -> None: ...

    def takes_nothing(self) -> None: ...

    def takes_optional(self, event=None) -> None: ...

    def takes_any(self, *args, **kwargs) -> None: ...


def plain(event) -> None: ...


def test_importing_the_pages_installs_the_patch_once(patch: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    assert helpers.expects_arguments.__module__ == 'pages.nicegui_patch'
    monkeypatch.setattr(helpers, 'expects_arguments', helpers.expects_arguments)  # restored afterwards
    spec = importlib.util.spec_from_file_location('nicegui_patch_again', patch.__file__)
    again = importlib.util.module_from_spec(spec)  # a second copy, as when a test app imports the pages again
    spec.loader.exec_module(again)
    again.install()
    assert helpers.expects_arguments is again.expects_arguments
    assert again._original is patch._original  # NiceGUI's own check, not the earlier patch
    assert not hasattr(again._original, 'original')


@pytest.mark.parametrize('name', ['takes_event', 'takes_nothing', 'takes_optional', 'takes_any'])
def test_it_answers_as_nicegui_does(patch: ModuleType, name: str) -> None:
    for owner in (Handlers(), Handlers()):
        method = getattr(owner, name)
        assert patch.expects_arguments(method) == patch._original(method)
    assert patch.expects_arguments(plain) is True
    assert patch.expects_arguments(lambda: None) is False


def test_a_function_bound_to_many_elements_is_inspected_once(
    patch: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []

    def counting(func) -> bool:
        asked.append(func)
        return any(p.default is inspect.Parameter.empty for p in inspect.signature(func).parameters.values())

    class Element:
        def update(self, change) -> None: ...

    monkeypatch.setattr(patch, '_original', counting)
    answers = [patch.expects_arguments(Element().update) for _ in range(50)]
    assert answers == [True] * 50
    assert len(asked) == 1
    assert patch.expects_arguments(plain) is True
    assert patch.expects_arguments(plain) is True
    assert len(asked) == 3  # plain functions are asked every time, as NiceGUI does
