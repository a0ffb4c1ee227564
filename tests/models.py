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
