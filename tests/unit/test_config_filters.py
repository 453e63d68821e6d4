"""The filters that build OMERO.web's one config (plugins/filter/omero_web_config.py)."""

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/omero_web_config.py"
spec = importlib.util.spec_from_file_location("omero_web_config", PLUGIN)
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

DEFAULT_MIDDLEWARE = [{"index": 1, "class": "django.middleware.common.CommonMiddleware"}]
CORS = {"index": 0.5, "class": "corsheaders.middleware.CorsMiddleware"}


def test_append_starts_from_omero_webs_default():
    config = filters.omero_web_append(
        {}, {"omero.web.middleware": [CORS]}, {"omero.web.middleware": DEFAULT_MIDDLEWARE}
    )
    assert config == {"omero.web.middleware": DEFAULT_MIDDLEWARE + [CORS]}


def test_append_extends_what_the_inventory_set_even_as_json_text():
    config = filters.omero_web_append(
        {"omero.web.apps": '["omero_figure"]'}, {"omero.web.apps": ["omero_iviewer"]}, {}
    )
    assert config == {"omero.web.apps": ["omero_figure", "omero_iviewer"]}


def test_append_does_not_add_an_entry_twice():
    once = filters.omero_web_append({}, {"omero.web.apps": ["corsheaders", "corsheaders"]}, {})
    again = filters.omero_web_append(once, {"omero.web.apps": ["corsheaders"]}, {})
    assert again == {"omero.web.apps": ["corsheaders"]}


def test_append_to_a_property_that_is_not_a_list_says_so():
    with pytest.raises(ValueError, match="omero.web.prefix is not a list"):
        filters.omero_web_append({"omero.web.prefix": "/omero"}, {"omero.web.prefix": ["x"]}, {})


