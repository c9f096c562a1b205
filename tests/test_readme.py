"""The README stays true: its Quickstart is the two commands, its config examples load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phototag.config import load_settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_quickstart_is_exactly_the_two_commands_and_ci_runs_the_second() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", quickstart, re.S)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands[0].startswith("./bootstrap.sh run")
    assert commands[1] == "./bootstrap.sh test" and len(commands) == 2
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "exec ./bootstrap.sh test" in ci


@pytest.mark.parametrize("example", re.findall(r"```toml\n(.*?)```", README, re.S))
def test_every_config_example_is_valid(example: str, xdg: dict[str, Path]) -> None:
    path = xdg["HOME"] / "example.toml"
    path.write_text(example)
    load_settings(config_file=path)
