"""Workflows: states on a status field and the transitions between them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Transition:
    """A named step from one or more states to another.

    `roles` are the default roles allowed (admins change them in the permission matrix);
    `requires` are fields that must have a value after the step, e.g. ``[Hiccup.response]``;
    `fields` are further fields the step may fill in (shown in its dialog).
    """

    name: str
    source: Sequence[str]
    target: str
    label: str = ''
    roles: Sequence[str] = ()
    requires: Sequence[Any] = ()
    fields: Sequence[Any] = ()
    color: str = 'primary'

    @property
    def title(self) -> str:
        return self.label or self.name.replace('_', ' ').capitalize()

    @property
    def action(self) -> str:
        return f'transition:{self.name}'

    def field_names(self) -> list[str]:
        names = [a.key for a in self.requires]
        return names + [a.key for a in self.fields if a.key not in names]

    def required_names(self) -> list[str]:
        return [a.key for a in self.requires]


@dataclasses.dataclass(frozen=True)
class Workflow:
    """States (key, label) in board order, the initial state, and the transitions."""

    field: Any
    states: Sequence[tuple[str, str]]
    transitions: Sequence[Transition]
    initial: str = ''
    #: States in which a record counts as finished (hidden from "open" filters and SLA clocks).
    final: Sequence[str] = ()

    def choices(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.states)

    @property
    def start(self) -> str:
        return self.initial or self.states[0][0]

    def state_label(self, key: str) -> str:
        return dict(self.states).get(key, key)

    def transition(self, name: str) -> Transition | None:
        return next((t for t in self.transitions if t.name == name), None)

    def available(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.source]

    def between(self, source: str, target: str) -> list[Transition]:
        return [t for t in self.available(source) if t.target == target]

    def check(self, rt: Any) -> None:
        from models.engine import DeclarationError

        where = f'{rt.__name__}.workflow'
        keys = {k for k, _ in self.states}
        if self.field.class_ is not rt.model:
            raise DeclarationError(f'{where}: field {self.field!r} is not an attribute of {rt.model.__name__}')
        if self.initial and self.initial not in keys:
            raise DeclarationError(f'{where}: initial state {self.initial!r} is not among the states')
        names = set()
        for t in self.transitions:
            if t.name in names:
                raise DeclarationError(f'{where}: transition {t.name!r} is declared twice')
            names.add(t.name)
            unknown = (set(t.source) | {t.target}) - keys
            if unknown:
                raise DeclarationError(f'{where}: transition {t.name!r} names unknown states {sorted(unknown)}')
            for attr in (*t.requires, *t.fields):
                if getattr(attr, 'class_', None) is not rt.model:
                    raise DeclarationError(
                        f'{where}: transition {t.name!r} field {attr!r} is not of {rt.model.__name__}'
                    )
