"""Excel files: a streaming, typed, row-wise writer and a strict reader for uploads.

`write` goes straight to XlsxWriter in ``constant_memory`` mode: each row is flushed to disk
as soon as the next one starts, so memory stays flat however many rows come. Never route a
large export through pandas: it writes by column, and ``constant_memory`` then silently drops
data.

`read` opens an upload with openpyxl in read-only mode and turns it into a header list and
``(excel row number, {header: value})`` pairs, refusing anything that is not a usable sheet
with a `ValueError` whose message can be shown to the user as it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import enum
import io
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter
from openpyxl.utils import get_column_letter

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

    `rows` is consumed lazily, one row at a time; `progress` is called with the count so far
    every `every` rows and once at the end. On any error the partial file is removed.
    """
    columns = list(columns)
    if not columns:
        raise ValueError('A sheet needs at least one column.')
    if every < 1:
        raise ValueError('every must be 1 or more')
    path = Path(path)
    workbook = xlsxwriter.Workbook(str(path), {'constant_memory': True, 'nan_inf_to_errors': True})
    try:
        sheet = workbook.add_worksheet(_sheet_name(sheet_title))
        bold = workbook.add_format({'bold': True, 'bottom': 1})
        formats = {
            'date': workbook.add_format({'num_format': DATE_FORMAT}),
            'datetime': workbook.add_format({'num_format': DATETIME_FORMAT}),
        }
        kinds = [c.kind for c in columns]
        widths = [min(len(c.title) + 4, MAX_WIDTH) for c in columns]  # room for the filter arrow
        for c, col in enumerate(columns):
            sheet.write_string(0, c, col.title, bold)
        count = 0
        reported = -1
        for values in rows:
            if count >= MAX_WRITE_ROWS:
                raise ValueError(f'More than {MAX_WRITE_ROWS:,} rows do not fit in one Excel sheet; narrow the filter.')
            count += 1
            for c, kind in enumerate(kinds):
                value = values[c] if c < len(values) else None
                width = _write_cell(sheet, count, c, kind, value, formats)
                if width > widths[c]:
                    widths[c] = min(width, MAX_WIDTH)
            if progress is not None and count % every == 0:
                progress(count)
                reported = count
        for c, width in enumerate(widths):
            sheet.set_column(c, c, width + 1)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, count, len(columns) - 1)
        workbook.close()
    except BaseException:
        _discard(workbook, path)
        raise
    if progress is not None and reported != count:
        progress(count)
    return count


def _write_cell(sheet: Any, row: int, col: int, kind: str, value: Any, formats: dict[str, Any]) -> int:
    """Write one typed cell; return the width it needs."""
    if value is None or value == '':
        return 0
    if kind == 'date' and isinstance(value, dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        sheet.write_datetime(row, col, day, formats['date'])
        return _FIXED_WIDTHS['date']
    if kind == 'datetime' and isinstance(value, dt.date):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            raise ValueError(f'Column {col + 1}: datetimes must be naive local time, got {value!r}')
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        sheet.write_datetime(row, col, moment, formats['datetime'])
        return _FIXED_WIDTHS['datetime']
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
        return _FIXED_WIDTHS['bool']
    if kind in ('int', 'float') and isinstance(value, int | float | decimal.Decimal):
        number = float(value) if isinstance(value, decimal.Decimal) else value
        sheet.write_number(row, col, number)
        return len(str(number))
    text = _text(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + '…'
    sheet.write_string(row, col, text)
    return max((len(line) for line in text.splitlines()), default=0)


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


def _discard(workbook: Any, path: Path) -> None:
    with contextlib.suppress(Exception):  # already failing: the original error is what matters
        workbook.close()
    path.unlink(missing_ok=True)


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
                    f'Row {number} has a value in column {get_column_letter(stray + 1)}, '
                    'which has no header. Add a header or clear the column.'
                )
            if len(out) >= MAX_READ_ROWS:
                raise ValueError(f'The file has more than {MAX_READ_ROWS:,} rows. Split it into smaller files.')
            out.append((number, {h: _value(values[i]) if i < len(values) else None for i, h in enumerate(headers)}))
        return headers, out
    finally:
        workbook.close()


def _check_headers(headers: list[str]) -> None:
    blank = [get_column_letter(i + 1) for i, h in enumerate(headers) if h == '']
    if blank:
        raise ValueError(f'Column {", ".join(blank)} in row 1 has no header. Every column with values needs one.')
    seen: dict[str, list[str]] = {}
    for i, h in enumerate(headers):
        seen.setdefault(h.casefold(), []).append(get_column_letter(i + 1))
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
