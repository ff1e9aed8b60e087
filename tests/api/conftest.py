"""API test fixtures: users of each role, and a throwaway record type with an enum and a reference."""

from __future__ import annotations

import enum
from collections.abc import Iterator

import pytest
from sqlalchemy import Enum, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models import db
from models.base import IdMixin, TimestampMixin, VersionMixin
from models.engine import ALL, REGISTRY, RecordType
from models.lookups import Department
from tests.conftest import make_user

PASSWORD = 'pass-word-1'


class _Base(DeclarativeBase):
    pass


class Priority(enum.Enum):
    low = 'Low'
    high = 'High'


class Order(IdMixin, TimestampMixin, VersionMixin, _Base):
    __tablename__ = 'test_orders'
    name: Mapped[str] = mapped_column(String(40))
    priority: Mapped[Priority] = mapped_column(Enum(Priority))
    department_id: Mapped[int | None] = mapped_column(ForeignKey(Department.id))
    quantity: Mapped[int | None] = mapped_column(Integer)


@pytest.fixture
def orders(database: str) -> Iterator[type[RecordType]]:
    """`test_orders`: a required name of 40 characters, a required enum, a department, a number."""
    Order.__table__.create(db.engine())

    class Orders(RecordType, model=Order):
        permissions = {'admin': ALL}

    yield Orders
    REGISTRY.pop('test_orders', None)
    Order.__table__.drop(db.engine())


@pytest.fixture
def people(database: str) -> dict[str, str]:
    """role → email of a user with just that role (password PASSWORD); two staff, so one may not see the other's."""
    emails = {'staff': 'sam@lab.test', 'other': 'tia@lab.test', 'hod': 'hana@lab.test', 'admin': 'ann@lab.test'}
    for role, email in emails.items():
        make_user(email, 'staff' if role == 'other' else role, password=PASSWORD)
    return emails
