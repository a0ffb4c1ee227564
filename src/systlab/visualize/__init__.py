"""Figures: one function per paper figure; each receives computed numbers and only draws."""
