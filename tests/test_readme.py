"""The README stays true: every command is documented and the quick start is exactly two commands."""

import re

from typer.main import get_command

from agreementgen.cli import app
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_cli_command_has_a_readme_section():
    commands = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    assert commands, "the CLI has no commands"
    for name in commands:
        assert f"### `agreementgen {name}`" in README, f"README does not document `agreementgen {name}`"


def test_every_option_of_every_command_is_mentioned():
    for name, command in get_command(app).commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in README, f"README does not mention {opt} of `agreementgen {name}`"


def test_the_quick_start_is_make_demo_and_make_test():
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```sh\n(.*?)```", quick, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_every_picture_the_readme_shows_is_in_docs():
    pictures = re.findall(r'src="(docs/[^"]+)"', README) + re.findall(r"!\[[^\]]*\]\((docs/[^)]+)\)", README)
    assert len(pictures) >= 8
    for picture in pictures:
        assert (ROOT / picture).is_file(), picture
