"""Tests of the scale-uncertainty pull study: parsing, reading, pulls, reference scheme, writers."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from systlab import theory
from systlab.theory import TheoryTableError, parse_process

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "resources" / "theory" / "scale_table_13tev.csv"
LOOP_INDUCED = ["p p > h"]

# Every process string of the shipped table: (n, category, LO has alpha_s, loop-induced), written out.
EXPECTED_PARSE = {
    "p p > wpm": (1, "ew", False, False),
    "p p > wpm j": (2, "ew", True, False),
    "p p > wpm j j": (3, "ew", True, False),
    "p p > wpm j j j": (4, "ew", True, False),
    "p p > z": (1, "ew", False, False),
    "p p > z j": (2, "ew", True, False),
    "p p > z j j": (3, "ew", True, False),
    "p p > z j j j": (4, "ew", True, False),
    "p p > a j": (2, "ew", True, False),
    "p p > a j j": (3, "ew", True, False),
    "p p > w+ w- wpm": (3, "ew", False, False),
    "p p > z w+ w-": (3, "ew", False, False),
    "p p > z z wpm": (3, "ew", False, False),
    "p p > z z z": (3, "ew", False, False),
    "p p > a w+ w-": (3, "ew", False, False),
    "p p > a a wpm": (3, "ew", False, False),
    "p p > a z wpm": (3, "ew", False, False),
    "p p > a z z": (3, "ew", False, False),
    "p p > h": (1, "ew", True, True),
    "p p > j j": (2, "qcd", True, False),
    "p p > b b~": (2, "qcd", True, False),
    "p p > t t~": (2, "qcd", True, False),
    "p p > j j j": (3, "qcd", True, False),
    "p p > b b~ j": (3, "qcd", True, False),
    "p p > t t~ j": (3, "qcd", True, False),
    "p p > b b~ j j": (4, "qcd", True, False),
    "p p > b b~ b b~": (4, "qcd", True, False),
    "p p > t t~ j j": (4, "qcd", True, False),
    "p p > t t~ t t~": (4, "qcd", True, False),
    "p p > t t~ b b~": (4, "qcd", True, False),
}

HEADER = ",".join(theory.COLUMNS)


def _row(label="", process="p p > j j", **cells) -> str:
    """One CSV line with the given cells (all others empty)."""
    values = {"label": label, "process": process, **{k: str(v) for k, v in cells.items()}}
    return ",".join(values.get(c, "") for c in theory.COLUMNS)


def _table(tmp_path: Path, *rows: str, name: str = "table.csv") -> Path:
    """Write a small scale table and return its path."""
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def study():
    return theory.run_study(TABLE, LOOP_INDUCED)


def test_every_process_string_of_the_table_is_parsed():
    with TABLE.open(newline="") as handle:
        processes = [rec["process"] for rec in csv.DictReader(handle)]
    assert sorted(processes) == sorted(EXPECTED_PARSE)
    for process in processes:
        info = parse_process(process, LOOP_INDUCED)
        got = (info.n, info.category, info.lo_has_alpha_s, info.loop_induced)
        assert got == EXPECTED_PARSE[process], process


def test_madgraph_syntax_beyond_the_shipped_rows():
    vbf = parse_process("p p > h j j $$ w+ w- z QCD=0")
    assert (vbf.final_state, vbf.n, vbf.category, vbf.lo_has_alpha_s) == (("h", "j", "j"), 3, "ew", False)
    assert parse_process("p p > w+ w- (4f)").n == 2
    assert parse_process("g g > h [noborn=QCD]").loop_induced
    assert parse_process("p p > t t~ [QCD]").category == "qcd"
    assert parse_process("p p > z > e+ e-").final_state == ("e+", "e-")
    with pytest.raises(theory.ProcessSyntaxError, match="unknown particle token 'x1'"):
        parse_process("p p > x1 j")
    with pytest.raises(theory.ProcessSyntaxError, match="decay chains"):
        parse_process("p p > t t~, t > b w+")


def test_shipped_table_reads_every_row(study):
    assert study.n_rows == 30
    counts = theory.summary_payload(study)["counts"]
    assert (counts["qcd"], counts["ew"], counts["loop_induced"], counts["with_pull"]) == (11, 19, 1, 19)
    assert study.loop_induced_unmatched == ()


def test_pulls_of_a_rows_by_hand(study):
    by_label = {r.label: r for r in study.results if r.label}
    # a.1 p p > wpm: K = 1.773e5/1.375e5 = 1.28945; NLO above LO -> up band 15.4 %; t = 0.28945/0.154
    a1 = by_label["a.1"]
    assert a1.k_factor == pytest.approx(1.289455, rel=1e-6)
    assert a1.lo_unc_toward_nlo == pytest.approx(0.154)
    assert a1.pull == pytest.approx(1.879575, rel=1e-6)
    # a.9 p p > a j: K = 5.218e4/1.964e4 = 2.65682; t = 1.65682/0.312
    a9 = by_label["a.9"]
    assert a9.k_factor == pytest.approx(2.656823, rel=1e-6)
    assert a9.pull == pytest.approx(5.310330, rel=1e-6)
    # a.4 p p > wpm j j j: K = 2.005e3/1.821e3 = 1.10104; t = 0.10104/0.410
    assert by_label["a.4"].pull == pytest.approx(0.246447, rel=1e-5)


def test_relative_rows_recover_the_quoted_pull(study):
    by_process = {r.process: r for r in study.results}
    assert by_process["p p > h"].pull == pytest.approx(3.02)
    assert by_process["p p > h"].scheme_pull == pytest.approx(3.02)  # loop-induced keeps its own band
    assert by_process["p p > w+ w- wpm"].pull == pytest.approx(610.69)


def test_qcd_per_particle_average_of_the_shipped_table(study):
    up = [24.9 / 2, 25.2 / 2, 29.0 / 2, 43.8 / 3, 44.1 / 3, 45.1 / 3,
          61.8 / 4, 61.7 / 4, 61.4 / 4, 63.8 / 4, 62.1 / 4]
    assert study.reference.up.mean == pytest.approx(sum(up) / len(up) / 100)
    assert study.reference.up.n_processes == 11
    assert study.reference.down.mean == pytest.approx(0.0934394, rel=1e-5)


def test_reference_scheme_on_a_hand_made_table(tmp_path):
    path = _table(
        tmp_path,
        _row(process="p p > j j", lo_scale_up_pct=20, lo_scale_down_pct=10),  # 10 %, 5 % per particle
        _row(process="p p > j j j", lo_scale_up_pct=36, lo_scale_down_pct=18),  # 12 %, 6 % per particle
        _row(process="p p > z z z", lo_rel_scale_unc=0.01, nlo_over_lo_minus_1=0.33),
        _row(process="p p > w+ w-", lo_rel_scale_unc=0.02, nlo_over_lo_minus_1=-0.11),
    )
    result = theory.run_study(path)
    assert result.reference.up.mean == pytest.approx(0.11)
    assert result.reference.down.mean == pytest.approx(0.055)
    zzz, ww = (r for r in result.results if r.has_pull)
    assert zzz.pull == pytest.approx(33.0)
    assert zzz.ref_unc == pytest.approx(0.33)  # 3 x 11 %, up because NLO > LO
    assert zzz.scheme_pull == pytest.approx(1.0)
    assert ww.ref_unc == pytest.approx(0.11)  # 2 x 5.5 %, down because NLO < LO
    assert ww.scheme_pull == pytest.approx(-1.0)
    assert [t.process for t in result.tails_before] == ["p p > z z z", "p p > w+ w-"]
    assert result.tails_after == ()
    assert not result.fit_after.meaningful and "only 2 pulls" in result.fit_after.reason


def test_gaussian_fit_when_enough_pulls():
    fit = theory.fit_gaussian([-1.0, 1.0] * 15)
    assert fit.meaningful and fit.mean == pytest.approx(0.0) and fit.width == pytest.approx(1.0)
    assert fit.width_err == pytest.approx(1 / math.sqrt(60))


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"lo_scale_up_pct": "abc", "lo_scale_down_pct": 10}, "lo_scale_up_pct", "expected a number"),
        ({"lo_scale_up_pct": "nan", "lo_scale_down_pct": 10}, "lo_scale_up_pct", "finite"),
        ({"lo_xsec_pb": -1.0, "nlo_xsec_pb": 2.0, "lo_scale_up_pct": 10, "lo_scale_down_pct": 10},
         "lo_xsec_pb", "positive"),
        ({"lo_scale_up_pct": 120, "lo_scale_down_pct": 10}, "lo_scale_up_pct", r"\[0, 100\]"),
        ({"lo_scale_up_pct": 10, "lo_scale_down_pct": -5}, "lo_scale_down_pct", r"\[0, 100\]"),
        ({"lo_rel_scale_unc": 1.5, "nlo_over_lo_minus_1": 0.2}, "lo_rel_scale_unc", "fraction"),
        ({"lo_scale_up_pct": 10}, "lo_scale_down_pct", "given together"),
        ({"lo_mc_err_pb": -0.1, "lo_scale_up_pct": 10, "lo_scale_down_pct": 10},
         "lo_mc_err_pb", "non-negative"),
        ({}, "lo_scale_up_pct", "neither"),
    ],
)
def test_bad_cells_name_file_row_and_column(tmp_path, cells, column, message):
    path = _table(tmp_path, _row("ok.1", "p p > j j", lo_scale_up_pct=20, lo_scale_down_pct=10),
                  _row("bad.1", "p p > b b~", **cells))
    with pytest.raises(TheoryTableError, match=message) as info:
        theory.read_scale_table(path)
    text = str(info.value)
    assert "table.csv" in text and "line 3" in text and "bad.1" in text and f"column '{column}'" in text


def test_unknown_particle_token_names_row_and_column(tmp_path):
    path = _table(tmp_path, _row(process="p p > j j", lo_scale_up_pct=20, lo_scale_down_pct=10),
                  _row(process="p p > zprime j", lo_scale_up_pct=20, lo_scale_down_pct=10))
    with pytest.raises(TheoryTableError, match="unknown particle token 'zprime'") as info:
        theory.read_scale_table(path)
    assert "line 3" in str(info.value) and "p p > zprime j" in str(info.value)
    assert "column 'process'" in str(info.value)


def test_missing_column_and_duplicate_label(tmp_path):
    bad_header = tmp_path / "short.csv"
    bad_header.write_text("label,process\na.1,p p > j j\n")
    with pytest.raises(TheoryTableError, match="short.csv: line 1.*missing column"):
        theory.read_scale_table(bad_header)
    path = _table(tmp_path, _row("x.1", lo_scale_up_pct=20, lo_scale_down_pct=10),
                  _row("x.1", lo_scale_up_pct=20, lo_scale_down_pct=10))
    with pytest.raises(TheoryTableError, match="line 3.*duplicate label"):
        theory.read_scale_table(path)


def test_writers_produce_files_that_read_back(tmp_path, study):
    pulls, summary = tmp_path / "theory" / "pulls.csv", tmp_path / "theory" / "summary.json"
    theory.write_pulls_csv(study, pulls)
    theory.write_summary_json(study, summary)
    back = theory.read_pulls_csv(pulls)
    assert len(back) == 30 and back[0].label == "a.1" and back[0].pull == pytest.approx(1.879575, rel=1e-5)
    assert sum(r.has_pull for r in back) == 19
    payload = json.loads(summary.read_text())
    assert payload["partial_transcription"] is True
    assert payload["pulls"]["before"]["gaussian_fit"]["meaningful"] is False
    assert payload["tails"]["after"][0]["process"] == "p p > a j"
    assert sorted(p.name for p in (tmp_path / "theory").iterdir()) == ["pulls.csv", "summary.json"]  # no temp


def test_figures_render(tmp_path, study):
    from systlab.visualize import theory as figures

    note = theory.transcription_note(study.n_rows)
    with_pull = [r for r in study.results if r.has_pull]
    figures.plot_pull_distribution([r.pull for r in with_pull], [r.scheme_pull for r in with_pull], note,
                                   tmp_path / "pulls.pdf", "test")
    figures.plot_tail_table(theory.TAIL_HEADER, theory.tail_table_rows(study.tails_after), "tails", note,
                            tmp_path / "tails.pdf", "test")
    assert (tmp_path / "pulls.png").stat().st_size > 0 and (tmp_path / "tails.pdf").stat().st_size > 0


def test_full_table_rows_in_the_same_format(tmp_path):
    full = dict(lo_mc_err_pb=0.1, lo_pdf_up_pct=2, lo_pdf_down_pct=2, nlo_mc_err_pb=0.1, nlo_scale_up_pct=10,
                nlo_scale_down_pct=10, nlo_pdf_up_pct=2, nlo_pdf_down_pct=2)

    def full_row(label, process, lo, nlo, up, down):
        cells = dict(lo_xsec_pb=lo, nlo_xsec_pb=nlo, lo_scale_up_pct=up, lo_scale_down_pct=down)
        return _row(label, process, **cells, **full)

    path = _table(
        tmp_path,
        full_row("i.1", "p p > t t~", 400, 600, 30, 20),
        full_row("j.1", "p p > j j j", 100, 90, 45, 30),
        full_row("b.1", "p p > w+ w- (4f)", 70, 100, 5, 6),
        full_row("h.1", "p p > h j j $$ w+ w- z QCD=0", 1.6, 1.6, 10, 9),
    )
    result = theory.run_study(path)
    tt, jjj, ww, vbf = result.results
    assert result.reference.up.n_processes == 2  # only the QCD rows enter the average
    assert tt.pull == pytest.approx(0.5 / 0.30) and not tt.scheme_applied
    assert jjj.lo_unc_toward_nlo == pytest.approx(0.30)  # NLO below LO: the down band
    assert jjj.pull == pytest.approx(-0.1 / 0.30)
    assert ww.scheme_applied and ww.n == 2 and vbf.category == "ew" and vbf.pull == 0.0
