"""What every Snakemake script does first: log to the rule's log file and load the typed config."""

from __future__ import annotations

import atexit
import gc
import logging
import sys
import traceback
from types import TracebackType
from typing import Any

from systlab.config import Config, load_config

log = logging.getLogger("systlab")


def start(smk: Any) -> Config:
    """Route systlab's log to the rule's ``log:`` file (else stderr), report a failure there in full and on stderr
    in one line (:func:`report_failure`), and return the validated config."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    log_file = str(smk.log[0]) if smk.log else None
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)
    logging.getLogger("pyhf").setLevel(logging.WARNING)  # pyhf logs every schema validation at INFO
    sys.excepthook = lambda kind, error, trace: report_failure(smk.rule, log_file, kind, error, trace)
    log.info("rule %s, wildcards %s", smk.rule, dict(smk.wildcards))
    freeze_garbage_collection()
    return load_config(smk.config)


def freeze_garbage_collection() -> None:
    """Keep Python's cyclic garbage collector off the objects that exist now and off everything at exit.

    A job imports numpy, pandas, pyhf, scipy, matplotlib or torch: hundreds of thousands of long-lived objects that
    every full collection walks again (6 during a tiny training job: 0.6 s) and that the interpreter's last
    collection at exit walks once more, after the job's work is done (0.15-0.5 s per job, 1-1.5 s after torch, on
    the 2-core machine; benchmarks/README.md). ``gc.freeze()`` moves them to the permanent generation, which no
    collection visits: now, after the script's imports, and again when the interpreter exits (``atexit`` runs before
    its final collection). Only collection is skipped, so nothing a job computes or writes changes; cyclic garbage
    created later is still collected, what is frozen lives until the process ends (as imported modules do anyway).
    """
    gc.freeze()
    atexit.unregister(gc.freeze)  # once, however often a process starts a rule (tests do)
    atexit.register(gc.freeze)


def report_failure(rule: str, log_file: str | None, kind: type[BaseException], error: BaseException,
                   trace: TracebackType | None) -> None:  # fmt: skip
    """An uncaught error of a rule's script: the traceback into the rule's log (which Snakemake tells the user to
    read; before, it held only the start line), one line on stderr naming the rule, the problem and the log."""
    text = "".join(traceback.format_exception(kind, error, trace))
    if log_file:
        with open(log_file, "a", encoding="utf-8") as handle:
            handle.write(text)
    where = f" (traceback in {log_file})" if log_file else ""
    message = str(error).strip().splitlines()[0] if str(error).strip() else kind.__name__
    print(f"systlab: rule {rule} failed: {kind.__name__}: {message}{where}", file=sys.stderr)
    if not log_file:
        print(text, file=sys.stderr, end="")
