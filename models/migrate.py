"""Bring the database to the newest schema (Alembic owns it) and seed what must exist."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from models import db
from models.accounts import SEEDED_ROLES, Role

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger('labdesk')


def alembic_config() -> Config:
    cfg = Config(str(ROOT / 'alembic.ini'))
    cfg.set_main_option('script_location', str(ROOT / 'migrations'))
    return cfg


def upgrade() -> None:
    cfg = alembic_config()
    with db.engine().begin() as connection:
        cfg.attributes['connection'] = connection
        command.upgrade(cfg, 'head')


def seed_roles() -> None:
    with db.session() as s:
        have = set(s.scalars(select(Role.name)))
        for name, label in SEEDED_ROLES.items():
            if name not in have:
                s.add(Role(name=name, label_text=label))


def ensure_admin(email: str, password: str) -> str | None:
    """With no active admin yet, create one; returns the password when it was generated here."""
    from models import audit
    from models.accounts import SYSTEM, User, generate_password, hash_password, user_roles

    with db.session() as s:
        admin_role = s.scalar(select(Role).where(Role.name == 'admin'))
        has_admin = s.scalar(
            select(User.id)
            .join(user_roles)
            .where(user_roles.c.role_id == admin_role.id, User.active.is_(True))
            .limit(1)
        )
        if has_admin is not None:
            return None
        generated = None if password else generate_password()
        email = (email or 'admin@labdesk.local').strip().lower()
        user = s.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name='Administrator')
            s.add(user)
        user.password_hash = hash_password(password or generated)
        user.active = True
        user.roles = [*user.roles, admin_role]
        s.flush()
        audit.record(s, SYSTEM, 'create', record_type='users', record_id=user.id, note='first administrator')
    return generated
