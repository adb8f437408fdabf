"""Bulk runs: every practice's pack on disk, registered, reproducible, resumable, isolated."""

import dataclasses
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from agreementgen import bulk
from agreementgen.bulk import JOURNAL, RunOptions
from agreementgen.errors import OutputError, TemplateError
from agreementgen.records import Records
from agreementgen.validation import load_inputs
from conftest import EPRACCUR_2023_06H, LIST_SIZES_2021_06H, QEF, ROOT

TEMPLATES = ROOT / "templates"
INPUTS = load_inputs(QEF, [EPRACCUR_2023_06H, LIST_SIZES_2021_06H], commissioner="06H")
FIVE = INPUTS.data.practices[:5]


def options(tmp_path: Path, out: str = "out", **kw) -> RunOptions:
    return RunOptions(
        out_dir=tmp_path / out,
        templates_dir=kw.pop("templates_dir", TEMPLATES),
        db_url=f"sqlite:///{tmp_path / 'records.db'}",
        **kw,
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_writes_each_practices_docx_and_pdf_and_a_manifest(tmp_path: Path):
    report = bulk.run(INPUTS.scheme, FIVE, options(tmp_path))
    out = tmp_path / "out"
    assert report.failures == []
    assert report.rendered == 10 and report.reused == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(p.code for p in FIVE)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scheme"] == {"id": "cpccg-qef-2017-18", "version": "1", "title": INPUTS.scheme.title}
    entry = next(e for e in manifest["files"] if e["path"] == "D81001/section7.pdf")
    assert entry["doc_id"] == "cpccg-qef-2017-18:v1:D81001:section7"
    assert entry["practice"] == "D81001" and entry["kind"] == "section7" and entry["format"] == "pdf"
    assert entry["sha256"] == sha(out / "D81001/section7.pdf")
    assert len(entry["template_sha256"]) == 64
    docx_entry = next(e for e in manifest["files"] if e["path"] == "D81001/section7.docx")
    assert docx_entry["template_sha256"] == sha(TEMPLATES / "section7.docx")
    # real readers open what was written, and the practice's own figures are in it
    text = "\n".join(p.text for p in Document(out / "D81001/section7.docx").paragraphs)
    assert "LENSFIELD MEDICAL PRACTICE" in text
    fields = PdfReader(out / "D81001/section7.pdf").get_fields()
    assert fields["term_total"]["/V"] == "£25,462.00"
    assert not (out / JOURNAL).exists()


def test_every_issued_document_is_in_the_register(tmp_path: Path):
    bulk.run(INPUTS.scheme, FIVE, options(tmp_path))
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    issued = records.issued_documents("cpccg-qef-2017-18")
    assert [d.practice_code for d in issued] == sorted(p.code for p in FIVE)
    d = records.issued_document("cpccg-qef-2017-18:v1:D81001:section7")
    assert d is not None
    assert d.terms["term_total"] == "£25,462.00"
    assert d.terms["term_list_size"] == "12,731"
    assert [f.format for f in d.files] == ["docx", "pdf"]
    assert d.practice["name"] == "LENSFIELD MEDICAL PRACTICE"


def test_the_same_inputs_give_byte_identical_files_with_one_or_two_jobs(tmp_path: Path):
    ten = INPUTS.data.practices[:10]
    bulk.run(INPUTS.scheme, ten, options(tmp_path, "a", jobs=1))
    bulk.run(INPUTS.scheme, ten, options(tmp_path, "b", jobs=2))
    a_files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*") if p.suffix != ".db"
    )
    b_files = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*") if p.suffix != ".db"
    )
    assert a_files == b_files and len(a_files) == 21  # 20 documents + manifest
    for rel in a_files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_a_rerun_skips_finished_files_and_redoes_missing_ones(tmp_path: Path):
    bulk.run(INPUTS.scheme, FIVE, options(tmp_path))
    again = bulk.run(INPUTS.scheme, FIVE, options(tmp_path))
    assert (again.rendered, again.reused) == (0, 10)
    (tmp_path / "out" / FIVE[0].code / "section7.pdf").unlink()
    third = bulk.run(INPUTS.scheme, FIVE, options(tmp_path))
    assert [f.path for f in third.files if not f.reused] == [f"{FIVE[0].code}/section7.pdf"]
    forced = bulk.run(INPUTS.scheme, FIVE, options(tmp_path, resume=False))
    assert forced.rendered == 10 and not forced.failures


def test_a_changed_document_is_refused_without_reissue_and_nothing_of_it_is_written(tmp_path: Path):
    bulk.run(INPUTS.scheme, FIVE, options(tmp_path))
    before = (tmp_path / "out" / FIVE[1].code / "section7.pdf").read_bytes()
    changed = [dataclasses.replace(FIVE[1], list_size=FIVE[1].list_size + 1), FIVE[0], *FIVE[2:]]
    refused = bulk.run(INPUTS.scheme, changed, options(tmp_path))
    assert [code for code, _ in refused.failures] == [FIVE[1].code]
    why = refused.failures[0][1]
    assert "differs from revision 1 on record" in why and "--reissue" in why
    assert (tmp_path / "out" / FIVE[1].code / "section7.pdf").read_bytes() == before
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    doc_id = f"cpccg-qef-2017-18:v1:{FIVE[1].code}:section7"
    assert [r.revision for r in records.revisions_of(doc_id)] == [1]


