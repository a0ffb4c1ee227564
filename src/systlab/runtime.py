"""What every Snakemake script does first: log to the rule's log file and load the typed config."""

from __future__ import annotations

import logging
import sys
from typing import Any

from systlab.config import Config, load_config

log = logging.getLogger("systlab")


def start(smk: Any) -> Config:
    """Route systlab's log to the rule's ``log:`` file (else stderr) and return the validated config."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if smk.log:
        handlers.append(logging.FileHandler(str(smk.log[0]), mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)
    logging.getLogger("pyhf").setLevel(logging.WARNING)  # pyhf logs every schema validation at INFO
    log.info("rule %s, wildcards %s", smk.rule, dict(smk.wildcards))
    return load_config(smk.config)
