"""Issue-tracker fixtures: a reporter, a second reporter, a maintainer and an admin, and two tags."""

from __future__ import annotations

import dataclasses

import pytest

from models import db, records
from models.accounts import SYSTEM, Actor
from models.issues import Issues, Tags
from tests.conftest import make_user

PASSWORD = 'pass-word-1'


@dataclasses.dataclass
class Team:
    reporter: Actor
    other_reporter: Actor
    maintainer: Actor
    admin: Actor
    bug: int  # tag ids
    ui: int

    def email(self, role: str) -> str:
        return getattr(self, role).email


@pytest.fixture
def team(database: str) -> Team:
    with db.session() as s:
        bug = records.create(s, SYSTEM, Tags, {'name': 'bug'}).id
        ui = records.create(s, SYSTEM, Tags, {'name': 'ui'}).id
    return Team(
        reporter=make_user('rita@lab.test', 'reporter', password=PASSWORD),
        other_reporter=make_user('omar@lab.test', 'reporter', password=PASSWORD),
        maintainer=make_user('max@lab.test', 'maintainer', password=PASSWORD),
        admin=make_user('ada@lab.test', 'admin', password=PASSWORD),
        bug=bug,
        ui=ui,
    )


def raise_issue(actor: Actor, **values) -> int:
    with db.session() as s:
        return records.create(s, actor, Issues, {'title': 'Printer jams', 'severity': 'HIGH', **values}).id
