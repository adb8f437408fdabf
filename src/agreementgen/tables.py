"""Tabular files in and out: CSV (any encoding a user meets), XLSX and zipped CSV.

Reading gives every file the same shape — a list of rows of strings, each with
the row number a person sees in Excel or a text editor (header = row 1) — so the
loaders in ``practices.py`` never care whether a file came from Excel, a
Windows-1252 export or an NHS Digital zip.

Reading is bounded and never opens a FIFO or a device: a file (or a zip's CSV) over
``MAX_FILE_BYTES``, a damaged zip or XLSX and text in no known encoding are each one
``PracticeDataError`` naming the file, whatever the library underneath raised.

Writing (``write_csv``, ``write_xlsx``) is atomic (temp file + rename) and
neutralises spreadsheet formula injection: a cell that starts with ``=``, ``+``,
``-``, ``@``, tab or carriage return is written with a leading apostrophe so
Excel shows it as text instead of running it. An XLSX cannot hold control
characters (XML forbids them; openpyxl raises ``IllegalCharacterError``), so the
XLSX writer replaces each, and any other character XML forbids, with U+FFFD
(``Bad\x07Name`` → ``Bad�Name``: the cell shows where a character was, rather than
silently joining the words around it), and cuts a cell at Excel's 32,767 characters.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from .errors import OutputError, PracticeDataError

# A zipped CSV larger than this when unpacked is refused (zip-bomb guard); the
# largest real NHS file we read (quin-age, July 2026) unpacks to 21 MB.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MAX_FILE_BYTES = MAX_UNZIPPED_BYTES  # a plain CSV, or an XLSX or zip as stored
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Characters no XML document (XLSX, DOCX) may contain: C0 controls but tab, LF and CR, lone
# surrogates (a file name read with surrogateescape) and the two non-characters U+FFFE/U+FFFF.
# openpyxl's ILLEGAL_CHARACTERS_RE is only the C0 part: lxml refuses the rest when the file is saved.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
XLSX_CELL_LIMIT = 32_767  # characters Excel keeps in one cell
# What zipfile raises for a damaged, truncated, encrypted or exotic archive besides BadZipFile.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError,
               RuntimeError, EOFError, ValueError, OSError)  # fmt: skip


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
        try:
            return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:  # a UTF-8 mark on text that is not UTF-8
            raise PracticeDataError(
                f"starts as UTF-8 but byte {data[3 + exc.start]:#04x} at offset {3 + exc.start} is not; "
                "save it from Excel as 'CSV UTF-8' again",
                path=path,
                row=data.count(b"\n", 0, 3 + exc.start) + 1,
            ) from exc
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
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would hang the run, a device never end
            raise PracticeDataError("not a regular file (a pipe, device or folder)", path=path)
        if info.st_size > MAX_FILE_BYTES:
            raise PracticeDataError(
                f"{info.st_size:,} bytes is over the {MAX_FILE_BYTES:,}-byte limit for a practice file",
                path=path,
            )
        with path.open("rb") as fh:
            head = fh.read(4)
            # A zip or XLSX is read by zipfile from the path; a CSV is read here, within the bound.
            data = b"" if head.startswith(b"PK") else head + fh.read(MAX_FILE_BYTES)
    except FileNotFoundError as exc:
        raise PracticeDataError("file not found", path=path) from exc
    except OSError as exc:
        raise PracticeDataError(f"cannot read: {exc.strerror or exc}", path=path) from exc
    if head.startswith(b"PK"):
        return _read_zip_or_xlsx(path, row_filter)
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
                unpacked = sum(i.file_size for i in zf.infolist())
                if unpacked > MAX_UNZIPPED_BYTES:  # an XLSX is a zip too: the same bomb guard
                    raise PracticeDataError(
                        f"the workbook unpacks to {unpacked:,} bytes, over the "
                        f"{MAX_UNZIPPED_BYTES:,}-byte limit",
                        path=path,
                    )
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
    except _ZIP_ERRORS as exc:
        raise PracticeDataError(
            f"not a valid zip or XLSX file (damaged or cut short?): {_brief(exc)}", path=path
        ) from exc
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

    # openpyxl warns on the terminal about styles and extensions it skips; the user needs none of it.
    # The file is opened here, not by openpyxl, so that it is closed whatever openpyxl raises.
    with warnings.catch_warnings(), path.open("rb") as fh:
        warnings.simplefilter("ignore")
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise PracticeDataError(f"cannot open as XLSX: {_brief(exc)}", path=path) from exc
        read = [0]  # the last row read, for the message when a damaged sheet breaks off
        try:
            if not wb.worksheets:
                raise PracticeDataError("the workbook has no worksheet", path=path)
            return _collect(_xlsx_rows(wb.worksheets[0], read), path, "xlsx", row_filter)
        except PracticeDataError:
            raise
        except Exception as exc:  # read-only sheets are parsed row by row: damage shows up here
            where = f"after row {read[0]}" if read[0] else "from its start"
            raise PracticeDataError(
                f"the first worksheet cannot be read {where} (damaged?): {_brief(exc)}", path=path
            ) from exc
        finally:
            wb.close()


def _xlsx_rows(sheet: Any, read: list[int]) -> Iterator[Row]:
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        read[0] = number
        cells = [_cell_text(v) for v in values]
        if "".join(cells).strip():
            yield Row(number, cells)


def _brief(exc: BaseException) -> str:
    """A library's message, one line and short (a damaged file can make it a page of XML)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


def neutralise(value: object) -> object:
    """Make a cell safe to open in a spreadsheet (see the module docstring)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def xlsx_cell(value: object) -> object:
    """A cell an XLSX can hold: neutralised, control characters replaced, cut at Excel's limit."""
    value = neutralise(value)
    if isinstance(value, str):
        value = UNPRINTABLE.sub("\ufffd", value)
        if len(value) > XLSX_CELL_LIMIT:
            value = value[: XLSX_CELL_LIMIT - 1] + "…"
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
    ws.append([xlsx_cell(h) for h in header])
    for row in rows:
        ws.append([xlsx_cell(c) for c in row])
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
