"""schemathesis against /openapi.json: no server error, and every response as the schema documents it.

Bounded so it stays quick however many record types there are: a derandomized budget of
examples is shared by the operations, positive and negative ones mixed. Operations whose inputs
are the same as an earlier one's apart from the record type (the lookup tables) are the same
generated code with the same schema, so only the first of them is fuzzed. Positive examples
work on a record the fuzzer created (or was given), never on the administrator it runs as.

Requests go to the app the `user` fixture started, on the test's event loop (where NiceGUI
runs); Hypothesis drives them from a worker thread.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from typing import Any

import httpx
import requests
import schemathesis
import urllib3
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nicegui.testing import User
from requests.adapters import HTTPAdapter
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from models import db, records
from models.accounts import SYSTEM
from models.engine import RecordType, get
from tests.api.helpers import bearer
from tests.conftest import make_user
from tests.workflow_fixture import samples  # noqa: F401 - fixture

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
BUDGET = 400  # examples over all fuzzed operations
MOST, LEAST = 10, 2  # examples of one operation: with inputs to vary / with only ids
BASE_URL = 'http://test'
API = '/api/v1/'


class AppAdapter(HTTPAdapter):
    """A `requests` adapter that hands each request to the app on the test's event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.client, self.loop = client, loop

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body or b''
        call = self.client.request(request.method, request.url, headers=dict(request.headers), content=body)
        r = asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=60)
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(r.content),
            headers=list(r.headers.multi_items()),
            status=r.status_code,
            reason=r.reason_phrase,
            version=11,
            preload_content=False,
        )
        return self.build_response(request, raw)


def distinct_operations(spec: dict[str, Any], schema: Any) -> list[Any]:
    """The operations with a shape of their own (inputs and responses, record type aside); deletes last."""
    seen, kept = set(), []
    for op in (result.ok() for result in schema.get_all_operations()):
        raw = spec['paths'][op.path][op.method]
        parts = {k: raw.get(k) for k in ('parameters', 'requestBody', 'responses')}
        shape = (
            op.method,
            re.sub(r'^/api/v1/[^/]+', '{type}', op.path),
            json.dumps(_inline(spec, parts), sort_keys=True),
        )
        if shape not in seen:
            seen.add(shape)
            kept.append(op)
    return sorted(kept, key=lambda op: op.method == 'delete')


def _inline(spec: dict[str, Any], node: Any) -> Any:
    """`node` with its $refs replaced by what they point to, titles and descriptions left out."""
    if isinstance(node, list):
        return [_inline(spec, x) for x in node]
    if not isinstance(node, dict):
        return node
    if '$ref' in node:
        return _inline(spec, spec['components']['schemas'][node['$ref'].rsplit('/', 1)[-1]])
    return {k: _inline(spec, v) for k, v in node.items() if k not in ('title', 'description')}


def slug_of(op: Any) -> str:
    return op.path.removeprefix(API).split('/')[0]


class Fuzzer:
    """Runs every operation's examples and collects the failures instead of stopping at the first."""

    def __init__(self, operations: list[Any], session: requests.Session, headers: dict[str, str]) -> None:
        self.operations, self.session, self.headers = operations, session, headers
        rich = sum(1 for op in operations if self._rich(op))
        self.most = max(LEAST, min(MOST, (BUDGET - LEAST * (len(operations) - rich)) // max(rich, 1)))
        self.targets: dict[str, int] = {}  # record type → id of the record positive examples work on
        self.failures: list[str] = []

    def run(self) -> None:
        for op in self.operations:
            self.fuzz(op)

    @staticmethod
    def _rich(op: Any) -> bool:
        """Whether the operation has inputs besides ids (a body or query parameters) to vary."""
        return bool(list(op.body) or list(op.query))

    def fuzz(self, op: Any) -> None:
        target = self.targets.get(slug_of(op))
        fixed = {'record_id': target} if target and '{record_id}' in op.path else None
        cases = st.one_of(  # signed in as the admin throughout: the token is never mutated
            op.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed, headers=self.headers),
            op.as_strategy(GenerationMode.NEGATIVE, headers=self.headers),
        )

        @settings(
            max_examples=self.most if self._rich(op) else LEAST,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def examples(case: Case) -> None:
            self.check(case)

        try:
            examples()
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # every failure is reported at the end (FailureGroup is a base one)
            self.failures.append(f'{op.label}: {exc}')

    def check(self, case: Case) -> None:
        response = case.call(base_url=BASE_URL, session=self.session)
        slug = slug_of(case.operation)
        if case.method == 'POST' and case.path == API + slug and response.status_code == 201:
            self.targets.setdefault(slug, response.json()['id'])  # a record of its own to work on
        case.validate_response(response, checks=CHECKS)


def _seed(sample_type: type[RecordType]) -> dict[str, int]:
    """A value in each lookup (so generated references can resolve), and records to work on."""
    targets = {'users': make_user('fuzz@lab.test', 'staff').id}
    with db.session() as s:
        for slug in ('departments', 'categories', 'locations'):
            records.create(s, SYSTEM, get(slug), {'name': f'Fuzz {slug}'})
        targets['roles'] = records.create(s, SYSTEM, get('roles'), {'name': 'fuzz'}).id
        targets['test_samples'] = records.create(s, SYSTEM, sample_type, {'name': 'Fuzz'}).id
    return targets


async def test_every_operation_answers_as_documented_and_never_with_a_server_error(samples, user: User) -> None:  # noqa: F811
    targets = _seed(samples)
    client = user.http_client
    headers = await bearer(client)
    spec = (await client.get('/openapi.json')).json()
    session = requests.Session()
    session.mount(BASE_URL, AppAdapter(client, asyncio.get_running_loop()))
    fuzzer = Fuzzer(distinct_operations(spec, schemathesis.openapi.from_dict(spec)), session, headers)
    fuzzer.targets.update(targets)
    await asyncio.to_thread(fuzzer.run)
    assert not fuzzer.failures, '\n\n'.join(fuzzer.failures)
    assert (await client.get('/api/v1/users/me', headers=headers)).status_code == 200  # the admin is untouched
