# Shared by every rule file (config validation, the typed config, wildcard constraints, every input function, the
# model lists and the target lists of rule all); rule files read globals from here only, never from each other.
import re
from pathlib import Path

from systlab.config import load_config, oracle_name, validate_and_fill
from systlab.config.params import config_subset
from systlab.samples.files import expand_files
from systlab.infer.pipeline import INFERENCE_KINDS, toy_chunk_count, unbinned_models
from systlab.likelihood.grid_points import grid_points, parameterized_models, parameterized_np, point_samples
from systlab.methods.registry import REGISTRY
from systlab.papertoys.settings import split_model_name
from systlab.studies.regime_scan import cell_points as regime_cell_points, cells as regime_cells
from systlab.studies.regime_scan import module_file as regime_module_file
from systlab.studies.sensitivity_settings import STUDIES
from systlab.theory.table import check_scale_table

# one line naming the config files, the field and the fix (snakemake's validate prints the whole schema and config,
# ~790 lines), then the schema's defaults filled into `config` as snakemake.utils.validate would (the schema parsed
# once, not twice: the second parse was ~0.1 s of every DAG build)
validate_and_fill(config, source=", ".join(map(str, getattr(workflow, "configfiles", []))) or "config")
CFG = load_config(config, source="config", schema_checked=True)  # validated just above: not twice per DAG build
if CFG.inputs:  # a user's input mappings and files checked before any job runs: one line, earlier outputs kept
    from systlab.samples.ingest import check_inputs

    check_inputs(CFG.inputs)
# the LO/NLO scale table parsed before any job runs, like the inputs (one line; earlier outputs kept)
check_scale_table(CFG.theory_table, CFG.loop_induced)
ENV = "../../envs/systlab.yaml"


def config_of(*entries, ignore=()):
    """The config values a rule's script reads, as one of its params (systlab.config.params.config_subset: whole
    sections or dotted keys, ``ignore``: dotted keys that cannot change the outputs)."""
    return config_subset(config, entries, ignore)


def method_settings_of(wildcards):
    """The method_settings entry of a model's method (e.g. pivot for pivot_lambda_10): its training options (without
    the keys its registry entry reads after training)."""
    method = CFG.model(wildcards.method).method
    settings = config.get("method_settings", {}).get(method)
    after = REGISTRY[method].after_training
    return {k: v for k, v in settings.items() if k not in after} if settings and after else settings

# ---- samples and models ----------------------------------------------------------------------------------------
PROCESSES = list(CFG.processes)
VARIATIONS = list(CFG.variation_names())
REPLICAS = [f"r{i}" for i in range(CFG.training.replicas)]
# the studies (lambda scans, generator/interpolation/histosys checks, sensitivity, JES granularity, generator
# closure) train their own models and read the compared ones on the first training.study_replicas replicas only
STUDY_REPLICAS = REPLICAS[: CFG.training.study_replica_count]
MODELS = list(CFG.model_names())  # the {method} wildcard: one per method, one per oracle point of the target NP
# asimov: model expectation at mu = 1; truth_<t>: one Poisson pseudo-experiment from the toy split at truth t;
# expected_<t>: the toy-split expectation at truth t itself (no fluctuation), for widths and biases per true alpha.
DATASETS = ["asimov"] + [f"truth_{t.name}" for t in CFG.truths] + [f"expected_{t.name}" for t in CFG.truths]
# Parameterized classifiers f(x; alpha) are fitted through their grid-profiled likelihood (grid workspaces + scores
# at every grid point), fixed classifiers through their single workspace: the same rules fit, toys_chunk, toys and
# inference take both, their inputs chosen by likelihood_inputs (below), the route by systlab.infer.pipeline.
GRID_MODELS = list(parameterized_models(CFG))
# unbinned models (systlab.likelihood.unbinned): their score is the learned nominal signal fraction (templates and a
# workspace like a fixed classifier's, for the metrics and figures), their fits go through their per-event tables
UNBINNED_MODELS = list(unbinned_models(CFG))
FIXED_MODELS = [m for m in MODELS if m not in GRID_MODELS]
LAMBDA_SCAN_MODELS = [m.name for m in CFG.lambda_scan_models()]  # pivot_lambda_<x>, disco_lambda_<x>: fitted, no toys
FIXED_FIT_MODELS = FIXED_MODELS + LAMBDA_SCAN_MODELS
FIT_MODELS = FIXED_FIT_MODELS + GRID_MODELS
GRID_POINTS = {m: grid_points(CFG, parameterized_np(CFG, m)) for m in GRID_MODELS}



