"""config_subset: the config a rule declares as params (sections, dotted keys, ignored keys)."""

from systlab.config.params import config_subset

CONFIG = {"fit": {"mu_range": [-2, 4], "scan_points": 13, "histosys_check": ["baseline"]},
          "simulate": {"luminosity_fb": 10.0, "events": {"ztautau": 100}}, "run_id": "tiny",
          "paper_toys": {"control": {"enabled": True, "toys": 500}}}


def test_sections_and_dotted_keys_stay_nested():
    assert config_subset(CONFIG, ["run_id", "fit.mu_range", "fit.scan_points", "simulate.luminosity_fb"]) == {
        "run_id": "tiny", "fit": {"mu_range": [-2, 4], "scan_points": 13}, "simulate": {"luminosity_fb": 10.0}}
    assert config_subset(CONFIG, ["fit"])["fit"] is CONFIG["fit"]
    assert config_subset(CONFIG, ["theory", "fit.nope"]) == {"theory": None, "fit": {"nope": None}}


def test_ignored_keys_leave_the_params_and_nothing_else():
    got = config_subset(CONFIG, ["fit", "paper_toys.control"],
                        ignore=["fit.histosys_check", "paper_toys.control.enabled", "toys.chunks"])
    assert got == {"fit": {"mu_range": [-2, 4], "scan_points": 13}, "paper_toys": {"control": {"toys": 500}}}
    assert CONFIG["fit"]["histosys_check"] == ["baseline"]  # the config itself is not touched
