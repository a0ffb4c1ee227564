"""A one-channel pyhf workspace from score templates: μ on the signal, lumi, normsys, histosys, staterror.

The observation is the Asimov dataset (μ = 1, every NP nominal); fits to pseudo-data replace it.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from systlab.atomic import write_json
from systlab.templates.histograms import NOMINAL, Templates, counts, shape_variation, sumw2

if TYPE_CHECKING:
    import pyhf

CHANNEL = "score"
POI = "mu"
LUMI = "lumi"
STATERROR = "staterror_" + CHANNEL
MEASUREMENT = "measurement"


class WorkspaceError(ValueError):
    """The workspace is inconsistent or fails pyhf's schema."""


def histosys_data(templates: Templates, process: str, np_name: str, one_sided: bool) -> dict:
    """hi/lo templates of a shape NP; a one-sided NP mirrors its +1σ shift (down = 2·nominal − up, ≥ 0)."""
    up = counts(templates, process, shape_variation(np_name, 1))
    if one_sided:
        down = np.clip(2.0 * counts(templates, process, NOMINAL) - up, 0.0, None)
    else:
        down = counts(templates, process, shape_variation(np_name, -1))
    return {"hi_data": up.tolist(), "lo_data": down.tolist()}


def sample_modifiers(
    templates: Templates,
    process: str,
    is_signal: bool,
    shape_nps: Mapping[str, bool],
    norm_nps: Mapping[str, tuple[Sequence[str], float]],
    lumi: bool = True,
) -> list[dict]:
    """The modifiers of one sample, in a fixed order (μ, lumi, normsys, histosys, staterror)."""
    mods = [{"name": POI, "type": "normfactor", "data": None}] if is_signal else []
    if lumi:
        mods.append({"name": LUMI, "type": "lumi", "data": None})
    for name in sorted(norm_nps):
        processes, sigma = norm_nps[name]
        if process in processes:
            mods.append({"name": name, "type": "normsys", "data": {"hi": 1.0 + sigma, "lo": 1.0 - sigma}})
    for name in sorted(shape_nps):
        mods.append(
            {
                "name": name,
                "type": "histosys",
                "data": histosys_data(templates, process, name, shape_nps[name]),
            }
        )
    if not is_signal:
        error = np.sqrt(sumw2(templates, process, NOMINAL))
        mods.append({"name": STATERROR, "type": "staterror", "data": error.tolist()})
    return mods


def check_inputs(
    templates: Templates,
    signal: str,
    backgrounds: Sequence[str],
    shape_nps: Mapping[str, bool],
    norm_nps: Mapping[str, tuple[Sequence[str], float]],
    lumi_sigma: float | None,
) -> None:
    """Raise WorkspaceError on name clashes, unknown processes, bad widths or a background bin <= 0."""
    samples = [signal, *backgrounds]
    if len(set(samples)) != len(samples):
        raise WorkspaceError(f"duplicate samples in signal + backgrounds: {samples}")
    names = [POI, LUMI, STATERROR, *shape_nps, *norm_nps]
    if len(set(names)) != len(names):
        raise WorkspaceError(f"parameter names clash: {names}")
    for name, (processes, sigma) in norm_nps.items():
        unknown = set(processes) - set(samples)
        if unknown:
            raise WorkspaceError(f"normalisation NP {name!r} acts on unknown processes {sorted(unknown)}")
        if not 0.0 < sigma < 1.0:
            raise WorkspaceError(f"normalisation NP {name!r}: sigma {sigma} not in (0, 1)")
    if lumi_sigma is not None and not 0.0 < lumi_sigma < 1.0:
        raise WorkspaceError(f"lumi_sigma {lumi_sigma} not in (0, 1)")
    h = templates.splits["template"]
    shifts = {n: (1,) if one_sided else (1, -1) for n, one_sided in shape_nps.items()}
    needed = [NOMINAL] + [shape_variation(n, k) for n in sorted(shifts) for k in shifts[n]]
    missing = sorted({*samples} - set(h.axes["process"])) + sorted(set(needed) - set(h.axes["variation"]))
    if missing:
        raise WorkspaceError(f"templates lack process(es)/variation(s) {missing}")
    total = sum(counts(templates, p, NOMINAL) for p in backgrounds)
    bad = np.flatnonzero(~(np.asarray(total) > 0.0))
    if bad.size:
        b, edges = int(bad[0]), templates.edges
        raise WorkspaceError(
            f"nominal background total is {total[b]:g} (<= 0) in score bin {b} [{edges[b]:g}, {edges[b + 1]:g})"
        )