def test_properties_are_stored_as_the_omero_cli_stores_them():
    assert filters.omero_web_property("/omero") == "/omero"
    assert filters.omero_web_property(True) == "true"
    assert filters.omero_web_property(86400) == "86400"
    assert filters.omero_web_property({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'


def test_server_list_fills_port_and_name():
    servers = [{"host": "omero.example.org"}, {"host": "10.0.0.2", "port": 14064, "name": "test"}]
    assert filters.omero_web_server_list(servers) == [
        ["omero.example.org", 4064, "omero.example.org"],
        ["10.0.0.2", 14064, "test"],
    ]


MAPR = {
    "omero.web.mapr.config": [
        {"menu": "gene", "config": {"default": ["Gene Symbol"], "label": "Gene"}},
        {"menu": "organism", "config": {"default": ["Organism"]}},
    ]
}
WIRING = {
    "omero_iviewer": {
        "set": {"omero.web.viewer.view": "omero_iviewer.views.index"},
        "append": {"omero.web.open_with": [["omero_iviewer", "omero_iviewer_index", {}]]},
    },
    "omero_figure": {"append": {"omero.web.ui.top_links": [["Figure", "figure_index", {}]]}},
}


def test_apps_are_added_in_list_order_with_their_known_wiring():
    apps = [
        {"name": "omero-figure", "version": "8.0.1"},
        {"name": "omero-iviewer", "version": "0.19.1"},
        {"name": "omero-mapr", "version": "0.5.3", "settings": MAPR},
        {"name": "omero.gallery", "version": "3.4.3", "wiring": False},
    ]
    config = filters.omero_web_app_config(apps, WIRING)
    modules = ["omero_figure", "omero_iviewer", "omero_mapr", "omero_gallery"]
    assert config["append"]["omero.web.apps"] == modules
    assert config["set"] == {"omero.web.viewer.view": "omero_iviewer.views.index", **MAPR}
    assert config["append"]["omero.web.open_with"] == [["omero_iviewer", "omero_iviewer_index", {}]]
    assert config["append"]["omero.web.ui.top_links"] == [
        ["Figure", "figure_index", {}],
        ["Gene", {"viewname": "maprindex_gene"}, {"title": "Find Gene annotations"}],
        ["Organism", {"viewname": "maprindex_organism"}, {"title": "Find Organism annotations"}],
    ]


def test_an_app_without_wiring_and_no_apps_add_nothing_else():
    config = filters.omero_web_app_config(
        [{"name": "omero-iviewer", "version": "0.19.1", "wiring": False, "module": "omero_iviewer"}], WIRING
    )
    assert config == {"set": {}, "append": {"omero.web.apps": ["omero_iviewer"]}}
    assert filters.omero_web_app_config([], WIRING) == {"set": {}, "append": {}}


@pytest.mark.parametrize(
    ("apps", "message"),
    [
        ("omero-figure", "omero_web_apps = 'omero-figure': expected a list"),
        ([{"name": "omero-figure"}], "omero_web_apps[0] = {'name': 'omero-figure'}: expected {name"),
        ([{"name": "omero figure", "version": "8.0.1"}], "name 'omero figure' is not a package name"),
        (
            [{"name": "omero-parade", "version": 0.5}],
            "omero_web_apps[0] (omero-parade): version 0.5 is a number",
        ),
        ([{"name": "omero-figure", "version": ">=8"}], "version '>=8': expected one exact release"),
        ([{"name": "x", "version": "1", "module": "x-y"}], "module 'x-y' is not a Python module name"),
        (
            [{"name": "omero-mapr", "version": "0.5.3"}],
            "omero_mapr does not start without omero.web.mapr.config",
        ),
        (
            [{"name": "x", "version": "1", "settings": {"omero.server.host": "h"}}],
            "settings: omero.server.host is not an omero.web.* property",
        ),
        (
            [{"name": "omero-figure", "version": "8.0.1"}, {"name": "Omero_Figure", "version": "7.4.1"}],
            "omero_web_apps[1] (Omero_Figure): package omero-figure is listed twice "
            "(first as omero_web_apps[0])",
        ),
        (
            [{"name": "a", "version": "1", "module": "m"}, {"name": "b", "version": "1", "module": "m"}],
            "omero_web_apps[1] (b): module m is listed twice",
        ),
    ],
)
def test_app_problems_name_the_entry(apps, message):
    problems = filters.omero_web_app_problems(apps, {"omero_mapr": ["omero.web.mapr.config"]})
    assert problems and all(p.startswith("omero_web_apps") for p in problems)
    assert message in problems[0], problems


def test_good_apps_have_no_problems():
    apps = [
        {"name": "omero-iviewer", "version": "0.19.1"},
        {"name": "omero-mapr", "version": "0.5.3", "settings": MAPR},
    ]
    assert filters.omero_web_app_problems(apps, {"omero_mapr": ["omero.web.mapr.config"]}) == []


APPS = [{"name": "omero-iviewer", "version": "0.19.1"}, {"name": "omero-figure", "version": "99.0"}]


def test_pip_problem_names_the_entry_and_the_releases_pypi_has():
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement omero-figure==99.0 "
        "(from versions: 1.0.0, 2.0.0, 7.4.0, 7.4.1, 8.0.0, 8.0.1)\n"
        "ERROR: No matching distribution found for omero-figure==99.0\n"
    )
    assert filters.omero_web_pip_problem(stderr, APPS) == (
        "omero_web_apps[1] = omero-figure 99.0: "
        "PyPI has no release 99.0 (its latest: 2.0.0, 7.4.0, 7.4.1, 8.0.0, 8.0.1)"
    )


def test_pip_problem_for_a_package_pypi_does_not_have():
    stderr = "ERROR: Could not find a version that satisfies the requirement omero_Figure==99.0 (from versions: none)"  # noqa: E501
    problem = filters.omero_web_pip_problem(stderr, APPS)
    assert problem.endswith("no such package on PyPI (or in the wheel directory)")


def test_pip_problem_without_a_culprit_keeps_pips_last_error():
    stderr = "Collecting x\nERROR: Cannot install a and b because of conflicting dependencies.\n"
    assert filters.omero_web_pip_problem(stderr, APPS) == (
        "ERROR: Cannot install a and b because of conflicting dependencies."
    )


def test_pip_problem_names_an_extra_package():
    stderr = (
        "ERROR: Could not find a version that satisfies the requirement gevent==99.1 "
        "(from versions: 24.10.1, 24.11.1, 25.4.1)\n"
    )
    extra = ["django-prometheus==2.4.1", "gevent[recommended]==99.1"]
    assert filters.omero_web_pip_problem(stderr, APPS, extra) == (
        "omero_web_extra_packages[1] = gevent 99.1: "
        "PyPI has no release 99.1 (its latest: 24.10.1, 24.11.1, 25.4.1)"
    )


OWN_ENVIRONMENT = ["OMERODIR", "DJANGO_SETTINGS_MODULE"]


def test_environment_of_one_line_values_is_good():
    good = {
        "HTTPS_PROXY": "http://proxy.example.org:3128",
        "WORKERS": 3,
        "RATIO": 0.5,
        "NO_X": False,
        "_A1": "",
    }
    assert filters.omero_web_bad_environment(good, OWN_ENVIRONMENT) == {}


@pytest.mark.parametrize(
    "name, value",
    [
        ("OMERODIR", "/tmp"),  # the role's own
        ("1ST", "x"),  # not a shell variable's name
        ("A-B", "x"),
        ("LINES", "one\nExecStartPre=/bin/false"),  # would add a line to the unit
        ("NUL", "a\x00b"),
        ("NESTED", {"a": 1}),  # no text at all
        ("LIST", ["a"]),
        ("NOTHING", None),
    ],
)
def test_environment_entries_that_cannot_be_used_are_named(name, value):
    environment = {"GOOD": "1", name: value}
    assert filters.omero_web_bad_environment(environment, OWN_ENVIRONMENT) == {name: value}
