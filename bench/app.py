"""Against the running app: the list page for a signed-in user, and 100 users at once.

The app runs as in production (`python app.py`) in a subprocess on the bench database. A
browser session is simulated without a browser, as NiceGUI's own JavaScript does it: sign in
once in Chromium (Playwright, /usr/bin/chromium) to get the session cookie, then per page
GET the HTML with that cookie, connect to the page's socket.io endpoint with the client id
from the HTML, make the handshake and wait for the update that carries the table rows (the
list loads its rows after the page is sent). That is what a browser waits for, minus the
browser's own rendering, and it lets 100 clients run on a 2-core machine.

Raising a hiccup uses the JSON API (POST /api/v1/hiccups with a bearer token per user).
"""

from __future__ import annotations

import ast
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import socketio

from tools import chromium

REPO = Path(__file__).resolve().parent.parent
MARK = 'bench-concurrency'


class App:
    """`python app.py` on a free port against the bench database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self.url = f'http://127.0.0.1:{self.port}'
        full = {k: v for k, v in os.environ.items() if k not in ('PYTEST_CURRENT_TEST', 'NICEGUI_REDIS_URL')}
        full.update(env)
        full.update(
            {
                'PORT': str(self.port),
                'ENV': 'development',
                'EMBEDDED_WORKER': 'false',
                'SECRET_KEY': 'bench-secret-key-0123456789abcdef',
                'NICEGUI_STORAGE_PATH': str(Path(self.tmp.name) / 'storage'),
                'PYTHONUNBUFFERED': '1',
            }
        )
        self.log_path = Path(self.tmp.name) / 'app.log'
        command = os.environ.get('BENCH_APP_COMMAND', f'{sys.executable} app.py').split()
        with self.log_path.open('wb') as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 120
        while not self._healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log()[-3000:]  # before `stop`, which removes the log with its directory
                self.stop()
                raise RuntimeError(f'the app did not start:\n{log}')
            time.sleep(0.3)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f'{self.url}/healthz', timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors='replace')

    def rss_mb(self) -> float:
        for line in Path(f'/proc/{self.process.pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_ms(self) -> float:
        """CPU time the app process has used so far (user + system, all threads), in ms."""
        fields = Path(f'/proc/{self.process.pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf('SC_CLK_TCK')

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.tmp.cleanup()


def browser_cookies(url: str, *accounts: tuple[str, str]) -> list[dict[str, str]]:
    """Sign each (email, password) in, each in its own context of one real Chromium; their session cookies."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium.PATH), args=chromium.ARGS)
        try:
            return [_sign_in(browser, url, email, password) for email, password in accounts]
        finally:
            browser.close()


def _sign_in(browser: Any, url: str, email: str, password: str) -> dict[str, str]:
    context = browser.new_context(base_url=url)
    try:
        page = context.new_page()
        page.goto('/login')
        page.get_by_label('Email').fill(email)
        page.get_by_label('Password').fill(password)
        page.get_by_role('button', name='Sign in').click()
        page.get_by_text('Hello,').wait_for(timeout=30_000)
        return {c['name']: c['value'] for c in context.cookies()}
    finally:
        context.close()


_QUERY = re.compile(r'query:\s*(\{.*?\}),\s*\n')
_ROWS_IN_HTML = re.compile(r'"rows":\s*\[\{')


