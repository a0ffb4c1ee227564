"""The published low-dimensional toys (learning-to-pivot, rotating Gaussians, INFERNO 3-D) run with systlab's methods.

``toys`` generates the events and knows their analytic densities, ``settings`` reads the ``paper_toys``
config section, ``training`` feeds the shared training loop, ``evaluate`` scores the exported models and
``checks`` compares them with the published behaviour.
"""
