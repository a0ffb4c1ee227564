"""What every ``systlab`` subcommand shares: exit codes, the one-line error and the default base config."""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_INVALID = 2
#: The Snakefile's ``configfile:``, relative to the directory Snakemake runs in.
BASE_CONFIG = Path("config") / "config.yaml"


class CliError(Exception):
    """An invalid input the command reports as one line and exit code 2."""



def one_line(text: str) -> str:
    """Collapse whitespace so a message is exactly one line."""
    return " ".join(text.split())
