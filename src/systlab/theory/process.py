"""MadGraph process strings (``p p > w+ w- j $$ t QCD=0 [QCD]``): final state, n and category.

Category rule (from the final state of the process string):

* ``qcd``: every final-state particle is a coloured parton (g, j, quarks incl. b, t) and the
  string sets no ``QCD=0``; the Born is pure QCD (a power of α_s per coloured leg).
* ``ew``: at least one electroweak final-state particle (w+, w-, wpm, z, a, h, leptons) or an
  explicit ``QCD=0``. ``lo_has_alpha_s`` tells the two kinds apart: ``p p > wpm j`` has α_s at LO
  (a coloured parton in the final state), ``p p > wpm`` and the tribosons do not.
* ``loop_induced`` is a flag (config list, or ``[noborn=...]`` in the string): the Born is a loop
  (gg → h through a top loop, α_s² at LO), so its own scale band is a genuine α_s band.

Single-top-like strings (``p p > t j``) are categorised ``qcd`` by this rule unless they carry ``QCD=0``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

COLOURED = frozenset("g j u u~ d d~ c c~ s s~ b b~ t t~".split())
ELECTROWEAK = frozenset(
    "w+ w- wpm z a h e+ e- mu+ mu- ta+ ta- l+ l- ve ve~ vm vm~ vt vt~ vl vl~".split()
)
INITIAL = COLOURED | frozenset({"p", "a", "e+", "e-"})
KNOWN_PARTICLES = COLOURED | ELECTROWEAK | frozenset({"p"})
_ORDER = re.compile(r"^[A-Z]+(\^2)?(==|<=|>=|=|<|>)\d+$")
_FLAVOUR_SCHEME = re.compile(r"^\([45]f\)$")


class ProcessSyntaxError(ValueError):
    """A MadGraph process string that cannot be parsed (unknown token, unsupported syntax)."""


class ProcessInfo(NamedTuple):
    """What the pull study needs from a process string."""

    initial_state: tuple[str, ...]
    final_state: tuple[str, ...]
    n: int
    n_coloured: int
    category: str  # "qcd" or "ew"
    lo_has_alpha_s: bool
    loop_induced: bool


def normalise_process(process: str) -> str:
    """Collapse whitespace so config entries match table strings."""
    return " ".join(process.split())


def _check_particle(token: str, allowed: frozenset[str], where: str) -> None:
    """Raise ProcessSyntaxError when ``token`` is not a known particle."""
    if token not in allowed:
        raise ProcessSyntaxError(f"unknown particle token {token!r} in the {where}; known: {sorted(allowed)}")


def parse_process(process: str, loop_induced: Iterable[str] = ()) -> ProcessInfo:
    """Parse MadGraph syntax (``p p > w+ w- j $$ t QCD=0 [QCD]``) into final state, n and category."""
    text = normalise_process(process)
    if "," in text:
        raise ProcessSyntaxError(f"decay chains are not supported in {process!r}")
    brackets = re.findall(r"\[([^\]]*)\]", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    flagged_names = {normalise_process(p) for p in loop_induced}
    flagged = normalise_process(process) in flagged_names or normalise_process(text) in flagged_names
    flagged = flagged or any(b.replace(" ", "").startswith(("noborn", "sqrvirt")) for b in brackets)
    parts = text.split(">")
    if len(parts) < 2:
        raise ProcessSyntaxError(f"no '>' in process {process!r}")
    initial = tuple(parts[0].split())
    if len(initial) != 2:
        raise ProcessSyntaxError(f"expected two initial-state particles in {process!r}, got {list(initial)}")
    for tok in initial:
        _check_particle(tok, INITIAL, "initial state")
    for middle in parts[1:-1]:  # required s-channel particles: p p > z > e+ e-
        for tok in middle.split():
            _check_particle(tok, KNOWN_PARTICLES, "s-channel requirement")
    final, orders, excluding = [], [], False
    for tok in parts[-1].split():
        if tok in {"$", "$$", "/"}:
            excluding = True
        elif _ORDER.match(tok):
            orders.append(tok)
            excluding = False
        elif _FLAVOUR_SCHEME.match(tok):
            continue
        elif excluding:
            _check_particle(tok, KNOWN_PARTICLES - {"p", "j"}, "excluded particles")
        else:
            _check_particle(tok, KNOWN_PARTICLES - {"p"}, "final state")
            final.append(tok)
    if not final:
        raise ProcessSyntaxError(f"no final-state particles in {process!r}")
    n_coloured = sum(tok in COLOURED for tok in final)
    no_qcd = any(o.replace("^2", "").startswith("QCD") and o.endswith("=0") for o in orders)
    category = "qcd" if n_coloured == len(final) and not no_qcd else "ew"
    lo_has_alpha_s = flagged or (n_coloured > 0 and not no_qcd)
    return ProcessInfo(initial, tuple(final), len(final), n_coloured, category, lo_has_alpha_s, flagged)
