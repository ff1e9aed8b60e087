"""Who sees which hiccup, on every path: list, count, get, search, export, attachments, API."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from models import changes, db, permissions, query, records
from models.accounts import User
from models.hiccups import Hiccups
from models.permissions import NotFound, invalidate, seers, set_permission
from models.query import ListParams
from reports.export import export_list
from tests.conftest import make_user, statements
from tests.hiccups.conftest import Lab, hiccup_data
from tests.pages.helpers import page_module

PNG = b'\x89PNG\r\n\x1a\n' + b'\x00' * 64


@pytest.fixture
def hiccups(lab: Lab) -> dict[str, int]:
    """Three hiccups: haematology open, haematology confidential, biochemistry."""
    with db.session() as s:
        return {
            'haem': records.create(s, lab.staff, Hiccups, hiccup_data(lab, title='Haem open')).id,
            'secret': records.create(
                s, lab.staff, Hiccups, hiccup_data(lab, title='Haem secret', confidential=True)
            ).id,
            'bio': records.create(
                s, lab.bio_staff, Hiccups, hiccup_data(lab, title='Bio open', department_id=lab.bio)
            ).id,
        }


EXPECTED = {  # who → the titles they see
    'staff': {'Haem open', 'Haem secret'},  # raised both
    'other_staff': {'Haem open'},  # same department, not the confidential one
    'bio_staff': {'Bio open'},
    'hod': {'Haem open'},  # the department's, never the confidential one
    'bio_hod': {'Bio open'},
    'manager': {'Haem open', 'Haem secret', 'Bio open'},
    'admin': {'Haem open', 'Haem secret', 'Bio open'},
}


@pytest.mark.parametrize('who', EXPECTED)
def test_list_count_get_and_search_show_each_role_only_its_hiccups(lab: Lab, hiccups, who: str):
    actor = getattr(lab, who)
    with db.session() as s:
        listed = {h.title for h in query.page(s, actor, Hiccups, ListParams())}
        counted = query.count(s, actor, Hiccups, ListParams())[0]
        found = {h.title for h in query.page(s, actor, Hiccups, ListParams(q='secret'))}
        visible = {name for name, i in hiccups.items() if seers(s, [actor], Hiccups, [i])[i]}
    assert listed == EXPECTED[who]
    assert counted == len(EXPECTED[who])
    assert found == EXPECTED[who] & {'Haem secret'}
    assert len(visible) == len(EXPECTED[who])


def test_an_invisible_hiccup_is_not_found_by_id_nor_its_attachment(lab: Lab, hiccups):
    with db.session() as s:
        attachment = records.attach(s, lab.staff, Hiccups, hiccups['secret'], 'photo.png', PNG)
    with pytest.raises(NotFound), db.session() as s:
        records.attachment_for(s, lab.hod, attachment.id)
    with db.session() as s:
        row, _ = records.attachment_for(s, lab.manager, attachment.id)
        assert row.filename == 'photo.png'


def test_export_holds_only_what_the_user_may_see(lab: Lab, hiccups, tmp_path):
    with db.session() as s:
        set_permission(s, lab.admin, 'hod', Hiccups, 'export', True)
    invalidate()
    path = tmp_path / 'h.xlsx'
    export_list(lab.hod, Hiccups, ListParams(), path)
    titles = [row[1] for row in load_workbook(path).active.iter_rows(min_row=2, values_only=True)]
    assert titles == ['Haem open']


def test_open_lists_share_a_read_only_with_readers_of_the_same_rows(lab: Lab, hiccups: dict[str, int]) -> None:
    """Live updates let identical open lists share one read (`changes.shared`): never across rules."""
    from models import changes

    def titles(actor, q: str) -> set[str]:
        p = ListParams(q=q)
        with db.session() as s:
            return changes.shared(
                s, query.result_key(s, actor, Hiccups, p), lambda: {h.title for h in query.page(s, actor, Hiccups, p)}
            )

    searches = {'': None, 'haem': {'Haem open', 'Haem secret'}, 'open': {'Haem open', 'Bio open'}}
    for q, matching in searches.items():  # the same rule, another search: not the same rows
        for who in ('manager', 'staff', 'other_staff', 'bio_staff', 'hod', 'admin', 'bio_hod'):
            assert titles(getattr(lab, who), q) == EXPECTED[who] & (matching or EXPECTED[who]), (who, q)


def _markers(step) -> dict:
    """What open pages are told of the changes `step(session)` makes."""
    with db.session() as s:
        before = changes.latest_id(s)
    with db.session() as s:
        step(s)
    with db.session() as s:
        return changes.summary(changes.since(s, before))


def test_open_lists_reload_for_a_new_hiccup_only_where_its_reader_may_see_it(lab: Lab) -> None:
    """A new hiccup (or a comment) can change only the lists of those who may see it; an edit or a
    step can take a hiccup into or out of anyone's view, so every open list reloads for it."""
    made = []
    found = _markers(
        lambda s: made.append(records.create(s, lab.bio_staff, Hiccups, hiccup_data(lab, department_id=lab.bio)).id)
    )
    new = made[0]
    assert found == {'hiccups': {new}}
    with db.session() as s:
        seen = seers(s, [getattr(lab, who) for who in EXPECTED], Hiccups, [new])[new]
    sees = {who: position in seen for position, who in enumerate(EXPECTED)}
    assert sees == {who: 'Bio open' in titles for who, titles in EXPECTED.items()}  # the biochemistry readers
    assert _markers(lambda s: records.comment(s, lab.bio_hod, Hiccups, new, 'Looking into it')) == {'hiccups': {new}}

    def move(s) -> None:
        version = s.get(Hiccups.model, new).version
        records.update(s, lab.manager, Hiccups, new, {'department_id': lab.haem}, version=version)

    moved = _markers(move)
    assert moved == {'hiccups': None}  # to haematology: their lists must see it arrive, biochemistry's leave
    with db.session() as s:
        assert seers(s, [lab.staff, lab.bio_hod], Hiccups, [new])[new] == {0}  # the staff member, not the HOD