def test_a_reissue_is_revision_2_and_keeps_revision_1_and_its_files(tmp_path: Path):
    bulk.run(INPUTS.scheme, FIVE, options(tmp_path))
    out = tmp_path / "out"
    first = (out / FIVE[1].code / "section7.pdf").read_bytes()
    changed = [dataclasses.replace(FIVE[1], list_size=FIVE[1].list_size + 1), FIVE[0], *FIVE[2:]]
    report = bulk.run(INPUTS.scheme, changed, options(tmp_path, reissue="list size corrected by NHS Digital"))
    assert not report.failures
    assert sorted(f.path for f in report.files if not f.reused) == [
        f"{FIVE[1].code}/section7.docx",
        f"{FIVE[1].code}/section7.pdf",
    ]
    assert (out / FIVE[1].code / "revisions" / "section7.r1.pdf").read_bytes() == first
    records = Records.open(f"sqlite:///{tmp_path / 'records.db'}")
    doc_id = f"cpccg-qef-2017-18:v1:{FIVE[1].code}:section7"
    one, two = records.revisions_of(doc_id)
    assert (one.revision, two.revision, two.reason) == (1, 2, "list size corrected by NHS Digital")
    assert one.superseded_at and two.superseded_at is None
    assert {f.path for f in one.files} == {
        f"{FIVE[1].code}/revisions/section7.r1.docx",
        f"{FIVE[1].code}/revisions/section7.r1.pdf",
    }
    assert one.terms["term_list_size"] != two.terms["term_list_size"]
    from agreementgen.returns import read_return

    assert read_return((out / FIVE[1].code / "section7.pdf").read_bytes()).revision == 2
    assert read_return((out / FIVE[1].code / "section7.docx").read_bytes()).revision == 2
    assert read_return((out / FIVE[0].code / "section7.pdf").read_bytes()).revision == 1


def test_an_interrupted_run_leaves_no_half_file_and_a_rerun_completes_it(tmp_path: Path):
    out = tmp_path / "out"
    args = [
        sys.executable, "-m", "agreementgen.cli", "generate", "-s", str(QEF),
        "-p", str(EPRACCUR_2023_06H), "-p", str(LIST_SIZES_2021_06H),
        "--out", str(out), "--jobs", "1", "--db", f"sqlite:///{tmp_path / 'records.db'}",
    ]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*/section7.pdf"))) < 10:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "manifest.json").exists(), "the run finished before it could be interrupted"
    finished_before = {p: sha(p) for p in out.glob("*/section7.*")}
    for path in finished_before:  # whatever exists is whole: real readers open it
        if path.suffix == ".pdf":
            PdfReader(path).pages[0].extract_text()
        else:
            Document(path)
    report = bulk.run(INPUTS.scheme, INPUTS.data.practices, options(tmp_path))
    assert report.failures == []
    assert len(report.files) == 2 * 85
    assert report.reused >= len(finished_before) - 2  # at most the file being written was lost
    assert not list(out.rglob("*.tmp"))
    assert {p: sha(p) for p in finished_before} == finished_before


def test_one_bad_practice_does_not_stop_the_run(tmp_path: Path):
    no_list_size = dataclasses.replace(FIVE[0], list_size=None)
    bad_code = dataclasses.replace(FIVE[1], code="../../etc")
    report = bulk.run(INPUTS.scheme, [no_list_size, bad_code, *FIVE[2:]], options(tmp_path))
    assert [code for code, _ in report.failures] == sorted([FIVE[0].code, "../../etc"])
    reasons = dict(report.failures)
    assert "has no list size" in reasons[FIVE[0].code]
    assert "not a valid ODS practice code" in reasons["../../etc"]
    assert report.rendered == 6
    assert not (tmp_path / "etc").exists()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {f["practice"] for f in manifest["failures"]} == {FIVE[0].code, "../../etc"}


def test_an_unwritable_output_folder_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(OutputError) as info:
        bulk.run(INPUTS.scheme, FIVE, dataclasses.replace(options(tmp_path), out_dir=blocker / "out"))
    assert "not writable" in info.value.message
    assert info.value.path == str(blocker / "out")


def broken_template(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    source = zipfile.ZipFile(TEMPLATES / "section7.docx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                assert old in text
                data = text.replace(old, new, 1).encode("utf-8")
            target.writestr(item, data)
    (folder / "section7.docx").write_bytes(buffer.getvalue())
    return folder


def test_a_template_with_an_unknown_variable_stops_the_run_before_any_practice(tmp_path: Path):
    folder = broken_template(tmp_path, "practice.name", "practice.nmae")
    with pytest.raises(TemplateError) as info:
        bulk.run(INPUTS.scheme, FIVE, options(tmp_path, templates_dir=folder))
    assert "practice.nmae" in info.value.message
    assert info.value.path == str(folder / "section7.docx")
    assert not list((tmp_path / "out").glob("*/section7.*"))


def test_a_template_with_a_syntax_error_stops_the_run_before_any_practice(tmp_path: Path):
    folder = broken_template(tmp_path, "{{ practice.name }}", "{{ practice.name }")
    with pytest.raises(TemplateError) as info:
        bulk.run(INPUTS.scheme, FIVE, options(tmp_path, templates_dir=folder))
    assert info.value.path == str(folder / "section7.docx")
    assert info.value.line is not None
    assert not list((tmp_path / "out").glob("*/section7.*"))
