"""Primary and derived features (HiggsML names) from the objects of a (varied) event table.

Computed AFTER systematic variations and thresholds, so every derived quantity is consistent
with the varied objects. Features undefined for an event (e.g. jet-pair quantities with fewer
than two jets) take ``events.SENTINEL``.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from systlab.events import FEATURES, SENTINEL


def _four_vector(pt, eta, phi):
    """(px, py, pz, E) of massless objects."""
    return np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)])


def _mass(p4):
    return np.sqrt(np.maximum(p4[3] ** 2 - p4[0] ** 2 - p4[1] ** 2 - p4[2] ** 2, 0.0))


def _delta_phi(a, b):
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def _nth_jet(values: ak.Array, index: int) -> np.ndarray:
    """The ``index``-th jet's value per event (jets are pT-ordered), SENTINEL where absent."""
    padded = ak.pad_none(values, index + 1, axis=1, clip=True)[:, index]
    return ak.to_numpy(ak.fill_none(padded, SENTINEL)).astype(np.float64)


def collinear_mass(tau_px, tau_py, lep_px, lep_py, met_x, met_y, m_vis):
    """Collinear-approximation ditau mass m_vis / sqrt(x_tau x_lep).

    The visible fractions solve MET = nu_tau + nu_lep with each neutrino along its visible
    partner; they are clipped to [0.05, 1] so the estimator stays defined (an MMC stand-in).
    """
    det = tau_px * lep_py - tau_py * lep_px
    safe = np.where(np.abs(det) > 1e-6, det, 1e-6)
    a = (met_x * lep_py - met_y * lep_px) / safe  # neutrino momentum along tau, in units of tau
    b = (tau_px * met_y - tau_py * met_x) / safe
    x_tau = np.clip(1.0 / (1.0 + a), 0.05, 1.0)
    x_lep = np.clip(1.0 / (1.0 + b), 0.05, 1.0)
    x_tau = np.where((1.0 + a) > 0, x_tau, 1.0)
    x_lep = np.where((1.0 + b) > 0, x_lep, 1.0)
    return m_vis / np.sqrt(x_tau * x_lep)


def compute_features(
    tau_pt, tau_eta, tau_phi, lep_pt, lep_eta, lep_phi, met_x, met_y, jet_pt: ak.Array, jet_eta, jet_phi
) -> dict[str, np.ndarray]:
    """All ``FEATURES`` as float32 arrays from object arrays (jets jagged, pT-ordered, thresholds applied)."""
    tau = _four_vector(tau_pt, tau_eta, tau_phi)
    lep = _four_vector(lep_pt, lep_eta, lep_phi)
    met_pt = np.hypot(met_x, met_y)
    met_phi = np.arctan2(met_y, met_x)

    n_jets = ak.to_numpy(ak.num(jet_pt, axis=1))
    j1 = [_nth_jet(v, 0) for v in (jet_pt, jet_eta, jet_phi)]
    j2 = [_nth_jet(v, 1) for v in (jet_pt, jet_eta, jet_phi)]
    has1, has2 = n_jets >= 1, n_jets >= 2
    jet_all_pt = ak.to_numpy(ak.sum(jet_pt, axis=1)).astype(np.float64)

    vis = tau + lep
    m_vis = _mass(vis)
    out: dict[str, np.ndarray] = {
        "PRI_tau_pt": tau_pt, "PRI_tau_eta": tau_eta, "PRI_tau_phi": tau_phi,
        "PRI_lep_pt": lep_pt, "PRI_lep_eta": lep_eta, "PRI_lep_phi": lep_phi,
        "PRI_met": met_pt, "PRI_met_phi": met_phi,
        "PRI_jet_num": np.minimum(n_jets, 3),
        "PRI_jet_leading_pt": j1[0], "PRI_jet_leading_eta": j1[1], "PRI_jet_leading_phi": j1[2],
        "PRI_jet_subleading_pt": j2[0], "PRI_jet_subleading_eta": j2[1], "PRI_jet_subleading_phi": j2[2],
        "PRI_jet_all_pt": jet_all_pt,
    }  # fmt: skip
    out["DER_mass_transverse_met_lep"] = np.sqrt(
        np.maximum(2 * lep_pt * met_pt * (1 - np.cos(_delta_phi(lep_phi, met_phi))), 0.0)
    )
    out["DER_mass_vis"] = m_vis
    out["DER_mass_MMC"] = collinear_mass(tau[0], tau[1], lep[0], lep[1], met_x, met_y, m_vis)
    out["DER_pt_h"] = np.hypot(vis[0] + met_x, vis[1] + met_y)

    j1_p4 = _four_vector(*(np.where(has1, v, 0.0) for v in j1))
    j2_p4 = _four_vector(*(np.where(has2, v, 0.0) for v in j2))
    deta = np.abs(j1[1] - j2[1])
    out["DER_deltaeta_jet_jet"] = np.where(has2, deta, SENTINEL)
    out["DER_mass_jet_jet"] = np.where(has2, _mass(j1_p4 + j2_p4), SENTINEL)
    out["DER_prodeta_jet_jet"] = np.where(has2, j1[1] * j2[1], SENTINEL)
    out["DER_deltar_tau_lep"] = np.hypot(tau_eta - lep_eta, _delta_phi(tau_phi, lep_phi))
    total = vis + j1_p4 + j2_p4
    out["DER_pt_tot"] = np.hypot(total[0] + met_x, total[1] + met_y)
    out["DER_sum_pt"] = tau_pt + lep_pt + jet_all_pt
    out["DER_pt_ratio_lep_tau"] = lep_pt / tau_pt
    out["DER_met_phi_centrality"] = _met_phi_centrality(tau_phi, lep_phi, met_phi)
    mean_eta = (j1[1] + j2[1]) / 2
    centrality = np.exp(-4.0 / np.maximum(deta, 1e-6) ** 2 * (lep_eta - mean_eta) ** 2)
    out["DER_lep_eta_centrality"] = np.where(has2, centrality, SENTINEL)
    return {name: np.asarray(out[name], dtype=np.float32) for name in FEATURES}


def _met_phi_centrality(tau_phi, lep_phi, met_phi):
    """HiggsML MET phi centrality: sqrt(2) when MET lies on the bisector between tau and lepton, -sqrt(2) opposite."""
    sign = np.sign(np.sin(tau_phi - lep_phi))
    sign = np.where(sign == 0, 1.0, sign)
    a = np.sin(met_phi - lep_phi) * sign
    b = np.sin(tau_phi - met_phi) * sign
    norm = np.sqrt(a**2 + b**2)
    return np.where(norm > 0, (a + b) / np.where(norm > 0, norm, 1.0), 0.0)
