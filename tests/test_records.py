"""The records store on a real SQLite file and a real PostgreSQL server: the issued register,
idempotent and lossless."""

import dataclasses
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from agreementgen.errors import RecordsError
from agreementgen.records import SCHEMA_VERSION, IssuedDocument, IssuedFile, Records, SchemeInfo


def doc(list_size: str = "5,800", total: str = "£11,600.00") -> IssuedDocument:
    return IssuedDocument(
        doc_id="cpccg-qef-2017-18:v1:D81001:section7",
        scheme_id="cpccg-qef-2017-18",
        scheme_version="1",
        practice_code="D81001",
        practice_name="Meddygfa'r Llan & Café",
        kind="section7",
        terms={"term_list_size": list_size, "term_total": total},
        terms_digest=f"sha256:{list_size}{total}",
        practice={"code": "D81001", "list_size": 5800},
        files=(IssuedFile("pdf", "D81001/section7.pdf", "a" * 64, "b" * 64),),
    )


def test_a_new_database_is_created_with_its_schema_version(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'records.db'}"
    records = Records.open(url)
    assert records.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(tmp_path / "records.db")
    tables = {r[0] for r in conn.execute("select name from sqlite_master")}
    assert {"meta", "issued", "issued_files", "revisions"} <= tables and "issue_events" not in tables


def test_an_issued_document_round_trips(db_url: str):
    records = Records.open(db_url)
    records.register_issued([doc()])
    back = records.issued_document("cpccg-qef-2017-18:v1:D81001:section7")
    assert back is not None
    assert back.practice_name == "Meddygfa'r Llan & Café"
    assert back.terms == {"term_list_size": "5,800", "term_total": "£11,600.00"}
    assert back.files == (IssuedFile("pdf", "D81001/section7.pdf", "a" * 64, "b" * 64),)
    assert records.issued_document("nope") is None


def test_registering_the_same_terms_twice_changes_nothing(db_url: str):
    records = Records.open(db_url)
    assert records.register_issued([doc()]) == 0
    assert records.register_issued([doc()]) == 0
    assert len(records.issued_documents()) == 1
    assert [r.revision for r in records.revisions_of("cpccg-qef-2017-18:v1:D81001:section7")] == [1]


def test_a_reissue_is_a_new_revision_and_the_old_one_stays_as_it_was(db_url: str):
    records = Records.open(db_url)
    records.register_issued([doc()])
    second = dataclasses.replace(doc("6,000", "£12,000.00"), revision=2, reason="list size corrected")
    assert records.register_issued([second]) == 1
    current = records.issued_document("cpccg-qef-2017-18:v1:D81001:section7")
    assert current is not None and current.terms["term_total"] == "£12,000.00" and current.revision == 2
    old = records.issued_document("cpccg-qef-2017-18:v1:D81001:section7", revision=1)
    assert old is not None and old.terms["term_total"] == "£11,600.00" and old.superseded_at
    history = records.revisions_of("cpccg-qef-2017-18:v1:D81001:section7")
    assert [(r.revision, r.terms_digest, r.reason) for r in history] == [
        (1, "sha256:5,800£11,600.00", ""),
        (2, "sha256:6,000£12,000.00", "list size corrected"),
    ]


def test_a_revision_that_skips_one_is_refused(db_url: str):
    records = Records.open(db_url)
    records.register_issued([doc()])
    with pytest.raises(RecordsError, match="revision 3 cannot follow revision 1"):
        records.register_issued([dataclasses.replace(doc(), revision=3)])


def test_a_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "r.db"
    Records.open(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("update alembic_version set version_num = '0099'")
    with pytest.raises(RecordsError, match="schema version 99, newer than"):
        Records.open(f"sqlite:///{path}")


def test_a_database_from_before_alembic_that_is_newer_is_refused_too(tmp_path: Path):
    path = tmp_path / "r.db"
    with sqlite3.connect(path) as conn:
        conn.executescript("create table meta (key varchar(64) primary key, value text not null);"
                           "insert into meta values ('schema_version', '7');")  # fmt: skip
    with pytest.raises(
        RecordsError, match="schema version 7, newer than this agreementgen understands \\(6\\)"
    ):
        Records.open(f"sqlite:///{path}")


def test_the_schema_is_the_newest_migration_and_matches_the_tables_records_uses(db_url: str):
    from sqlalchemy import create_engine, inspect

    from agreementgen.records import metadata

    Records.open(db_url)
    made = inspect(create_engine(db_url))
    for table in metadata.sorted_tables:
        assert {c["name"] for c in made.get_columns(table.name)} == set(table.columns.keys()), table.name
        indexed = {c.name for c in table.columns if c.index}
        assert indexed <= {c for ix in made.get_indexes(table.name) for c in ix["column_names"]}, table.name


def test_an_unopenable_database_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RecordsError, match="cannot open the records database"):
        Records.open(f"sqlite:///{tmp_path / 'missing-folder' / 'r.db'}")


