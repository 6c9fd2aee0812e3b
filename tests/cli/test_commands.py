"""The hht command group: every subcommand loads under its own name, and parse starts light."""

from __future__ import annotations

import subprocess
import sys

import click

from webapp.cli import COMMANDS, main

# packages that reading a GBCS message needs none of
HEAVY = (
    "asyncio",
    "flask",
    "sqlite3",
    "webapp.jobs",
    "webapp.sim",
    "webapp.station",
    "webapp.store",
    "webapp.web",
    "webapp.workpack",
    "webapp.zigbee",
)
# what the codec loads only on first use, so that a one-shot parse starts sooner: logging
# (when something is logged), AES-GCM and SHA-256 (making a MAC), JSON (``--json``)
LOADED_ON_USE = (
    "cryptography.hazmat.primitives.ciphers.aead",
    "hashlib",
    "json",
    "logging",
)
PARSE_AND_LIST_MODULES = """
import os, sys
sys.argv = ["hht", "parse", "00"]
os._exit = sys.exit  # hht parse exits at once; here the modules are listed first
from webapp.cli import run
try:
    run()
except SystemExit:
    pass
for name in sorted(sys.modules):
    print(name)
"""


def test_every_command_loads_under_the_name_it_is_registered_as() -> None:
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert isinstance(command, click.Command)
        assert command.name == name


def test_every_data_dir_option_has_the_same_help() -> None:
    ctx = click.Context(main)
    helps = set()
    pending: list[click.Command] = [main.get_command(ctx, name) for name in COMMANDS]
    while pending:
        command = pending.pop()
        if isinstance(command, click.Group):
            pending.extend(command.commands.values())
        helps |= {p.help for p in command.params if p.name == "data_dir"}
    assert len(helps) == 1 and None not in helps


def test_parse_imports_neither_the_web_app_nor_the_database() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PARSE_AND_LIST_MODULES], capture_output=True, text=True, timeout=60
    )
    assert "malformed GBCS" in result.stderr
    loaded = result.stdout.split()
    assert "webapp.cli.parse" in loaded
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []
    assert "click" not in loaded  # the fast path: no command-line framework either
    assert [m for m in loaded if m in LOADED_ON_USE] == []


def test_parse_is_listed_and_helps_through_the_group() -> None:
    from click.testing import CliRunner

    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0 and "parse" in listed.output
    helped = subprocess.run(
        [sys.executable, "-c", "from webapp.cli import run; run()", "parse", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0 and "--certs" in helped.stdout and "--json" in helped.stdout
    missing = CliRunner().invoke(main, ["parse", "--certs", "/nonexistent-dir", "00"])
    assert missing.exit_code == 2
