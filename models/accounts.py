"""Users, roles, passwords and sign-in."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from collections.abc import Iterable

from passlib.context import CryptContext
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, select, true
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.base import Base, IdMixin, TimestampMixin, VersionMixin, utcnow
from models.engine import ALL, RecordType
from models.lookups import Department, LookupType

SEEDED_ROLES = {
    'staff': 'Lab staff',
    'hod': 'Head of department',
    'management': 'Management',
    'admin': 'Administrator',
    'reporter': 'Issue reporter',
    'maintainer': 'Issue maintainer',
}

_passwords = CryptContext(schemes=['argon2'], deprecated='auto')

user_roles = Table(
    'user_roles',
    Base.metadata,
    Column('user_id', Integer, ForeignKey('users.id', ondelete='CASCADE'), primary_key=True),
    Column('role_id', Integer, ForeignKey('roles.id', ondelete='CASCADE'), primary_key=True, index=True),
)


class Role(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = 'roles'
    name: Mapped[str] = mapped_column(String(50), unique=True, info={'label': 'Name', 'help': 'Short key, e.g. hod'})
    label_text: Mapped[str | None] = mapped_column(String(100), info={'label': 'Label'})
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true(), info={'label': 'Active'})


class User(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = 'users'
    email: Mapped[str] = mapped_column(String(255), unique=True, info={'label': 'Email'})
    name: Mapped[str] = mapped_column(String(120), info={'label': 'Name'})
    phone: Mapped[str | None] = mapped_column(String(30), info={'label': 'Phone'})
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey('departments.id'), index=True, info={'label': 'Department'}
    )
    active: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), index=True, info={'label': 'Active'}
    )
    password_hash: Mapped[str] = mapped_column(String(255), default='', info={'secret': True})
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default='0', info={'label': 'Failed logins'})
    locked_until: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Locked until'})
    last_login_at: Mapped[dt.datetime | None] = mapped_column(info={'label': 'Last login'})

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, lazy='selectin', info={'label': 'Roles'})
    department: Mapped[Department | None] = relationship(lazy='joined')

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.roles if r.active)


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who is acting: a user's identity and roles, detached from any session.

    `via` names the channel when it is not the browser, e.g. ``'api token'``.
    """

    id: int | None
    email: str
    name: str
    roles: frozenset[str]
    department_id: int | None = None
    via: str = ''

    @classmethod
    def of(cls, user: User, via: str = '') -> Actor:
        return cls(user.id, user.email, user.name, user.role_names, user.department_id, via)

    @classmethod
    def load(cls, session: Session, user_id: int, via: str = '') -> Actor | None:
        """The active user `user_id` as they are now, or None."""
        return cls.load_many(session, [user_id], via).get(user_id)

    @classmethod
    def load_many(cls, session: Session, user_ids: Iterable[int], via: str = '') -> dict[int, Actor]:
        """The active users among `user_ids` as they are now, by id. One plain query (no ORM objects): every
        page open, API call and live reload reads its user, and building a User with its department
        and roles cost more than the rest of a list's read."""
        rows = session.execute(
            select(User.id, User.email, User.name, User.department_id, Role.name, Role.active)
            .outerjoin(user_roles, user_roles.c.user_id == User.id)
            .outerjoin(Role, Role.id == user_roles.c.role_id)
            .where(User.id.in_(list(user_ids)), User.active.is_(True))
        ).all()
        found: dict[int, tuple[str, str, int | None, set[str]]] = {}
        for user_id, email, name, department_id, role, active in rows:
            roles = found.setdefault(user_id, (email, name, department_id, set()))[3]
            if role is not None and active:
                roles.add(role)
        return {i: cls(i, mail, name, frozenset(roles), dept, via) for i, (mail, name, dept, roles) in found.items()}

    @property
    def label(self) -> str:
        return f'{self.email} ({self.via})' if self.via else self.email

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


SYSTEM = Actor(None, 'system', 'Labdesk', frozenset({'admin'}), via='system')


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def verify_password(user: User, password: str) -> bool:
    """Check `password`; rehash it in place when the stored hash is outdated."""
    if not user.password_hash:
        return False
    ok, new_hash = _passwords.verify_and_update(password, user.password_hash)
    if ok and new_hash:
        user.password_hash = new_hash
    return ok


def password_problem(password: str) -> str | None:
    if len(password) < 8:
        return 'Use at least 8 characters.'
    if password.isdigit() or password.isalpha():
        return 'Mix letters with digits or symbols.'
    return None


def generate_password() -> str:
    """A random password that passes `password_problem` (16 URL-safe characters are all letters
    about one time in 28, which the policy refuses)."""
    while password_problem(password := secrets.token_urlsafe(12)):
        pass
    return password


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def roles_by_name(session: Session, names: list[str]) -> list[Role]:
    return list(session.scalars(select(Role).where(Role.name.in_(names))))


class Roles(LookupType, model=Role):
    icon = 'badge'
    nav_group = 'Admin'
    title_field = Role.name
    permissions = {'admin': ALL}


