"""Small pyhf models shared by the statistics tests."""


def one_bin_spec(s: float = 10.0, b: float = 50.0, n: float = 50.0) -> dict:
    """One bin, μ on the signal; a 1e-6 normsys keeps pyhf's fixed-μ fits non-empty (no effect on the limit)."""
    return {
        "version": "1.0.0",
        "channels": [{"name": "bin", "samples": [
            {"name": "sig", "data": [s], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
            {"name": "bkg", "data": [b], "modifiers": [
                {"name": "bnorm", "type": "normsys", "data": {"hi": 1 + 1e-6, "lo": 1 - 1e-6}}]},
        ]}],
        "observations": [{"name": "bin", "data": [n]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    }  # fmt: skip


def default_like_spec(seed: int = 3) -> dict:
    """A workspace shaped like the default problem's: 10 score bins, a signal and 3 backgrounds with FAIR-like
    yields and non-unit weights (staterror from Σw²), two-sided TES/JES and one-sided soft-MET shapes, three
    normalisation NPs and a 2 % luminosity: 18 parameters."""
    import numpy as np

    from systlab.likelihood.workspace import build_workspace
    from systlab.templates.histograms import Templates, hist_from_payload

    rng = np.random.default_rng(seed)
    edges = np.linspace(0.0, 1.0, 11)
    x = 0.5 * (edges[:-1] + edges[1:])
    shapes = {"htautau": x**3, "ztautau": (1 - x) ** 2 + 0.05, "ttbar": 1 - 0.6 * x, "diboson": np.ones_like(x)}
    yields = {"htautau": 1000.0, "ztautau": 60000.0, "ttbar": 15000.0, "diboson": 2000.0}
    weight = {"htautau": 0.05, "ztautau": 0.6, "ttbar": 0.3, "diboson": 1.5}
    slopes = {"tes_+1sd": 0.12, "tes_-1sd": -0.09, "jes_+1sd": 0.05, "jes_-1sd": -0.06, "soft_met_+1sd": 0.04}
    payload = {}
    for process, shape in shapes.items():
        nominal = yields[process] * shape / shape.sum() * (1 + 0.02 * rng.standard_normal(x.size))
        entries = {"nominal": nominal}
        for variation, slope in slopes.items():
            entries[variation] = nominal * (1 + slope * (2 * x - 1) + 0.2 * slope)
        payload[process] = {v: {"counts": c.tolist(), "sumw2": (c * weight[process]).tolist()}
                            for v, c in entries.items()}  # fmt: skip
    h = hist_from_payload(edges, payload)
    templates = Templates(edges=edges, splits={"template": h, "toy": h.copy()}, signal=("htautau",))
    norm = {"ttbar_xsec": (["ttbar"], 0.05), "diboson_xsec": (["diboson"], 0.1),
            "bkg_norm": (["ztautau", "ttbar", "diboson"], 0.01)}  # fmt: skip
    return build_workspace(templates, "htautau", ["ztautau", "ttbar", "diboson"],
                           {"tes": False, "jes": False, "soft_met": True}, norm, 0.02)  # fmt: skip