def one_of(names):  # a wildcard constraint matching exactly one of ``names`` (never empty)
    return "|".join(re.escape(n) for n in names) or "(?!)"


# every {method}: the models and the study-only models (lambda scans, generator cross-check, interpolation check)
METHODS = MODELS + [s.name for s in CFG.study_models()]


def replicas_of(method):  # a compared model's replicas, or a study-only model's
    return REPLICAS if method in MODELS else STUDY_REPLICAS


wildcard_constraints:
    process="|".join(PROCESSES),
    variation="|".join(v.replace("+", r"\+").replace(".", r"\.") for v in VARIATIONS),
    method=one_of(METHODS),
    replica=r"r\d+",
    dataset="|".join(DATASETS),


# ---- input functions and path lists --------------------------------------------------------------------------
def ingest_inputs(wildcards):
    """ingest: the simulator's ROOT file, or the user's own files of an `inputs:` process (globs expanded)."""
    spec = CFG.inputs.get(wildcards.process)
    if spec is None:
        return ["results/raw/{process}.root".format(process=wildcards.process)]
    return sorted(f for pattern in spec["files"] for f in (expand_files(pattern, spec.get("format")) or [pattern]))


# Path lists built with comprehensions (the same order as expand's product, processes outer), not expand(): these run
# once per job at DAG build (scores_of for every sensitivity, JES and closure job), where expand's formatting
# machinery showed up.
def samples_of(process, variations=None):  # one process or a list of processes
    processes = [process] if isinstance(process, str) else process
    return [f"results/samples/{p}/{v}.parquet" for p in processes for v in variations or VARIATIONS]


def scores_of(method, replica):
    return [f"results/scores/{method}/{replica}/{p}/{v}.parquet" for p in PROCESSES for v in VARIATIONS]


def grid_point(method, label):
    return next(p for p in GRID_POINTS[method] if p.label == label)


def grid_samples_of(method, label):
    variations = point_samples(CFG, parameterized_np(CFG, method), grid_point(method, label))
    return samples_of(PROCESSES, list(variations))


def grid_scores_of(method, replica):
    return [f"results/grid/{method}/{replica}/scores/{p.label}.parquet" for p in GRID_POINTS[method]]


def likelihood_inputs(wildcards, templates=True):
    """fit, toys_chunk, inference: a fixed classifier's workspace (+ templates), a parameterized one's grid workspaces
    and per-point scores."""
    method, replica = wildcards.method, wildcards.replica
    if method in GRID_MODELS:
        return {"workspaces": f"results/grid/{method}/{replica}/workspaces.json",
                "scores": grid_scores_of(method, replica)}  # fmt: skip
    if method in UNBINNED_MODELS:  # (not "model": the FAIR protocol's inputs name each replica's ONNX so)
        return {"tables": f"results/unbinned/{method}/{replica}/events.npz",
                "unbinned": f"results/unbinned/{method}/{replica}/model.json"}  # fmt: skip
    inputs = {"workspace": f"results/workspaces/{method}/{replica}.json"}
    if templates:
        inputs["templates"] = f"results/templates/{method}/{replica}.json"
    return inputs


def inference_inputs(wildcards):  # limits, Z0 and impacts come from the Asimov data: no templates needed
    return likelihood_inputs(wildcards, templates=False)


def toy_chunks_of(wildcards):
    """toys: the chunk files of one replica (toys.chunks of them, at most one per toy)."""
    return expand("results/toys/{method}/{replica}/chunk{chunk}.json", method=wildcards.method,
                  replica=wildcards.replica, chunk=range(toy_chunk_count(CFG, wildcards.method)))


def fit_results():
    return expand("results/fits/{method}/{replica}/{dataset}.json", method=MODELS, replica=REPLICAS,
                  dataset=DATASETS)


