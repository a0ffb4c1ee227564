"""What every rule script does first (systlab.runtime): the log file, and a failure reported in it and in one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def test_an_uncaught_error_goes_to_the_rule_log_in_full_and_to_stderr_in_one_line(tmp_path):
    """A script that fails after start(): its traceback lands in the rule's log file, stderr gets one line naming the
    rule, the error and the log file (not a 20-line traceback)."""
    log = tmp_path / "logs" / "ingest.log"
    log.parent.mkdir()
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import types
        import yaml
        from systlab.runtime import start

        class Smk(types.SimpleNamespace):
            pass

        config = yaml.safe_load(open({str(CONFIG)!r}))
        smk = Smk(log=[{str(log)!r}], rule="ingest", wildcards={{"process": "ttbar"}}, config=config)
        start(smk)

        def read():
            raise ValueError("data/ttbar.root: column 'tau_pt': branch 'Tau_ptt' not found\\nsecond line")

        read()
    """))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.startswith("systlab: ")]
    assert lines == [f"systlab: rule ingest failed: ValueError: data/ttbar.root: column 'tau_pt': branch 'Tau_ptt' "
                     f"not found (traceback in {log})"]
    assert "Traceback" not in run.stderr
    text = log.read_text()
    assert "rule ingest, wildcards {'process': 'ttbar'}" in text and "Traceback (most recent call last)" in text
    assert "in read" in text and "second line" in text
