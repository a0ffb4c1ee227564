"""Scoring: ONNX Runtime throughput via ``systlab.methods.onnx_io.OnnxScorer`` ÷ torch eval throughput, CPU.

One ``Classifier`` (features and hidden layers of the default config, standardisation buffers set),
exported with ``onnx_io.export_onnx`` (parity-checked). Input: raw float32 feature rows with ~10 %
SENTINEL entries (``onnx_io.parity_sample``). Contenders, interleaved, same thread count:

* ``onnx``  : ``OnnxScorer(path, threads=T).score(x)`` (its default batch of 65536 rows)
* ``torch`` : ``model(torch.from_numpy(x[i:i+65536]))`` under ``torch.inference_mode()``, same batches

ratio = torch time / onnx time (ONNX throughput ÷ torch throughput); target >= 1.0. T = 1 is what the
score rule uses (``threads: 1``); T = 2 is reported too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

try:
    from benchmarks.common import ROOT, Figure, check, interleave, main_for, median, scratch
except ImportError:
    from common import ROOT, Figure, check, interleave, main_for, median, scratch

from systlab.config import load_config_files
from systlab.methods.model import Classifier
from systlab.methods.onnx_io import OnnxScorer, export_onnx, parity_sample


def torch_score(model: torch.nn.Module, x: np.ndarray, batch: int) -> np.ndarray:
    out = np.empty(len(x), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(x), batch):
            chunk = torch.from_numpy(x[start : start + batch])
            out[start : start + len(chunk)] = model(chunk).numpy()
    return out


def run(quick: bool = False) -> list[Figure]:
    cfg = load_config_files(ROOT / "config" / "config.yaml")
    n_features = len(cfg.features)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Classifier(n_features, cfg.training.hidden, rng.normal(50, 10, n_features).astype(np.float32),
                       rng.uniform(5, 20, n_features).astype(np.float32)).eval()  # fmt: skip
    n = 400_000 if quick else 2_000_000
    x = parity_sample(model, n_features, n_events=n, seed=1)
    repeats = 5 if quick else 9
    figures = []
    prev_threads = torch.get_num_threads()
    with scratch("score") as tmp:
        path = export_onnx(model, list(cfg.features), Path(tmp) / "model.onnx", {"method": "bench"})
        for threads in (1, 2):
            scorer = OnnxScorer(path, threads=threads)
            torch.set_num_threads(threads)
            assert np.allclose(scorer.score(x[:4096]), torch_score(model, x[:4096], scorer.batch_size), atol=1e-5)
            times = interleave(
                {"onnx": lambda s=scorer: s.score(x), "torch": lambda s=scorer: torch_score(model, x, s.batch_size)},
                repeats,
            )
            t_onnx, t_torch = median(times["onnx"]), median(times["torch"])
            ratio = t_torch / t_onnx
            figures.append(
                Figure(
                    "score", f"ONNX Runtime / torch eval throughput ({threads} thr)", ratio,
                    "torch time / onnx time", ">= 1.0", check(ratio, ">=", 1.0),
                    {"onnx": t_onnx, "torch": t_torch},
                    extra={"rows": n, "rows_per_s_onnx": n / t_onnx, "rows_per_s_torch": n / t_torch,
                           "batch": scorer.batch_size, "hidden": list(cfg.training.hidden)},
                )
            )  # fmt: skip
    torch.set_num_threads(prev_threads)
    return figures


if __name__ == "__main__":
    main_for(run)
