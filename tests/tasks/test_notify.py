"""Delivering the outbox: a real SMTP server (aiosmtpd), a local HTTP server standing in for the
WhatsApp provider, retries with backoff, and no message lost to a failing provider or a crash.

Time is frozen: every delivery is given its `now`; nothing sleeps.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import tasks
from models import db, notifications
from models.accounts import User
from models.notifications import MAX_ATTEMPTS, Notification
from models.settings import reload_settings
from tasks import notify
from tests.conftest import make_user

T0 = dt.datetime(2026, 11, 22, 5, 30, tzinfo=dt.UTC)
NOTHING = {'sent': 0, 'pending': 0, 'failed': 0}
pytestmark = pytest.mark.filterwarnings('ignore:Requiring AUTH while not requiring TLS:UserWarning')


@pytest.fixture
def outbox(database: str) -> Iterator[str]:
    """The migrated database; settings changed by the test are reloaded after it."""
    yield database
    reload_settings()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _user(email_address: str = 'asha@lab.test', phone: str | None = None) -> int:
    actor = make_user(email_address, 'staff')
    with db.session() as s:
        s.get(User, actor.id).phone = phone
    return actor.id


def _queue(user_id: int, channel: str, **kwargs) -> int:
    with db.session() as s:
        rows = notifications.send(s, user_ids=[user_id], channels=[channel], now=T0, **kwargs)
        s.flush()
        return rows[-1].id


def _row(row_id: int) -> Notification:
    with db.session() as s:
        return s.get(Notification, row_id)


def _configure(monkeypatch: pytest.MonkeyPatch, **env: object) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key.upper(), str(value))
    reload_settings()


# --- the log channel, retries, crashes ------------------------------------------------------------


def test_a_logged_message_is_delivered_and_marked_sent(outbox, caplog) -> None:
    row_id = _queue(_user(), 'console', subject='New hiccup HIC-2026-00001', body='Raised by Asha')
    assert notify.deliver_due(now=T0 - dt.timedelta(seconds=1)) == NOTHING  # not due yet
    with caplog.at_level('INFO', logger='labdesk.notify'):
        assert notify.deliver_due(now=T0) == {**NOTHING, 'sent': 1}
    assert 'New hiccup HIC-2026-00001' in caplog.text
    row = _row(row_id)
    assert (row.status, row.attempts, row.sent_at, row.error) == ('sent', 1, T0, None)
    assert notify.deliver_due(now=T0 + dt.timedelta(hours=1)) == NOTHING  # sent once


def test_a_failing_channel_backs_off_and_is_failed_after_the_last_attempt_never_lost(outbox, monkeypatch) -> None:
    def down(message, settings):
        raise ConnectionRefusedError('provider down')

    monkeypatch.setitem(notify.CHANNELS, 'console', down)
    row_id = _queue(_user(), 'console', subject='S', body='B')
    at = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert notify.deliver_due(now=at)['sent'] == 0
        row = _row(row_id)
        assert row.attempts == attempt
        assert 'provider down' in row.error
        if attempt == MAX_ATTEMPTS:
            break
        assert row.status == 'pending'
        assert row.next_attempt_at == at + notifications.backoff(attempt)
        assert notify.deliver_due(now=row.next_attempt_at - dt.timedelta(seconds=1)) == NOTHING
        at = row.next_attempt_at
    assert (row.status, row.next_attempt_at) == ('failed', None)
    assert at - T0 > dt.timedelta(hours=5)  # a provider down for hours delays, and loses nothing
    assert notify.deliver_due(now=at + dt.timedelta(days=1)) == NOTHING  # failed waits for an admin


def test_a_crash_between_claim_and_send_is_retried_when_the_claim_expires(outbox, monkeypatch) -> None:
    sent: list[int] = []
    monkeypatch.setitem(notify.CHANNELS, 'console', lambda message, settings: sent.append(message.id))
    row_id = _queue(_user(), 'console', subject='S', body='B')
    with db.session() as s:
        assert notifications.claim(s, now=T0) == [row_id]
    # ...the process dies here, before sending.
    assert notify.deliver_due(now=T0 + dt.timedelta(minutes=1)) == NOTHING  # still claimed
    assert sent == []
    assert notify.deliver_due(now=T0 + notifications.CLAIM_FOR) == {**NOTHING, 'sent': 1}
    assert sent == [row_id]
    assert (_row(row_id).status, _row(row_id).attempts) == ('sent', 2)


def test_a_crash_during_the_last_attempt_fails_the_message_visibly(outbox) -> None:
    row_id = _queue(_user(), 'console', subject='S', body='B')
    with db.session() as s:
        s.get(Notification, row_id).attempts = MAX_ATTEMPTS - 1
    with db.session() as s:
        assert notifications.claim(s, now=T0) == [row_id]  # ...and the process dies
    notify.deliver_due(now=T0 + notifications.CLAIM_FOR)
    row = _row(row_id)
    assert row.status == 'failed'
    assert 'interrupted' in row.error


def test_two_workers_sweeping_at_once_send_each_message_once(outbox, monkeypatch) -> None:
    sent: list[int] = []
    lock = threading.Lock()

    def record(message, settings):
        with lock:
            sent.append(message.id)

    monkeypatch.setitem(notify.CHANNELS, 'console', record)
    user_id = _user()
    with db.session() as s:
        for n in range(30):
            notifications.send(s, user_ids=[user_id], channels=['console'], subject=f'S{n}', body='B', now=T0)
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            notify.deliver_due(now=T0)
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=sweep) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    assert sorted(sent) == sorted(set(sent))
    assert len(sent) == 30


def test_a_commit_with_messages_asks_for_prompt_delivery(outbox) -> None:
    user_id = _user()
    tasks.huey.immediate = True
    try:
        with db.session() as s:
            rows = notifications.send(s, user_ids=[user_id], channels=['inapp', 'console'], subject='S', body='B')
    finally:
        tasks.huey.immediate = False
    assert {(r.channel, _row(r.id).status) for r in rows} == {('inapp', 'sent'), ('console', 'sent')}


# --- email through a real SMTP server -----------------------------------------------------------


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return '250 OK'


def _login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b'mailer', b's3cret')
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server(outbox, monkeypatch) -> Iterator[_Mailbox]:
    mailbox = _Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox, hostname='127.0.0.1', port=port, authenticator=_login, auth_required=True, auth_require_tls=False
    )
    controller.start()
    _configure(
        monkeypatch, smtp_host='127.0.0.1', smtp_port=port, smtp_starttls='false', smtp_user='mailer',
        smtp_password='s3cret', smtp_from='labdesk@lab.test',
    )  # fmt: skip
    yield mailbox
    controller.stop()


def test_an_email_with_an_attachment_reaches_the_smtp_server(smtp_server: _Mailbox, tmp_path: Path) -> None:
    digest = tmp_path / 'learning-digest-2026-10.xlsx'
    digest.write_bytes(b'PK\x03\x04 not really a workbook')
    row_id = _queue(
        _user('asha@lab.test'), 'email', subject='Monthly learning digest', body='12 hiccups closed in October.',
        attachment_path=str(digest),
    )  # fmt: skip
    assert _row(row_id).address == 'asha@lab.test'
    assert notify.deliver_due(now=T0) == {**NOTHING, 'sent': 1}
    [(sender, recipients, message)] = smtp_server.messages
    assert (sender, recipients) == ('labdesk@lab.test', ['asha@lab.test'])
    assert message['Subject'] == 'Monthly learning digest'
    assert message.get_body(('plain',)).get_content().strip() == '12 hiccups closed in October.'
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == 'learning-digest-2026-10.xlsx'
    assert attachment.get_content_type() == 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
    assert attachment.get_content() == digest.read_bytes()
    assert _row(row_id).provider_id == message['Message-ID']


def test_wrong_smtp_credentials_are_retried_with_the_error_shown(smtp_server: _Mailbox, monkeypatch) -> None:
    _configure(monkeypatch, smtp_password='wrong')
    row_id = _queue(_user(), 'email', subject='S', body='B')
    assert notify.deliver_due(now=T0) == {**NOTHING, 'pending': 1}
    assert 'SMTPAuthenticationError' in _row(row_id).error
    assert smtp_server.messages == []
    _configure(monkeypatch, smtp_password='s3cret')
    assert notify.deliver_due(now=T0 + notifications.backoff(1)) == {**NOTHING, 'sent': 1}
    assert len(smtp_server.messages) == 1


def test_a_missing_attachment_fails_at_once(smtp_server: _Mailbox, tmp_path: Path) -> None:
    row_id = _queue(_user(), 'email', subject='S', body='B', attachment_path=str(tmp_path / 'gone.xlsx'))
    assert notify.deliver_due(now=T0) == {**NOTHING, 'failed': 1}
    assert 'gone.xlsx is missing' in _row(row_id).error


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, '127.0.0.1')])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / 'cert.pem', folder / 'key.pem'
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_starttls_is_used_when_configured(outbox, monkeypatch, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    mailbox = _Mailbox()
    port = _free_port()
    controller = Controller(
        mailbox, hostname='127.0.0.1', port=port, tls_context=server_tls, require_starttls=True,
        authenticator=_login, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        monkeypatch.setenv('SSL_CERT_FILE', str(cert))  # the client trusts the test's certificate
        _configure(monkeypatch, smtp_host='127.0.0.1', smtp_port=port, smtp_user='mailer', smtp_password='s3cret')
        row_id = _queue(_user(), 'email', subject='Over TLS', body='B')
        assert notify.deliver_due(now=T0) == {**NOTHING, 'sent': 1}, _row(row_id).error
    finally:
        controller.stop()
    assert [m['Subject'] for _, _, m in mailbox.messages] == ['Over TLS']


# --- WhatsApp through a local HTTP provider -----------------------------------------------------


class _Provider:
    """Answers POSTs with `status` (and a message id on 2xx); records what it was sent."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[tuple[dict, str | None]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                provider.received.append((body, self.headers.get('Authorization')))
                ok = 200 <= provider.status < 300
                answer = {'id': f'wamid.{len(provider.received)}'} if ok else {'error': 'upstream unavailable'}
                data = json.dumps(answer).encode()
                self.send_response(provider.status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}/v1/messages'
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(outbox, monkeypatch) -> Iterator[_Provider]:
    fake = _Provider()
    _configure(monkeypatch, whatsapp_api_url=fake.url, whatsapp_api_token='wa-token-1')
    yield fake
    fake.close()


