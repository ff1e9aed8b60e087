"""Declarations: defaults work with no options, mistakes fail at import naming type and option."""

from __future__ import annotations

import pytest
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.base import IdMixin, TimestampMixin
from models.engine import REGISTRY, DeclarationError, RecordType, get
from models.lookups import Department
from models.workflow import Transition, Workflow


class _Base(DeclarativeBase):
    pass


class Gadget(IdMixin, TimestampMixin, _Base):
    __tablename__ = 'gadgets'
    name: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default='new')
    notes: Mapped[str | None] = mapped_column(String(200))


@pytest.fixture(autouse=True)
def _forget_test_types():
    yield
    REGISTRY.pop('gadgets', None)


def test_a_declaration_with_only_a_model_gets_list_form_search_and_sort():
    class Gadgets(RecordType, model=Gadget):
        pass

    assert Gadgets.slug == 'gadgets'
    assert Gadgets.label_plural == 'Gadgets'
    assert Gadgets.list_columns == ['name', 'status', 'notes']
    assert Gadgets.form_fields == ['name', 'status', 'notes']
    assert Gadgets.search_fields == ['name', 'status', 'notes']
    assert Gadgets.title_field.key == 'name'
    assert get('gadgets') is Gadgets


def test_a_string_instead_of_an_attribute_is_refused_naming_the_option():
    with pytest.raises(DeclarationError, match=r'Gadgets\.list_columns: .*write Gadget\.<field>'):

        class Gadgets(RecordType, model=Gadget):
            list_columns = ['name']


def test_an_attribute_of_another_model_is_refused():
    with pytest.raises(DeclarationError, match=r'Gadgets\.search_fields'):

        class Gadgets(RecordType, model=Gadget):
            search_fields = [Department.name]


def test_a_transition_to_an_unknown_state_is_refused():
    with pytest.raises(DeclarationError, match=r"Gadgets\.workflow: transition 'ship' names unknown states"):

        class Gadgets(RecordType, model=Gadget):
            workflow = Workflow(Gadget.status, [('new', 'New')], [Transition('ship', ['new'], 'shipped')])


def test_unknown_actions_in_permissions_are_refused():
    with pytest.raises(DeclarationError, match=r"Gadgets\.permissions\['staff'\]: unknown actions \['fly'\]"):

        class Gadgets(RecordType, model=Gadget):
            permissions = {'staff': {'view', 'fly'}}


def test_a_model_is_required():
    with pytest.raises(DeclarationError, match='needs a model'):

        class Nothing(RecordType):
            pass