class Client:
    """One browser tab of the list page, without the browser: HTML, socket.io, handshake, rows."""

    def __init__(self, url: str, cookies: dict[str, str]) -> None:
        self.url = url
        self.cookies = cookies
        self.sio: socketio.AsyncClient | None = None
        self.rows = asyncio.Event()
        self.html_ms = 0.0
        self.total_ms = 0.0
        self.rows_in_html = False

    async def open(self, http: httpx.AsyncClient, path: str, timeout: float = 60) -> None:
        started = time.perf_counter()
        response = await http.get(path, cookies=self.cookies)
        response.raise_for_status()
        self.html_ms = (time.perf_counter() - started) * 1000
        match = _QUERY.search(response.text)
        if match is None:
            raise RuntimeError(f'no socket.io query in the page ({response.url})')
        query = ast.literal_eval(match.group(1))  # a Python dict literal in the template
        query.update({'document_id': os.urandom(8).hex(), 'tab_id': os.urandom(8).hex(), 'old_tab_id': ''})
        sio = socketio.AsyncClient(reconnection=False)
        self.sio = sio

        @sio.on('update')
        async def update(msg: dict) -> None:
            elements = (e for e in msg.values() if isinstance(e, dict))  # the update also carries plain numbers
            if any((element.get('props') or {}).get('rows') for element in elements):
                self.rows.set()

        cookie = '; '.join(f'{k}={v}' for k, v in self.cookies.items())
        await sio.connect(
            f'{self.url}?{httpx.QueryParams({k: _js(v) for k, v in query.items() if v is not None})}',
            socketio_path='/_nicegui_ws/socket.io',
            transports=['websocket'],
            headers={'Cookie': cookie},
            wait_timeout=timeout,
        )
        if not query.get('implicit_handshake'):
            await sio.call('handshake', query, timeout=timeout)
        if _ROWS_IN_HTML.search(response.text):  # the rows were ready before the page was sent
            self.rows_in_html = True
            self.rows.set()
        await asyncio.wait_for(self.rows.wait(), timeout)
        self.total_ms = (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        if self.sio is not None:
            await self.sio.disconnect()


def _js(value: Any) -> str:
    """A query value as the browser sends it (JavaScript's `true`, not Python's `True`)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


async def page_requests(url: str, cookies: dict[str, str], paths: dict[str, str], repeat: int) -> list[dict]:
    """Per list URL: HTML time and time until the rows arrived over the websocket (medians)."""
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for name, path in paths.items():
            html, total = [], []
            for i in range(repeat + 1):
                client = Client(url, cookies)
                await client.open(http, path)
                await client.close()
                if i:  # the first is a warm-up
                    html.append(client.html_ms)
                    total.append(client.total_ms)
            out.append({'case': name, 'html_ms': statistics.median(html), 'first_render_ms': statistics.median(total)})
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def concurrent_users(  # noqa: PLR0915 - one scenario, read top to bottom
    app: App,
    cookies: list[dict[str, str]],
    users: list[tuple[str, str, int]],
    category_id: int,
    count: Callable[[], int],
    spread_s: float = 0.0,
) -> dict[str, Any]:
    """`len(users)` clients (email, password, department id), each signed in as that user (`cookies`, in
    the same order), open the list and stay connected, then each raises one hiccup in their department.
    With `spread_s` 0 all open at the same instant and then all raise at the same instant (a burst);
    otherwise each user arrives at a random moment within `spread_s` seconds and raises at a random
    moment within the next `spread_s` seconds."""
    n = len(users)
    rng = random.Random(n)
    async with httpx.AsyncClient(base_url=app.url, timeout=180) as http:
        tokens = []
        for email, password, _ in users:  # sign-ins first: argon2 is slow on purpose and not what is measured
            r = await http.post('/api/v1/auth/token', json={'email': email, 'password': password})
            r.raise_for_status()
            tokens.append(r.json()['access_token'])
        before = await asyncio.to_thread(count)
        rss_before = app.rss_mb()
        cpu_before = app.cpu_ms()
        clients = [Client(app.url, jar) for jar in cookies]
        failures: list[str] = []
        connected = asyncio.Event()
        arrivals = [rng.uniform(0, spread_s) for _ in range(n)]
        raise_at = [spread_s + rng.uniform(0, spread_s) for _ in range(n)]
        raise_ms: list[float] = []
        t_start = time.perf_counter()

        async def user(i: int) -> None:
            await asyncio.sleep(arrivals[i])
            try:
                await clients[i].open(http, '/r/hiccups', timeout=120)
            except Exception as exc:
                failures.append(f'open: {exc!r}')
            if spread_s:
                await asyncio.sleep(max(0.0, raise_at[i] - (time.perf_counter() - t_start)))
            else:
                await connected.wait()
            body = {
                'title': f'{MARK} {i}',
                'description': 'Raised by the 100-user benchmark.',
                'department_id': users[i][2],
                'category_id': category_id,
                'severity': 'low',
                'phase': 'analytical',
                'occurred_at': '2026-01-01T10:00:00+05:30',
            }
            t0 = time.perf_counter()
            try:
                r = await http.post('/api/v1/hiccups', json=body, headers={'Authorization': f'Bearer {tokens[i]}'})
                if r.status_code != 201:
                    raise RuntimeError(f'{r.status_code} {r.text[:300]}')
                raise_ms.append((time.perf_counter() - t0) * 1000)
            except Exception as exc:
                failures.append(f'raise: {exc!r}')

        async def all_open() -> float:
            while sum(1 for c in clients if c.total_ms) + sum(f.startswith('open') for f in failures) < n:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1)
            rss = app.rss_mb()
            connected.set()
            return rss

        tasks = [asyncio.create_task(user(i)) for i in range(n)]
        rss_connected = await all_open()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t_start
        await asyncio.sleep(3)  # live updates reach the open lists
        rss_after = app.rss_mb()
        after = await asyncio.to_thread(count)
        cpu_per_user = (app.cpu_ms() - cpu_before) / n
        for c in clients:
            await c.close()
    open_ms = [c.total_ms for c in clients if c.total_ms]
    return {
        'users': n,
        'spread_s': spread_s,
        'open_p50_ms': statistics.median(open_ms) if open_ms else None,
        'open_p95_ms': _pct(open_ms, 0.95) if open_ms else None,
        'raise_p50_ms': statistics.median(raise_ms) if raise_ms else None,
        'raise_p95_ms': _pct(raise_ms, 0.95) if raise_ms else None,
        'wall_s': wall,
        'rss_before_mb': rss_before,
        'rss_connected_mb': rss_connected,
        'rss_after_mb': rss_after,
        'mb_per_client': (rss_connected - rss_before) / n,
        'cpu_ms_per_user': cpu_per_user,
        'raised_ok': len(raise_ms),
        'hiccups_before': before,
        'hiccups_after': after,
        'lost': len(raise_ms) - (after - before),
        'failures': failures[:5],
    }