def test_a_version_1_database_is_migrated_keeping_its_register(tmp_path: Path):
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as conn:  # the release-1 schema, as it was created
        conn.executescript(
            """
            create table meta (key varchar(64) primary key, value text not null);
            insert into meta values ('schema_version', '1');
            create table issued (doc_id varchar(200) primary key, scheme_id varchar(64) not null,
              scheme_version varchar(32) not null, practice_code varchar(16) not null,
              practice_name text not null, kind varchar(32) not null, terms_json text not null,
              terms_digest varchar(80) not null, practice_json text not null,
              first_issued_at varchar(32) not null, last_issued_at varchar(32) not null);
            create table issued_files (doc_id varchar(200) not null, format varchar(8) not null,
              path text not null, sha256 varchar(64) not null, template_sha256 varchar(64) not null,
              primary key (doc_id, format));
            create table issue_events (id integer primary key autoincrement, doc_id varchar(200) not null,
              terms_digest varchar(80) not null, terms_json text not null, issued_at varchar(32) not null);
            insert into issued values ('cpccg-qef-2017-18:v1:D81001:section7', 'cpccg-qef-2017-18', '1',
              'D81001', 'Lensfield', 'section7', '{}', 'sha256:x', '{}', '2026-01-01', '2026-01-01');
            """
        )
    records = Records.open(f"sqlite:///{path}")
    assert records.schema_version() == SCHEMA_VERSION == 6
    kept = records.issued_document("cpccg-qef-2017-18:v1:D81001:section7")
    assert kept is not None and kept.practice_name == "Lensfield" and kept.form_tags == ()
    assert kept.revision == 1 and kept.terms_digest == "sha256:x" and kept.wording == ""
    assert records.returns_for() == [] and records.signups_for("cpccg-qef-2017-18") == {}


def test_form_tags_round_trip(db_url: str):
    records = Records.open(db_url)
    records.register_issued([dataclasses.replace(doc(), form_tags=("lead_a", "practice_signature"))])
    back = records.issued_document("cpccg-qef-2017-18:v1:D81001:section7")
    assert back is not None and back.form_tags == ("lead_a", "practice_signature")


def test_a_schema_3_database_keeps_each_issue_as_a_revision(tmp_path: Path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from agreementgen import migrations

    url = f"sqlite:///{tmp_path / 'v3.db'}"
    config = Config()
    config.set_main_option("script_location", str(migrations.SCRIPTS))
    doc = "q:v1:D81001:section7"
    with create_engine(url).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003")  # the release before revisions
        conn.execute(
            text(
                "insert into issued (doc_id, scheme_id, scheme_version, practice_code, practice_name, kind, "
                "terms_json, terms_digest, practice_json, form_json, first_issued_at, last_issued_at) values "
                "(:d, 'q', '1', 'D81001', 'Lensfield', 'section7', :t, 'sha256:b', '{}', '[]', '2026-01-01', "
                "'2026-02-01')"
            ),
            {"d": doc, "t": '{"term_total": "£12,000.00"}'},
        )
        conn.execute(
            text("insert into issued_files values (:d, 'pdf', 'D81001/section7.pdf', 'c', 't')"), {"d": doc}
        )
        for digest, total, at in (
            ("sha256:a", "£11,600.00", "2026-01-01"),
            ("sha256:b", "£12,000.00", "2026-02-01"),
        ):
            conn.execute(
                text(
                    "insert into issue_events (doc_id, terms_digest, terms_json, issued_at) "
                    "values (:d, :g, :t, :a)"
                ),
                {"d": doc, "g": digest, "t": f'{{"term_total": "{total}"}}', "a": at},
            )
    records = Records.open(url)
    one, two = records.revisions_of(doc)
    assert (one.revision, one.terms["term_total"], one.superseded_at, one.files) == (
        1,
        "£11,600.00",
        "2026-02-01",
        (),
    )
    assert (two.revision, two.terms["term_total"], two.superseded_at) == (2, "£12,000.00", None)
    assert two.files == (IssuedFile("pdf", "D81001/section7.pdf", "c", "t"),)
    current = records.issued_document(doc)
    assert current is not None and current.revision == 2 and current.wording == ""


def test_the_schemes_on_record_are_named_without_their_specs(db_url: str):
    records = Records.open(db_url)
    records.set_scheme_rules("cpccg-les-2017-18", "2", date(2017, 6, 30), {}, title="C&P LES 2017/18",
                             model="services", default_kind="sla")  # fmt: skip
    older = dataclasses.replace(doc(), doc_id="old-qef:v3:D81001:section7", scheme_id="old-qef",
                                scheme_version="3")  # fmt: skip
    records.register_issued([doc(), older])
    # a release before schema 6 kept the rules without title, model or default kind
    records.set_scheme_rules("cpccg-qef-2017-18", "1", None, {})
    assert records.schemes() == [
        SchemeInfo("cpccg-les-2017-18", "2", "C&P LES 2017/18", "services", "sla", date(2017, 6, 30)),
        SchemeInfo("cpccg-qef-2017-18", "1", "cpccg-qef-2017-18", "per_capita", "section7", None),
        SchemeInfo("old-qef", "3", "old-qef", "per_capita", "section7", None),  # issued, no rules kept
    ]
    # one scheme's page asks for that one alone
    assert records.schemes("old-qef") == records.schemes()[2:]
    assert records.schemes("cpccg-les-2017-18") == records.schemes()[:1]
    assert records.schemes("no-such-scheme") == []
