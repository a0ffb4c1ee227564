"""CLs limits: the expected bands by the crossing secant (band after band) against a Brent root per band.

The five expected limits are where √q_{μ,A} of the background-only Asimov data reaches fixed values (one per band),
and each q_{μ,A} is a conditional fit. Contenders, interleaved, on ``bench_fit.workspace_spec()`` with its Asimov
data: (A) a Brent root in μ of CLs_exp(q_{μ,A}) − 0.05 per band, as systlab did until 2026-12-07; (B)
``systlab.infer.limits.expected_limits``. Each call builds its own background-only profile (same data, same fits).
Figures: A ÷ B seconds and A ÷ B conditional fits (info); agreement max |B/A − 1| of the five limits printed.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize

try:
    from benchmarks.bench_fit import workspace_spec
    from benchmarks.common import Figure, interleave, main_for, median
except ImportError:
    from bench_fit import workspace_spec
    from common import Figure, interleave, main_for, median

from systlab.infer.fit import asimov_counts
from systlab.infer.limits import BANDS, cls_expected, expected_limits
from systlab.likelihood.binned import Likelihood
from systlab.likelihood.profile import BinnedProfileLikelihood, twice_dnll

HIGH = 10.0  # upper μ bound of the fits
RTOL = 1e-4  # on μ, both contenders


def run(quick: bool = False) -> list[Figure]:
    spec = workspace_spec()
    counts = asimov_counts(spec)
    mu_start = 1.0
    calls = {"brent": 0, "secant": 0}
    found = {}

    def counted(name):
        """q_{μ,A} of a fresh background-only profile (its fits remember nothing of an earlier call)."""
        data = BinnedProfileLikelihood(Likelihood(spec, counts, (0.0, HIGH)))
        q = twice_dnll(data.asimov(0.0, minimum_at_mu=True))

        def f(mu: float) -> float:
            calls[name] += 1
            return q(mu)
        return f

    def brent():
        q = counted("brent")
        found["brent"] = sorted(scipy.optimize.brentq(lambda m, n=n: cls_expected(q(m), n) - 0.05, 1e-3 * HIGH, HIGH,
                                                      rtol=RTOL, xtol=1e-8) for n in BANDS)  # fmt: skip

    def secant():
        found["secant"] = sorted(expected_limits(counted("secant"), mu_start, 0.95, HIGH, RTOL))

    repeats = 3 if quick else 7
    times = interleave({"brent": brent, "secant": secant}, repeats=repeats)
    a, b = median(times["brent"]), median(times["secant"])
    runs = repeats + 1  # the warm-up call counts too
    fits = {k: v / runs for k, v in calls.items()}
    agree = float(np.max(np.abs(np.array(found["secant"]) / np.array(found["brent"]) - 1.0)))
    return [
        Figure("fit", "expected CLs bands: Brent per band / crossing secant", a / b, "s ratio",
               seconds={"brent": a, "secant": b}, note=f"max |secant/brent - 1| = {agree:.1e}"),
        Figure("fit", "expected CLs bands: conditional fits, Brent / secant", fits["brent"] / fits["secant"],
               "fits ratio", note=f"{fits['brent']:.0f} vs {fits['secant']:.0f} fits"),
    ]


if __name__ == "__main__":
    main_for(run)
