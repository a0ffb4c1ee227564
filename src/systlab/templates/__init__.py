"""Templates: classifier scores of every sample (ONNX Runtime), binned into histograms per split.

``score_sample`` scores the template and toy splits of one sample; ``build_templates`` bins them into one
``Templates`` (a Hist with process × variation × score axes per split: templates from the template split,
pseudo-data expectations from the toy split), with the binning of ``bin_edges``.
"""

from systlab._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "score_sample": "score", "scoring_parameters": "score",
    "Templates": "histograms", "build_templates": "histograms", "bin_edges": "histograms", "counts": "histograms",
    "sumw2": "histograms", "read_templates": "histograms", "write_templates": "histograms",
})  # fmt: skip
