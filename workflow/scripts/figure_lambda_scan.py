"""Rule figure_lambda_scan: AUC, decorrelation, Asimov width and bias against lambda for pivot and DisCo."""

from systlab.runtime import log, start
from systlab.studies.lambda_scan import scan_point
from systlab.visualize.lambda_scan import plot_lambda_scan
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
declared = set(snakemake.input.metrics) | set(snakemake.input.fits)  # noqa: F821
replicas = [f"r{i}" for i in range(cfg.training.study_replica_count)]  # the studies' replicas
shifted = [t for t in cfg.truths if cfg.target_shift(t) != 0.0]


def declared_path(path: str) -> str:
    if path not in declared:
        raise ValueError(f"{path}: not an input of rule figure_lambda_scan")
    return path


def point(model: str):
    """The scan point of one model; the main pivot/disco sit at their configured lambda, baseline at 0."""
    spec = cfg.model(model)
    lam = spec.lam if spec.lam is not None else getattr(getattr(cfg.method_settings, spec.method, None), "lam", 0.0)
    fits = {t.name: (t.mu, [declared_path(f"results/fits/{model}/{r}/expected_{t.name}.json") for r in replicas])
            for t in shifted}
    return scan_point(spec.method, lam, declared_path(f"results/models/{model}/metrics.json"),
                      [declared_path(f"results/fits/{model}/{r}/asimov.json") for r in replicas], fits)


points = [point(m) for m in snakemake.params.models]  # noqa: F821
scans = {}
for p in points:
    if p.method != "baseline":
        scans.setdefault(p.method, []).append(p)
for p in points:
    log.info("%s lambda=%g: AUC %.4f +- %.4f, JS %.2e, Asimov width %.3f +- %.3f", p.method, p.lam, p.auc.mean,
             p.auc.std, p.js_divergence.mean, p.asimov_width.mean, p.asimov_width.std)
baseline = next(p for p in points if p.method == "baseline")
fig = plot_lambda_scan(scans, baseline, lumi_fb=cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
