"""The demo lab: departments, categories, locations, SLA rules and people, created through the engine."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import records
from models.accounts import Actor, Role, User, Users
from models.audit import AuditEntry
from models.engine import RecordType
from models.hiccups import Severity, SlaRules
from models.lookups import Categories, Departments, Locations

DOMAIN = 'lab.demo'
LOADER = Actor(None, 'demo data', 'Demo data', frozenset({'admin'}), via='tools.demo')

LOCATIONS = {
    'MAIN': ('Main lab', 'The central laboratory: analysers, sample processing, reporting.'),
    'CC1': ('Collection centre 1', 'Walk-in collection centre, city branch.'),
    'CC2': ('Collection centre 2', 'Walk-in collection centre, hospital road.'),
    'HOME': ('Home collection', "Samples drawn at the patient's home."),
}

CATEGORIES = {  # code → name, description, testing phase weights
    'EQP': ('Equipment failure', 'Analysers, centrifuges, fridges, UPS.', {'analytical': 8, 'pre_analytical': 2}),
    'REJ': ('Sample rejection', 'Haemolysed, clotted, unlabelled, wrong tube, too little.', {'pre_analytical': 1}),
    'QC': ('Reagent/QC', 'QC failures, reagent lots, stock-outs, EQAS.', {'analytical': 1}),
    'REP': ('Reporting error', 'Wrong values, units, patients or missed critical calls.', {'post_analytical': 1}),
    'TAT': ('TAT delay', 'Reports later than promised.', {'pre_analytical': 3, 'analytical': 3, 'post_analytical': 4}),
    'LIS': (
        'IT/LIS',
        'LIS, interfaces, printers, portal.',
        {'pre_analytical': 3, 'analytical': 3, 'post_analytical': 3},
    ),
    'CMP': ('Patient complaint', 'What patients and doctors tell us.', {'non_technical': 3, 'pre_analytical': 1}),
    'SAF': ('Safety', 'Needle-sticks, spills, waste, fire, biosafety.', {'non_technical': 2, 'pre_analytical': 1}),
}

GENERAL_TESTS = ('CBC', 'LFT', 'KFT', 'lipid profile', 'HbA1c', 'TSH', 'urine culture', 'Dengue NS1', 'PT/INR')


@dataclasses.dataclass(frozen=True)
class Dept:
    name: str
    weight: float  # share of the hiccups
    staff: int
    categories: dict[str, float]
    locations: dict[str, float]
    equipment: tuple[str, ...]
    tests: tuple[str, ...] = GENERAL_TESTS
    analytical: bool = True  # its analysers and the LIS raise hiccups of their own
    morning: bool = False  # home visits happen early


DEPARTMENTS = {
    'HAEM': Dept(
        'Haematology',
        18,
        4,
        {'EQP': 5, 'REJ': 3, 'QC': 4, 'REP': 2, 'TAT': 3, 'LIS': 1.5, 'CMP': 0.5, 'SAF': 0.5},
        {'MAIN': 1},
        ('Sysmex XN-1000', 'Sysmex XN-550', 'Stago STA Compact Max', 'Alifax ESR analyser'),
        ('CBC', 'ESR', 'PT/INR', 'APTT', 'peripheral smear', 'reticulocyte count'),
    ),
    'BIO': Dept(
        'Biochemistry',
        22,
        5,
        {'EQP': 6, 'REJ': 3, 'QC': 5, 'REP': 2, 'TAT': 4, 'LIS': 2, 'CMP': 0.5, 'SAF': 0.5},
        {'MAIN': 1},
        ('Roche Cobas c311', 'Beckman AU480', 'Siemens Atellica CH', 'Bio-Rad D-10', 'ISE electrolyte analyser'),
        ('LFT', 'KFT', 'lipid profile', 'HbA1c', 'TSH', 'serum electrolytes', 'fasting glucose', 'vitamin D'),
    ),
    'MICRO': Dept(
        'Microbiology',
        10,
        3,
        {'EQP': 2, 'REJ': 3, 'QC': 3, 'REP': 2, 'TAT': 3, 'LIS': 1, 'CMP': 0.5, 'SAF': 1.5},
        {'MAIN': 1},
        ('BacT/ALERT 3D', 'Vitek 2 Compact', 'biosafety cabinet', 'BOD incubator', 'autoclave'),
        ('urine culture', 'blood culture', 'AFB smear', 'Gram stain', 'stool culture', 'KOH mount'),
    ),
    'HISTO': Dept(
        'Histopathology',
        6,
        2,
        {'EQP': 1.5, 'REJ': 2, 'QC': 1.5, 'REP': 2.5, 'TAT': 4, 'LIS': 1, 'CMP': 0.5, 'SAF': 1},
        {'MAIN': 1},
        ('Leica tissue processor', 'rotary microtome', 'cryostat', 'embedding station', 'slide stainer'),
        ('biopsy', 'FNAC', 'Pap smear', 'frozen section', 'IHC panel'),
    ),
    'SERO': Dept(
        'Serology',
        7,
        2,
        {'EQP': 2, 'REJ': 2, 'QC': 3, 'REP': 1.5, 'TAT': 2, 'LIS': 1, 'CMP': 0.3, 'SAF': 0.5},
        {'MAIN': 1},
        ('Vidas', 'Abbott Architect i1000SR', 'ELISA reader', 'ELISA washer'),
        ('HBsAg', 'HIV 1/2', 'Dengue NS1', 'Widal', 'CRP', 'anti-HCV', 'VDRL'),
    ),
    'SC': Dept(
        'Sample collection',
        16,
        5,
        {'EQP': 0.5, 'REJ': 5, 'QC': 0.2, 'REP': 1, 'TAT': 1.5, 'LIS': 1, 'CMP': 3, 'SAF': 2},
        {'CC1': 4, 'CC2': 3, 'MAIN': 2},
        ('centrifuge', 'sample fridge', 'barcode label printer', 'tube rocker'),
        analytical=False,
    ),
    'FO': Dept(
        'Reception/Front office',
        12,
        4,
        {'EQP': 0.3, 'REJ': 1, 'REP': 3, 'TAT': 2, 'LIS': 4, 'CMP': 5, 'SAF': 0.3},
        {'MAIN': 3, 'CC1': 2, 'CC2': 2},
        ('billing PC', 'token display', 'report printer', 'barcode label printer'),
        analytical=False,
    ),
    'HC': Dept(
        'Home collection',
        9,
        4,
        {'EQP': 0.3, 'REJ': 4, 'REP': 0.5, 'TAT': 4, 'LIS': 1.5, 'CMP': 4, 'SAF': 1},
        {'HOME': 1},
        ('cold box', 'field tablet', 'portable label printer'),
        analytical=False,
        morning=True,
    ),
}

SLA_RULES = [  # category code or None, severity or None, respond within, close within (hours)
    (None, Severity.critical, 2, 24),
    (None, Severity.high, 8, 48),
    (None, Severity.low, 48, 120),
    ('SAF', None, 4, 48),
    ('SAF', Severity.critical, 1, 12),
    ('CMP', None, 12, 48),
    ('TAT', Severity.high, 4, 24),
]
# Medium hiccups outside these fall back to the engine's defaults (24 h / 72 h).

FIRST_NAMES = (  # noqa: SIM905 - a name list reads better as text
    'Aarti Abhishek Aditi Ajay Akash Alka Amit Anand Anita Anjali Ankit Arjun Asha Ayesha Bhavna Deepak Divya '
    'Farhan Gaurav Geeta Harish Imran Isha Jaya Karan Kavita Kiran Lakshmi Mahesh Manoj Meena Mohan Neha Nikhil '
    'Nisha Pooja Pradeep Priya Rahul Rajesh Ramesh Reena Rohit Sandeep Sanjay Shalini Shreya Sneha Sunil Sunita '
    'Suresh Swati Tanvi Uma Varun Vidya Vikram Vinod Yash Zoya'
).split()
LAST_NAMES = (  # noqa: SIM905
    'Agarwal Bansal Banerjee Bhat Chatterjee Das Desai Fernandes Ghosh Gupta Iyer Jain Joshi Kapoor Khan Kulkarni '
    'Kumar Menon Mishra Nair Patel Pillai Rao Reddy Saxena Shah Sharma Singh Sinha Thomas Verma Yadav'
).split()


@dataclasses.dataclass
class Person:
    id: int
    email: str
    name: str
    role: str  # the main one, for the credentials table
    department: str | None  # department code

    @property
    def label(self) -> str:
        return self.email  # what Actor.label is for a signed-in user


@dataclasses.dataclass
class Lab:
    departments: dict[str, int]
    categories: dict[str, int]
    locations: dict[str, int]
    staff: dict[str, list[Person]]
    hods: dict[str, Person]
    managers: list[Person]
    admin: Person
    people: list[Person]


def build_lab(session: Session, rng: random.Random, setup_at: dt.datetime) -> Lab:
    """Departments, categories, locations, SLA rules and people, through the engine."""
    departments = {
        code: _create(session, Departments, {'name': d.name, 'code': code}).id for code, d in DEPARTMENTS.items()
    }
    categories = {
        code: _create(session, Categories, {'name': name, 'code': code, 'description': desc}).id
        for code, (name, desc, _) in CATEGORIES.items()
    }
    locations = {
        code: _create(session, Locations, {'name': name, 'code': code, 'description': desc}).id
        for code, (name, desc) in LOCATIONS.items()
    }
    for category, severity, response_h, closure_h in SLA_RULES:
        data = {
            'category_id': categories[category] if category else None,
            'severity': severity,
            'response_hours': response_h,
            'closure_hours': closure_h,
            'active': True,
        }
        _create(session, SlaRules, data)

    role_ids = {name: role_id for name, role_id in session.execute(select(Role.name, Role.id))}
    names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], 2 + len(DEPARTMENTS) * 8)
    people: list[Person] = []

    def person(roles: Sequence[str], dept: str | None, email: str | None = None, name: str | None = None) -> Person:
        first, last = names.pop()
        name = name or f'{first} {last}'
        email = email or f'{first}.{last}@{DOMAIN}'.lower()
        data = {
            'name': name,
            'email': email,
            'phone': f'+91 9{rng.randint(100000000, 999999999)}',
            'department_id': departments[dept] if dept else None,
            'roles': [role_ids[r] for r in roles],
            'active': True,
        }
        user = records.create(session, LOADER, Users, data)
        people.append(Person(user.id, user.email, user.name, roles[0], dept))
        return people[-1]

    admin = person(['admin'], None, f'admin@{DOMAIN}', 'Demo Administrator')
    managers = [person(['management'], None) for _ in range(2)]
    hods = {code: person(['hod', 'staff'], code) for code in DEPARTMENTS}
    staff = {code: [person(['staff'], code) for _ in range(d.staff)] for code, d in DEPARTMENTS.items()}
    _backdate(session, setup_at)
    return Lab(departments, categories, locations, staff, hods, managers, admin, people)


def _backdate(session: Session, at: dt.datetime) -> None:
    """The lab was set up before its year of hiccups began."""
    for model in (Departments.model, Categories.model, Locations.model, SlaRules.model, User):
        session.execute(update(model.__table__).values(created_at=at, updated_at=at))
    session.execute(update(AuditEntry).where(AuditEntry.actor == LOADER.label).values(at=at))


def _create(session: Session, rt: type[RecordType], data: dict[str, Any]) -> Any:
    return records.create(session, LOADER, rt, data)
