"""λ(θ) and −2lnL of a systlab pyhf model in plain numpy, for many parameter rows in one call.

pyhf's numpy backend spends ~0.7 ms per ``expected_actualdata`` call of a 5–10-bin model on Python dispatch, whatever
the batch size, and the fits call it tens of thousands of times per job (benchmarks/README: the aware inference job
made 73k calls). The same arithmetic written once here for the modifiers systlab's workspaces use — normfactor, lumi,
normsys (code 4), histosys (code 4p or 0), staterror — with Gaussian constraints costs tens of μs. Every likelihood
checks it against pyhf's ``logpdf`` once when it is built (:meth:`ModelTerms.check`) and ``tests/test_expected.py``
compares λ with pyhf's to 1e-12 on random points; a model with any other modifier raises NotImplementedError, and the
caller stays on pyhf.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.special

if TYPE_CHECKING:
    import pyhf

#: The modifier types this module evaluates; anything else stays with pyhf.
SUPPORTED = ("normfactor", "lumi", "normsys", "histosys", "staterror")


def code4_coefficients(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """(n, 6) coefficients a_1..a_6 of code 4's polynomial 1 + Σ a_i α^i inside |α| < 1: it meets hi^α and lo^−α at
    α = ±1 with equal value, first and second derivative (pyhf's normsys interpolation code 4, α₀ = 1)."""
    i = np.arange(1, 7)
    sign = (-1.0) ** i
    matrix = np.array([np.ones(6), sign, i, -sign * i, i * (i - 1), sign * i * (i - 1)])
    with np.errstate(divide="ignore", invalid="ignore"):
        lh, ll = np.log(hi), np.log(lo)
    rhs = np.stack([hi - 1.0, lo - 1.0, hi * lh, -lo * ll, hi * lh**2, lo * ll**2], axis=-1)
    return np.linalg.solve(matrix, rhs.T).T


class ModelTerms:
    """The expected main-channel counts and −2lnL of one pyhf model for rows of parameters (rows, npars).

    Built from the model's spec and config (parameter order, channel bins, constraint widths, interpolation codes);
    NotImplementedError for a modifier outside :data:`SUPPORTED`, a non-Gaussian constraint or another code.
    """

    def __init__(self, model: pyhf.pdf.Model) -> None:
        config = model.config
        self.npars, self.nbins = config.npars, config.nmaindata
        codes = {"histosys": "code4p", "normsys": "code4"}
        for kind, setting in (getattr(config, "modifier_settings", None) or {}).items():
            codes[kind] = setting.get("interpcode", codes.get(kind))
        if codes["normsys"] != "code4" or codes["histosys"] not in ("code4p", "code0"):
            raise NotImplementedError(f"interpolation codes {codes}: only normsys code4, histosys code4p/code0")
        self.histosys_code = codes["histosys"]
        offsets, start = {}, 0
        for channel in config.channels:
            offsets[channel] = start
            start += config.channel_nbins[channel]
        samples = [(c["name"], s) for c in model.spec["channels"] for s in c["samples"]]
        self.nominal = np.zeros((len(samples), self.nbins))
        factors, normsys, histosys, staterror = [], [], [], []
        for s, (channel, sample) in enumerate(samples):
            bins = slice(offsets[channel], offsets[channel] + config.channel_nbins[channel])
            nominal = np.asarray(sample["data"], dtype=float)
            self.nominal[s, bins] = nominal
            for mod in sample["modifiers"]:
                kind, par = mod["type"], config.par_slice(mod["name"])
                if kind in ("normfactor", "lumi"):
                    factors.append((s, par.start))
                elif kind == "normsys":
                    normsys.append((s, par.start, float(mod["data"]["hi"]), float(mod["data"]["lo"])))
                elif kind == "histosys":
                    up, down = np.zeros(self.nbins), np.zeros(self.nbins)
                    up[bins] = np.asarray(mod["data"]["hi_data"], dtype=float) - nominal
                    down[bins] = nominal - np.asarray(mod["data"]["lo_data"], dtype=float)
                    histosys.append((s, par.start, up, down))
                elif kind == "staterror":
                    columns = np.full(self.nbins, -1)
                    columns[bins] = np.arange(par.start, par.stop)
                    staterror.append((s, columns))
                else:
                    raise NotImplementedError(f"modifier type {kind!r} ({mod['name']}): only {SUPPORTED}")
        self.factor_sample = np.array([s for s, _ in factors], dtype=int)
        self.factor_par = np.array([p for _, p in factors], dtype=int)
        self.norm_sample = np.array([n[0] for n in normsys], dtype=int)
        self.norm_par = np.array([n[1] for n in normsys], dtype=int)
        hi, lo = np.array([n[2] for n in normsys]), np.array([n[3] for n in normsys])
        self.norm_hi, self.norm_lo = hi, lo
        self.norm_coef = code4_coefficients(hi, lo) if normsys else np.zeros((0, 6))
        nsamples = len(samples)
        # histosys: Δ(rows, samples·bins) = C (rows, 2E) @ W (2E, samples·bins), C the up/down weights of each entry
        self.hist_par = np.array([h[1] for h in histosys], dtype=int)
        weights = np.zeros((2, len(histosys), nsamples, self.nbins))
        for e, (s, _, up, down) in enumerate(histosys):
            weights[0, e, s], weights[1, e, s] = up, down
        self.hist_weights = weights.reshape(2 * len(histosys), nsamples * self.nbins)
        # staterror: one γ per bin shared by the samples that carry it (pyhf combines a channel's staterror)
        self.stat_mask = np.zeros((nsamples, self.nbins))
        self.stat_column = np.full(self.nbins, -1)
        for s, columns in staterror:
            clash = (self.stat_column >= 0) & (columns >= 0) & (self.stat_column != columns)
            if clash.any():
                raise NotImplementedError("two staterror parameters on one bin")
            self.stat_column = np.where(columns >= 0, columns, self.stat_column)
            self.stat_mask[s] = columns >= 0
        self.stat_bins = np.flatnonzero(self.stat_column >= 0)
        # per sample, the columns of [x, normsys factors, 1] it is multiplied by: its normfactors/lumi, then its
        # normsys, padded with the column of ones (×1 is exact, so the product equals a per-entry loop's bit for bit);
        # one gather per call instead of a loop per entry. γ of each bin from the same columns (1 where there is none).
        one = self.npars + len(normsys)
        columns = [[p for t, p in zip(self.factor_sample, self.factor_par, strict=True) if t == s]
                   + [self.npars + e for e, t in enumerate(self.norm_sample) if t == s] for s in range(nsamples)]
        width = max([1, *map(len, columns)])
        self.factor_columns = np.array([c + [one] * (width - len(c)) for c in columns], dtype=int)
        self.stat_gather = np.where(self.stat_column >= 0, self.stat_column, one)
        self.free_mask = 1.0 - self.stat_mask
        con_par, con_width = [], []
        for name in config.auxdata_order:
            pset = config.param_set(name)
            if pset.pdf_type != "normal":
                raise NotImplementedError(f"Gaussian constraints only ({name}: {pset.pdf_type})")
            con_par.extend(range(config.par_slice(name).start, config.par_slice(name).stop))
            con_width.extend(np.asarray(pset.width(), dtype=float).tolist())
        self.con_par = np.asarray(con_par, dtype=int)  # the parameter of each auxiliary datum
        self.con_width = np.asarray(con_width, dtype=float)
        self.con_offset = float(np.log(2 * np.pi * self.con_width**2).sum())  # the Gaussians' ln 2πσ²

    def _normsys(self, alpha: np.ndarray) -> np.ndarray:
        """Code-4 factors (rows, entries)."""
        hi, lo, c = self.norm_hi, self.norm_lo, self.norm_coef
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            inside = c[:, 5] * alpha
            for i in (4, 3, 2, 1, 0):  # Horner
                inside = (inside + c[:, i]) * alpha
            inside += 1.0
            return np.where(alpha >= 1.0, hi**alpha, np.where(alpha <= -1.0, lo ** (-alpha), inside))

    def _histosys(self, alpha: np.ndarray, branch: np.ndarray | None = None) -> np.ndarray:
        """Up and down weights (rows, 2E) of each histosys entry: Δ = c_up·(hi − nom) + c_down·(nom − lo). Code 4p:
        α·up beyond +1, α·down beyond −1, and inside α(up + down)/2 + α²(15 − 10α² + 3α⁴)(up − down)/16; code 0: α·up
        for α > 0, α·down otherwise, or where ``branch`` (rows or 1, E) is +1 / −1 the up / down line for every α (the
        smooth extension of one side of the kink at 0; 0: by the sign of α)."""
        a = alpha
        if self.histosys_code == "code0":
            up = a > 0.0
            if branch is not None:
                up = np.where(branch > 0, True, np.where(branch < 0, False, up))
            return np.concatenate([np.where(up, a, 0.0), np.where(up, 0.0, a)], axis=1)
        a2 = a * a
        poly = a2 * (a2 * (a2 * 3.0 - 10.0) + 15.0) / 16.0
        above, below, half = a > 1.0, a < -1.0, 0.5 * a
        up = np.where(above, a, np.where(below, 0.0, half + poly))
        down = np.where(above, 0.0, np.where(below, a, half - poly))
        return np.concatenate([up, down], axis=1)

    def expected(self, x: np.ndarray, branch: np.ndarray | None = None) -> np.ndarray:
        """λ(θ) (rows, bins) of every row of ``x`` (rows, npars); ``branch`` (npars or rows × npars, code 0 only): the
        side of the kink each histosys NP is evaluated on, as :meth:`_histosys` (None: every NP by its sign)."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        rows, nsamples = len(x), len(self.nominal)
        if self.hist_par.size:
            sides = None if branch is None else np.atleast_2d(branch)[:, self.hist_par]
            shape = (self._histosys(x[:, self.hist_par], sides) @ self.hist_weights).reshape(rows, nsamples, self.nbins)
            shape += self.nominal
        else:
            shape = np.broadcast_to(self.nominal, (rows, nsamples, self.nbins))
        columns = np.concatenate([x, self._normsys(x[:, self.norm_par]), np.ones((rows, 1))], axis=1)
        gathered = columns[:, self.factor_columns]  # (rows, samples, factors): each sample's factors in order
        factor = gathered[:, :, 0]
        for k in range(1, gathered.shape[2]):
            factor = factor * gathered[:, :, k]
        scaled = shape * factor[:, :, None]
        if not self.stat_bins.size:
            return scaled.sum(axis=1)
        total = np.einsum("rsb,sb->rb", scaled, self.free_mask)  # the samples without γ, then those with it
        return total + np.einsum("rsb,sb->rb", scaled, self.stat_mask) * columns[:, self.stat_gather]

    @staticmethod
    def log_factorials(counts: np.ndarray) -> np.ndarray:
        """ln n! per bin of each dataset (the parameter-free part of each bin's Poisson term)."""
        return scipy.special.gammaln(np.atleast_2d(counts) + 1.0)

    def value(self, lam: np.ndarray, x: np.ndarray, counts: np.ndarray, aux: np.ndarray,
              log_factorials: np.ndarray) -> np.ndarray:  # fmt: skip
        """pyhf's −2 logpdf (Poisson main data, Gaussian constraints) of rows ``x`` with expected counts ``lam`` for
        the datasets ``counts``/``aux`` (rows or 1 each) and their :meth:`log_factorials`; NaN where undefined.
        Each bin's λ − n lnλ + ln n! is summed as one term, as pyhf does: summing the ln n! apart (~1e7 on Asimov
        data of 1e5 events) against the rest would cost ~1e-8 of precision, which finite-difference Hessians
        divide by h²."""
        n = np.atleast_2d(counts)
        with np.errstate(invalid="ignore", divide="ignore"):
            main = 2.0 * np.sum(lam - np.where(n > 0, n * np.log(lam), 0.0) + log_factorials, axis=1)
        pulls = (x[:, self.con_par] - np.atleast_2d(aux)) / self.con_width
        value = main + np.sum(pulls**2, axis=1) + self.con_offset
        bad = ~np.isfinite(value) | np.any((lam < 0) | ((lam == 0) & (n > 0)), axis=1)
        return np.where(bad, np.nan, value)

    def twice_nll(self, x: np.ndarray, counts: np.ndarray, aux: np.ndarray,
                  branch: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """:meth:`value` of each row of ``x`` for the datasets ``counts`` (rows or 1, bins), ``aux`` (rows or 1);
        ``branch``: as :meth:`expected`."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            lam = self.expected(x) if branch is None else self.expected(x, branch)
            return self.value(lam, x, counts, aux, self.log_factorials(counts))

    def kinks(self) -> np.ndarray:
        """Which parameters (npars, bool) are code-0 histosys NPs with a kink at α = 0: some entry's up and down
        shifts differ, so −2lnL is smooth on either side of 0 but its slope jumps there (none under code 4p)."""
        out = np.zeros(self.npars, dtype=bool)
        if self.histosys_code == "code0" and self.hist_par.size:
            weights = self.hist_weights.reshape(2, self.hist_par.size, -1)
            out[self.hist_par[np.any(weights[0] != weights[1], axis=1)]] = True
        return out

    def check(self, model: pyhf.pdf.Model, pars: np.ndarray, data: np.ndarray, tolerance: float = 1e-9) -> None:
        """RuntimeError unless :meth:`twice_nll` equals pyhf's −2 logpdf for ``data`` (main + aux) at ``pars``, or at
        pyhf's suggested init where ``pars`` is undefined (a pinned far extrapolation)."""
        data = np.asarray(data, dtype=float)
        reference = -2.0 * float(model.logpdf(np.asarray(pars, dtype=float), data)[0])
        if not np.isfinite(reference):
            pars = np.asarray(model.config.suggested_init(), dtype=float)
            reference = -2.0 * float(model.logpdf(pars, data)[0])
        mine = float(self.twice_nll(pars, data[None, : self.nbins], data[None, self.nbins :])[0])
        if not abs(mine - reference) <= tolerance * max(1.0, abs(reference)):
            raise RuntimeError(f"numpy −2lnL {mine!r} differs from pyhf's {reference!r}: a modifier it does not know?")
