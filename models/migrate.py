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
