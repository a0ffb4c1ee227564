"""The pivot/DisCo lambda scans: the extra models in the config, their training options, the collected points
and the figure."""

import json

import pytest

from systlab.config import load_config_files
from systlab.methods.setup import method_options
from systlab.studies.lambda_scan import scan_point
from systlab.visualize.lambda_scan import plot_lambda_scan
from systlab.visualize.style import save_figure


@pytest.fixture(scope="module")
def tiny():
    return load_config_files("config/config.yaml", "config/tiny.yaml")


def test_scan_models_skip_the_configured_lambda_and_resolve_by_name(tiny):
    names = [m.name for m in tiny.lambda_scan_models()]
    assert names == ["pivot_lambda_0", "disco_lambda_0"]
    assert not set(names) & set(tiny.model_names())  # not in the main comparison
    spec = tiny.model("disco_lambda_0")
    assert (spec.method, spec.lam) == ("disco", 0.0)
    default = [m.name for m in load_config_files("config/config.yaml").lambda_scan_models()]
    assert "pivot_lambda_50" in default and "pivot_lambda_10" not in default  # 10 is the main pivot


def test_scan_models_train_with_their_own_lambda(tiny):
    assert method_options(tiny, tiny.model("disco_lambda_0")) == {"lam": 0.0, "nuisance": "tes"}
    assert method_options(tiny, tiny.model("disco")) == {"lam": 2.0, "nuisance": "tes"}
    assert method_options(tiny, tiny.model("disco_generator")) == {"lam": 2.0, "nuisance": "generator"}
    assert method_options(tiny, tiny.model("pivot_lambda_0"))["pivot"].lam == 0.0
    assert method_options(tiny, tiny.model("pivot"))["pivot"].lam == tiny.method_settings.pivot.lam


def _write(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))
    return path


def _model_files(tmp_path, model, aucs, widths, mu_hats):
    metrics = _write(tmp_path / model / "metrics.json", {"replicas": {
        f"r{i}": {"auc": {"nominal": a}, "js_divergence": 0.01 / (i + 1)} for i, a in enumerate(aucs)}})
    asimov = [_write(tmp_path / model / f"r{i}" / "asimov.json", {"interval_68": [1 - w / 2, 1 + w / 2]})
              for i, w in enumerate(widths)]
    above = [_write(tmp_path / model / f"r{i}" / "expected_above.json", {"mu_hat": m}) for i, m in enumerate(mu_hats)]
    return metrics, asimov, {"above": (1.0, above)}


def test_scan_point_means_and_spreads_over_replicas(tmp_path):
    point = scan_point("pivot", 3.0, *_model_files(tmp_path, "pivot_lambda_3", [0.90, 0.92], [1.0, 1.2], [1.1, 1.3]))
    assert point.lam == 3.0 and point.method == "pivot"
    assert point.auc.mean == pytest.approx(0.91) and point.auc.std == pytest.approx(0.01)
    assert point.asimov_width.mean == pytest.approx(1.1)
    assert point.bias["above"].mean == pytest.approx(0.2)


def test_scan_point_names_the_file_and_field_it_lacks(tmp_path):
    metrics, asimov, fits = _model_files(tmp_path, "disco_lambda_0", [0.9], [1.0], [1.0])
    asimov[0].write_text(json.dumps({"mu_hat": 1.0}))
    with pytest.raises(ValueError, match=r"disco_lambda_0/r0/asimov\.json: field 'interval_68' missing"):
        scan_point("disco", 0.0, metrics, asimov, fits)


def test_lambda_scan_figure_is_written(tmp_path):
    base = scan_point("baseline", 0.0, *_model_files(tmp_path, "baseline", [0.9, 0.91], [1.0, 1.1], [1.4, 1.5]))
    scans = {method: [scan_point(method, lam, *_model_files(tmp_path, f"{method}_{lam}", [0.9 - lam / 100] * 2,
                                                            [1.0 + lam / 50] * 2, [1.2, 1.25]))
                      for lam in (0.0, 1.0, 10.0)] for method in ("pivot", "disco")}
    save_figure(plot_lambda_scan(scans, base, lumi_fb=10.0), tmp_path / "lambda_scan.pdf", "test")
    assert (tmp_path / "lambda_scan.pdf").stat().st_size > 5000
    assert (tmp_path / "lambda_scan.png").stat().st_size > 5000