def inference_results(kinds=INFERENCE_KINDS):  # fixed classifiers first, then the parameterized ones
    return expand("results/inference/{method}/{replica}/{kind}.json", method=FIXED_MODELS, replica=REPLICAS,
                  kind=kinds) + expand("results/inference/{method}/{replica}/{kind}.json", method=GRID_MODELS,
                                       replica=REPLICAS, kind=kinds)  # fmt: skip


def all_metrics():
    return expand("results/models/{method}/metrics.json", method=MODELS)


INFERENCE_RESULTS = inference_results()
# the FAIR-Universe protocol's evaluation of every model replica (rule fair_protocol in infer.smk, one job per model; summary table and figure)
FAIR_MODELS = [m for m in MODELS if m in (CFG.fair_protocol.models or MODELS)]
FAIR_PROTOCOL_RESULTS = [f"results/fair_protocol/{m}/{r}.json" for m in FAIR_MODELS for r in REPLICAS]

# ---- studies ---------------------------------------------------------------------------------------------------
SENSITIVITY = CFG.sensitivity
SENSITIVITY_MODELS = [m for m in SENSITIVITY.models if m in FIXED_FIT_MODELS]
HAS_JES = any(np_.name == "jes" for np_ in CFG.shape_nps)
CHECK_MODELS = [m.name for m in CFG.cross_check_models()]  # <method>_generator, <method>_scale
CLOSURE_MODELS = list(CFG.generator_check.closure_models)
HISTOSYS_CHECK_MODELS = list(CFG.histosys_check)
# the oracle-gap study: the baseline and the oracle at each shifted truth with an oracle (systlab.studies.oracle_gap)
GAP_ORACLES = {t.name: oracle_name(CFG.target, t.shifts[CFG.target]) for t in CFG.truths
               if t.shifts.get(CFG.target) and oracle_name(CFG.target, t.shifts[CFG.target]) in FIXED_MODELS}
GAP_RESULTS = ["results/studies/oracle_gap.json"] if GAP_ORACLES and "baseline" in FIXED_MODELS else []
INTERPOLATION_MODELS = [m.name for m in CFG.interpolation_models()]  # aware_without_<target>_<k>sd

# ---- figures (visualize.smk) -----------------------------------------------------------------------------------
# What every analysis figure prints (config_of entries): the run id in its metadata, the luminosity in its label.
FIGURE_LABELS = ("run_id", "simulate.luminosity_fb")
# The target NP's name and its shape entry (sigma, grid): the figures that print or place it by them.
TARGET_NP = ("systematics.target", f"systematics.shape.{CFG.target}")
TARGET_VARIATIONS = list(CFG.target_variations())  # the target NP at -1, 0, +1 sigma (systematics.target)
HAS_TARGET = all(v in VARIATIONS for v in TARGET_VARIATIONS)
DECORRELATED = [m for m in MODELS if m == "baseline" or (m in REGISTRY and REGISTRY[m].decorrelates)]
# impacts figures: every model but the oracles (one per target point; the baseline is the oracle at 0)
IMPACT_MODELS = [m for m in MODELS if CFG.model(m).method != "oracle"]


def analysis_figures():
    return expand("results/figures/templates_{method}.pdf", method=MODELS)


MODEL_FIGURES = (["results/figures/features.pdf", "results/figures/roc.pdf"] if HAS_TARGET else []) \
    + (["results/figures/decorrelation.pdf"] if HAS_TARGET and DECORRELATED else []) \
    + ["results/figures/calibration.pdf"]  # fmt: skip
INFERENCE_FIGURES = expand("results/figures/{name}.pdf", name=["profile_curves", "width_vs_alpha", "coverage",
                           "asymptotics", "fair_protocol"]) + expand("results/figures/impacts_{method}.pdf", method=IMPACT_MODELS)
GRID_FIGURES = ["results/figures/aware_likelihood_surface.pdf"] if "aware" in GRID_MODELS else []
LAMBDA_FIGURES = ["results/figures/lambda_scan.pdf"] if LAMBDA_SCAN_MODELS else []
SENSITIVITY_FIGURES = ["results/figures/sensitivity.pdf"] if SENSITIVITY_MODELS else []
JES_GRANULARITY_FIGURES = ["results/figures/jes_granularity.pdf"] if SENSITIVITY_MODELS and SENSITIVITY.jes_bins \
    and HAS_JES else []  # fmt: skip
