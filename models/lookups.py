"""Lookup tables: short admin-edited lists that records refer to."""

from __future__ import annotations

from sqlalchemy import Boolean, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TimestampMixin, VersionMixin
from models.engine import ALL, RecordType


class LookupMixin(IdMixin, TimestampMixin, VersionMixin):
    name: Mapped[str] = mapped_column(String(100), unique=True, info={'label': 'Name'})
    code: Mapped[str | None] = mapped_column(String(30), info={'label': 'Code'})
    description: Mapped[str | None] = mapped_column(Text, info={'label': 'Description'})
    active: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), index=True, info={'label': 'Active'}
    )


class LookupType(RecordType, abstract=True):
    """A lookup table's declaration: sorted by name, deactivated rather than deleted."""

    lookup = True
    nav_group = 'Lookups'
    permissions = {
        'admin': ALL,
        'management': frozenset({'view', 'export'}),
        'hod': frozenset({'view'}),
        'staff': frozenset({'view'}),
    }


class Department(LookupMixin, Base):
    __tablename__ = 'departments'


class Category(LookupMixin, Base):
    __tablename__ = 'categories'


class Location(LookupMixin, Base):
    __tablename__ = 'locations'


class Departments(LookupType, model=Department):
    icon = 'apartment'


class Categories(LookupType, model=Category):
    label_plural = 'Categories'
    icon = 'category'


class Locations(LookupType, model=Location):
    icon = 'place'
