"""Sign in, sign out, self-registration (when ALLOW_SIGNUP is on) and the account page."""

from __future__ import annotations

from nicegui import run, ui
from sqlalchemy.exc import IntegrityError

from models import db
from models.accounts import Actor, SignInRefused, SignupClosed, authenticate, change_password, register
from models.settings import get_settings
from models.values import ValidationError
from pages.layout import frame
from pages.session import actor_or_none, current_actor, flash, page, sign_in, sign_out, take_flash


@ui.page('/login')
def login_page(next: str = '/') -> None:
    if not next.startswith('/') or next.startswith('//'):
        next = '/'
    if actor_or_none() is not None:
        ui.navigate.to(next)
        return
    ui.page_title('Sign in · Labdesk')

    async def attempt() -> None:
        error.set_text('')
        try:  # password hashing is slow on purpose: off the event loop
            actor = await run.io_bound(authenticate, email.value, password.value, source='web')
        except SignInRefused as exc:
            error.set_text(str(exc))
            password.value = ''
            return
        if actor is not None:  # None: the app is stopping
            sign_in(actor)
            ui.navigate.to(next)

    with ui.card().classes('absolute-center w-11/12 max-w-sm'):
        ui.label('Labdesk').classes('text-2xl font-bold text-primary')
        ui.label('Sign in with your lab account').classes('text-gray-600')
        email = ui.input('Email').props('type=email autocomplete=username autofocus').classes('w-full')
        password = (
            ui.input('Password', password=True, password_toggle_button=True)
            .props('autocomplete=current-password')
            .classes('w-full')
            .on('keydown.enter', attempt)
        )
        error = ui.label('').classes('text-red-700')
        ui.button('Sign in', on_click=attempt).classes('w-full')
        if get_settings().allow_signup:
            ui.link('Create an account', '/signup').classes('self-center').mark('signup-link')
    if message := take_flash():
        ui.notify(message, type='positive')


def _register(email: str, name: str, password: str) -> None:
    with db.session() as s:
        register(s, email=email, name=name, password=password)


@ui.page('/signup')
def signup_page() -> None:
    ui.page_title('Create an account · Labdesk')
    if not get_settings().allow_signup:
        with ui.card().classes('absolute-center w-11/12 max-w-sm'):
            ui.label('Self-registration is disabled.').classes('text-lg font-medium')
            ui.label('Ask an administrator for an account.').classes('text-gray-600')
            ui.link('Sign in', '/login')
        return
    if actor_or_none() is not None:
        ui.navigate.to('/')
        return

    async def attempt() -> None:
        error.set_text('')
        for field in fields.values():
            field.error = None
        if password.value != again.value:
            again.error = 'The two passwords differ.'
            return
        try:
            await run.io_bound(_register, email.value or '', name.value or '', password.value or '')
        except ValidationError as exc:
            for key, message in exc.errors.items():
                if key in fields:
                    fields[key].error = message
                else:
                    error.set_text(message)
            return
        except IntegrityError:  # the same email registered a moment ago
            email.error = 'An account with this email already exists. Sign in, or reset your password.'
            return
        except SignupClosed as exc:
            error.set_text(str(exc))
            return
        try:
            actor = await run.io_bound(authenticate, email.value, password.value, source='web')
        except SignInRefused:
            actor = None
        if actor is None:
            flash('Your account was created. Sign in with it.')
            ui.navigate.to('/login')
            return
        sign_in(actor)
        ui.navigate.to('/')

    with ui.card().classes('absolute-center w-11/12 max-w-sm'):
        ui.label('Labdesk').classes('text-2xl font-bold text-primary')
        ui.label('Create an account to report issues').classes('text-gray-600')
        name = ui.input('Name').props('autocomplete=name autofocus').classes('w-full').mark('signup-name')
        email = ui.input('Email').props('type=email autocomplete=email').classes('w-full').mark('signup-email')
        password = (
            ui.input('Password', password=True, password_toggle_button=True)
            .props('autocomplete=new-password')
            .classes('w-full')
            .mark('signup-password')
        )
        again = (
            ui.input('Repeat password', password=True)
            .props('autocomplete=new-password')
            .classes('w-full')
            .mark('signup-again')
            .on('keydown.enter', attempt)
        )
        fields = {'name': name, 'email': email, 'password': password, 'again': again}
        error = ui.label('').classes('text-red-700')
        ui.button('Create account', on_click=attempt).classes('w-full')
        ui.link('I already have an account', '/login').classes('self-center')


@ui.page('/logout')
def logout_page() -> None:
    sign_out()
    ui.navigate.to('/login')


def _change_own_password(actor: Actor, current: str, new: str) -> None:
    with db.session() as s:
        change_password(s, actor, actor.id, new, current_password=current)


@page('/account')
def account_page() -> None:
    actor = current_actor()

    async def save() -> None:
        for field in (current, new, again):
            field.error = None
        if new.value != again.value:
            again.error = 'The two new passwords differ.'
            return
        try:  # on a worker thread: the password hashes take a while on purpose
            await run.io_bound(_change_own_password, actor, current.value or '', new.value)
        except ValidationError as exc:
            current.error = exc.errors.get('current')
            new.error = exc.errors.get('new')
            if '' in exc.errors:
                ui.notify(exc.errors[''], type='negative')
            return
        for field in (current, new, again):
            field.value = ''
        ui.notify('Password changed.', type='positive')

    with frame('Account', actor), ui.card().classes('w-full max-w-md'):
        ui.label(actor.name).classes('text-lg font-medium')
        ui.label(f'{actor.email} · roles: {", ".join(sorted(actor.roles)) or "none"}').classes('text-gray-600')
        ui.separator()
        ui.label('Change password').classes('font-medium')
        current = ui.input('Current password', password=True).classes('w-full').mark('current')
        new = ui.input('New password', password=True).classes('w-full').mark('new')
        again = ui.input('New password again', password=True).classes('w-full').mark('again')
        ui.button('Change password', on_click=save)
