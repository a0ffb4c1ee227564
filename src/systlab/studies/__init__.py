"""Studies beside the main chain: model metrics and diagnostics, sensitivity, JES granularity, the generator
check and closure, histosys and interpolation checks, the λ scan, and the method-comparison summary.

Each module computes its numbers from result files of earlier stages and writes its own JSON; figures of them are
drawn by :mod:`systlab.visualize`.
"""

from systlab._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "model_metrics": "metrics", "weighted_auc": "metrics", "roc_summaries": "roc",
    "reliability_summaries": "calibration", "evaluate": "sensitivity", "study": "jes_granularity",
    "closure": "generator_closure", "check_dataset": "histosys_check", "scan_point": "lambda_scan",
    "summary_from_files": "summary", "replica_spread": "spread",
})  # fmt: skip
