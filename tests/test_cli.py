"""The ``systlab`` command: check-config on layered configs, inspect on ROOT/HDF5 files, draft round trips.

Run both ways: the real command through ``python -m systlab.cli`` (exit codes, stderr, no traceback) and
``main([...])`` in-process (fast, output via capsys).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from systlab.cli import main
from systlab.events import CANONICAL_COLUMNS
from systlab.samples.ingest import InputSpec, ingest, read_canonical

ROOT_DIR = Path(__file__).resolve().parents[1]
BASE = ROOT_DIR / "config" / "config.yaml"
TINY = ROOT_DIR / "config" / "tiny.yaml"
EXAMPLE = ROOT_DIR / "config" / "nanoaod_example.yaml"
DATA = ROOT_DIR / "tests" / "data"
NANOAOD = DATA / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
HZZ = DATA / "uproot-HZZ.root"


def run_cli(*args: str | Path, cwd: Path = ROOT_DIR) -> subprocess.CompletedProcess[str]:
    """The real command in a fresh interpreter (what a user's shell runs)."""
    return subprocess.run([sys.executable, "-m", "systlab.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def columns_of(draft: dict, process: str) -> tuple:
    """The validated column mapping of one process of an ``inputs:`` overlay."""
    return InputSpec.from_mapping(draft["inputs"][process], where="test").columns


@pytest.fixture
def write(tmp_path: Path):
    """Write a YAML text to tmp_path/<name> and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


# ------------------------------------------------------------------------------------------------ check-config


def test_help_imports_nothing_heavy() -> None:
    """`systlab --help` lists both commands and imports neither numpy, uproot, h5py nor the config schema."""
    code = ("import sys, systlab.cli as c\ntry: c.main(['--help'])\nexcept SystemExit as e: assert e.code == 0\n"
            "heavy = {'numpy', 'uproot', 'h5py', 'yaml', 'jsonschema', 'systlab.config'} & set(sys.modules)\n"
            "assert not heavy, heavy")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "check-config" in out.stdout and "inspect" in out.stdout


def test_check_config_default_subprocess() -> None:
    out = run_cli("check-config", "config/config.yaml")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("config OK: config/config.yaml")
    for text in ("run_id default", "signal htautau", "oracle_tes_+1sd", "truth_below", "tes (nominal 1",
                 "target (the NP the methods are built against): tes", "ttbar_xsec (ttbar)",
                 "ttbar      simulated: "):  # fmt: skip
        assert text in out.stdout


def test_check_config_base_plus_tiny_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(BASE), str(TINY)]) == 0
    out = capsys.readouterr().out
    assert "run_id tiny" in out
    assert "tes (nominal 1, sigma 0.03, grid [-1 0 1] sigma)" in out  # tiny's grid replaced the default list
    assert "aware_without_tes_0sd" in out
    assert out.splitlines()[0] == f"config OK: {BASE} + {TINY}"  # given explicitly: not layered twice


def test_check_config_overlay_alone_is_layered_on_the_base(capsys, monkeypatch) -> None:
    """Like `snakemake --configfile config/tiny.yaml`: the Snakefile's config/config.yaml comes first."""
    monkeypatch.chdir(ROOT_DIR)
    assert main(["check-config", "config/tiny.yaml"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "config OK: config/config.yaml (base) + config/tiny.yaml"
    assert main(["check-config", "--no-base", "config/tiny.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: config/tiny.yaml: field 'seed': 'seed' is a required property "
                   "(an overlay needs a base config under it: --base config/config.yaml)")  # fmt: skip


def test_check_config_yaml_prints_the_merged_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--base", str(BASE), str(TINY), "--yaml"]) == 0
    merged = yaml.safe_load(capsys.readouterr().out)
    assert merged["run_id"] == "tiny" and merged["seed"] == 20261123  # overlay value, base value
    assert merged["training"]["hidden"] == [32]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("traning: {epochs: 3}\n", "traning"),
        ("training: {epoch: 3}\n", "training.epoch"),
        ("training: {epochs: 0}\n", "training.epochs"),
        ("features: [PRI_tau_pt, PRI_no_such]\n", "features"),
    ],
    ids=["top-level-typo", "nested-typo", "bad-value", "cross-field"],
)
def test_check_config_bad_overlay_one_line(write, text: str, field: str) -> None:
    """Exit 2 and ONE stderr line naming the overlay (not the base), the field and the problem; no traceback."""
    overlay = write("overlay.yaml", text)
    out = run_cli("check-config", "config/config.yaml", overlay)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"error: {overlay}: field '{field}': ")
    assert "Traceback" not in out.stderr


def test_check_config_blames_the_layer_that_set_the_value(write, capsys) -> None:
    """A bad value in the base is reported against the base even when an overlay (that does not touch it) follows."""
    base = yaml.safe_load(BASE.read_text())
    base["templates"]["bins"] = 0
    bad_base = write("base.yaml", yaml.safe_dump(base))
    assert main(["check-config", "--base", str(bad_base), str(TINY)]) == 0  # tiny sets templates.bins: 5
    capsys.readouterr()
    assert main(["check-config", "--base", str(bad_base), str(EXAMPLE), "--no-files"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad_base}: field 'templates.bins': 0 is less than the minimum")


def test_check_config_typo_in_process_names_the_key(write, capsys) -> None:
    overlay = write("typo.yaml", "toys: {n: 10, grid_nn: 5}\n")
    assert main(["check-config", "--base", str(BASE), str(overlay)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: {overlay}: field 'toys.grid_nn': Additional properties are not allowed "
                            "('grid_nn' was unexpected) ('grid_nn' -> did you mean 'grid_n'?)\n")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("run_id: [unclosed\n", "YAML syntax error"),
        ("- a list\n", "field '(top level)': must be a mapping"),
    ],
    ids=["yaml-syntax", "not-a-mapping"],
)
def test_check_config_unreadable_yaml(write, capsys, text: str, message: str) -> None:
    path = write("broken.yaml", text)
    assert main(["check-config", "--base", str(BASE), str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}") and message in err


def test_check_config_missing_file(capsys, tmp_path: Path) -> None:
    assert main(["check-config", "--base", str(BASE), str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read the file" in capsys.readouterr().err


def test_check_config_validates_input_mappings(write, capsys) -> None:
    """An `inputs:` entry is checked by InputSpec.from_mapping: a misspelt key of a column fails, naming it."""
    example = yaml.safe_load(EXAMPLE.read_text())
    example["inputs"]["ttbar"]["columns"]["tau_pt"] = {"branch": "Tau_pt", "objekt": 0}
    overlay = write("inputs.yaml", yaml.safe_dump(example))
    assert main(["check-config", "--base", str(BASE), str(overlay), "--no-files"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {overlay}: field 'inputs.ttbar.columns.tau_pt': unknown field(s) ['objekt']")


def test_check_config_input_files_must_exist(write, capsys) -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    example["inputs"]["ttbar"]["files"] = ["no/such/file.root"]
    overlay = write("inputs.yaml", yaml.safe_dump(example))
    assert main(["check-config", "--base", str(BASE), str(overlay)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {overlay}: field 'inputs.ttbar.files': no/such/file.root: file missing")
    assert main(["check-config", "--base", str(BASE), str(overlay), "--no-files"]) == 0
    assert "1 file(s) (not checked): no/such/file.root" in capsys.readouterr().out


def test_check_config_nanoaod_example(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT_DIR)  # the example's file path is relative to the project directory
    assert main(["check-config", "config/config.yaml", "config/nanoaod_example.yaml"]) == 0
    out = capsys.readouterr().out
    assert "ttbar      read from root files, tree Events, 1 file(s): tests/data/nanoAOD_2015_CMS_Open_Data" in out
    assert "tau_pt <- Tau_pt[0]" in out and "jet_pt <- Jet_pt" in out and "weight <- genWeight" in out
    assert "jet_min_pt 20, jet_max_abs_eta 4.7, yield 44190" in out


# ------------------------------------------------------------------------------------------------ inspect


def test_inspect_hzz_subprocess() -> None:
    """Tree, entry count, branch types; Px/Py/Pz collections become expressions; no tau: TODO lines."""
    out = run_cli("inspect", "tests/data/uproot-HZZ.root")
    assert out.returncode == 0, out.stderr
    listing, _, draft_text = out.stdout.partition("\n\n")
    assert "tree 'events': 2421 entries, 51 branches" in listing
    assert "Jet_Px                       float[]    jagged (counter NJet)" in listing
    assert "EventWeight                  float      flat" in listing
    assert "Jet_ID                       bool[]     cannot be mapped (not numeric)" in listing
    draft = yaml.safe_load(draft_text)
    columns = draft["inputs"]["my_process"]["columns"]
    assert columns["met_pt"] == {"expr": "sqrt(MET_px**2 + MET_py**2)"}
    assert columns["lep_phi"] == {"expr": "arctan2(Muon_Py, Muon_Px)", "object": 0}
    assert columns["weight"] == {"branch": "EventWeight"}
    assert "tau_pt" not in columns and "# TODO tau_pt: not recognised (required)" in draft_text
    assert "note: draft incomplete: 3 required column(s) not recognised: tau_pt, tau_eta, tau_phi" in out.stderr


def test_inspect_nanoaod_draft_matches_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    """The draft for the NanoAOD file maps every column exactly as config/nanoaod_example.yaml does."""
    assert main(["inspect", str(NANOAOD)]) == 0
    captured = capsys.readouterr()
    listing, _, draft_text = captured.out.partition("\n\n")
    assert "tree 'Events': 200 entries, 947 branches" in listing
    assert "\n  Tau_pt " in listing and "\n  MET_pt " in listing and "\n  genWeight " in listing
    assert captured.err == ""  # nothing left to do by hand
    draft = yaml.safe_load(draft_text)
    assert list(draft["inputs"]) == ["ttbar"]  # guessed from the file name
    assert draft["inputs"]["ttbar"]["tree"] == "Events"
    example = yaml.safe_load(EXAMPLE.read_text())
    assert columns_of(draft, "ttbar") == columns_of(example, "ttbar")
    assert set(draft["inputs"]["ttbar"]["columns"]) == set(CANONICAL_COLUMNS)


def test_inspect_nanoaod_draft_round_trips_through_check_config(tmp_path: Path) -> None:
    """Pasted as an overlay, the draft passes `systlab check-config` on the base config (real commands)."""
    draft = tmp_path / "draft.yaml"
    out = run_cli("inspect", "tests/data/nanoAOD_2015_CMS_Open_Data_ttbar.root", "--draft-only", "-o", draft)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    check = run_cli("check-config", "config/config.yaml", draft)
    assert check.returncode == 0, check.stderr
    assert "ttbar      read from root files, tree Events" in check.stdout
    assert "lep_pt <- Muon_pt[0]" in check.stdout


def test_inspect_branch_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(NANOAOD), "--branches", "tau_p*"]) == 0
    out = capsys.readouterr().out
    assert "(4 of 947 branches match 'tau_p*')" in out  # Tau_phi, Tau_photonsOutsideSignalCone, Tau_pt, Tau_puCorr
    assert "\n  Jet_pt " not in out


def test_recognise_rules() -> None:
    """Jets need a jagged source; ATLAS-style met_met is the MET magnitude; px/py expressions are ROOT-only."""
    from systlab.cli.draft import Source, Table, recognise

    sources = [Source("Jet_pt", "float", "flat"), Source("met_met", "float", "flat"),
               Source("met_phi", "float", "flat"), Source("Tau_px", "float[]", "jagged"),
               Source("Tau_py", "float[]", "jagged")]  # fmt: skip
    mapped, todo = recognise(Table("t", 10, sources), "root")
    assert mapped["met_pt"].column == {"branch": "met_met"}
    assert mapped["tau_pt"].column == {"expr": "sqrt(Tau_px**2 + Tau_py**2)", "object": 0}
    assert "jet_pt" in todo and "tau_eta" in todo  # a flat Jet_pt is not a jet collection; no Tau_pz
    assert "tau_pt" in recognise(Table("t", 10, sources), "hdf5")[1]


def write_hdf5(path: Path) -> None:
    """A NanoAOD-like group (per-object values + counts, flat MET/weight/event) and an unrelated group."""
    rng = np.random.default_rng(7)
    with h5py.File(path, "w") as h5:
        events = h5.create_group("Events")
        for collection, most in (("Tau", 1), ("Muon", 2), ("Jet", 4)):
            counts = rng.integers(0, most + 1, 40).astype(np.int32)
            counts[:5] = 1  # every collection present in the first events
            events[f"n{collection}"] = counts
            for comp in ("pt", "eta", "phi"):
                events[f"{collection}_{comp}"] = rng.uniform(20.0, 60.0, counts.sum()).astype(np.float32)
        events["MET_pt"] = rng.uniform(0.0, 80.0, 40)
        events["MET_phi"] = rng.uniform(-3.0, 3.0, 40)
        events["genWeight"] = np.ones(40)
        events["event"] = np.arange(1, 41, dtype=np.uint64)
        events["covariance"] = np.zeros((40, 3))
        h5["meta/run"] = np.arange(3)


def test_inspect_hdf5_lists_groups_and_round_trips(tmp_path: Path, capsys, monkeypatch) -> None:
    """Groups, datasets, entry counts and counts datasets; the draft passes check-config and ingests."""
    path = tmp_path / "nano.h5"
    write_hdf5(path)
    assert main(["inspect", str(path), "--process", "ttbar"]) == 0
    listing, _, draft_text = capsys.readouterr().out.partition("\n\n")
    assert "group '/Events': 40 entries, 17 datasets" in listing
    assert "group '/meta': 3 entries, 1 datasets" in listing
    with h5py.File(path) as h5:
        n_tau = int(h5["Events/nTau"][()].sum())
    assert f"Tau_pt      float32  {n_tau:>10} values  jagged (counts nTau)" in listing
    assert ("covariance  float64          40 values  table (shape (40, 3)): map a column as "
            "'covariance:<name or index>'") in listing  # a 2-D table: its columns can be (tests/test_ingest.py)
    draft = yaml.safe_load(draft_text)
    spec = draft["inputs"]["ttbar"]
    assert spec["group"] == "Events" and spec["format"] == "hdf5"
    assert spec["columns"]["tau_pt"] == {"branch": "Tau_pt", "counts": "nTau", "object": 0}
    assert spec["columns"]["jet_eta"] == {"branch": "Jet_eta", "counts": "nJet"}
    assert spec["columns"]["event_id"] == {"branch": "event"}
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(draft_text)
    monkeypatch.chdir(ROOT_DIR)
    assert main(["check-config", "config/config.yaml", str(overlay)]) == 0
    assert "ttbar      read from hdf5 files, group Events" in capsys.readouterr().out
    ingest(InputSpec.from_mapping(spec, where="test"), tmp_path / "ttbar.parquet", chunk_size=16)
    table = read_canonical(tmp_path / "ttbar.parquet")
    assert 5 <= len(table) <= 40 and table.fields == list(CANONICAL_COLUMNS)


def test_inspect_simulator_root_is_the_identity(tmp_path: Path, capsys) -> None:
    """The simulator's own ROOT layout (rawio.write_root) drafts to the identity mapping of simulated_spec."""
    import awkward as ak

    from systlab.samples import rawio
    from systlab.samples.ingest import simulated_spec

    rng = np.random.default_rng(3)
    counts = rng.integers(0, 4, 30)
    events = ak.zip({**{name: rng.uniform(1.0, 2.0, 30).astype(np.float32) for name in CANONICAL_COLUMNS[2:10]},
                     "event_id": np.arange(30, dtype=np.uint64), "weight": np.ones(30),
                     **{name: ak.unflatten(rng.uniform(20, 50, counts.sum()).astype(np.float32), counts)
                        for name in CANONICAL_COLUMNS[10:]}}, depth_limit=1)  # fmt: skip
    path = tmp_path / "diboson.root"
    rawio.write_root(events, path)
    assert main(["inspect", str(path), "--draft-only"]) == 0
    draft = yaml.safe_load(capsys.readouterr().out)
    assert list(draft["inputs"]) == ["diboson"]
    assert columns_of(draft, "diboson") == simulated_spec(path).columns


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.root"], "missing.root: file not found"),
        (["notes.txt"], "notes.txt: neither a ROOT nor an HDF5 file"),
        ([str(NANOAOD), "--tree", "Runs"], "no tree/group 'Runs' (--tree); found: ['Events']"),
    ],
    ids=["missing", "not-data", "unknown-tree"],
)
def test_inspect_errors_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "notes.txt").write_text("not a data file\n")
    out = run_cli("inspect", *args, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
