"""A throwaway record type with a workflow, for testing the engine's workflow and board."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models import db
from models.accounts import Actor
from models.base import IdMixin, TimestampMixin, VersionMixin
from models.engine import REGISTRY, RecordType
from models.workflow import Transition, Workflow


class _Base(DeclarativeBase):
    pass


class Sample(IdMixin, TimestampMixin, VersionMixin, _Base):
    __tablename__ = 'test_samples'
    name: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default='received')
    result: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(Integer)


def declare() -> type[RecordType]:
    class Samples(RecordType, model=Sample):
        owner_field = Sample.owner_id
        workflow = Workflow(
            Sample.status,
            [('received', 'Received'), ('testing', 'Testing'), ('reported', 'Reported')],
            [
                Transition('start', ['received'], 'testing', roles=['staff']),
                Transition(
                    'report', ['testing'], 'reported', label='Report result', requires=[Sample.result], roles=['hod']
                ),
                Transition('retest', ['reported'], 'testing', roles=['hod']),
            ],
        )
        permissions = {
            'staff': {'view', 'create', 'transition:start'},
            'hod': {'view', 'edit', 'transition:report', 'transition:retest'},
            'admin': {'*'},
        }

        @classmethod
        def visible_to(cls, actor: Actor):
            return None if actor.has('hod', 'admin') else Sample.owner_id == actor.id

    return Samples


@pytest.fixture
def samples(database: str) -> Iterator[type[RecordType]]:
    """The `samples` record type, registered and with its table, for one test."""
    Sample.__table__.create(db.engine())
    rt = declare()
    yield rt
    REGISTRY.pop('test_samples', None)
    Sample.__table__.drop(db.engine())
