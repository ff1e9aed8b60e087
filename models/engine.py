"""The record-type engine: a module declares a record type once, here is what it may say.

A declaration is a subclass of `RecordType` naming its model::

    class Departments(RecordType, model=Department):
        lookup = True
        list_columns = [Department.name, Department.code, Department.active]

Every option has a default, so `class Things(RecordType, model=Thing): pass` already gives a
list, a form, a detail page, an export and an API. A wrong option fails at import, naming
the record type and the option (`DeclarationError`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import typing
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Boolean, Date, Float, Integer, Numeric, String, Text, inspect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import QueryableAttribute, RelationshipProperty
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Enum as SAEnum

from models.base import SYSTEM_COLUMNS, Base, UTCDateTime
from models.workflow import Workflow

if TYPE_CHECKING:
    from models.accounts import Actor

#: Characters a TEXT column holds for sure (65,535 bytes in MySQL, 4 bytes a character at worst).
TEXT_MAX = 16_000
BASE_ACTIONS = ('view', 'create', 'edit', 'delete', 'export')
ALL = frozenset({'*'})

REGISTRY: dict[str, type[RecordType]] = {}


class DeclarationError(TypeError):
    """A record type declaration is wrong; the message names the type and the option."""


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a record type as the engine shows and validates it."""

    name: str
    label: str
    kind: str  # str, text, int, float, bool, date, datetime, enum, ref, multi
    required: bool = False
    max_length: int | None = None
    enum: type[enum.Enum] | None = None
    target: type[Base] | None = None  # ref / multi: the related model
    help: str = ''
    choices: tuple[tuple[str, str], ...] = ()  # a workflow state field: (key, label)
    computed: bool = False  # a hybrid property: shown, filtered and sorted on, never entered
    markdown: bool = False  # a text field written in Markdown (column info ``{'markdown': True}``)

    @property
    def is_relation(self) -> bool:
        return self.kind in ('ref', 'multi')


