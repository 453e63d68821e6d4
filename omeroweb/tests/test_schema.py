"""The schema: values OMERO.web's parsers accept but the service cannot use.

Each row is a value a tired admin, or a copy-paste from an old forum post,
would produce; at least three per kind of rule.
"""

import json

import pytest

from omero_web_appliance import config, schema

MISSING = {"no_such_pkg.Cache", "omero_iviewer.views.indexx", "gevent", "no_such_pkg"}
MISSING_PREFIXES = (
    "django.contrib.sessions.serializers.Pickle",
    "django.core.cache.backends.memcached.Memcached",
)


def can_import(name):
    return name not in MISSING and not name.startswith(MISSING_PREFIXES) and not name.startswith("no_such")


def parse(raw):
    """Roughly as OMERO.web's parsers do: JSON where it is JSON, else text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def judge(properties, **context):
    ctx = schema.Context(can_import=can_import, **context)
    raw = {f"omero.web.{k}": v for k, v in properties.items()}
    parsed = {k: parse(v) for k, v in raw.items()}
    return [f"{key}: {expected}" for key, expected in schema.judge(raw, parsed, ctx)]


SESSION_MIDDLEWARE = '{"class": "django.contrib.sessions.middleware.SessionMiddleware", "index": 3}'
CSRF_MIDDLEWARE = '{"class": "django.middleware.csrf.CsrfViewMiddleware", "index": 4}'
REDIS = '{"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:6379/0"}}'

# (kind of rule, property, bad value, what the message says)
# fmt: off
BAD = [
    # boolean: OMERO.web reads anything but true/1/t as false
    ("boolean", "debug", "yes", "true or false"),
    ("boolean", "session_expire_at_browser_close", "on", "true or false"),
    ("boolean", "public.enabled", "flase", "true or false"),
    ("boolean", "secure", "1", "true or false"),
    ("boolean", "cors_origin_allow_all", "True.", "true or false"),
    # integer ranges
    ("integer", "wsgi_workers", "0", "from 1 to 256"),
    ("integer", "wsgi_workers", "-4", "from 1 to 256"),
    ("integer", "wsgi_workers", "5000", "from 1 to 256"),
    ("integer", "session_cookie_age", "0", "from 60 to"),
    ("integer", "session_cookie_age", "-86400", "from 60 to"),
    ("integer", "wsgi_timeout", "0", "would never replace a hung worker"),
    ("integer", "wsgi_threads", "0", "from 1 to 64"),
    ("integer", "page_size", "0", "from 1 to"),
    ("integer", "ping_interval", "60", "milliseconds"),
    # where gunicorn listens
    ("port", "application_server.port", "80", "from 1024 to 65535"),
    ("port", "application_server.port", "0", "from 1024 to 65535"),
    ("port", "application_server.port", "99999", "from 1024 to 65535"),
    ("address", "application_server.host", "0.0.0.0", "not every address"),
    ("address", "application_server.host", "::", "not every address"),
    ("address", "application_server.host", "omero.example.org", "an IP address of this host"),
    # allowed values
    ("choice", "application_server", "wsgi", "one of wsgi-tcp"),
    ("choice", "application_server", "development", "one of wsgi-tcp"),
    ("choice", "session_cookie_samesite", "false", "one of Lax, Strict, None"),
    ("choice", "csrf_cookie_samesite", "Laxx", "one of Lax, Strict, None"),
    ("choice", "x_frame_options", "ALLOW-FROM https://x.example.org", "one of DENY, SAMEORIGIN"),
    ("choice", "plate_layout", "grid", "one of expand, shrink, trim"),
    ("choice", "html_meta_referrer", "origin-when-cross", "one of no-referrer"),
    ("choice", "wsgi_worker_class", "async", "one of sync, gthread"),
    ("choice", "wsgi_worker_class", "gevent", "need the gevent package"),
    # text patterns
    ("text", "session_cookie_name", "omero session", "no blanks"),
    ("text", "session_cookie_domain", "https://omero.example.org", "omero.example.org or .example.org"),
    ("text", "session_cookie_domain", "omero.example.org:443", "omero.example.org or .example.org"),
    ("text", "session_cookie_path", "omero", "/ or /omero"),
    ("text", "login.client_downloads_base", "https://github.com/ome/omero-insight", "owner/repo"),
    ("text", "login_view", "web login", "a URL name"),
    # what the appliance owns, or OMERO.web no longer applies
    ("refused", "secret_key", "s3cr3t", "set omero_web_secret_key"),
    ("refused", "nginx_server_extra_config", '["client_max_body_size 0;"]', "set nginx_* variables"),
    ("refused", "force_script_name", "/omero", "set omero.web.prefix"),
    ("refused", "email_host", "smtp.example.org", "set omero.mail.host"),
    ("refused", "send_broken_link_emails", "true", "deprecated"),
    # paths the hardened unit may write
    ("path", "static_root", "/var/www/omero/static", "the hardened unit may write nowhere else"),
    ("path", "static_root", "var/static", "an absolute path below"),
    ("path", "logdir", "/tmp/omero-logs", "the hardened unit may write nowhere else"),
    ("path", "static_root", "/opt/omero/web/OMERO.web/var/../../static", "nowhere else"),
    # what must import
    ("import", "viewer.view", "omero_iviewer.views.indexx", "cannot be imported"),
    ("import", "viewer.view", "iviewer", "a dotted Python name"),
    ("import", "session_serializer", "django.contrib.sessions.serializers.PickleSerializer", "cannot be imported"),
    ("import", "pipeline_staticfile_storage", "no_such_pkg.Storage", "cannot be imported"),
    ("import", "apps", '["no_such_app"]', "cannot be imported"),
    ("import", "caches", '{"default": {"BACKEND": "no_such_pkg.Cache"}}', "cannot be imported"),
    ("import", "caches", '{"default": {"BACKEND": "django.core.cache.backends.memcached.MemcachedCache"}}', "4.1"),
    # URLs
    ("url", "upgrades.url", "ftp://upgrade.example.org/", "an http(s) URL"),
    ("url", "upgrades.url", "upgrade.example.org", "an http(s) URL"),
    ("url", "upgrades.url", "http://", "an http(s) URL"),
    ("url", "prefix", "omero", "starts with /"),
    ("url", "prefix", "/omero/", "does not end with /"),
    ("url", "static_url", "/static", "ends with /"),
    # shapes of JSON
    ("shape", "server_list", '[["omero.example.org", "4064x", "omero"]]', "the port is a number"),
    ("shape", "server_list", '[["omero.example.org", 70000, "omero"]]', "the port is a number"),
    ("shape", "server_list", '[["omero.example.org"]]', "a list [host, port, name]"),
    ("shape", "server_list", '[["https://omero.example.org", 4064, "omero"]]', "without scheme"),
    ("shape", "server_list", "[]", "at least one entry"),
    ("shape", "server_list", '{"omero": 4064}', "a JSON list"),
    ("shape", "allowed_hosts", '["https://omero.example.org"]', "without scheme, port or path"),
    ("shape", "allowed_hosts", '["omero.example.org:443"]', "without scheme, port or path"),
    ("shape", "allowed_hosts", "[]", "at least one entry"),
    ("shape", "allowed_hosts", '"omero.example.org"', "a JSON list"),
    ("shape", "csrf_trusted_origins", '["omero.example.org"]', "with its scheme"),
    ("shape", "csrf_trusted_origins", '["https://omero.example.org/"]', "no path"),
    ("shape", "csrf_trusted_origins", '["*"]', "with its scheme"),
    ("shape", "cors_origin_whitelist", '["viewer.example.org"]', "needs a scheme"),
    ("shape", "admins", '[["Jane Admin", "jane"]]', "email address"),
    ("shape", "admins", '["jane@example.org"]', "a pair [name, email address]"),
    ("shape", "admins", '[["jane@example.org"]]', "a pair [name, email address]"),
    ("shape", "caches", '{"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "127.0.0.1:6379"}}', "Redis URL"),
    ("shape", "caches", REDIS.replace('"default"', '"sessions"'), 'a "default" cache'),
    ("shape", "caches", REDIS.replace('"redis://127.0.0.1:6379/0"', '["redis://omero-web/0", "x"]'), "or a list of them"),
    ("shape", "caches", REDIS.replace('"redis://127.0.0.1:6379/0"', "[]"), "Redis URL"),
    ("shape", "caches", '{"default": {"BACKEND": "json.JSONDecoder", "TIMEOUT": "300"}}', "TIMEOUT is a number"),
    ("shape", "databases", '{"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "sessions.db"}}', "absolute"),
    ("shape", "databases", '{"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/s.db"}}', "nowhere"),
    ("shape", "databases", '{"default": {"NAME": "/opt/omero/web/OMERO.web/var/s.db"}}', "with an ENGINE"),
    ("shape", "middleware", f"[{CSRF_MIDDLEWARE}]", "SessionMiddleware in the list"),
    ("shape", "middleware", f'[{SESSION_MIDDLEWARE}, {{"class": "django.middleware.csrf.CsrfViewMiddleware"}}]', "index"),
    ("shape", "middleware", f"[{SESSION_MIDDLEWARE}, {CSRF_MIDDLEWARE}, {CSRF_MIDDLEWARE}]", "listed twice"),
    ("shape", "secure_proxy_ssl_header", '["X-Forwarded-Proto", "https"]', "HTTP_X_FORWARDED_PROTO"),
    ("shape", "secure_proxy_ssl_header", '["HTTP_X_FORWARDED_PROTO"]', "HTTP_X_FORWARDED_PROTO"),
    ("shape", "secure_proxy_ssl_header", '"HTTP_X_FORWARDED_PROTO"', "HTTP_X_FORWARDED_PROTO"),
    ("shape", "open_with", '[["omero_iviewer"]]', "a list [id, url name, options]"),
    ("shape", "open_with", '[["a", "b", {"supported_objects": "images"}]]', "supported_objects is a list"),
    ("shape", "ui.top_links", '[["Figure"]]', "a list [label, url name"),
    ("shape", "ui.top_links", '[["Figure", "figure_index", "_blank"]]', "options are a JSON object"),
    ("shape", "ui.center_plugins", '[["Parade", "omero_parade/init.js.html"]]', "[label, template, id]"),
    ("shape", "ui.metadata_panes", '[{"name": "tag"}]', '"label"'),
    ("shape", "login_redirect", '{"viewname": "load_template"}', '"redirect"'),
    ("shape", "template_dirs", '["templates"]', "an absolute directory path"),
    ("shape", "system_checks", '["W019"]', "a Django system check id"),
    ("shape", "sharing.opengraph", '{"omero": "og"}', "a JSON object of the tags"),
    ("shape", "django_additional_settings", '[["SECRET_KEY", "x"]]', "set by omero_web_secret_key"),
    ("shape", "django_additional_settings", '[["debug", true]]', "not a Django setting name"),
    ("shape", "django_additional_settings", '[["SESSION_ENGINE", "x"]]', "set by omero.web.session_engine"),
    ("shape", "django_additional_settings", '["DATA_UPLOAD_MAX_MEMORY_SIZE"]', 'a pair ["SETTING_NAME", value]'),
    # gunicorn options the unit sets itself, or gunicorn refuses
    ("gunicorn", "wsgi_args", "--bind 0.0.0.0:4080", "no --bind here"),
    ("gunicorn", "wsgi_args", "-w 9", "no --workers here"),
    ("gunicorn", "wsgi_args", "--daemon", "no --daemon here"),
    ("gunicorn", "wsgi_args", "--no-such-option", "gunicorn options gunicorn accepts"),
    ("gunicorn", "wsgi_args", "omeroweb.wsgi:application", "options only"),
    ("gunicorn", "wsgi_args", "--log-level 'debug", "as on a command line"),
]
# fmt: on


@pytest.mark.parametrize(("kind", "key", "value", "message"), BAD, ids=[f"{r[1]}={r[2]}" for r in BAD])
def test_a_bad_value_is_refused_naming_what_is_expected(kind, key, value, message):
    found = [p for p in judge({key: value}) if p.startswith(f"omero.web.{key}: ")]
    assert found, f"omero.web.{key}={value} passed"
    assert any(message in p for p in found), found


def test_every_kind_of_rule_has_at_least_three_bad_values():
    kinds = {}
    for kind, *_ in BAD:
        kinds[kind] = kinds.get(kind, 0) + 1
    assert {kind: n for kind, n in kinds.items() if n < 3} == {}


GOOD = {
    "debug": "false",
    "session_expire_at_browser_close": "true",
    "wsgi_workers": "5",
    "wsgi_timeout": "60",
    "session_cookie_age": "86400",
    "application_server": "wsgi-tcp",
    "application_server.port": "4080",
    "application_server.host": "127.0.0.1",
    "session_cookie_samesite": "Lax",
    "x_frame_options": "SAMEORIGIN",
    "static_root": "/opt/omero/web/OMERO.web/var/static",
    "server_list": '[["omero.example.org", 4064, "omero"], ["localhost", 4064]]',
    "allowed_hosts": '["omero.example.org", ".example.org", "127.0.0.1", "*"]',
    "csrf_trusted_origins": '["https://omero.example.org", "https://omero.example.org:8443"]',
    "caches": REDIS,
    "session_engine": "django.contrib.sessions.backends.cache",
    "middleware": f"[{SESSION_MIDDLEWARE}, {CSRF_MIDDLEWARE}]",
    "secure_proxy_ssl_header": '["HTTP_X_FORWARDED_PROTO", "https"]',
    "wsgi_args": "--keep-alive 5 --log-level info",
    "wsgi_worker_class": "gthread",
    "wsgi_threads": "4",
    "admins": '[["Jane Admin", "jane@example.org"]]',
    "django_additional_settings": '[["DATA_UPLOAD_MAX_MEMORY_SIZE", 10485760]]',
    "open_with": '[["omero_iviewer", "omero_iviewer_index", {"supported_objects": ["images"]}]]',
    "ui.top_links": '[["Figure", "figure_index", {"target": "_blank"}], ["Help", {"viewname": "x"}]]',
    "system_checks": '["1_8.W001", "security.W019"]',
    "prefix": "/omero",
    "static_url": "/omero/static/",
    "session_cookie_path": "/",
}


def test_a_good_config_passes():
    assert judge(GOOD, memory_mb=2048) == []


def test_the_cache_on_the_primary_sentinel_names_passes():
    sentinel = (
        '{"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": ["redis://omero-web/0"],'
        ' "OPTIONS": {"CLIENT_CLASS": "django_redis.client.SentinelClient",'
        ' "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",'
        ' "SENTINELS": [["10.0.0.5", 26379]], "PASSWORD": "pw"}}}'
    )
    assert judge({**GOOD, "caches": sentinel}, memory_mb=2048) == []


# The four values that took the demo down or were misread.
def test_a_server_port_that_is_not_a_number_is_refused():
    (problem,) = judge({"server_list": '[["omero.example.org", "4064x", "omero"]]'})
    assert "entry 0" in problem and "the port is a number from 1 to 65535" in problem


def test_a_listening_port_outside_the_range_is_refused():
    assert "from 1024 to 65535" in judge({"application_server.port": "70000"})[0]


def test_a_worker_count_that_serves_nothing_is_refused():
    assert "serves nothing" in judge({"wsgi_workers": "0"})[0]


def test_a_boolean_that_is_neither_true_nor_false_is_refused():
    assert "reads anything else as false" in judge({"debug": "ture"})[0]


# Rules that need the host or the appliance's choices.
def test_gunicorn_on_loopback_is_refused_when_front_ends_are_remote():
    (problem,) = judge({"application_server.host": "127.0.0.1"}, remote_frontends=True)
    assert "not loopback" in problem


def test_an_address_or_port_the_host_cannot_bind_is_refused():
    def probe(host, port):
        return f"{host} is not an address of this host" if port == 0 else f"{host}:{port} is in use"

    found = judge(
        {"application_server.host": "10.9.9.9", "application_server.port": "6379"}, probe_bind=probe
    )
    assert any("10.9.9.9 is not an address of this host" in p for p in found)
    assert any(
        "application_server.port: a port free on this host: 10.9.9.9:6379 is in use" in p for p in found
    )


def test_the_port_gunicorn_holds_now_is_not_in_use_by_another():
    assert judge({"application_server.port": "4080"}, live_port=4080, probe_bind=lambda h, p: "in use") == []


def test_real_probe_finds_a_port_in_use_and_a_foreign_address():
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        assert "in use" in schema.probe_bind("127.0.0.1", port)
    assert "not an address of this host" in schema.probe_bind("192.0.2.1", 0)
    assert schema.probe_bind("127.0.0.1", 0) is None


def test_more_workers_than_the_memory_holds_are_refused():
    (problem,) = judge({"wsgi_workers": "40"}, memory_mb=1024)
    assert "at most 8 here" in problem


# Rules across properties.
@pytest.mark.parametrize(
    ("properties", "context", "message"),
    [
        (
            {"session_engine": "django.contrib.sessions.backends.cache"},
            {},
            "omero.web.caches: a shared default cache for the cache session engine",
        ),
        (
            {
                "session_engine": "django.contrib.sessions.backends.cache",
                "caches": '{"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}',
            },
            {},
            "LocMemCache keeps sessions in one worker",
        ),
        (
            {"session_engine": "django.contrib.sessions.backends.db"},
            {},
            "omero.web.databases: a default database for the db session engine",
        ),
        (
            {"session_cookie_secure": "true"},
            {},
            "omero.web.session_cookie_secure: false while the front ends",
        ),
        ({"csrf_cookie_secure": "true"}, {}, "omero.web.csrf_cookie_secure: false while the front ends"),
        ({"session_cookie_samesite": "None"}, {"behind_tls": True}, "browsers drop SameSite=None cookies"),
        (
            {"session_cookie_secure": "false"},
            {"behind_tls": True},
            "omero.web.session_cookie_secure: true while",
        ),
        ({"csrf_cookie_secure": "False"}, {"behind_tls": True}, "omero.web.csrf_cookie_secure: true while"),
        ({"csrf_cookie_secure": "no"}, {"behind_tls": True}, "omero.web.csrf_cookie_secure: true while"),
        ({"public.enabled": "true"}, {}, "omero.web.public.user: set when omero.web.public.enabled"),
        (
            {
                "public.enabled": "true",
                "public.user": "pub",
                "public.password": "pw",
                "public.server_id": "2",
            },
            {},
            "omero.web.public.server_id: a position in omero.web.server_list, from 1 to 1",
        ),
        ({"root_application": "figure", "apps": '["omero_iviewer"]'}, {}, "the label of an app"),
        ({"prefix": "/omero", "session_cookie_path": "/webclient"}, {}, "covers the site at /omero/"),
        ({"prefix": "/omero", "static_url": "/static/"}, {}, "a URL under the prefix /omero"),
    ],
)
def test_properties_that_must_agree(properties, context, message):
    found = judge(properties, **context)
    assert any(message in p for p in found), found


def test_secure_cookies_pass_behind_tls():
    assert judge({"session_cookie_secure": "true", "csrf_cookie_secure": "true"}, behind_tls=True) == []


def test_every_problem_is_reported_at_once_through_check():
    parsers = {
        "omero.web.debug": lambda s: s.strip().lower() in ("true", "1", "t"),
        "omero.web.wsgi_workers": int,
        "omero.web.server_list": json.loads,
    }
    found = config.check(
        {"omero.web.debug": "yes", "omero.web.wsgi_workers": "0", "omero.web.server_list": '[["h", "x"]]'},
        parsers,
        can_import,
    )
    assert [p.key for p in found] == ["omero.web.debug", "omero.web.wsgi_workers", "omero.web.server_list"]
    assert str(found[0]).startswith("omero.web.debug = 'yes': true or false")


def test_uncovered_names_what_the_table_lacks():
    assert schema.uncovered(["omero.web.debug", "omero.web.new_thing"]) == ["omero.web.new_thing"]
