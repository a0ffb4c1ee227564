# Config validation at the door, typed config, wildcard constraints and input functions.
import re

from snakemake.utils import validate

from systlab.config import load_config

validate(config, "../schemas/config.schema.yaml")
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


wildcard_constraints:
    process="|".join(PROCESSES),
    variation="|".join(v.replace("+", r"\+").replace(".", r"\.") for v in VARIATIONS),
    method="|".join(re.escape(m) for m in MODELS),
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
