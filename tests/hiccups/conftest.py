"""A small lab for hiccup tests: departments, categories, and a user of each role."""

from __future__ import annotations

import dataclasses

import pytest

from models import db, records
from models.accounts import SYSTEM, Actor
from models.engine import get
from tests.conftest import make_user


@dataclasses.dataclass
class Lab:
    haem: int
    bio: int
    equipment: int
    sample: int
    staff: Actor  # haematology
    other_staff: Actor  # haematology too
    bio_staff: Actor  # biochemistry
    hod: Actor  # haematology HOD
    bio_hod: Actor
    manager: Actor
    admin: Actor


def hiccup_data(lab: Lab, **overrides) -> dict:
    data = {
        'title': 'Analyser down',
        'description': 'Sysmex XN stopped mid-run',
        'department_id': lab.haem,
        'category_id': lab.equipment,
        'severity': 'high',
        'phase': 'analytical',
        'occurred_at': '2026-11-20T09:30',
    }
    return {**data, **overrides}


@pytest.fixture
def lab(database: str) -> Lab:
    with db.session() as s:
        haem = records.create(s, SYSTEM, get('departments'), {'name': 'Haematology'}).id
        bio = records.create(s, SYSTEM, get('departments'), {'name': 'Biochemistry'}).id
        equipment = records.create(s, SYSTEM, get('categories'), {'name': 'Equipment'}).id
        sample = records.create(s, SYSTEM, get('categories'), {'name': 'Sample handling'}).id
    return Lab(
        haem=haem,
        bio=bio,
        equipment=equipment,
        sample=sample,
        staff=make_user('tech@lab.test', 'staff', department_id=haem, password='tech-pass-1'),
        other_staff=make_user('tech2@lab.test', 'staff', department_id=haem),
        bio_staff=make_user('biotech@lab.test', 'staff', department_id=bio),
        hod=make_user('hod@lab.test', 'hod', 'staff', department_id=haem, password='hod-pass-11'),
        bio_hod=make_user('biohod@lab.test', 'hod', 'staff', department_id=bio),
        manager=make_user('mgr@lab.test', 'management', password='mgr-pass-11'),
        admin=make_user('root@lab.test', 'admin'),
    )
