"""Primary and derived features (HiggsML names) from the objects of a (varied) event table.

Computed AFTER systematic variations and thresholds, so every derived quantity is consistent
with the varied objects. Features undefined for an event (e.g. jet-pair quantities with fewer
than two jets) take ``events.SENTINEL``.

The features come in three groups by what moves them, so that the variations stage can compute
each group only as often as its inputs change: ``fixed_features`` (no shape NP moves them),
``jet_features`` (only JES) and ``moving_features`` (TES and MET). ``compute_features`` is all
three at once. Every function is elementwise per event, so a group computed on all events and
then indexed equals the group computed on the indexed events, bit for bit.
"""

from __future__ import annotations

from typing import NamedTuple

import awkward as ak
import numpy as np

from systlab.events import FEATURES, SENTINEL

#: Features that no shape NP moves: the tau's direction and the lepton (and their separation).
FIXED_FEATURES = ("PRI_tau_eta", "PRI_tau_phi", "PRI_lep_pt", "PRI_lep_eta", "PRI_lep_phi", "DER_deltar_tau_lep")
#: Features that only the jets (JES and the jet threshold) move.
JET_FEATURES = (
    "PRI_jet_num",
    "PRI_jet_leading_pt", "PRI_jet_leading_eta", "PRI_jet_leading_phi",
    "PRI_jet_subleading_pt", "PRI_jet_subleading_eta", "PRI_jet_subleading_phi",
    "PRI_jet_all_pt",
    "DER_deltaeta_jet_jet", "DER_mass_jet_jet", "DER_prodeta_jet_jet", "DER_lep_eta_centrality",
)  # fmt: skip


class Visible(NamedTuple):
    """A massless visible object per event: pT, eta, phi (float64) and its (px, py, pz, E) rows."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    p4: np.ndarray

    def take(self, index: np.ndarray) -> Visible:
        """The same object in the events ``index`` only."""
        return Visible(self.pt[index], self.eta[index], self.phi[index], self.p4[:, index])


class JetFeatures(NamedTuple):
    """Per-event jet quantities after JES and the jet threshold: what TES and soft MET leave alone."""

    columns: dict[str, np.ndarray]  # the ``JET_FEATURES`` columns, float32
    all_pt: np.ndarray  # scalar jet pT sum (float64), for DER_sum_pt
    pxy: np.ndarray  # rows px, py of the leading then the subleading jet (0 where absent), for DER_pt_tot

    def take(self, index: np.ndarray) -> JetFeatures:
        """The same quantities in the events ``index`` only."""
        columns = {name: values[index] for name, values in self.columns.items()}
        return JetFeatures(columns, self.all_pt[index], self.pxy[:, index])


def direction(eta, phi) -> np.ndarray:
    """Rows (cos phi, sin phi, sinh eta, cosh eta): the four-vector of a massless object per unit pT."""
    return np.stack([np.cos(phi), np.sin(phi), np.sinh(eta), np.cosh(eta)])


def _four_vector(pt, eta, phi):
    """(px, py, pz, E) of massless objects."""
    return pt * direction(eta, phi)


def visible(pt, eta, phi) -> Visible:
    """A ``Visible`` object with its four-vector."""
    return Visible(pt, eta, phi, _four_vector(pt, eta, phi))


def _mass(p4):
    return np.sqrt(np.maximum(p4[3] ** 2 - p4[0] ** 2 - p4[1] ** 2 - p4[2] ** 2, 0.0))


def _delta_phi(a, b):
    return (a - b + np.pi) % (2 * np.pi) - np.pi


def _nth_jet(flat: np.ndarray, first: np.ndarray, n_jets: np.ndarray, index: int) -> np.ndarray:
    """The ``index``-th jet's value per event (jets are pT-ordered), SENTINEL where absent.

    ``flat`` holds every jet's value, ``first`` the flat position of each event's first jet.
    """
    out = np.full(len(n_jets), SENTINEL)
    present = n_jets > index
    out[present] = flat[first[present] + index]
    return out


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


def _float32(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: np.asarray(values, dtype=np.float32) for name, values in columns.items()}


def fixed_features(tau_eta, tau_phi, lep: Visible) -> dict[str, np.ndarray]:
    """The ``FIXED_FEATURES`` columns (float32): the tau's direction, the lepton and Delta R(tau, lepton)."""
    return _float32({
        "PRI_tau_eta": tau_eta, "PRI_tau_phi": tau_phi,
        "PRI_lep_pt": lep.pt, "PRI_lep_eta": lep.eta, "PRI_lep_phi": lep.phi,
        "DER_deltar_tau_lep": np.hypot(tau_eta - lep.eta, _delta_phi(tau_phi, lep.phi)),
    })  # fmt: skip


