"""Who sees which hiccup, on every path: list, count, get, search, export, attachments, API."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from models import changes, db, query, records
from models.hiccups import Hiccups
from models.permissions import NotFound, invalidate, may_see, sees_all, sees_any, set_permission
from models.query import ListParams
from reports.export import export_list
from tests.hiccups.conftest import Lab, hiccup_data

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
        visible = {name for name, i in hiccups.items() if may_see(s, actor, Hiccups, i)}
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

    def titles(actor) -> set[str]:
        p = ListParams()
        with db.session() as s:
            return changes.shared(
                s, query.result_key(s, actor, Hiccups, p), lambda: {h.title for h in query.page(s, actor, Hiccups, p)}
            )

    for who in ('manager', 'staff', 'other_staff', 'bio_staff', 'hod', 'admin', 'bio_hod'):
        assert titles(getattr(lab, who)) == EXPECTED[who], who


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
        sees = {who: sees_any(s, getattr(lab, who), Hiccups, {new}) for who in EXPECTED}
    assert sees == {who: 'Bio open' in titles for who, titles in EXPECTED.items()}  # the biochemistry readers
    assert _markers(lambda s: records.comment(s, lab.bio_hod, Hiccups, new, 'Looking into it')) == {'hiccups': {new}}

    def move(s) -> None:
        version = s.get(Hiccups.model, new).version
        records.update(s, lab.manager, Hiccups, new, {'department_id': lab.haem}, version=version)

    moved = _markers(move)
    assert moved == {'hiccups': None}  # to haematology: their lists must see it arrive, biochemistry's leave
    with db.session() as s:
        assert sees_any(s, lab.staff, Hiccups, {new}) and not sees_any(s, lab.bio_hod, Hiccups, {new})


def test_only_those_who_see_every_hiccup_are_spared_the_check_of_new_ones(lab: Lab, hiccups: dict[str, int]) -> None:
    """An open list of a reader who may see every hiccup reloads for any new one without asking the database."""
    with db.session() as s:
        spared = {who for who in EXPECTED if sees_all(s, getattr(lab, who), Hiccups)}
    assert spared == {who for who, titles in EXPECTED.items() if titles == EXPECTED['manager']}  # managers, admins
    with db.session() as s:
        set_permission(s, lab.admin, 'management', Hiccups, 'view', False)
    invalidate()
    with db.session() as s:
        assert not sees_all(s, lab.manager, Hiccups)  # no view permission: sees nothing, so not everything
