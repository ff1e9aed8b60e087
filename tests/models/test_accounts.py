"""Account helpers, and reading who is acting."""

from __future__ import annotations

from sqlalchemy import select

from models.accounts import generate_password, password_problem


def test_generated_passwords_always_pass_the_password_policy() -> None:
    # drawn as 16 URL-safe characters, about one in 28 was all letters and the admin's reset failed
    passwords = [generate_password() for _ in range(2000)]
    assert [p for p in passwords if password_problem(p)] == []
    assert len(set(passwords)) == len(passwords)


def test_a_user_loads_as_they_are_now_with_only_their_active_roles(database: str) -> None:
    from models import db
    from models.accounts import Actor, Role, User
    from models.lookups import Department
    from tests.conftest import make_user

    with db.session() as s:
        lab = Department(name='Haematology')
        s.add(lab)
        s.flush()
        department_id = lab.id
    hod = make_user('hod@lab.test', 'hod', 'staff', department_id=department_id)
    nobody = make_user('nobody@lab.test')
    with db.session() as s:
        assert Actor.load(s, hod.id) == hod
        assert Actor.load(s, hod.id, via='api token').label == 'hod@lab.test (api token)'
        assert Actor.load(s, nobody.id) == nobody
        assert nobody.roles == frozenset()
        assert Actor.load(s, 999_999) is None
        s.scalars(select(Role).where(Role.name == 'hod')).one().active = False
    with db.session() as s:
        assert Actor.load(s, hod.id).roles == {'staff'}
        s.get(User, hod.id).active = False
    with db.session() as s:
        assert Actor.load(s, hod.id) is None
