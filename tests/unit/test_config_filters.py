"""OMERO.web's one config: the model (plugins/module_utils/omero_web_config.py)
with its precedence, the rules the controller and the host share
(plugins/module_utils/omero_web_rules.py) and the filters the role calls
(plugins/filter/omero_web_config.py)."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The checkout as the collection, as Ansible imports it (collections/).
sys.path.insert(0, str(ROOT / "collections"))

from ansible_collections.omero_web_appliance.appliance.plugins.module_utils import (  # noqa: E402
    omero_web_config as model,
)
from ansible_collections.omero_web_appliance.appliance.plugins.module_utils import (  # noqa: E402
    omero_web_rules as rules,
)

spec = importlib.util.spec_from_file_location(
    "omero_web_config_filters", ROOT / "plugins/filter/omero_web_config.py"
)
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

DEFAULT_MIDDLEWARE = [{"index": 1, "class": "django.middleware.common.CommonMiddleware"}]
CORS = {"index": 0.5, "class": "corsheaders.middleware.CorsMiddleware"}


def test_append_starts_from_omero_webs_default():
    config = model.append({}, {"omero.web.middleware": [CORS]}, {"omero.web.middleware": DEFAULT_MIDDLEWARE})
    assert config == {"omero.web.middleware": DEFAULT_MIDDLEWARE + [CORS]}


def test_append_extends_what_the_inventory_set_even_as_json_text():
    config = model.append({"omero.web.apps": '["omero_figure"]'}, {"omero.web.apps": ["omero_iviewer"]}, {})
    assert config == {"omero.web.apps": ["omero_figure", "omero_iviewer"]}


def test_append_does_not_add_an_entry_twice():
    once = model.append({}, {"omero.web.apps": ["corsheaders", "corsheaders"]}, {})
    again = model.append(once, {"omero.web.apps": ["corsheaders"]}, {})
    assert again == {"omero.web.apps": ["corsheaders"]}


def test_append_to_a_property_that_is_not_a_list_says_so():
    with pytest.raises(ValueError, match="omero.web.prefix is not a list"):
        model.append({"omero.web.prefix": "/omero"}, {"omero.web.prefix": ["x"]}, {})


def test_properties_are_stored_as_the_omero_cli_stores_them():
    assert filters.omero_web_property("/omero") == "/omero"
    assert filters.omero_web_property(True) == "true"
    assert filters.omero_web_property(86400) == "86400"
    assert filters.omero_web_property({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'


def test_server_list_fills_port_and_name():
    servers = [{"host": "omero.example.org"}, {"host": "10.0.0.2", "port": 14064, "name": "test"}]
    assert model.server_list(servers) == [
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
    config = model.app_config(apps, WIRING)
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
    config = model.app_config(
        [{"name": "omero-iviewer", "version": "0.19.1", "wiring": False, "module": "omero_iviewer"}], WIRING
    )
    assert config == {"set": {}, "append": {"omero.web.apps": ["omero_iviewer"]}}
    assert model.app_config([], WIRING) == {"set": {}, "append": {}}


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


# -- the config model's precedence ----------------------------------------------

INPUTS = {
    "session_engine": "redis",
    "redis_url": "redis://:secret@10.0.0.5:6379/0",
    "omerodir": "/opt/omero/web/OMERO.web",
    "session_expire_at_browser_close": True,
    "session_cookie_age": 86400,
    "request_timeout": "60",
    "worker_class": "gthread",
    "workers": 2,
    "threads": 8,
    "listen_address": "127.0.0.1",
    "servers": [],
    "prefix": "",
    "cors_origins": [],
    "cors_allow_all": False,
    "behind_tls": False,
    "site_names": [],
    "site_https_ports": [],
    "apps": [],
    "config": {},
    "config_append": {},
}


def built(defaults=None, **inputs):
    return model.build(INPUTS | inputs, defaults)


def test_the_session_engine_is_lowest():
    config = built(config={"omero.web.session_engine": "x.y"})["effective"]
    assert config["omero.web.session_engine"] == "x.y"
    assert config["omero.web.caches"]["default"]["LOCATION"] == INPUTS["redis_url"]
    assert built(session_engine="db")["effective"]["omero.web.databases"]["default"]["NAME"].endswith(
        "/var/sessions.sqlite3"
    )
    with pytest.raises(ValueError, match="omero_web_session_engine = 'memcached'"):
        built(session_engine="memcached")


def test_the_convenience_variables_come_over_the_session_engine_and_under_the_apps_and_the_config():
    settings = {"omero.web.wsgi_timeout": 30, "omero.web.prefix": "/app"}
    apps = [{"name": "x-app", "version": "1.0", "settings": settings}]
    config = built(prefix="/omero", apps=apps)["set"]
    assert config["omero.web.wsgi_timeout"] == 30 and config["omero.web.prefix"] == "/app"
    assert config["omero.web.static_url"] == "/omero/static/"
    config = built(prefix="/omero", apps=apps, config={"omero.web.wsgi_timeout": 90})["set"]
    assert config["omero.web.wsgi_timeout"] == 90 and config["omero.web.wsgi_threads"] == 8


def test_the_known_wiring_of_an_app_yields_to_the_config():
    apps = [{"name": "omero-iviewer", "version": "0.19.1"}]
    assert built(apps=apps)["set"]["omero.web.viewer.view"] == "omero_iviewer.views.index"
    config = built(apps=apps, config={"omero.web.viewer.view": "site.views.viewer"})["set"]
    assert config["omero.web.viewer.view"] == "site.views.viewer"


def test_appends_go_health_then_cors_then_apps_then_the_sites_own():
    apps = [{"name": "omero-figure", "version": "8.0.1"}]
    appends = built(
        apps=apps, cors_origins=["https://a.example.org"], config_append={"omero.web.apps": ["site_app"]}
    )["appends"]
    assert appends["omero.web.apps"] == [
        "omero_web_appliance.health",
        "corsheaders",
        "omero_figure",
        "site_app",
    ]
    assert [m["class"] for m in appends["omero.web.middleware"]] == [
        "corsheaders.middleware.CorsMiddleware",
        "corsheaders.middleware.CorsPostCsrfMiddleware",
    ]
    # Listed again by the site, an entry takes the site's place.
    again = built(config_append={"omero.web.apps": ["site_app", "omero_web_appliance.health"]})["appends"]
    assert again["omero.web.apps"] == ["site_app", "omero_web_appliance.health"]


def test_appends_start_from_what_the_config_sets_else_from_omero_webs_default():
    default = {"omero.web.apps": ["django.contrib.staticfiles"]}
    assert built(default)["effective"]["omero.web.apps"] == [
        "django.contrib.staticfiles",
        "omero_web_appliance.health",
    ]
    config = built(default, config={"omero.web.apps": ["omero_figure"]})["effective"]
    assert config["omero.web.apps"] == ["omero_figure", "omero_web_appliance.health"]


def test_behind_tls_the_site_names_give_hosts_origins_and_secure_cookies():
    plain = built()["effective"]
    assert plain["omero.web.secure_proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert "omero.web.allowed_hosts" not in plain and "omero.web.session_cookie_secure" not in plain
    config = built(behind_tls=True, site_names=["lb", "omero.example.org"], site_https_ports=[443, 8443])[
        "effective"
    ]
    assert (
        config["omero.web.session_cookie_secure"] is True and config["omero.web.csrf_cookie_secure"] is True
    )
    assert config["omero.web.allowed_hosts"] == ["lb", "omero.example.org", "localhost", "127.0.0.1", "[::1]"]
    assert config["omero.web.csrf_trusted_origins"] == [
        "https://lb",
        "https://lb:8443",
        "https://omero.example.org",
        "https://omero.example.org:8443",
    ]
    # The config still wins over what the site's names make.
    assert built(behind_tls=True, config={"omero.web.allowed_hosts": ["*"]})["effective"][
        "omero.web.allowed_hosts"
    ] == ["*"]


def test_cors_and_servers_only_when_asked_for():
    config = built()["effective"]
    assert "omero.web.cors_origin_whitelist" not in config and "omero.web.server_list" not in config
    config = built(cors_allow_all=True, servers=[{"host": "omero"}])["effective"]
    assert config["omero.web.cors_origin_allow_all"] is True and config["omero.web.server_list"] == [
        ["omero", 4064, "omero"]
    ]


def test_a_password_in_the_config_is_known():
    assert built()["has_secrets"] is True
    assert built(redis_url="redis://10.0.0.5:6379/0")["has_secrets"] is False
    assert built(redis_url="redis://10.0.0.5:6379/0", config={"omero.web.public.password": "p"})[
        "has_secrets"
    ]
    assert not built(redis_url="redis://10.0.0.5:6379/0", config={"omero.web.public.password": ""})[
        "has_secrets"
    ]


# -- the rules both ends apply --------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        ("property", ["omero.web.prefix", "omero.web.ui.top_links"], ["omero.server.host", "omero.web.", 3]),
        ("prefix", ["/omero", "/a/b"], ["omero", "/omero/", "/", "/om ero", "/omero?x", ""]),
        (
            "origin",
            ["https://a.example.org", "http://a:8080"],
            ["a.example.org", "https://a/", "https://a:port"],
        ),
        ("module", ["omero_figure", "a.b"], ["x-y", "1x", ""]),
    ],
)
def test_the_rules_the_preflight_applies(rule, good, bad):
    assert filters.omero_web_rule_breakers(good + bad, rule) == bad


def test_the_host_checker_applies_the_same_rules():
    """omeroweb/'s rules module is this file, not a copy of it."""
    host = ROOT / "omeroweb/src/omero_web_appliance/rules.py"
    assert host.resolve() == Path(rules.__file__).resolve()


