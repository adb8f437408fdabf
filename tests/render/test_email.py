"""Email templates: the subject line, sandboxed rendering, HTML escaping, and check-template."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agreementgen.cli import app
from agreementgen.errors import TemplateError
from agreementgen.render.email import EmailTemplate, check_email_template, one_line
from agreementgen.send import example_context
from agreementgen.validation import load_any_scheme
from conftest import QEF, ROOT, SCHEMES

SHIPPED = ROOT / "templates" / "email"
SPEC = load_any_scheme(QEF)


def context_named(name: str) -> dict:
    context = example_context(SPEC, "section7", "send")
    context["practice"]["name"] = name
    return context


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


@pytest.mark.parametrize("spec", sorted(SCHEMES.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("purpose", ["send", "remind"])
def test_the_shipped_email_templates_render_for_every_shipped_scheme(spec: Path, purpose: str) -> None:
    scheme = load_any_scheme(spec)
    kind = "section7" if scheme.__class__.__name__ == "Scheme" else "sla"
    rendered = EmailTemplate(SHIPPED, purpose).render(example_context(scheme, kind, purpose))
    assert "Example Surgery" in rendered.subject and "A00001" in rendered.subject
    assert rendered.text.startswith("Dear colleagues at Example Surgery,\n")
    assert scheme.commissioner.name in rendered.text
    assert rendered.html is None  # the shipped ones are plain text only


def test_the_first_line_is_the_subject_and_the_blank_line_after_it_is_not_the_body(tmp_path: Path) -> None:
    write(tmp_path, "send.txt", "Subject: Pack for {{ practice.code }}\n\nHello {{ practice.name }}.\n")
    rendered = EmailTemplate(tmp_path, "send").render(context_named("Example Surgery"))
    assert (rendered.subject, rendered.text) == ("Pack for A00001", "Hello Example Surgery.\n")


def test_a_template_without_a_subject_line_is_refused_at_line_1(tmp_path: Path) -> None:
    write(tmp_path, "send.txt", "Dear {{ practice.name }}\n")
    with pytest.raises(TemplateError) as caught:
        EmailTemplate(tmp_path, "send")
    assert caught.value.line == 1
    assert "the first line must be the subject, written 'Subject: …'" in str(caught.value)


def test_a_syntax_error_names_its_line_in_the_file(tmp_path: Path) -> None:
    write(tmp_path, "send.txt", "Subject: x\n\nline 3\n{% if practice.name %}\nno endif\n")
    with pytest.raises(TemplateError) as caught:
        EmailTemplate(tmp_path, "send")
    assert caught.value.path == str(tmp_path / "send.txt")
    assert "template syntax error, line" in str(caught.value)


def test_practice_data_is_data_and_the_sandbox_holds(tmp_path: Path) -> None:
    write(tmp_path, "send.txt", "Subject: {{ practice.name }}\n\n{{ practice.name }}\n")
    rendered = EmailTemplate(tmp_path, "send").render(context_named("{{ 7*7 }} Surgery"))
    assert rendered.subject == "{{ 7*7 }} Surgery" and rendered.text == "{{ 7*7 }} Surgery\n"
    write(tmp_path, "send.txt", "Subject: x\n\n{{ practice.name.__class__.__mro__ }}\n")
    with pytest.raises(TemplateError):
        EmailTemplate(tmp_path, "send").render(context_named("A"))


def test_the_html_template_is_escaped_and_the_text_one_is_not(tmp_path: Path) -> None:
    write(tmp_path, "send.txt", "Subject: {{ practice.name }}\n\n{{ practice.name }}\n")
    write(tmp_path, "send.html", "<p>{{ practice.name }}</p>\n")
    rendered = EmailTemplate(tmp_path, "send").render(context_named("Smith & Jones <Surgery>"))
    assert rendered.text == "Smith & Jones <Surgery>\n"
    assert rendered.html == "<p>Smith &amp; Jones &lt;Surgery&gt;</p>\n"


def test_the_subject_is_one_line_whatever_a_value_holds(tmp_path: Path) -> None:
    write(tmp_path, "send.txt", "Subject: Pack for {{ practice.name }}\n\nx\n")
    rendered = EmailTemplate(tmp_path, "send").render(
        context_named("A\r\nBcc: x@attacker.example\x00\u2028B")
    )
    assert rendered.subject == "Pack for A Bcc: x@attacker.example B"
    assert one_line(" a\n\n b\t c ") == "a b c"


def test_a_misspelt_variable_is_an_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path, "send.txt", "Subject: x\n\n{{ practice.nmae }}\n")
    with pytest.raises(TemplateError) as caught:
        EmailTemplate(tmp_path, "send").render(context_named("A"))
    assert "the email template uses 'practice.nmae', which the context does not provide" in str(caught.value)


def test_check_finds_unknown_variables_with_their_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "send.txt",
        "Subject: {{ scheme.titel }}\n\nDear {{ practice.name }},\n{{ practice.nmae }}\n",
    )
    report = check_email_template(tmp_path / "send.txt", example_context(SPEC, "section7", "send"))
    assert report.missing == ["practice.nmae", "scheme.titel"]
    assert report.where == {"practice.nmae": "line 4", "scheme.titel": "line 1"}
    assert "documents[].title" in report.unused


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize("name", ["send.txt", "remind.txt"])
def test_check_template_passes_the_shipped_email_templates(name: str) -> None:
    result = invoke("check-template", str(SHIPPED / name), "-s", str(QEF))
    assert result.exit_code == 0, result.output
    assert "every variable it uses is provided" in result.output


def test_check_template_names_an_email_templates_unknown_variable(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "email")
    path = tmp_path / "email" / "remind.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("d.reasons", "d.reason"), encoding="utf-8")
    result = invoke("check-template", str(path), "-s", str(QEF))
    assert result.exit_code == 1
    assert "1 variable(s) the context does not provide:" in result.output
    assert "documents[].reason (line " in result.output
    no_subject = write(tmp_path / "bad", "send.txt", "Hello\n")
    result = invoke("check-template", str(no_subject), "-s", str(QEF))
    assert result.exit_code == 1
    assert "the first line must be the subject" in result.output
