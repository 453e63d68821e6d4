"""The filters that build OMERO.web's one config (roles/omero_web/filter_plugins)."""

import importlib.util
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "roles/omero_web/filter_plugins/omero_web_config.py"
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