SENTINEL = {
    "master": "omero-web",
    "password": "s3cret",
    "sentinels": [{"host": "10.0.0.5", "port": 26379}, {"host": "10.0.0.6", "port": "26379"}],
}


def test_under_sentinel_omero_web_asks_the_sentinels_for_the_primary_alone():
    cache = built(redis_sentinel=SENTINEL)["effective"]["omero.web.caches"]["default"]
    assert cache["LOCATION"] == ["redis://omero-web/0"]
    options = cache["OPTIONS"]
    assert options["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
    assert options["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert options["SENTINELS"] == [["10.0.0.5", 26379], ["10.0.0.6", 26379]]
    assert options["PASSWORD"] == "s3cret" and options["SENTINEL_KWARGS"]["password"] == "s3cret"
    # Without Sentinel, the one Redis of the URL, as before.
    assert (
        built(redis_sentinel={})["effective"]["omero.web.caches"]["default"]["LOCATION"]
        == INPUTS["redis_url"]
    )


def test_a_sentinel_password_is_a_secret():
    assert built(redis_url="redis://10.0.0.5:6379/0", redis_sentinel=SENTINEL)["has_secrets"] is True
    without = {**SENTINEL, "password": ""}
    assert built(redis_url="redis://10.0.0.5:6379/0", redis_sentinel=without)["has_secrets"] is False