class Users(RecordType, model=User):
    icon = 'people'
    nav_group = 'Admin'
    list_columns = [User.name, User.email, User.department_id, User.roles, User.active, User.last_login_at]
    form_fields = [User.name, User.email, User.phone, User.department_id, User.roles, User.active]
    readonly_fields = [User.last_login_at, User.locked_until]
    search_fields = [User.name, User.email]
    filters = [User.department_id, User.roles, User.active]
    title_field = User.name
    default_sort = User.name.asc()
    permissions = {'admin': ALL, 'management': frozenset({'view', 'export'})}

    @classmethod
    def validate(cls, values: dict, record: User | None) -> dict[str, str]:
        email = values.get('email')
        if email is not None and ('@' not in email or email.strip() != email or ' ' in email):
            return {'email': 'Enter an email address like name@lab.in.'}
        if email is not None:
            values['email'] = email.lower()
        return {}


def touch_login(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()


class SignInRefused(Exception):
    """Wrong credentials, an inactive account or a lockout; the message is safe to show."""


def authenticate(email: str, password: str, *, source: str = 'web') -> Actor:
    """Check credentials with lockout; every success, failure and lockout is audited.

    Runs its own transaction so that a failure is counted even though it raises.
    """
    from models import db

    refusal: str | None = None
    with db.session() as session:
        user = find_user(session, email or '')
        refusal = _check_credentials(session, user, email, password, source)
        actor = Actor.of(user) if user is not None and refusal is None else None
    if refusal is not None or actor is None:
        raise SignInRefused(refusal or 'Wrong email or password.')
    return actor


def _check_credentials(session: Session, user: User | None, email: str, password: str, source: str) -> str | None:
    from models import audit
    from models.settings import get_settings

    settings = get_settings()
    now = utcnow()
    if user is None or not user.active:
        audit.record(session, (email or '?')[:200], 'login_failed', note=f'{source}: unknown or inactive account')
        return 'Wrong email or password.'
    if user.locked_until and user.locked_until > now:
        audit.record(session, Actor.of(user), 'login_locked', note=f'{source}: attempt while locked')
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        return f'Too many failed attempts. Try again in {minutes} minutes.'
    if not verify_password(user, password or ''):
        user.failed_logins += 1
        audit.record(session, Actor.of(user), 'login_failed', note=f'{source}: wrong password ({user.failed_logins})')
        if user.failed_logins >= settings.lockout_attempts:
            user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            audit.record(session, Actor.of(user), 'lockout', note=f'locked for {settings.lockout_minutes} minutes')
            return f'Too many failed attempts. Try again in {settings.lockout_minutes} minutes.'
        return 'Wrong email or password.'
    touch_login(user)
    audit.record(session, Actor.of(user), 'login', note=source)
    return None


def change_password(
    session: Session, actor: Actor, user_id: int, new_password: str, current_password: str | None = None
) -> None:
    """Set a password: your own (needs the current one) or, for an admin, anyone's (a reset)."""
    from models import audit
    from models.values import ValidationError

    user = session.get(User, user_id)
    if user is None:
        raise ValidationError({'': 'No such user.'})
    own = actor.id == user_id
    if not own and not actor.has('admin'):
        raise ValidationError({'': "Only an administrator may reset another user's password."})
    if own and current_password is not None and not verify_password(user, current_password):
        raise ValidationError({'current': 'That is not your current password.'})
    problem = password_problem(new_password or '')
    if problem:
        raise ValidationError({'new': problem})
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, actor, 'password_change' if own else 'password_reset', record_type='users', record_id=user.id)


class SignupClosed(Exception):
    """Self-registration is off (ALLOW_SIGNUP) or cannot work here; the message is safe to show."""


SIGNUP_ROLE = 'reporter'


def register(session: Session, *, email: str, name: str, password: str) -> User:
    """Self-registration: an active user with only the reporter role and no department.

    Refuses with `SignupClosed` unless ALLOW_SIGNUP is on, and with a `ValidationError` naming
    each bad field (email, name, password). Everything happens in the caller's transaction.
    """
    from models import audit
    from models.settings import get_settings
    from models.values import ValidationError

    if not get_settings().allow_signup:
        raise SignupClosed('Self-registration is disabled. Ask an administrator for an account.')
    role = session.scalar(select(Role).where(Role.name == SIGNUP_ROLE))
    if role is None:
        raise SignupClosed(f'Self-registration is not set up: the {SIGNUP_ROLE} role is missing.')

    errors: dict[str, str] = {}
    values = {'email': (email or '').strip()}
    if not values['email']:
        errors['email'] = 'Enter your email address.'
    else:
        errors.update(Users.validate(values, None))  # the same format rule as the users' form; lower-cases
    address = values['email']
    if 'email' not in errors:
        local, _, domain = address.rpartition('@')
        if not local or '@' in local or '.' not in domain.strip('.') or len(address) > User.email.type.length:
            errors['email'] = 'Enter an email address like name@lab.in.'
        elif find_user(session, address) is not None:
            errors['email'] = 'An account with this email already exists. Sign in, or reset your password.'
    name = (name or '').strip()
    if not name:
        errors['name'] = 'Enter your name.'
    elif len(name) > User.name.type.length:
        errors['name'] = f'At most {User.name.type.length} characters ({len(name)} given).'
    if problem := password_problem(password or ''):
        errors['password'] = problem
    if errors:
        raise ValidationError(errors)

    user = User(email=address, name=name, password_hash=hash_password(password), active=True, roles=[role])
    session.add(user)
    session.flush()
    audit.record(
        session,
        Actor.of(user, via='signup'),
        'create',
        record_type='users',
        record_id=user.id,
        changes={'email': [None, address], 'name': [None, name], 'roles': [None, [SIGNUP_ROLE]]},
        note='self-registration',
    )
    return user