def test_a_whatsapp_message_is_posted_with_the_bearer_token(provider: _Provider) -> None:
    row_id = _queue(_user(phone='+919800000001'), 'whatsapp', subject='HIC-2026-00042 raised', body='Please respond.')
    assert notify.deliver_due(now=T0) == {**NOTHING, 'sent': 1}
    assert provider.received == [
        ({'to': '+919800000001', 'message': 'HIC-2026-00042 raised\n\nPlease respond.'}, 'Bearer wa-token-1')
    ]
    assert _row(row_id).provider_id == 'wamid.1'


def test_the_management_group_numbers_get_the_message(provider: _Provider, monkeypatch) -> None:
    _configure(monkeypatch, management_group_numbers='+911111,+912222')
    with db.session() as s:
        notifications.send_to_group(s, subject='Daily summary', body='4 open, 1 overdue', now=T0)
    assert notify.deliver_due(now=T0) == {**NOTHING, 'sent': 2}
    assert sorted(body['to'] for body, _ in provider.received) == ['+911111', '+912222']


def test_a_provider_down_for_an_hour_delays_the_message_and_loses_nothing(provider: _Provider) -> None:
    provider.status = 500
    row_id = _queue(_user(phone='+919800000001'), 'whatsapp', subject='S', body='B')
    at = T0
    while at < T0 + dt.timedelta(hours=1):
        assert notify.deliver_due(now=at) == {**NOTHING, 'pending': 1}
        row = _row(row_id)
        assert 'answered 500' in row.error
        at = row.next_attempt_at
    provider.status = 200
    assert notify.deliver_due(now=at) == {**NOTHING, 'sent': 1}
    row = _row(row_id)
    assert (row.status, row.attempts, row.error) == ('sent', 7, None)
    assert len(provider.received) == 7


def test_a_message_the_provider_refuses_fails_at_once(provider: _Provider) -> None:
    provider.status = 400
    row_id = _queue(_user(phone='not-a-number'), 'whatsapp', subject='S', body='B')
    assert notify.deliver_due(now=T0) == {**NOTHING, 'failed': 1}
    assert 'answered 400' in _row(row_id).error


def test_an_unreachable_provider_is_retried(outbox, monkeypatch) -> None:
    _configure(monkeypatch, whatsapp_api_url=f'http://127.0.0.1:{_free_port()}/send')
    row_id = _queue(_user(phone='+919800000001'), 'whatsapp', subject='S', body='B')
    assert notify.deliver_due(now=T0) == {**NOTHING, 'pending': 1}
    assert _row(row_id).error
