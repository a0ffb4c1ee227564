"""An installed systlab (a built wheel, not the source tree) validates a config from any directory."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_the_schema_and_its_command_checks_a_config_from_elsewhere(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("systlab-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "systlab = systlab.cli:main" in archive.read(entry_points).decode()
        archive.extractall(tmp_path / "site")
    assert "systlab/config/schema.yaml" in names
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}
    where = subprocess.run([sys.executable, "-c", "import systlab; print(systlab.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert where.stdout.startswith(str(tmp_path / "site")), where.stdout + where.stderr
    check = subprocess.run([sys.executable, "-m", "systlab.cli", "check-config", str(ROOT / "config" / "config.yaml")],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert check.returncode == 0 and "config OK" in check.stdout, check.stdout + check.stderr
    bad = elsewhere / "bad.yaml"
    bad.write_text("seed: 1\ntrainnig: {}\n")
    check = subprocess.run([sys.executable, "-m", "systlab.cli", "check-config", "--base",
                            str(ROOT / "config" / "config.yaml"), str(bad)], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert check.returncode == 2 and "trainnig" in check.stderr and len(check.stderr.strip().splitlines()) == 1
