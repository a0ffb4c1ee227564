"""Toy chunks and coverage summaries as JSON files: written by the toys rules, read back to merge chunks and by the
summary and figures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from systlab.atomic import write_json
from systlab.infer.fit import json_float
from systlab.infer.toys import EPSILON, ONE_SIGMA, Coverage, ToyChunk

FORMAT_CHUNK = "systlab.toys.chunk/1"


def chunk_payload(chunk: ToyChunk) -> dict:
    """JSON-ready form of a chunk (arrays as lists; non-finite values null)."""
    payload = {"format": FORMAT_CHUNK, "start": chunk.start, "stop": chunk.stop, "seed": chunk.seed,
               "n_fallback": chunk.n_fallback}  # fmt: skip  (no wall time: the rule's benchmark file has it)
    for field in ("mu_true", "mu_hat", "lo", "hi"):
        payload[field] = [json_float(v) for v in getattr(chunk, field)]
    for field in ("converged", "open_lo", "open_hi"):
        payload[field] = [bool(v) for v in getattr(chunk, field)]
    payload["n_fits"] = [int(v) for v in chunk.n_fits]
    if chunk.q_mu_true is not None:
        payload["q_mu_true"] = [json_float(v) for v in chunk.q_mu_true]
    return payload


def write_toy_chunk(chunk: ToyChunk, path: str | os.PathLike) -> None:
    """Write a chunk as sorted-key JSON, atomically."""
    write_json(path, chunk_payload(chunk))


def read_toy_chunk(path: str | os.PathLike) -> ToyChunk:
    """Read a chunk written by :func:`write_toy_chunk`."""
    return toy_chunk_from_payload(json.loads(Path(path).read_text()), path)


def toy_chunk_from_payload(p: dict, path: str | os.PathLike) -> ToyChunk:
    """A chunk from its :func:`chunk_payload` form; ``path`` names the file in errors."""
    if p.get("format") != FORMAT_CHUNK:
        raise ValueError(f"{path}: not a {FORMAT_CHUNK} file")

    def floats(key: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in p[key]], dtype=float)

    return ToyChunk(
        start=p["start"], stop=p["stop"], seed=p["seed"],
        mu_true=floats("mu_true"), mu_hat=floats("mu_hat"), lo=floats("lo"), hi=floats("hi"),
        converged=np.array(p["converged"], bool), open_lo=np.array(p["open_lo"], bool),
        open_hi=np.array(p["open_hi"], bool), n_fits=np.array(p["n_fits"], int),
        seconds=float(p.get("seconds", "nan")),
        q_mu_true=floats("q_mu_true") if "q_mu_true" in p else None, n_fallback=int(p.get("n_fallback", 0)),
    )  # fmt: skip


def coverage_payload(result: Coverage) -> dict:
    """JSON-ready coverage summary (NaN as null), with the interval method recorded; no wall time (two clean runs
    write the same bytes; the toys rule's benchmark file holds the job's time)."""
    payload = {k: (json_float(v) if isinstance(v, float) else v) for k, v in result._asdict().items()
               if k != "seconds_per_toy"}  # fmt: skip
    q = payload.pop("q_mu_true")
    if q is not None:  # per converged toy, for the asymptotics check (q_mu(mu_true) against chi2_1)
        payload["q_mu_true"] = [json_float(v) for v in np.asarray(q, dtype=float)]
    payload["interval_method"] = "asymptotic profile likelihood (-2dlnL = 1)"
    payload["one_sigma"] = ONE_SIGMA
    payload["epsilon"] = EPSILON
    return payload


def write_coverage(result: Coverage, path: str | os.PathLike, model: Coverage | None = None,
                   grid: dict | None = None) -> None:  # fmt: skip
    """Write a coverage summary as sorted-key JSON, atomically; ``model``: the same study with toys drawn
    from the model's own expectation, stored under the key ``model`` (the Wilks check reads it); ``grid``:
    how a parameterized classifier's grid toys were made."""
    payload = coverage_payload(result)
    if model is not None:
        payload["model"] = coverage_payload(model)
    if grid is not None:
        payload["grid"] = grid
    write_json(path, payload)
