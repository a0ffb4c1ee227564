"""Classifier training: the shared loop, the network, the training data, and one small module per method.

Methods are registered in :mod:`systlab.methods.registry` (name -> training function, data draws, options, fit
route, colour); ``METHODS`` maps a name to its ``train_*(samples, features, settings, seed, out_dir, **options)
-> TrainedModel``, resolved on access so importing this package stays light (no torch at DAG build).
"""

from __future__ import annotations

from systlab.methods.registry import REGISTRY, Method, Trainers, get, register, unregister

METHODS = Trainers()

__all__ = ["METHODS", "REGISTRY", "Method", "get", "register", "unregister"]