def build_workspace(
    templates: Templates,
    signal: str,
    backgrounds: Sequence[str],
    shape_nps: Mapping[str, bool],
    norm_nps: Mapping[str, tuple[Sequence[str], float]],
    lumi_sigma: float | None,
) -> dict:
    """The pyhf workspace spec (validated) of one channel; observation = Asimov counts at μ = 1.

    ``lumi_sigma`` None: no luminosity NP (a toy problem whose yields are exact, as the paper toys')."""
    check_inputs(templates, signal, backgrounds, shape_nps, norm_nps, lumi_sigma)
    with_lumi = lumi_sigma is not None
    samples = [
        {
            "name": process,
            "data": counts(templates, process, NOMINAL).tolist(),
            "modifiers": sample_modifiers(templates, process, process == signal, shape_nps, norm_nps, with_lumi),
        }
        for process in [signal, *backgrounds]
    ]
    asimov = np.sum([s["data"] for s in samples], axis=0)
    parameters = []
    if with_lumi:
        parameters.append({
            "name": LUMI,
            "auxdata": [1.0],
            "sigmas": [lumi_sigma],
            "bounds": [[max(1e-6, 1.0 - 5.0 * lumi_sigma), 1.0 + 5.0 * lumi_sigma]],
            "inits": [1.0],
        })  # fmt: skip
    spec = {
        "version": "1.0.0",
        "channels": [{"name": CHANNEL, "samples": samples}],
        "observations": [{"name": CHANNEL, "data": asimov.tolist()}],
        "measurements": [{"name": MEASUREMENT, "config": {"poi": POI, "parameters": parameters}}],
    }
    validate_workspace(spec)
    return spec


#: Digests of the specs this process has validated: a job builds a spec's model tens of times (one likelihood per
#: dataset, scan, limit, impacts) and pyhf's jsonschema pass costs ~18 ms each time (1.3 s of a 6 s fit job).
_VALIDATED: set[str] = set()


def _digest(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def validate_workspace(spec: dict) -> pyhf.Workspace:
    """Validate ``spec`` against pyhf's schema and build its model; WorkspaceError (pyhf's reason) if not."""
    import pyhf  # here, not at the top: the figure of the templates reads this module's histosys data only

    try:
        with warnings.catch_warnings():  # pyhf 0.7 uses jsonschema's deprecated RefResolver
            warnings.simplefilter("ignore", DeprecationWarning)
            workspace = pyhf.Workspace(spec)  # validates against workspace.json
            workspace.model(modifier_settings=MODIFIER_SETTINGS)  # and the model against model.json
    except (pyhf.exceptions.InvalidSpecification, pyhf.exceptions.InvalidModel, ValueError, KeyError) as err:
        raise WorkspaceError(f"invalid pyhf workspace: {err}") from err
    _VALIDATED.add(_digest(spec))
    return workspace


#: How systlab's models interpolate, made explicit: pyhf's defaults (≥ 0.7), histosys code 4p (a polynomial inside
#: ±1σ, linear beyond: smooth at nominal, which the Newton fits need; code 0's kink at nominal sent 15 of 200 toys of
#: tests/test_batched.py to the per-toy path) and normsys code 4. The TES grid is linear between its simulated points
#: (:func:`systlab.likelihood.morph.one_sided_morph`): inside ±1σ it differs from a histosys fit by code 4p's bend.
MODIFIER_SETTINGS = {"histosys": {"interpcode": "code4p"}, "normsys": {"interpcode": "code4"}}
#: The histosys interpolations a model may be built with: pyhf's code 4p (systlab's default) and code 0 (piecewise
#: linear: what the TES grid does between its points, used by the histosys check to compare like with like).
HISTOSYS_CODES = ("code4p", "code0")


def workspace_model(spec: dict, validate: bool = True, histosys_code: str = "code4p", **options) -> pyhf.pdf.Model:
    """The pyhf model of a spec (its first measurement) with :data:`MODIFIER_SETTINGS` (``histosys_code`` for every
    histosys); ``options`` go to ``Workspace.model`` (e.g. ``batch_size``); quiet about jsonschema deprecations.
    ``validate``: pyhf's schema checks, run once per distinct spec in a process (the same spec is not checked twice)."""
    import pyhf

    if histosys_code not in HISTOSYS_CODES:
        raise ValueError(f"histosys_code {histosys_code!r} is not one of {HISTOSYS_CODES}")
    settings = {**MODIFIER_SETTINGS, "histosys": {"interpcode": histosys_code}}
    digest = _digest(spec) if validate else None
    validate = validate and digest not in _VALIDATED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = pyhf.Workspace(spec, validate=validate).model(modifier_settings=settings, validate=validate,
                                                             **options)  # fmt: skip
    if validate:
        _VALIDATED.add(digest)
    return model


def write_workspace(spec: dict, path: str | os.PathLike) -> None:
    """Write the workspace spec as sorted-key JSON, atomically."""
    write_json(path, spec)


def read_workspace(path: str | os.PathLike) -> dict:
    """Read and validate a workspace spec written by :func:`write_workspace`."""
    spec = json.loads(Path(path).read_text())
    validate_workspace(spec)
    return spec


def workspace_settings(cfg) -> dict:
    """:func:`build_workspace`'s keyword arguments from a :class:`systlab.config.Config` (every configured NP)."""
    return {
        "signal": cfg.signal,
        "backgrounds": cfg.backgrounds,
        "shape_nps": {np_.name: np_.one_sided for np_ in cfg.shape_nps},
        "norm_nps": {np_.name: (np_.processes, np_.sigma) for np_ in cfg.norm_nps},
        "lumi_sigma": cfg.lumi_sigma,
    }
