"""Tabular files in and out: CSV (any encoding a user meets), XLSX and zipped CSV.

Reading gives every file the same shape — a list of rows of strings, each with
the row number a person sees in Excel or a text editor (header = row 1) — so the
loaders in ``practices.py`` never care whether a file came from Excel, a
Windows-1252 export or an NHS Digital zip.

Writing (``write_csv``, ``write_xlsx``) is atomic (temp file + rename) and
neutralises spreadsheet formula injection: a cell that starts with ``=``, ``+``,
``-``, ``@``, tab or carriage return is written with a leading apostrophe so
Excel shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from .errors import OutputError, PracticeDataError

# A zipped CSV larger than this when unpacked is refused (zip-bomb guard); the
# largest real NHS file we read (quin-age, July 2026) unpacks to 21 MB.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Row(NamedTuple):  # a NamedTuple: national files have 300,000+ rows
    number: int  # 1-based, as a person sees it (the header is row 1)
    cells: list[str]


@dataclass
class Table:
    path: Path
    rows: list[Row]
    encoding: str  # "utf-8", "utf-8-sig", "cp1252" or "xlsx"
    skipped: int = 0  # data rows a RowFilter left out while reading

    @property
    def data_rows(self) -> int:
        """Rows after the first in the file, kept or skipped."""
        return max(len(self.rows) - 1, 0) + self.skipped


# Given the first row, a test for the rows worth keeping (None keeps all). National files
# carry hundreds of thousands of rows a loader discards (other age bands, other
# organisation types); dropping them while reading keeps memory flat.
RowFilter = Callable[[list[str]], Callable[[list[str]], bool] | None]


def _collect(rows: Iterable[Row], path: Path, encoding: str, row_filter: RowFilter | None) -> Table:
    kept: list[Row] = []
    keep: Callable[[list[str]], bool] | None = None
    skipped = 0
    for row in rows:
        if not kept:
            keep = row_filter(row.cells) if row_filter else None
        elif keep is not None and not keep(row.cells):
            skipped += 1
            continue
        kept.append(row)
    return Table(path=path, rows=kept, encoding=encoding, skipped=skipped)


def decode_text(data: bytes, path: Path) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 with or without BOM, else Windows-1252 (Excel's 'CSV')."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise PracticeDataError(
            f"not UTF-8 or Windows-1252 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "save it from Excel as 'CSV UTF-8'",
            path=path,
        ) from exc


def read_table(path: str | Path, row_filter: RowFilter | None = None) -> Table:
    """Read a CSV, XLSX or single-CSV zip into rows of strings (the first row always kept)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except FileNotFoundError as exc:
        raise PracticeDataError("file not found", path=path) from exc
    except OSError as exc:
        raise PracticeDataError(f"cannot read: {exc.strerror}", path=path) from exc
    if head.startswith(b"PK"):
        return _read_zip_or_xlsx(path, row_filter)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PracticeDataError(f"cannot read: {exc.strerror}", path=path) from exc
    text, encoding = decode_text(data, path)
    del data
    return _collect(_csv_rows(text, path), path, encoding, row_filter)


def _csv_rows(text: str, path: Path) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            if "".join(cells).strip():  # skips blank lines and Excel's empty ",,,," rows
                yield Row(start, cells)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise PracticeDataError(f"not valid CSV: {exc}", path=path, row=reader.line_num) from exc


def _read_zip_or_xlsx(path: Path, row_filter: RowFilter | None) -> Table:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
                return _read_xlsx(path, row_filter)
            csvs = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
            if len(csvs) != 1:
                raise PracticeDataError(
                    f"a zip must hold exactly one .csv file; found {len(csvs)}", path=path
                )
            info = csvs[0]
            if info.file_size > MAX_UNZIPPED_BYTES:
                raise PracticeDataError(
                    f"{info.filename} unpacks to {info.file_size:,} bytes, over the "
                    f"{MAX_UNZIPPED_BYTES:,}-byte limit",
                    path=path,
                )
            data = zf.read(info)
    except zipfile.BadZipFile as exc:
        raise PracticeDataError(f"not a valid zip or XLSX file: {exc}", path=path) from exc
    text, encoding = decode_text(data, path)
    del data
    return _collect(_csv_rows(text, path), path, encoding, row_filter)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        # Excel stores every number as a float; 5800.0 is the count 5800.
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, row_filter: RowFilter | None) -> Table:
    import openpyxl  # imported here: only XLSX users pay for it

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise PracticeDataError(f"cannot open as XLSX: {exc}", path=path) from exc
    try:
        return _collect(_xlsx_rows(wb.worksheets[0]), path, "xlsx", row_filter)
    finally:
        wb.close()


def _xlsx_rows(sheet: Any) -> Iterator[Row]:
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_cell_text(v) for v in values]
        if "".join(cells).strip():
            yield Row(number, cells)


def neutralise(value: object) -> object:
    """Make a cell safe to open in a spreadsheet (see the module docstring)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _atomic_target(path: Path) -> tuple[int, str]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write here: {exc.strerror}", path=path) from exc


def write_csv(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Write a UTF-8 (with BOM, so Excel reads accents right) CSV atomically."""
    path = Path(path)
    fd, tmp = _atomic_target(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([neutralise(h) for h in header])
            for row in rows:
                writer.writerow([neutralise(c) for c in row])
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write: {exc.strerror}", path=path) from exc


def write_xlsx(
    path: str | Path, header: Sequence[str], rows: Sequence[Sequence[object]], sheet: str = "Sheet1"
) -> None:
    """Write a one-sheet XLSX atomically; strings never become formulas."""
    import openpyxl

    path = Path(path)
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]
    ws.append([neutralise(h) for h in header])
    for row in rows:
        ws.append([neutralise(c) for c in row])
    for cell in ws[1]:
        cell.font = openpyxl.styles.Font(bold=True)
    fd, tmp = _atomic_target(path)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write: {exc.strerror}", path=path) from exc


def write_table(
    path: str | Path, header: Sequence[str], rows: Sequence[Sequence[object]], sheet: str
) -> None:
    """A ``.csv`` or ``.xlsx`` file, by its suffix (anything else is refused, nothing written)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_csv(path, header, rows)
    elif suffix == ".xlsx":
        write_xlsx(path, header, rows, sheet=sheet)
    else:
        raise OutputError("give a .csv or .xlsx file name", path=path)
