"""Configuration: validated once at the door (the schema ships in this package), then passed on typed.

``load_config`` / ``load_config_files`` turn a mapping or layered YAML files into a frozen :class:`Config`;
``model`` holds the dataclasses and the names derived from them (variations, models, truths).
"""

from systlab.config.catalogue import MassSlices
from systlab.config.load import (
    SCHEMA_PATH,
    deep_update,
    load_config,
    load_config_files,
    validate_and_fill,
    validate_schema,
)
from systlab.config.model import (
    CROSS_CHECK_FAMILIES,
    Config,
    ConfigError,
    DiscoConfig,
    GeneratorCheck,
    MethodSettings,
    ModelSpec,
    NormNP,
    PivotConfig,
    ReplicaSeeds,
    ShapeNP,
    Training,
    Truth,
    lambda_scan_name,
    leave_out_name,
    oracle_name,
    oracle_point,
    truth_name,
    variation_name,
)

__all__ = [
    "CROSS_CHECK_FAMILIES",
    "SCHEMA_PATH",
    "Config",
    "ConfigError",
    "DiscoConfig",
    "GeneratorCheck",
    "MassSlices",
    "MethodSettings",
    "ModelSpec",
    "NormNP",
    "PivotConfig",
    "ShapeNP",
    "ReplicaSeeds",
    "Training",
    "Truth",
    "deep_update",
    "lambda_scan_name",
    "leave_out_name",
    "load_config",
    "load_config_files",
    "oracle_name",
    "oracle_point",
    "truth_name",
    "validate_and_fill",
    "validate_schema",
    "variation_name",
]
