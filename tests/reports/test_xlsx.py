"""The Excel writer (typed, streaming, frozen filtered header) and the strict upload reader."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import io
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from reports import xlsx
from reports.xlsx import Column

ALL_KINDS = [
    Column('Name', 'str'),
    Column('Notes', 'text'),
    Column('Count', 'int'),
    Column('Score', 'float'),
    Column('Active', 'bool'),
    Column('Due', 'date'),
    Column('Seen at', 'datetime'),
    Column('Severity', 'enum'),
    Column('Department', 'ref'),
    Column('Roles', 'multi'),
]


class Severity(enum.Enum):
    HIGH = 'High'


def _open(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def _bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_cells_are_typed_dates_numbers_booleans_and_blanks(tmp_path):
    path = tmp_path / 'typed.xlsx'
    rows = [
        [
            'Asha',
            'line one\nline two',
            7,
            2.5,
            True,
            dt.date(2026, 11, 22),
            dt.datetime(2026, 11, 22, 14, 30),
            Severity.HIGH,
            'Haematology',
            ['hod', 'staff'],
        ],
        [None, None, None, decimal.Decimal('1.25'), False, None, None, None, None, None],
    ]
    assert xlsx.write(path, 'Things', ALL_KINDS, rows) == 2

    sheet = _open(path).active
    assert [c.value for c in sheet[1]] == [c.title for c in ALL_KINDS]
    name, notes, count, score, active, due, seen, severity, dept, roles = sheet[2]
    assert (name.value, notes.value, dept.value, roles.value) == (
        'Asha',
        'line one\nline two',
        'Haematology',
        'hod, staff',
    )
    assert count.value == 7 and count.data_type == 'n'
    assert score.value == 2.5
    assert active.value is True and active.data_type == 'b'
    assert isinstance(due.value, dt.datetime) and due.value == dt.datetime(2026, 11, 22)
    assert due.number_format == 'dd-mmm-yyyy'
    assert seen.value == dt.datetime(2026, 11, 22, 14, 30)
    assert seen.number_format == 'dd-mmm-yyyy hh:mm'
    assert severity.value == 'High'
    second = [c.value for c in sheet[3]]
    assert second[:3] == [None, None, None]
    assert second[3] == 1.25
    assert second[4] is False
    assert second[5:] == [None] * 5


def test_header_is_bold_frozen_and_filterable_over_the_written_range(tmp_path):
    path = tmp_path / 'header.xlsx'
    xlsx.write(path, 'Things', [Column('Name'), Column('Count', 'int')], [['a', 1], ['b', 2], ['c', 3]])
    sheet = _open(path).active
    assert sheet.title == 'Things'
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == 'A2'
    assert sheet.auto_filter.ref == 'A1:B4'
    assert sheet.column_dimensions['A'].width >= len('Name')


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    path = tmp_path / 'formula.xlsx'
    xlsx.write(path, 'Things', [Column('Name')], [['=HYPERLINK("http://evil","x")'], ['+1']])
    sheet = _open(path).active
    assert sheet['A2'].data_type == 's'
    assert sheet['A2'].value == '=HYPERLINK("http://evil","x")'
    assert sheet['A3'].value == '+1'


def test_text_keeps_markup_spaces_and_control_characters_as_excel_escapes(tmp_path):
    path = tmp_path / 'text.xlsx'
    texts = ['<b>bold</b> & "quoted"', '  padded\n', 'bell\x07', 'already _x0041_ escaped']
    xlsx.write(path, "Lab's <notes>", [Column('Text')], [[t] for t in texts])
    sheet = _open(path).active
    assert sheet.title == "Lab's <notes>"
    # Excel decodes _xHHHH_ (openpyxl leaves it as written): the bell survives, the literal stays literal
    assert [c.value for c in sheet['A'][1:]] == [
        '<b>bold</b> & "quoted"',
        '  padded\n',
        'bell_x0007_',
        'already _x005F_x0041_ escaped',
    ]


def test_numbers_that_are_not_finite_become_excel_errors_and_old_dates_text(tmp_path):
    path = tmp_path / 'odd.xlsx'
    rows = [[float('nan'), dt.date(1850, 1, 1)], [float('inf'), dt.date(1900, 3, 1)]]
    xlsx.write(path, 'Odd', [Column('Ratio', 'float'), Column('Day', 'date')], rows)
    sheet = _open(path).active
    assert [(c.value, c.data_type) for c in sheet['A'][1:]] == [('#NUM!', 'e'), ('#DIV/0!', 'e')]
    assert sheet['B2'].value == '1850-01-01'  # before Excel's first reliable day: kept, as text
    assert sheet['B3'].value == dt.datetime(1900, 3, 1)


def test_every_part_of_the_workbook_is_well_formed_xml(tmp_path):
    path = tmp_path / 'parts.xlsx'
    xlsx.write(path, 'Things', ALL_KINDS, [['a & b', 'x', 1, 2.5, True, dt.date(2026, 1, 2), None, None, 'D', ['r']]])
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        assert {'[Content_Types].xml', 'xl/workbook.xml', 'xl/styles.xml', 'xl/worksheets/sheet1.xml'} <= set(names)
        for name in names:
            ElementTree.fromstring(book.read(name))  # raises on anything Excel would call corrupt XML


def test_rows_are_consumed_lazily_and_progress_is_reported(tmp_path):
    pulled = []

    def rows():
        for i in range(2500):
            pulled.append(i)
            yield [f'row {i}', i]

    seen = []

    def progress(n):
        seen.append((n, len(pulled)))

    columns = [Column('Name'), Column('N', 'int')]
    count = xlsx.write(tmp_path / 'many.xlsx', 'Rows', columns, rows(), progress, every=1000)
    assert count == 2500
    # progress at 1000 came before row 1001 was even produced: rows are streamed, not collected
    assert seen == [(1000, 1000), (2000, 2000), (2500, 2500)]


def test_an_empty_export_still_has_its_header(tmp_path):
    path = tmp_path / 'empty.xlsx'
    assert xlsx.write(path, 'Nothing', [Column('Name')], []) == 0
    sheet = _open(path).active
    assert [c.value for c in sheet[1]] == ['Name']
    assert sheet.auto_filter.ref == 'A1'


def test_sheet_titles_are_made_acceptable_to_excel(tmp_path):
    path = tmp_path / 'title.xlsx'
    xlsx.write(path, 'NC/CAPA: [open] records that are very long indeed', [Column('Name')], [])
    assert _open(path).active.title == 'NC CAPA open records that are v'


def test_an_aware_datetime_is_refused_and_no_partial_file_is_left(tmp_path):
    path = tmp_path / 'aware.xlsx'
    with pytest.raises(ValueError, match='naive local time'):
        xlsx.write(path, 'Times', [Column('At', 'datetime')], [[dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]])
    assert not path.exists()


def test_unknown_column_kinds_are_refused():
    with pytest.raises(ValueError, match='unknown kind'):
        Column('Name', 'string')


def test_read_returns_stripped_headers_and_numbered_non_empty_rows():
    data = _bytes(
        [
            [' id ', 'Name', 'Active'],
            [1, 'Haematology', True],
            [None, None, None],
            [None, '  ', None],
            [None, 'Microbiology', False],
            [None, 'Serology'],
        ]
    )
    headers, rows = xlsx.read(data)
    assert headers == ['id', 'Name', 'Active']
    assert rows == [
        (2, {'id': 1, 'Name': 'Haematology', 'Active': True}),
        (5, {'id': None, 'Name': 'Microbiology', 'Active': False}),
        (6, {'id': None, 'Name': 'Serology', 'Active': None}),
    ]


def test_read_gives_dates_back_as_datetimes(tmp_path):
    path = tmp_path / 'dates.xlsx'
    xlsx.write(path, 'Dates', [Column('Due', 'date')], [[dt.date(2026, 3, 1)]])
    assert xlsx.read(path.read_bytes())[1] == [(2, {'Due': dt.datetime(2026, 3, 1)})]


@pytest.mark.parametrize(
    ('data', 'message'),
    [
        (b'', 'The file is empty'),
        (b'id,name\n1,Haematology\n', 'not an Excel workbook'),
        (b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + b'\0' * 100, r'old-style Excel file \(.xls\)'),
        (b'PK\x03\x04 broken zip', 'not an Excel workbook'),
    ],
    ids=['empty', 'csv', 'xls', 'broken-zip'],
)
def test_read_refuses_files_that_are_not_xlsx_with_a_clear_message(data, message):
    with pytest.raises(ValueError, match=message):
        xlsx.read(data)


def test_read_refuses_a_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w') as archive:
        archive.writestr('word/document.xml', '<document/>')
    with pytest.raises(ValueError, match=r'not an Excel workbook \(.xlsx\)'):
        xlsx.read(out.getvalue())


def test_read_refuses_an_empty_sheet():
    with pytest.raises(ValueError, match='The sheet is empty'):
        xlsx.read(_bytes([]))


def test_read_refuses_a_sheet_without_headers_in_row_one():
    with pytest.raises(ValueError, match='Row 1 is empty'):
        xlsx.read(_bytes([[None, None], ['Haematology', 'HAEM']]))


def test_read_refuses_blank_headers_naming_the_column():
    with pytest.raises(ValueError, match='Column B in row 1 has no header'):
        xlsx.read(_bytes([['id', None, 'code'], [1, 'x', 'y']]))


def test_read_refuses_duplicate_headers_ignoring_case():
    with pytest.raises(ValueError, match=r'"name" \(columns B and C\)'):
        xlsx.read(_bytes([['id', 'name', 'Name '], [1, 'x', 'y']]))


def test_read_refuses_values_in_a_column_without_a_header():
    with pytest.raises(ValueError, match='Row 3 has a value in column C, which has no header'):
        xlsx.read(_bytes([['id', 'name'], [1, 'x'], [2, 'y', 'stray']]))


def test_read_refuses_more_rows_than_the_limit(monkeypatch):
    monkeypatch.setattr(xlsx, 'MAX_READ_ROWS', 3)
    data = _bytes([['name'], ['a'], ['b'], ['c']])
    assert len(xlsx.read(data)[1]) == 3
    with pytest.raises(ValueError, match='more than 3 rows'):
        xlsx.read(_bytes([['name'], ['a'], ['b'], ['c'], ['d']]))


def test_the_upload_row_limit_is_fifty_thousand():
    assert xlsx.MAX_READ_ROWS == 50_000