class RecordType:
    """Base of every declaration. Options are class attributes; hooks are classmethods."""

    model: ClassVar[type[Base]]
    #: URL and API name, e.g. ``'departments'``; default: the table name.
    slug: ClassVar[str] = ''
    #: Singular label, e.g. ``'Department'``; default: the model's class name.
    label: ClassVar[str] = ''
    #: Plural label; default: label + "s".
    label_plural: ClassVar[str] = ''
    #: Material icon name shown in navigation.
    icon: ClassVar[str] = 'description'
    #: Navigation group, e.g. ``'Lookups'``.
    nav_group: ClassVar[str] = 'Records'
    #: Columns of the list view, e.g. ``[Department.name, Department.active]``; default: form fields.
    list_columns: ClassVar[Sequence[Any]] = ()
    #: Fields of the create/edit form; default: every column but the system ones.
    form_fields: ClassVar[Sequence[Any]] = ()
    #: Fields shown but never edited in the form.
    readonly_fields: ClassVar[Sequence[Any]] = ()
    #: Fields searched by the free-text box; default: the string columns of the list.
    search_fields: ClassVar[Sequence[Any]] = ()
    #: Fields offered as list filters; default: enums, references, booleans and the status.
    filters: ClassVar[Sequence[Any]] = ()
    #: The field that names a record, e.g. ``Department.name``; default: first string column.
    title_field: ClassVar[Any] = None
    #: Default sort, e.g. ``Department.name`` or ``Hiccup.created_at.desc()``; default: newest first.
    default_sort: ClassVar[Any] = None
    #: The date the list's date-range filter applies to; default: ``created_at`` when present.
    date_field: ClassVar[Any] = None
    #: Whose records "mine" means, e.g. ``Hiccup.raised_by_id``.
    owner_field: ClassVar[Any] = None
    #: The assignee filter's field, e.g. ``Issue.assignee_id``.
    assignee_field: ClassVar[Any] = None
    #: A lookup table: values are deactivated rather than deleted; Excel round trip in admin.
    lookup: ClassVar[bool] = False
    #: The workflow (states on a status field, transitions, roles, required fields).
    workflow: ClassVar[Workflow | None] = None
    #: Default permissions: role name → actions (``view``, ``create``, ``edit``, ``delete``,
    #: ``export``, ``transition:<name>``); ``ALL`` grants everything. Admins override these.
    permissions: ClassVar[dict[str, frozenset[str] | set[str]]] = {}
    #: Fields only some roles may set, e.g. ``{Issue.assignee_id: {'maintainer'}}`` (admins always
    #: may): other users' forms leave them out, and every other path refuses them, naming the field.
    field_roles: ClassVar[dict[Any, Collection[str]]] = {}

    # filled in by __init_subclass__
    fields: ClassVar[dict[str, Field]]

    def __init_subclass__(cls, model: type[Base] | None = None, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        if model is None:
            raise DeclarationError(f'{cls.__name__}: a record type needs a model (class X(RecordType, model=M))')
        cls.model = model
        cls.slug = cls.slug or model.__tablename__
        cls.label = cls.label or model.__name__
        cls.label_plural = cls.label_plural or cls.label + 's'
        _resolve(cls)
        if cls.slug in REGISTRY and REGISTRY[cls.slug].__qualname__ != cls.__qualname__:
            raise DeclarationError(
                f'{cls.__name__}: slug {cls.slug!r} is already used by {REGISTRY[cls.slug].__name__}'
            )
        REGISTRY[cls.slug] = cls

    # ---- hooks (override in a declaration) ----

    @classmethod
    def visible_to(cls, actor: Actor) -> ColumnElement[bool] | None:
        """Row-level visibility: a filter of the rows `actor` may see; None means all of them."""
        return None

    @classmethod
    def can_transition(cls, actor: Actor, record: Any, transition: str) -> str | None:
        """Record-level check before a transition; return a refusal message, or None to allow."""
        return None

    @classmethod
    def validate(cls, values: dict[str, Any], record: Any | None) -> dict[str, str]:
        """Cross-field validation after each field is valid: field name → message."""
        return {}

    @classmethod
    def defaults(cls, actor: Actor) -> dict[str, Any]:
        """Values a new record's form starts with, e.g. ``{'department_id': actor.department_id}``."""
        return {}

    @classmethod
    def on_change(cls, session: Any, record: Any, action: str, actor: Actor) -> None:
        """Called inside the saving transaction after create, update, transition or delete."""

    # ---- derived ----

    @classmethod
    def actions(cls) -> list[str]:
        names = list(BASE_ACTIONS)
        if cls.workflow:
            names += [f'transition:{t.name}' for t in cls.workflow.transitions]
        return names

    @classmethod
    def default_allows(cls, role: str, action: str) -> bool:
        granted = cls.permissions.get(role, frozenset())
        return '*' in granted or action in granted

    @classmethod
    def may_set(cls, actor: Actor, name: str) -> bool:
        """Whether `actor` may give field `name` a value (see `field_roles`)."""
        roles = cls.field_roles.get(name)
        return roles is None or actor.has('admin', *roles)

    @classmethod
    def settable(cls, actor: Actor, names: Sequence[str]) -> list[str]:
        return [n for n in names if cls.may_set(actor, n)]

    @classmethod
    def title_of(cls, record: Any) -> str:
        return str(getattr(record, cls.title_field.key)) if record is not None else ''

    @classmethod
    def field(cls, name: str) -> Field:
        return cls.fields[name]


def _resolve(cls: type[RecordType]) -> None:
    mapper = inspect(cls.model)
    cls.fields = {}
    for col in mapper.columns:
        if col.key not in SYSTEM_COLUMNS and not col.info.get('secret'):
            cls.fields[col.key] = _column_field(cls, col)
    for rel in mapper.relationships:
        if rel.secondary is not None:
            cls.fields[rel.key] = Field(
                rel.key, _label(rel.info, rel.key), 'multi', target=rel.mapper.class_, help=rel.info.get('help', '')
            )
    for key, desc in mapper.all_orm_descriptors.items():
        if isinstance(desc, hybrid_property) and not key.startswith('_'):  # not `_x = x.inplace.expression`
            cls.fields[key] = _computed_field(cls, key, desc)
    for name in ('id', 'created_at', 'updated_at'):
        if name in mapper.columns:
            cls.fields[name] = _column_field(cls, mapper.columns[name])
    if cls.workflow is not None:
        cls.workflow.check(cls)
        f = cls.fields[cls.workflow.field.key]
        cls.fields[f.name] = dataclasses.replace(f, kind='enum', choices=cls.workflow.choices())

    editable = [f for f in cls.fields.values() if f.name not in SYSTEM_COLUMNS and not f.computed]
    cls.form_fields = _names(cls, 'form_fields', cls.form_fields) or [
        f.name for f in editable if not (cls.workflow and f.name == cls.workflow.field.key)
    ]
    cls.readonly_fields = _names(cls, 'readonly_fields', cls.readonly_fields)
    cls.list_columns = (
        _names(cls, 'list_columns', cls.list_columns)
        or [f.name for f in editable if f.kind not in ('text', 'multi')][:8]
    )
    strings = [n for n in cls.list_columns if cls.fields[n].kind in ('str', 'text')]
    cls.title_field = getattr(cls.model, (_names(cls, 'title_field', [cls.title_field]) or strings or ['id'])[0])
    cls.search_fields = _names(cls, 'search_fields', cls.search_fields) or strings
    cls.filters = _names(cls, 'filters', cls.filters) or [
        n for n in cls.list_columns if cls.fields[n].kind in ('enum', 'ref', 'bool', 'multi')
    ]
    cls.field_roles = {
        _names(cls, 'field_roles', [attr])[0]: frozenset(roles) for attr, roles in cls.field_roles.items()
    }
    for option in ('date_field', 'owner_field', 'assignee_field'):
        value = getattr(cls, option)
        setattr(cls, option, _names(cls, option, [value])[0] if value is not None else None)
    if cls.date_field is None and 'created_at' in cls.fields:
        cls.date_field = 'created_at'
    for n in cls.search_fields:
        if cls.fields[n].kind not in ('str', 'text'):
            raise DeclarationError(f'{cls.__name__}.search_fields: {n!r} is not a text field')
    if cls.default_sort is None:
        if cls.lookup:
            cls.default_sort = cls.title_field.asc()
        elif 'created_at' in cls.fields:
            cls.default_sort = cls.model.created_at.desc()
        else:
            cls.default_sort = cls.model.id.desc()
    for role, granted in cls.permissions.items():
        unknown = set(granted) - {'*'} - set(cls.actions())
        if unknown:
            raise DeclarationError(f'{cls.__name__}.permissions[{role!r}]: unknown actions {sorted(unknown)}')


def _names(cls: type[RecordType], option: str, attrs: Sequence[Any]) -> list[str]:
    names = []
    for attr in attrs:
        if attr is None:
            continue
        if isinstance(attr, str) or not isinstance(attr, QueryableAttribute) or attr.class_ is not cls.model:
            raise DeclarationError(
                f'{cls.__name__}.{option}: {attr!r} is not an attribute of {cls.model.__name__} '
                f'(write {cls.model.__name__}.<field>)'
            )
        key = attr.key
        prop = getattr(attr, 'property', None)
        if isinstance(prop, RelationshipProperty) and prop.secondary is None:
            raise DeclarationError(f'{cls.__name__}.{option}: use the foreign key column, not relationship {key!r}')
        if key not in cls.fields:
            raise DeclarationError(f'{cls.__name__}.{option}: {key!r} is not a field of {cls.model.__name__}')
        names.append(key)
    return names


def _label(info: dict[str, Any], key: str) -> str:
    if 'label' in info:
        return info['label']
    return key.removesuffix('_id').replace('_', ' ').capitalize()


def _column_field(cls: type[RecordType], col: Any) -> Field:
    kind, extra = _kind(cls, col)
    required = not col.nullable and col.default is None and col.server_default is None and not col.primary_key
    max_length = getattr(col.type, 'length', None) if kind in ('str', 'text') else None
    if kind == 'text' and max_length is None:
        max_length = TEXT_MAX
    return Field(
        col.key,
        _label(col.info, col.key),
        kind,
        required=required,
        max_length=max_length,
        help=col.info.get('help', ''),
        markdown=bool(col.info.get('markdown')) and kind == 'text',
        computed=col.computed is not None,  # the database computes it: read-only
        **extra,
    )


_PY_KINDS = {bool: 'bool', int: 'int', float: 'float', str: 'str', dt.date: 'date', dt.datetime: 'datetime'}


def _computed_field(cls: type[RecordType], key: str, desc: hybrid_property) -> Field:
    """A hybrid property is a read-only field; its kind comes from the getter's return type."""
    returns = typing.get_type_hints(desc.fget).get('return')
    kind = _PY_KINDS.get(typing.get_args(returns)[0] if typing.get_args(returns) else returns)
    if kind is None:
        raise DeclarationError(f'{cls.__name__}: hybrid {key!r} needs a return type (bool, int, float, str, datetime)')
    return Field(key, _label(desc.info, key), kind, help=desc.info.get('help', ''), computed=True)


def _kind(cls: type[RecordType], col: Any) -> tuple[str, dict[str, Any]]:
    if col.foreign_keys:
        target_table = next(iter(col.foreign_keys)).column.table
        target = next((m.class_ for m in Base.registry.mappers if m.local_table is target_table), None)
        return 'ref', {'target': target}
    t = col.type
    checks: list[tuple[type, str]] = [
        (SAEnum, 'enum'),
        (UTCDateTime, 'datetime'),
        (Boolean, 'bool'),
        (Date, 'date'),
        (Integer, 'int'),
        (Numeric, 'float'),
        (Float, 'float'),
        (Text, 'text'),
        (String, 'str'),
    ]
    for sa_type, kind in checks:
        if isinstance(t, sa_type):
            if kind == 'enum':
                if t.enum_class is None:
                    raise DeclarationError(f'{cls.__name__}: enum column {col.key!r} needs a Python Enum class')
                return kind, {'enum': t.enum_class}
            return kind, {}
    raise DeclarationError(f'{cls.__name__}: column {col.key!r} has a type the engine does not know: {t!r}')


def get(slug: str) -> type[RecordType]:
    """The record type registered under `slug`; KeyError when there is none."""
    return REGISTRY[slug]


def for_model(model: type[Base]) -> type[RecordType] | None:
    return next((rt for rt in REGISTRY.values() if rt.model is model), None)