TITLES = {'haem': 'Haem open', 'secret': 'Haem secret', 'bio': 'Bio open'}


def test_many_readers_are_told_who_sees_each_hiccup_in_one_query_per_batch(
    lab: Lab, hiccups: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`seers` answers for every reader and record as asking each reader would, a batch of readers a query."""
    monkeypatch.setattr(permissions, 'UNION_MAX', 3)
    readers = list(EXPECTED)
    with db.session() as s, statements() as sent:
        seen = seers(s, [getattr(lab, who) for who in readers], Hiccups, [*hiccups.values(), 999_999])
    assert len(reads(sent)) == 3  # seven readers, three a statement
    assert {name: {readers[p] for p in seen[i]} for name, i in hiccups.items()} == {
        name: {who for who in readers if title in EXPECTED[who]} for name, title in TITLES.items()
    }
    assert seen[999_999] == set()  # no such hiccup: nobody sees it
    with db.session() as s:
        set_permission(s, lab.admin, 'management', Hiccups, 'view', False)
    invalidate()
    with db.session() as s:
        assert seers(s, [lab.manager, lab.admin], Hiccups, hiccups.values())[hiccups['haem']] == {1}  # not the manager


def test_the_first_open_page_to_ask_about_a_new_hiccup_asks_for_every_open_page(
    lab: Lab, hiccups: dict[str, int]
) -> None:
    """Every open list asks whether a new hiccup concerns its reader: the first asks the database for
    all of them (their users in one query, their visibility in one more), the others are answered."""
    with page_module('pages.readers') as readers:
        pages = {who: readers.Reader(getattr(lab, who).id, Hiccups) for who in EXPECTED}
        with statements() as sent:
            first = pages['staff']({hiccups['secret']})
        assert first and len(reads(sent)) == 2  # the readers, then one union of their visibility rules
        with statements() as sent:
            answers = {who: page({hiccups['secret']}) for who, page in pages.items()}
        assert reads(sent) == []
        assert answers == {who: 'Haem secret' in titles for who, titles in EXPECTED.items()}
        with statements() as sent:
            bio = {who: page({hiccups['bio']}) for who, page in pages.items()}
        assert len(reads(sent)) == 2 and bio == {who: 'Bio open' in titles for who, titles in EXPECTED.items()}
        late = readers.Reader(make_user('late@lab.test', 'staff', department_id=lab.bio).id, Hiccups)
        assert late({hiccups['bio']})  # opened after the others were answered: asked anew, not left out


def reads(sent: list[str]) -> list[str]:
    """The statements that read users or records (not the permission matrix, cached for a few seconds)."""
    return [q for q in sent if 'role_permissions' not in q]


def test_an_open_page_whose_reader_was_deactivated_reloads_to_show_them_out(lab: Lab, hiccups: dict[str, int]) -> None:
    with db.session() as s:
        s.get(User, lab.bio_staff.id).active = False
    with page_module('pages.readers') as readers:
        assert readers.Reader(lab.bio_staff.id, Hiccups)({hiccups['haem']})  # would not see it, but must reload
        assert not readers.Reader(lab.other_staff.id, Hiccups)({hiccups['bio']})