def jet_features(jet_pt: ak.Array, jet_eta: ak.Array, jet_phi: ak.Array, lep_eta) -> JetFeatures:
    """Jet quantities from jagged, pT-ordered jets (thresholds applied), and the lepton's eta centrality."""
    n_jets = ak.to_numpy(ak.num(jet_pt, axis=1))
    first = np.cumsum(n_jets) - n_jets
    flat = [ak.to_numpy(ak.flatten(v, axis=1)).astype(np.float64) for v in (jet_pt, jet_eta, jet_phi)]
    j1 = [_nth_jet(v, first, n_jets, 0) for v in flat]
    j2 = [_nth_jet(v, first, n_jets, 1) for v in flat]
    has1, has2 = n_jets >= 1, n_jets >= 2
    all_pt = ak.to_numpy(ak.sum(jet_pt, axis=1)).astype(np.float64)
    j1_p4 = _four_vector(*(np.where(has1, v, 0.0) for v in j1))
    j2_p4 = _four_vector(*(np.where(has2, v, 0.0) for v in j2))
    deta = np.abs(j1[1] - j2[1])
    mean_eta = (j1[1] + j2[1]) / 2
    centrality = np.exp(-4.0 / np.maximum(deta, 1e-6) ** 2 * (lep_eta - mean_eta) ** 2)
    columns = {
        "PRI_jet_num": np.minimum(n_jets, 3),
        "PRI_jet_leading_pt": j1[0], "PRI_jet_leading_eta": j1[1], "PRI_jet_leading_phi": j1[2],
        "PRI_jet_subleading_pt": j2[0], "PRI_jet_subleading_eta": j2[1], "PRI_jet_subleading_phi": j2[2],
        "PRI_jet_all_pt": all_pt,
        "DER_deltaeta_jet_jet": np.where(has2, deta, SENTINEL),
        "DER_mass_jet_jet": np.where(has2, _mass(j1_p4 + j2_p4), SENTINEL),
        "DER_prodeta_jet_jet": np.where(has2, j1[1] * j2[1], SENTINEL),
        "DER_lep_eta_centrality": np.where(has2, centrality, SENTINEL),
    }  # fmt: skip
    return JetFeatures(_float32(columns), all_pt, np.stack([j1_p4[0], j1_p4[1], j2_p4[0], j2_p4[1]]))


def moving_features(tau: Visible, lep: Visible, met_x, met_y, jets: JetFeatures) -> dict[str, np.ndarray]:
    """The features TES and MET move (float32): tau pT, MET, masses, pT balances, MET centrality."""
    met_pt = np.hypot(met_x, met_y)
    met_phi = np.arctan2(met_y, met_x)
    vis = tau.p4 + lep.p4
    m_vis = _mass(vis)
    total_x = vis[0] + jets.pxy[0] + jets.pxy[2]
    total_y = vis[1] + jets.pxy[1] + jets.pxy[3]
    return _float32({
        "PRI_tau_pt": tau.pt, "PRI_met": met_pt, "PRI_met_phi": met_phi,
        "DER_mass_transverse_met_lep": np.sqrt(
            np.maximum(2 * lep.pt * met_pt * (1 - np.cos(_delta_phi(lep.phi, met_phi))), 0.0)
        ),
        "DER_mass_vis": m_vis,
        "DER_mass_MMC": collinear_mass(tau.p4[0], tau.p4[1], lep.p4[0], lep.p4[1], met_x, met_y, m_vis),
        "DER_pt_h": np.hypot(vis[0] + met_x, vis[1] + met_y),
        "DER_pt_tot": np.hypot(total_x + met_x, total_y + met_y),
        "DER_sum_pt": tau.pt + lep.pt + jets.all_pt,
        "DER_pt_ratio_lep_tau": lep.pt / tau.pt,
        "DER_met_phi_centrality": _met_phi_centrality(tau.phi, lep.phi, met_phi),
    })  # fmt: skip


def ordered_features(*groups: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns of the feature groups merged, in ``FEATURES`` order."""
    merged = {name: values for group in groups for name, values in group.items()}
    return {name: merged[name] for name in FEATURES}


def compute_features(
    tau_pt, tau_eta, tau_phi, lep_pt, lep_eta, lep_phi, met_x, met_y, jet_pt: ak.Array, jet_eta, jet_phi
) -> dict[str, np.ndarray]:
    """All ``FEATURES`` as float32 arrays from object arrays (jets jagged, pT-ordered, thresholds applied)."""
    tau, lep = visible(tau_pt, tau_eta, tau_phi), visible(lep_pt, lep_eta, lep_phi)
    jets = jet_features(jet_pt, jet_eta, jet_phi, lep_eta)
    return ordered_features(
        fixed_features(tau_eta, tau_phi, lep), jets.columns, moving_features(tau, lep, met_x, met_y, jets)
    )


def _met_phi_centrality(tau_phi, lep_phi, met_phi):
    """HiggsML MET phi centrality: sqrt(2) when MET lies on the bisector between tau and lepton, -sqrt(2) opposite."""
    sign = np.sign(np.sin(tau_phi - lep_phi))
    sign = np.where(sign == 0, 1.0, sign)
    a = np.sin(met_phi - lep_phi) * sign
    b = np.sin(tau_phi - met_phi) * sign
    norm = np.sqrt(a**2 + b**2)
    return np.where(norm > 0, (a + b) / np.where(norm > 0, norm, 1.0), 0.0)
