"""Whether new records concern an open page's reader, answered for every open page at once.

A record only some readers may see (a new one, or one that got a comment or a file) changes only
their lists and boards, so each open page of its type asks before it reloads (`live.coalesced`).
With a hundred pages open that was a hundred reads of a reader and a hundred queries per change.
Here the first page to ask answers for the readers of every open page of the type, with one read
of them (`Actor.load_many`) and one query (`permissions.seers`); the others find their answer.

An answer only decides whether a page reloads, never what it shows (the reload reads under its
reader's visibility), and it is kept `KEEP_SECONDS`: a reader whose roles change meanwhile may
reload once for nothing, or see the new record at the next change.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Collection

from models import db
from models.accounts import Actor
from models.engine import RecordType
from models.permissions import seers

KEEP_SECONDS = 10.0
_batch_lock = threading.Lock()  # one batch at a time: pages asking about the same change wait for the first
_open_lock = threading.Lock()  # pages register on the event loop while a batch reads the register in a thread
_open: defaultdict[str, weakref.WeakSet[Reader]] = defaultdict(weakref.WeakSet)
#: (database generation, record type slug, record id) → (when, users asked, users concerned)
_answers: dict[tuple[int, str, int], tuple[float, frozenset[int], frozenset[int]]] = {}


class Reader:
    """For `live.coalesced`: whether the page's reader may see any of these records. Registered for
    as long as the page holds it (its live reload does, until the page is closed)."""

    def __init__(self, user_id: int, rt: type[RecordType]) -> None:
        self.user_id = user_id
        self.rt = rt
        with _open_lock:
            _open[rt.slug].add(self)

    def __call__(self, ids: set[int]) -> bool:
        return any(self.user_id in concerned for concerned in _concerned(self.rt, ids, self.user_id))


def _concerned(rt: type[RecordType], ids: Collection[int], user_id: int) -> list[frozenset[int]]:
    """Per record: the users it concerns, among at least the readers open now and `user_id`."""
    generation = db.generation()
    keys = [(generation, rt.slug, record_id) for record_id in ids]
    with _batch_lock:
        now = time.monotonic()
        for key in [k for k, (at, *_) in _answers.items() if now - at > KEEP_SECONDS]:
            del _answers[key]
        missing = [key[2] for key in keys if key not in _answers or user_id not in _answers[key][1]]
        if missing:
            with _open_lock:
                users = frozenset({reader.user_id for reader in _open[rt.slug]} | {user_id})
            for record_id, concerned in _ask(rt, users, missing).items():
                _answers[(generation, rt.slug, record_id)] = (now, users, concerned)
        return [_answers[key][2] for key in keys]


def _ask(rt: type[RecordType], user_ids: frozenset[int], record_ids: list[int]) -> dict[int, frozenset[int]]:
    """Record id → the users concerned: those who may see it, and those no longer signed in (their
    reload shows them out)."""
    with db.session() as s:
        actors = list(Actor.load_many(s, user_ids).values())
        seen = seers(s, actors, rt, record_ids)
    gone = user_ids - {a.id for a in actors}
    return {rid: frozenset(gone | {actors[p].id for p in seen[rid]}) for rid in record_ids}