GENERATOR_CHECK_FIGURES = ["results/figures/generator_check.pdf"] if CHECK_MODELS else []
GENERATOR_CLOSURE_FIGURES = ["results/figures/generator_closure.pdf"] if CLOSURE_MODELS else []
HISTOSYS_CHECK_FIGURES = ["results/figures/histosys_check.pdf"] if HISTOSYS_CHECK_MODELS else []
INTERPOLATION_FIGURES = ["results/figures/aware_interpolation.pdf"] if INTERPOLATION_MODELS else []
RATIO_CLOSURE_FIGURES = expand("results/figures/ratio_closure_{method}.pdf", method=UNBINNED_MODELS)

# ---- paper toys (papertoys.smk) and theory (theory.smk) --------------------------------------------------------
PAPER_TOYS = CFG.paper_toys


def paper_toy_models(toy, methods=None):
    """ONNX files of every replica of the toy's models (optionally only those of ``methods``); none if it is off."""
    return [f"{d}/model.onnx" for d in paper_toy_model_dirs(toy, methods)]


def paper_toy_model_dirs(toy, methods=None):
    """results/paper_toys/<toy>/<model>/<replica> of the toy's models (models outer, replicas inner)."""
    if toy not in PAPER_TOYS.toys:
        return []
    models = [m for m in PAPER_TOYS.model_names(toy) if methods is None or split_model_name(m)[0] in methods]
    return [f"results/paper_toys/{toy}/{m}/{r}" for m in models for r in PAPER_TOYS.replica_names()]


# the files of one trained toy model (rule paper_toy_train_<toy>)
PAPER_TOY_MODEL_FILES = {"onnx": "model.onnx", "state": "model.pt", "history": "history.json", "meta": "meta.json"}


def paper_toy_method_settings(toy):
    """paper_toys.pivot and paper_toys.disco when the toy trains that method (no other toy method has settings)."""
    section = config.get("paper_toys") or {}
    methods = {split_model_name(m)[0] for m in PAPER_TOYS.model_names(toy)}
    return {m: section.get(m) for m in ("pivot", "disco") if m in methods}


def paper_toy_checks_inputs(wildcards):
    return paper_toy_models(wildcards.toy)


def paper_toy_figures():
    """The toy figures whose models the config trains."""
    toys, figures = PAPER_TOYS.toys, []
    if {"baseline", "aware"} & set(toys.get("rotating", ())):
        figures.append("toy_decision_boundary")
    if "aware" in toys.get("rotating", ()):
        figures.append("toy_likelihood_ratio")
    if {"baseline", "pivot", "disco"} & set(toys.get("pivot", ())):
        figures.append("toy_pivot_outputs")
    return [f"results/figures/{name}.{ext}" for name in figures for ext in ("pdf", "png")]


# the positive control (rotating Gaussians through the grid likelihood) needs these four models of the rotating toy
CONTROL_METHODS = ("baseline", "augmented", "aware", "oracle")


def paper_toy_control():
    """control.json and its figure, when the config trains the control's models and leaves it enabled."""
    if not PAPER_TOYS.control.enabled or not set(CONTROL_METHODS) <= set(PAPER_TOYS.toys.get("rotating", ())):
        return []
    return ["results/paper_toys/rotating/control.json", "results/figures/toy_positive_control.pdf",
            "results/figures/toy_positive_control.png"]  # fmt: skip


PAPER_TOY_RESULTS = [f"results/paper_toys/{toy}/checks.json" for toy in PAPER_TOYS.toys] + paper_toy_figures() \
    + paper_toy_control()  # fmt: skip
# the regime scan's table when regime_scan.axes are configured (each cell a whole workflow: opt-in)
REGIME_SCAN_RESULTS = ["results/regime_scan/summary.md", "results/figures/regime_scan.pdf"] \
    if regime_cell_points(config) else []
THEORY_FIGURES = [
    "results/figures/theory_pulls.pdf",
    "results/figures/theory_per_particle.pdf",
    "results/figures/theory_tails.pdf",
]
