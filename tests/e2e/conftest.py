"""Real-browser fixtures: the app in a subprocess on a free port, and Debian's Chromium.

pytest-playwright is not used: the server and the browser are started here, once per
module, with Playwright's sync API. The app runs as it does in production (`python app.py`)
on SQLite in a temporary DATA_DIR with the embedded task worker, and must stop cleanly on
SIGTERM: the teardown fails when it does not exit within `STOP_TIMEOUT` seconds.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tools import chromium

REPO = Path(__file__).resolve().parents[2]
ADMIN_EMAIL = 'admin@lab.test'
ADMIN_PASSWORD = 'admin-pass-123'
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@dataclasses.dataclass
class AppServer:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors='replace') if self.log_path.exists() else ''


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _app_env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    # With PYTEST_CURRENT_TEST set, `ui.run` thinks NiceGUI's own test runner started it. E2e never uses
    # MariaDB (TEST_MYSQL_URL) nor a shared Redis, and a developer's .env must not change the database.
    for name in ('PYTEST_CURRENT_TEST', 'TEST_MYSQL_URL', 'NICEGUI_REDIS_URL', 'NICEGUI_SCREEN_TEST_PORT'):
        env.pop(name, None)
    env.update(
        {
            'DATA_DIR': str(data_dir),
            'DATABASE_URL': f'sqlite:///{data_dir / "labdesk.db"}',
            'PORT': str(port),
            'ENV': 'development',
            'EMBEDDED_WORKER': 'true',
            'SECRET_KEY': 'e2e-secret-key-0123456789abcdef',
            'ADMIN_EMAIL': ADMIN_EMAIL,
            'ADMIN_PASSWORD': ADMIN_PASSWORD,
            # NiceGUI keeps the sign-in sessions in ./.nicegui of the working directory (the repo) by default
            'NICEGUI_STORAGE_PATH': str(data_dir.parent / 'nicegui-storage'),
            'PYTHONUNBUFFERED': '1',
        }
    )
    return env


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f'{url}/healthz', timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(server: AppServer) -> float | None:
    """SIGTERM (as Ctrl-C would), then SIGKILL after `STOP_TIMEOUT`; the seconds it took, None if killed."""
    process = server.process
    if process.poll() is not None:
        return 0.0
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
        return None
    return time.monotonic() - started


@pytest.fixture(scope='module')
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """`python app.py` on a free port with a fresh SQLite DATA_DIR; stopped with SIGTERM at the end."""
    root = tmp_path_factory.mktemp('e2e')
    data_dir = root / 'data'
    port = _free_port()
    log_path = root / 'app.log'
    with log_path.open('wb') as log_file:
        process = subprocess.Popen(
            [sys.executable, 'app.py'],
            cwd=REPO,
            env=_app_env(data_dir, port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = AppServer(f'http://127.0.0.1:{port}', data_dir, log_path, process)
    deadline = time.monotonic() + START_TIMEOUT
    while not _healthy(server.url):
        if process.poll() is not None:
            pytest.fail(
                f'The app exited with code {process.returncode} before answering /healthz:\n{server.log()}',
                pytrace=False,
            )
        if time.monotonic() > deadline:
            _stop(server)
            pytest.fail(
                f'The app did not answer /healthz with 200 within {START_TIMEOUT:.0f} s:\n{server.log()}', pytrace=False
            )
        time.sleep(0.25)
    try:
        yield server
    finally:
        took = _stop(server)
    if took is None:
        pytest.fail(
            f'The app ignored SIGTERM for {STOP_TIMEOUT:.0f} s and was killed; Ctrl-C must stop it cleanly.\n'
            f'{server.log()}',
            pytrace=False,
        )
    if server.process.returncode not in (0, -signal.SIGTERM):
        pytest.fail(f'The app exited with code {server.process.returncode} on SIGTERM:\n{server.log()}', pytrace=False)


@pytest.fixture(scope='module')
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, once per module (never `playwright install`)."""
    if not chromium.PATH.exists():
        pytest.fail(f'{chromium.PATH} is missing: apt-get install -y chromium', pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium.PATH), args=chromium.ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f'rep_{report.when}', report)
    return report
