"""Excel files: a streaming, typed, row-wise writer and a strict reader for uploads.

`write` streams rows into a temporary file as SpreadsheetML (inline strings, so no shared-string
table grows in memory) and zips the workbook from it at the end: memory stays flat however many
rows come, and it is several times faster than a general-purpose writer, because a list export
needs only a few cell styles. Never route a large export through pandas: it holds every row.

`read` opens an upload with openpyxl in read-only mode and turns it into a header list and
``(excel row number, {header: value})`` pairs, refusing anything that is not a usable sheet
with a `ValueError` whose message can be shown to the user as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

KINDS = frozenset({'str', 'text', 'int', 'float', 'bool', 'date', 'datetime', 'enum', 'ref', 'multi'})
DATE_FORMAT = 'dd-mmm-yyyy'
DATETIME_FORMAT = 'dd-mmm-yyyy hh:mm'
#: Data rows one sheet can hold (Excel's 1,048,576 rows less the header).
MAX_WRITE_ROWS = 1_048_575
#: Data rows an upload may have.
MAX_READ_ROWS = 50_000
MAX_CELL_CHARS = 32_767
MAX_WIDTH = 60

_FIXED_WIDTHS = {'date': 12, 'datetime': 17, 'bool': 7}
_OLE_MAGIC = b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1'  # .xls (and other old Office files)
_ZIP_MAGIC = b'PK\x03\x04'
_NOT_XLSX = 'This file is not an Excel workbook (.xlsx). Save it from Excel as "Excel Workbook (.xlsx)" and try again.'
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_FIRST_SERIAL_DAY = dt.datetime(1900, 3, 1)
#: Control characters XML 1.0 cannot hold, and text that already looks like Excel's escape for one.
_EXCEL_ESCAPED = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_')
_COMPRESSION = 1  # zlib level: 6 makes 100k rows about 40 % slower for a file about 15 % smaller
_ZIP64_OVER = 2**31 - 2**24  # a sheet part near 2 GB needs zip64 before its size is known

_MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'
_RELS = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
_PKG = 'http://schemas.openxmlformats.org/package/2006'
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_FONT = '<sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
#: The fixed parts of a one-sheet workbook. Cell styles: 1 the bold underlined header, 2 dates, 3 datetimes.
_PARTS = {
    '[Content_Types].xml': f'{_XML}<Types xmlns="{_PKG}/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>',
    '_rels/.rels': f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    'xl/_rels/workbook.xml.rels': f'{_XML}<Relationships xmlns="{_PKG}/relationships">'
    f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/></Relationships>',
    'xl/styles.xml': f'{_XML}<styleSheet xmlns="{_MAIN}">'
    f'<numFmts count="2"><numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATETIME_FORMAT}"/></numFmts>'
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
    '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
}
_WORKBOOK = (
    f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><bookViews><workbookView/></bookViews>'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets><definedNames>'
    '<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">{area}</definedName>'
    '</definedNames></workbook>'
)
_SHEET_HEAD = (
    f'{_XML}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}"><dimension ref="{{span}}"/>'
    '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
)
_SHEET_TAIL = '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a sheet: its header and the kind of value it holds (a `models.engine.Field` kind)."""

    title: str
    kind: str = 'str'

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f'Column {self.title!r}: unknown kind {self.kind!r} (one of {", ".join(sorted(KINDS))})')


