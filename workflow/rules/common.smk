# Config validation at the door, typed config, wildcard constraints and input functions.
import re

from snakemake.utils import validate

from systlab.config import SCHEMA_PATH, load_config
from systlab.likelihood.grid_points import grid_points, parameterized_models, parameterized_np, point_samples
from systlab.methods.registry import REGISTRY

validate(config, str(SCHEMA_PATH))  # the schema ships inside the package
CFG = load_config(config, source="config")

PROCESSES = list(CFG.processes)
SIMULATED = [p for p in PROCESSES if p not in CFG.inputs]
VARIATIONS = list(CFG.variation_names())
REPLICAS = [f"r{i}" for i in range(CFG.training.replicas)]
MODELS = list(CFG.model_names())  # the {method} wildcard: one per method, one per oracle TES point
# asimov: model expectation at mu = 1; truth_<t>: one Poisson pseudo-experiment from the toy split at truth t;
# expected_<t>: the toy-split expectation at truth t itself (no fluctuation), for widths and biases per true alpha.
DATASETS = ["asimov"] + [f"truth_{t.name}" for t in CFG.truths] + [f"expected_{t.name}" for t in CFG.truths]
ENV = "../../envs/systlab.yaml"
# Parameterized classifiers f(x; alpha) are fitted through the grid-profiled likelihood (rules *_grid), the others
# through their single workspace (rules fit, toys).
GRID_MODELS = list(parameterized_models(CFG))
FIXED_FIT_MODELS = [m for m in MODELS if m not in GRID_MODELS] + [s.name for s in CFG.lambda_scan_models()]
GRID_POINTS = {m: grid_points(CFG, parameterized_np(CFG, m)) for m in GRID_MODELS}


def one_of(names):  # a wildcard constraint matching exactly one of ``names`` (never empty)
    return "|".join(re.escape(n) for n in names) or "(?!)"


def grid_point(method, label):
    return next(p for p in GRID_POINTS[method] if p.label == label)


def grid_samples_of(method, label):
    variations = point_samples(CFG, parameterized_np(CFG, method), grid_point(method, label))
    return samples_of(PROCESSES, list(variations))


def grid_scores_of(method, replica):
    return [f"results/grid/{method}/{replica}/scores/{p.label}.parquet" for p in GRID_POINTS[method]]


wildcard_constraints:
    process="|".join(PROCESSES),
    variation="|".join(v.replace("+", r"\+").replace(".", r"\.") for v in VARIATIONS),
    method="|".join(re.escape(m) for m in MODELS + [s.name for s in CFG.study_models()]),
    replica=r"r\d+",
    dataset="|".join(DATASETS),


def samples_of(process, variations=None):  # one process or a list of processes
    return expand("results/samples/{process}/{variation}.parquet", process=process,
                  variation=variations or VARIATIONS)


def scores_of(method, replica):
    return expand("results/scores/{method}/{replica}/{process}/{variation}.parquet", method=method,
                  replica=replica, process=PROCESSES, variation=VARIATIONS)


def fit_results():
    return expand("results/fits/{method}/{replica}/{dataset}.json", method=MODELS, replica=REPLICAS,
                  dataset=DATASETS)
