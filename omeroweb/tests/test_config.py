import json

import pytest

from omero_web_appliance import config

PARSERS = {
    "omero.web.session_cookie_age": int,
    "omero.web.caches": json.loads,
    "omero.web.prefix": str,
}


def test_read_properties_keeps_values_whole():
    text = '# comment\n\nomero.web.caches={"a": "b=c"}\nomero.web.prefix=/omero\n'
    assert config.read_properties(text) == {
        "omero.web.caches": '{"a": "b=c"}',
        "omero.web.prefix": "/omero",
    }


def test_read_properties_rejects_a_key_set_twice():
    with pytest.raises(ValueError, match="omero.web.prefix is set twice"):
        config.read_properties("omero.web.prefix=/a\nomero.web.prefix=/b\n")


def test_read_properties_rejects_a_line_without_equals():
    with pytest.raises(ValueError, match="line 1: expected key=value"):
        config.read_properties("omero.web.prefix\n")


def test_a_line_without_equals_is_not_quoted():
    """It may be the tail of a secret that held a line break."""
    with pytest.raises(ValueError) as raised:
        config.read_properties("omero.web.prefix=/a\nhunter2-tail\n")
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize(
    "key",
    ["omero.web.public.password", "omero.web.secret_key", "omero.web.email_host_password"],
)
def test_a_secret_propertys_value_is_never_printed(key):
    problem = config.Problem(key, "hunter2-secret", "expected something else")
    assert str(problem) == f"{key} = (secret): expected something else"


@pytest.mark.parametrize(
    "value",
    [
        '{"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://:hunter2@10.0.0.5:6379/0"}}',
        "redis://omero:hunter2@redis.example.org/1",
        "postgres://web:hunter2@db/omero",
    ],
)
def test_passwords_in_urls_are_never_printed(value):
    problem = config.Problem("omero.web.caches", value, f"{value} does not fit")
    assert "hunter2" not in str(problem)
    assert "********@" in str(problem)


def test_a_password_in_a_caches_options_is_never_printed():
    value = {"default": {"OPTIONS": {"PASSWORD": "hunter2", "SENTINEL_KWARGS": {"password": "hunter2"}}}}
    problem = config.Problem("omero.web.caches", value, "does not fit")
    assert "hunter2" not in str(problem) and "'PASSWORD': '********'" in str(problem)


def test_a_secret_in_a_refused_config_stays_out_of_the_report():
    secret = {
        "omero.web.secret_key": "hunter2-key",
        "omero.web.caches": '{"default": {"LOCATION": "redis://:hunter2@h"}}',
    }
    problems = config.check(secret, {"omero.web.secret_key": str, **PARSERS})
    assert problems and not any("hunter2" in str(p) for p in problems), [str(p) for p in problems]


def test_check_accepts_what_the_parsers_accept():
    assert config.check({"omero.web.session_cookie_age": "86400"}, PARSERS) == []


def test_check_reports_every_problem_at_once_naming_key_and_value():
    problems = config.check(
        {
            "omero.web.session_cookie_age": "a day",
            "omero.web.caches": "{not json",
            "omero.server.host": "x",
        },
        PARSERS,
    )
    text = [str(p) for p in problems]
    assert len(text) == 3
    assert text[0].startswith("omero.web.session_cookie_age = 'a day': OMERO.web rejects it")
    assert text[1].startswith("omero.web.caches = '{not json': OMERO.web rejects it")
    assert "only omero.web.* properties" in text[2]


def test_check_suggests_the_closest_known_key():
    (problem,) = config.check({"omero.web.session_cookie_ag": "1"}, PARSERS)
    assert problem.expected.endswith("did you mean omero.web.session_cookie_age?")


def test_check_rejects_values_the_properties_format_would_change():
    (problem,) = config.check({"omero.web.prefix": "/omero\\"}, PARSERS)
    assert "trailing backslash" in problem.expected


def test_leave_unset_is_not_a_problem():
    class LeaveUnset(Exception):
        pass

    def leave_none_unset(value):
        raise LeaveUnset()

    assert config.check({"omero.web.secret_key": "x"}, {"omero.web.secret_key": leave_none_unset}) == []


RULE_PARSERS = {
    "omero.web.prefix": str,
    "omero.web.static_url": str,
    "omero.web.caches": json.loads,
    "omero.web.cors_origin_whitelist": json.loads,
    "omero.web.apps": json.loads,
    "omero.web.middleware": json.loads,
}