def write(
    path: str | Path,
    sheet_title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> int:
    """Write `rows` under a bold, frozen, filterable header row to `path`; return the rows written.

    Cells are typed by their column's kind: ``date`` and ``datetime`` become Excel dates
    (``datetime`` values must be naive local time), ``int``/``float`` numbers, ``bool``
    TRUE/FALSE, None an empty cell, and everything else text (never a formula). A value
    that does not fit its column's kind is written as text rather than lost.

    `rows` is consumed lazily, one row at a time, into a temporary file beside `path`; the
    workbook is zipped from it at the end. `progress` is called with the count so far every
    `every` rows and once at the end. On any error no file is left at `path`.
    """
    columns = list(columns)
    if not columns:
        raise ValueError('A sheet needs at least one column.')
    if every < 1:
        raise ValueError('every must be 1 or more')
    path = Path(path)
    letters = [column_letter(c + 1) for c in range(len(columns))]
    cells = [_CELLS.get(c.kind, _bool_cell) for c in columns]
    widths = [min(len(c.title) + 4, MAX_WIDTH) for c in columns]  # room for the filter arrow
    count = reported = 0
    try:
        with tempfile.TemporaryFile(dir=path.parent) as data:
            data.write(_header_row(letters, columns).encode())
            for values in rows:
                if count >= MAX_WRITE_ROWS:
                    raise ValueError(
                        f'More than {MAX_WRITE_ROWS:,} rows do not fit in one Excel sheet; narrow the filter.'
                    )
                count += 1
                data.write(_row(count + 1, letters, cells, values, widths).encode())
                if progress is not None and count % every == 0:
                    progress(count)
                    reported = count
            _zip(path, _sheet_name(sheet_title), letters, widths, count, data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if progress is not None and reported != count:
        progress(count)
    return count


def column_letter(number: int) -> str:
    """Excel's name of column `number` (1 → A, 27 → AA)."""
    letters = ''
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _header_row(letters: list[str], columns: list[Column]) -> str:
    titles = (_text_cell(f'{letter}1', col.title, style=1)[0] for letter, col in zip(letters, columns, strict=True))
    return f'<row r="1">{"".join(titles)}</row>'


def _row(number: int, letters: list[str], cells: list[Any], values: Sequence[Any], widths: list[int]) -> str:
    """One ``<row>`` of cells; widens `widths` where a value needs more room."""
    parts = [f'<row r="{number}">']
    for c, letter in enumerate(letters):
        value = values[c] if c < len(values) else None
        if value is None or value == '':
            continue
        try:
            xml, width = cells[c](f'{letter}{number}', value)
        except ValueError as exc:
            raise ValueError(f'Column {c + 1}: {exc}') from None
        parts.append(xml)
        if width > widths[c]:
            widths[c] = min(width, MAX_WIDTH)
    parts.append('</row>')
    return ''.join(parts)


def _text_cell(ref: str, value: Any, style: int = 0) -> tuple[str, int]:
    text = value if isinstance(value, str) else _text(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + '…'
    width = len(text) if '\n' not in text else max((len(line) for line in text.splitlines()), default=0)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ''
    styled = f' s="{style}"' if style else ''
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>', width


def _number_cell(ref: str, value: Any) -> tuple[str, int]:
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        return _bool_cell(ref, value)
    number = float(value) if isinstance(value, decimal.Decimal) else value
    if isinstance(number, float) and not math.isfinite(number):
        return f'<c r="{ref}" t="e"><v>{"#NUM!" if math.isnan(number) else "#DIV/0!"}</v></c>', 7
    return f'<c r="{ref}"><v>{number!r}</v></c>', len(str(number))


def _bool_cell(ref: str, value: Any) -> tuple[str, int]:
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>', _FIXED_WIDTHS['bool']
    return _text_cell(ref, value)


def _date_cell(ref: str, value: Any) -> tuple[str, int]:
    if isinstance(value, bool) or not isinstance(value, dt.date):
        return _bool_cell(ref, value)
    day = value.date() if isinstance(value, dt.datetime) else value
    serial = _serial(dt.datetime.combine(day, dt.time()))
    if serial is None:
        return _text_cell(ref, day.isoformat())
    return f'<c r="{ref}" s="2"><v>{serial}</v></c>', _FIXED_WIDTHS['date']


def _datetime_cell(ref: str, value: Any) -> tuple[str, int]:
    if isinstance(value, bool) or not isinstance(value, dt.date):
        return _bool_cell(ref, value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        raise ValueError(f'datetimes must be naive local time, got {value!r}')
    moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
    serial = _serial(moment)
    if serial is None:
        return _text_cell(ref, moment.isoformat(sep=' '))
    return f'<c r="{ref}" s="3"><v>{serial}</v></c>', _FIXED_WIDTHS['datetime']


_CELLS: dict[str, Callable[[str, Any], tuple[str, int]]] = {
    'int': _number_cell,
    'float': _number_cell,
    'bool': _bool_cell,
    'date': _date_cell,
    'datetime': _datetime_cell,
}


def _serial(moment: dt.datetime) -> int | float | None:
    """Excel's day number of `moment` (1900 date system), or None before 1 March 1900 (Excel's leap-year bug)."""
    if moment < _FIRST_SERIAL_DAY:
        return None
    delta = moment - _EXCEL_EPOCH
    if not (delta.seconds or delta.microseconds):
        return delta.days
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def _xml_text(text: str) -> str:
    """`text` escaped for an XML element; characters XML cannot hold become Excel's ``_xHHHH_`` escapes."""
    if _EXCEL_ESCAPED.search(text):
        text = _EXCEL_ESCAPED.sub(lambda m: '_x005F' + m[0] if len(m[0]) > 1 else f'_x{ord(m[0]):04X}_', text)
    return text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def _attr(text: str) -> str:
    return _xml_text(text).replace('"', '&quot;')


def _zip(path: Path, name: str, letters: list[str], widths: list[int], count: int, data: IO[bytes]) -> None:
    """The workbook at `path`: one sheet whose ``<sheetData>`` rows are in `data`."""
    last = f'{letters[-1]}{count + 1}'
    span = 'A1' if last == 'A1' else f'A1:{last}'
    cols = ''.join(f'<col min="{c}" max="{c}" width="{w + 1}" customWidth="1"/>' for c, w in enumerate(widths, 1))
    head = _SHEET_HEAD.format(span=span, cols=cols)
    tail = f'</sheetData><autoFilter ref="{span}"/>{_SHEET_TAIL}'
    quoted = "'" + name.replace("'", "''") + "'"
    area = '!'.join([quoted, '$A$1' if span == 'A1' else f'$A$1:${letters[-1]}${count + 1}'])
    size = data.tell()
    data.seek(0)
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION) as book:
        for part, xml in _PARTS.items():
            book.writestr(part, xml)
        book.writestr('xl/workbook.xml', _WORKBOOK.format(name=_attr(name), area=_xml_text(area)))
        with book.open('xl/worksheets/sheet1.xml', 'w', force_zip64=size > _ZIP64_OVER) as sheet:
            sheet.write(head.encode())
            shutil.copyfileobj(data, sheet)
            sheet.write(tail.encode())


def _text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list | tuple | set | frozenset):
        return ', '.join(_text(v) for v in value)
    return str(value)


def _sheet_name(title: str) -> str:
    """A name Excel accepts: at most 31 characters, none of []:*?/\\, not 'History'."""
    name = re.sub(r'[\[\]:*?/\\\s]+', ' ', title or '').strip().strip("'")[:31].strip() or 'Sheet1'
    return name + ' 1' if name.lower() == 'history' else name


def read(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, Any]]]]:
    """The headers (row 1, stripped) and the non-empty rows of the first sheet of an .xlsx file.

    Each row comes as ``(excel row number, {header: value})``; blank text cells read as None.
    Dates come back as datetimes, booleans as bools, formulas as their last computed value.
    Raises `ValueError` with a message for the user when the file is not an .xlsx workbook,
    the sheet is empty, a header is blank or repeated (ignoring case), a value sits in a
    column without a header, or there are more than `MAX_READ_ROWS` rows.
    """
    if not data:
        raise ValueError('The file is empty.')
    if data.startswith(_OLE_MAGIC):
        raise ValueError('This is an old-style Excel file (.xls). Save it as "Excel Workbook (.xlsx)" and try again.')
    if not data.startswith(_ZIP_MAGIC):
        raise ValueError(_NOT_XLSX)
    try:
        import openpyxl  # here, not at the top: an export needs neither it nor the numpy it loads

        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and missing-part errors all mean "not a workbook"
        raise ValueError(_NOT_XLSX) from exc
    try:
        if not workbook.worksheets:
            raise ValueError('The workbook has no sheets.')
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong dimensions; read every row there is
        rows = sheet.iter_rows(values_only=True)
        first = next(rows, None)
        headers = [_header(v) for v in first or ()]
        while headers and headers[-1] == '':
            headers.pop()
        if not headers:
            if first is None or not any(not _blank(v) for row in rows for v in row):
                raise ValueError('The sheet is empty.')
            raise ValueError('Row 1 is empty: it must hold the column headers.')
        _check_headers(headers)
        out: list[tuple[int, dict[str, Any]]] = []
        for number, values in enumerate(rows, start=2):
            if all(_blank(v) for v in values):
                continue
            stray = next((i for i in range(len(headers), len(values)) if not _blank(values[i])), None)
            if stray is not None:
                raise ValueError(
                    f'Row {number} has a value in column {column_letter(stray + 1)}, '
                    'which has no header. Add a header or clear the column.'
                )
            if len(out) >= MAX_READ_ROWS:
                raise ValueError(f'The file has more than {MAX_READ_ROWS:,} rows. Split it into smaller files.')
            out.append((number, {h: _value(values[i]) if i < len(values) else None for i, h in enumerate(headers)}))
        return headers, out
    finally:
        workbook.close()


def _check_headers(headers: list[str]) -> None:
    blank = [column_letter(i + 1) for i, h in enumerate(headers) if h == '']
    if blank:
        raise ValueError(f'Column {", ".join(blank)} in row 1 has no header. Every column with values needs one.')
    seen: dict[str, list[str]] = {}
    for i, h in enumerate(headers):
        seen.setdefault(h.casefold(), []).append(column_letter(i + 1))
    repeated = [
        f'"{headers[[h.casefold() for h in headers].index(k)]}" (columns {" and ".join(cols)})'
        for k, cols in seen.items()
        if len(cols) > 1
    ]
    if repeated:
        raise ValueError(f'Each column header may appear only once: {"; ".join(repeated)}.')


def _header(value: Any) -> str:
    return '' if value is None else str(value).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == '')


def _value(value: Any) -> Any:
    return None if _blank(value) else value