def problems(**properties):
    given = {f"omero.web.{k}": v for k, v in properties.items()}
    return [str(p) for p in config.check(given, RULE_PARSERS)]


@pytest.mark.parametrize("prefix", ["omero", "/omero/", "/"])
def test_a_prefix_needs_a_leading_slash_and_no_trailing_one(prefix):
    (problem,) = problems(prefix=prefix)
    assert problem.startswith(f"omero.web.prefix = {prefix!r}: a path that starts with /")


def test_a_good_prefix_and_static_url_pass():
    assert problems(prefix="/omero", static_url="/omero/static/") == []
    assert problems(prefix="/omero", static_url="https://cdn.example.org/static/") == []


def test_a_static_url_ends_with_a_slash():
    (problem,) = problems(static_url="/static")
    assert "a URL path that ends with /" in problem


def test_a_static_url_sits_under_the_prefix():
    (problem,) = problems(prefix="/omero", static_url="/static/")
    assert "a URL under the prefix /omero, e.g. /omero/static/" in problem


def test_memcachedcache_is_named_with_its_replacement():
    caches = '{"default": {"BACKEND": "django.core.cache.backends.memcached.MemcachedCache"}}'
    (problem,) = problems(caches=caches)
    assert "removed MemcachedCache" in problem
    assert "django.core.cache.backends.memcached.PyMemcacheCache" in problem


def test_a_cache_backend_must_import():
    (problem,) = problems(caches='{"default": {"BACKEND": "no_such_pkg.Cache"}}')
    assert "backend 'no_such_pkg.Cache' cannot be imported" in problem


def test_cors_origins_need_a_scheme():
    found = problems(cors_origin_whitelist='["https://ok.example.org", "bad.example.org"]')
    assert len(found) == 1
    assert "origin 'bad.example.org' needs a scheme" in found[0]
    assert "https://hostname.example.com" in found[0]


def test_apps_and_middleware_must_import():
    found = problems(
        apps='["json", "no_such_app"]',
        middleware='[{"class": "collections.OrderedDict", "index": 1},'
        ' {"class": "no_such_pkg.Middleware", "index": 2},'
        ' {"class": "django.contrib.sessions.middleware.SessionMiddleware", "index": 3},'
        ' {"class": "django.middleware.csrf.CsrfViewMiddleware", "index": 4}]',
    )
    assert "app 'no_such_app' cannot be imported" in found[0]
    assert any("middleware 'no_such_pkg.Middleware' cannot be imported" in p for p in found)
    assert not any("middleware 'collections.OrderedDict'" in p for p in found)


def test_importable_tells_modules_and_attributes():
    assert config.importable("json")
    assert config.importable("collections.OrderedDict")
    assert not config.importable("collections.NoSuchThing")
    assert not config.importable("no_such_pkg.thing")


def test_an_app_listed_twice_is_a_problem():
    found = problems(apps='["json", "csv", "json"]')
    assert found == ['omero.web.apps = \'["json", "csv", "json"]\': app \'json\' is listed twice']


def _write_app(root, name, settings_source):
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "views.py").write_text("X = 1\n")
    (package / f"{name}_settings.py").write_text(settings_source)


def test_app_settings_tables_are_found_and_their_parsers_used(tmp_path, monkeypatch):
    _write_app(
        tmp_path,
        "appliance_test_app",
        "import json\n"
        'TEST_APP_SETTINGS_MAPPING = {"omero.web.test_app.config": ["C", "[]", json.loads, None]}\n',
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    mappings, found = config.app_settings_mappings(["appliance_test_app", "json"])
    assert found == []
    assert list(mappings) == ["omero.web.test_app.config"]
    parsers = {**PARSERS, "omero.web.test_app.config": mappings["omero.web.test_app.config"][2]}
    assert config.check({"omero.web.test_app.config": "[1]"}, parsers) == []
    bad = config.check({"omero.web.test_app.config": "[1"}, parsers)
    assert len(bad) == 1 and "omero.web.test_app.config = '[1': OMERO.web rejects it" in str(bad[0])


def test_an_app_settings_module_that_fails_to_import_is_named(tmp_path, monkeypatch):
    _write_app(tmp_path, "appliance_broken_app", "SETTINGS_MAPPING = {}\nraise IndexError('no menus')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mappings, found = config.app_settings_mappings(["appliance_broken_app"])
    assert mappings == {}
    assert [str(p) for p in found] == [
        "omero.web.apps = 'appliance_broken_app': "
        "its module appliance_broken_app.appliance_broken_app_settings fails to import: no menus"
    ]
