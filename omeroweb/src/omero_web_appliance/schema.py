"""What each OMERO.web property must be for the service to work.

OMERO.web's parsers are permissive by design: ``parse_boolean`` reads
anything but "true", "1" or "t" as false, ``json.loads`` takes any JSON for
a list of servers, ``int`` takes 0 workers or port 99999. This table says,
property by property, what the running service (OMERO.web, Django,
gunicorn under the appliance's systemd unit) needs on top: type after
parsing, range, allowed values, the shape of nested JSON, what must import,
and what would undo a choice the appliance makes for the user. Rules that
tie several properties together follow the table (``CROSS_RULES``).

Every property of OMERO.web's own tables has an entry, so an upgrade of
omero-web that adds one is caught (``uncovered``), not silently unchecked.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import re
import shlex
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from . import rules

# A rule gets the raw text, OMERO.web's parsed value and the context, and
# yields what is expected for each problem it finds.
Rule = Callable[[str, object, "Context"], Iterator[str]]


@dataclass(frozen=True)
class Context:
    """What the rules know of the host and of the appliance's choices."""

    omerodir: str = "/opt/omero/web/OMERO.web"
    # Memory of the host in MiB (None: not known, no memory rule).
    memory_mb: int | None = None
    # The front ends speak HTTPS to the clients (Secure cookies then work).
    behind_tls: bool = False
    # Front ends on other hosts proxy to this node (gunicorn must not be
    # on loopback then).
    remote_frontends: bool = False
    # The port gunicorn listens on now: a port in use by it is not taken.
    live_port: int | None = None
    # Whether this process can bind host:port; None: no probe (unit tests).
    probe_bind: Callable[[str, int], str | None] | None = None
    can_import: Callable[[str], bool] = field(default=lambda name: True)


# Memory one OMERO.web worker holds at rest (measured: about 116 MB).
WORKER_MB = 120
# The unit runs without capabilities: ports below this cannot be bound.
FIRST_UNPRIVILEGED_PORT = 1024


# -- rules for one value -------------------------------------------------------


def accepted(raw: str, value: object, ctx: Context) -> Iterator[str]:
    """OMERO.web's own parser is all this property needs."""
    return iter(())


def boolean(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if raw.strip().lower() not in ("true", "false"):
        yield "true or false (OMERO.web reads anything else as false, without a word)"


def integer(low: int, high: int, unit: str = "") -> Rule:
    def rule(raw: str, value: object, ctx: Context) -> Iterator[str]:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            yield f"a whole number from {low} to {high}{unit}"

    return rule


def choice(*allowed: str, fold: bool = False, why: str = "") -> Rule:
    def rule(raw: str, value: object, ctx: Context) -> Iterator[str]:
        text = str(value)
        ok = text.lower() in {a.lower() for a in allowed} if fold else text in allowed
        if not ok:
            yield f"one of {', '.join(allowed)}{why}"

    return rule


def text(pattern: str, example: str) -> Rule:
    def rule(raw: str, value: object, ctx: Context) -> Iterator[str]:
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            yield f"text like {example}"

    return rule


def refused(reason: str) -> Rule:
    def rule(raw: str, value: object, ctx: Context) -> Iterator[str]:
        yield reason

    return rule


def deprecated(replacement: str) -> Rule:
    return refused(f"deprecated by OMERO.web and not applied as set: {replacement}")


def _under_var(path: object, ctx: Context) -> str | None:
    var = os.path.join(ctx.omerodir, "var")
    if not isinstance(path, str) or not os.path.isabs(path):
        return f"an absolute path below {var} (the only place the service may write)"
    if os.path.commonpath([os.path.normpath(path), var]) != var:
        return f"a path below {var}: the hardened unit may write nowhere else"
    return None


def writable_path(raw: str, value: object, ctx: Context) -> Iterator[str]:
    problem = _under_var(value, ctx)
    if problem:
        yield problem


def dotted(optional: bool = False) -> Rule:
    """A Python name (module or module.attribute) that imports in the venv."""

    def rule(raw: str, value: object, ctx: Context) -> Iterator[str]:
        if optional and value in (None, ""):
            return
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", value):
            yield "a dotted Python name, e.g. package.module.Name"
        elif not ctx.can_import(value):
            yield f"{value} cannot be imported in OMERO.web's venv"

    return rule


def http_url(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if value is not None and not (isinstance(value, str) and re.fullmatch(r"https?://[^\s/]+(/\S*)?", value)):
        yield "an http(s) URL, e.g. https://upgrade.example.org/"


# -- rules for JSON shapes -----------------------------------------------------

LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
HOST = rf"(\*|\.?{LABEL}(\.{LABEL})*\.?|\[[0-9A-Fa-f:.]+\])"


def list_of(item: Callable[[object], str | None], non_empty: bool = False) -> Rule:
    """A JSON list whose every item passes ``item`` (None, or what is expected)."""

    def rule(raw: str, value: object, ctx: Context) -> Iterator[str]:
        if not isinstance(value, list):
            yield "a JSON list"
            return
        if non_empty and not value:
            yield "a JSON list with at least one entry"
        for index, entry in enumerate(value):
            problem = item(entry)
            if problem:
                yield f"entry {index} ({json.dumps(entry)}): {problem}"

    return rule


def dict_of(item: Callable[[str, object], str | None]) -> Rule:
    def rule(raw: str, value: object, ctx: Context) -> Iterator[str]:
        if not isinstance(value, dict):
            yield "a JSON object"
            return
        for key, entry in value.items():
            problem = item(key, entry)
            if problem:
                yield f"{key!r}: {problem}"

    return rule


def _host(entry: object) -> str | None:
    if not isinstance(entry, str) or not re.fullmatch(HOST, entry):
        return "a host name without scheme, port or path, e.g. omero.example.org or .example.org"
    return None


def _origin(entry: object) -> str | None:
    return rules.origin_problem(entry)


def _server(entry: object) -> str | None:
    expected = 'a list [host, port, name], e.g. ["omero.example.org", 4064, "omero"]'
    if not isinstance(entry, list) or len(entry) not in (2, 3):
        return expected
    host, port, *name = entry
    if not isinstance(host, str) or not re.fullmatch(HOST, host) or host == "*":
        return f"{expected}; the host is a name or address, without scheme or port"
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        return f"{expected}; the port is a number from 1 to 65535"
    if name and not (isinstance(name[0], str) and name[0].strip()):
        return f"{expected}; the name is non-empty text"
    return None


def _admin(entry: object) -> str | None:
    if (
        not isinstance(entry, list)
        or len(entry) != 2
        or not all(isinstance(part, str) for part in entry)
        or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", entry[1])
    ):
        return 'a pair [name, email address], e.g. ["Jane Admin", "jane@example.org"]'
    return None


def _plugin(entry: object) -> str | None:
    if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(p, str) and p for p in entry)):
        return 'a list [label, template, id], e.g. ["Parade", "omero_parade/init.js.html", "omero_parade"]'
    return None


def _top_link(entry: object) -> str | None:
    expected = 'a list [label, url name or {"viewname": ...}, options], e.g. ["Figure", "figure_index"]'
    if not isinstance(entry, list) or len(entry) not in (2, 3) or not isinstance(entry[0], str):
        return expected
    if not (isinstance(entry[1], str) and entry[1]) and not (
        isinstance(entry[1], dict) and "viewname" in entry[1]
    ):
        return expected
    if len(entry) == 3 and not isinstance(entry[2], dict):
        return f"{expected}; options are a JSON object"
    return None


def _open_with(entry: object) -> str | None:
    expected = 'a list [id, url name, options], e.g. ["omero_iviewer", "omero_iviewer_index", {...}]'
    if (
        not isinstance(entry, list)
        or len(entry) not in (2, 3)
        or not all(isinstance(p, str) and p for p in entry[:2])
    ):
        return expected
    options = entry[2] if len(entry) == 3 else {}
    if not isinstance(options, dict):
        return f"{expected}; options are a JSON object"
    objects = options.get("supported_objects", [])
    if not isinstance(objects, list) or not all(isinstance(o, str) for o in objects):
        return 'supported_objects is a list of object types, e.g. ["images"]'
    return None


def _metadata_pane(entry: object) -> str | None:
    if not (isinstance(entry, dict) and {"name", "label", "index"} <= entry.keys()):
        return 'an object {"name": ..., "label": ..., "index": N}'
    return None


def _absolute_dir(entry: object) -> str | None:
    path = entry[1] if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) else entry
    if not isinstance(path, str) or not os.path.isabs(path):
        return "an absolute directory path (or [prefix, absolute path])"
    return None


def _system_check(entry: object) -> str | None:
    if not isinstance(entry, str) or not re.fullmatch(r"[\w.]+\.[CEWID]\d{3}", entry):
        return "a Django system check id, e.g. security.W019"
    return None


def _additional_setting(entry: object) -> str | None:
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
        return 'a pair ["SETTING_NAME", value]'
    name = entry[0]
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
        return f"{name!r} is not a Django setting name (upper case, e.g. DATA_UPLOAD_MAX_MEMORY_SIZE)"
    if name in OWNED_SETTINGS:
        return f"{name} is set by {OWNED_SETTINGS[name]}; set that instead, so the appliance sees it"
    return None


def _sharing(key: str, entry: object) -> str | None:
    if not isinstance(entry, dict):
        return 'a JSON object of the tags for this server, e.g. {"site": "@example"}'
    return None


def _cache(key: str, cache: object) -> str | None:
    if not isinstance(cache, dict) or not isinstance(cache.get("BACKEND"), str):
        return 'an object with a BACKEND, e.g. {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://..."}'
    if "redis" in cache["BACKEND"].lower():
        # One URL, or a list of them (the primary first; Sentinel's client).
        location = cache.get("LOCATION")
        urls = location if isinstance(location, list) and location else [location]
        if not all(isinstance(url, str) and re.fullmatch(r"(rediss?|unix)://\S+", url) for url in urls):
            return "LOCATION is a Redis URL, e.g. redis://127.0.0.1:6379/0, or a list of them"
    timeout = cache.get("TIMEOUT", 300)
    if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 0):
        return "TIMEOUT is a number of seconds (0 or more) or null"
    if not isinstance(cache.get("OPTIONS", {}), dict):
        return "OPTIONS is a JSON object"
    return None


def _database(key: str, database: object) -> str | None:
    if not isinstance(database, dict) or not isinstance(database.get("ENGINE"), str):
        return 'an object with an ENGINE and a NAME, e.g. {"ENGINE": "django.db.backends.sqlite3", ...}'
    if not isinstance(database.get("NAME"), str) or not database["NAME"]:
        return "NAME names the database (for SQLite, an absolute file path)"
    return None


def caches(raw: str, value: object, ctx: Context) -> Iterator[str]:
    yield from dict_of(_cache)(raw, value, ctx)
    if isinstance(value, dict):
        if "default" not in value:
            yield 'a "default" cache (Django needs one)'
        for alias, cache in value.items():
            backend = cache.get("BACKEND") if isinstance(cache, dict) else None
            if isinstance(backend, str) and not ctx.can_import(backend):
                hint = REMOVED.get(backend, "")
                yield f"cache {alias!r}: backend {backend!r} cannot be imported in OMERO.web's venv{hint}"


def databases(raw: str, value: object, ctx: Context) -> Iterator[str]:
    yield from dict_of(_database)(raw, value, ctx)
    if not isinstance(value, dict):
        return
    for alias, database in value.items():
        if not isinstance(database, dict):
            continue
        engine, name = database.get("ENGINE"), database.get("NAME")
        if isinstance(engine, str) and not ctx.can_import(engine):
            yield f"database {alias!r}: engine {engine!r} cannot be imported in OMERO.web's venv"
        if engine == "django.db.backends.sqlite3" and isinstance(name, str):
            problem = _under_var(name, ctx)
            if problem:
                yield f"database {alias!r}: NAME is {problem}"


def middleware(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if not isinstance(value, list):
        yield 'a JSON list of {"class": ..., "index": N}'
        return
    classes = []
    for entry in value:
        name = entry.get("class") if isinstance(entry, dict) else None
        index = entry.get("index") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(index, (int, float)) or isinstance(index, bool):
            yield f'each entry is {{"class": "module.Class", "index": N}}, not {json.dumps(entry)}'
            continue
        classes.append(name)
        if not ctx.can_import(name):
            yield f"middleware {name!r} cannot be imported in OMERO.web's venv"
    for name in sorted({c for c in classes if classes.count(c) > 1}):
        yield f"middleware {name!r} is listed twice"
    for name, why in REQUIRED_MIDDLEWARE.items():
        if name not in classes:
            yield f"{name} in the list: {why}"


def apps(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if not isinstance(value, list):
        yield "a JSON list of Django app modules"
        return
    for app in value:
        if not isinstance(app, str) or not ctx.can_import(app):
            yield (
                f"app {app!r} cannot be imported in OMERO.web's venv "
                "(is its package installed, and is this the Django app it provides?)"
            )
    for app in sorted({a for a in value if isinstance(a, str) and value.count(a) > 1}):
        yield f"app {app!r} is listed twice"


def login_redirect(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if not isinstance(value, dict):
        yield "a JSON object"
    elif value and not (
        isinstance(value.get("redirect"), list)
        and isinstance(value.get("viewname"), str)
        and value["viewname"]
    ):
        yield 'empty, or {"redirect": ["webindex"], "viewname": "load_template", "args": [...]}'


def proxy_ssl_header(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if value == []:
        return
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, str) and v for v in value)
        and re.fullmatch(r"HTTP_[A-Z0-9_]+", value[0])
    ):
        yield 'empty, or ["HTTP_X_FORWARDED_PROTO", "https"] (a header as Django names it, and its value)'


def prefix(raw: str, value: object, ctx: Context) -> Iterator[str]:
    problem = rules.prefix_problem(value)
    if problem:
        yield problem


def static_url(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if not isinstance(value, str) or not re.fullmatch(r"(https?://[^\s/]+)?/\S*/", value):
        yield "a URL path that ends with /, e.g. /static/ (or a full URL)"


def cors_origins(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if not isinstance(value, list):
        yield "a JSON list"
        return
    for origin in value:
        if _origin(origin):
            yield f"origin {origin!r} needs a scheme and no path, e.g. https://hostname.example.com"


def listen_host(raw: str, value: object, ctx: Context) -> Iterator[str]:
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        yield "an IP address of this host, e.g. 127.0.0.1 (set omero_web_listen_address)"
        return
    if address.is_unspecified:
        yield (
            "one address of this host, not every address: the appliance keeps gunicorn "
            "where only the front ends reach it (set omero_web_listen_address)"
        )
    elif address.is_loopback and ctx.remote_frontends:
        yield "an address the front ends on other hosts reach, not loopback (set omero_web_listen_address)"
    elif ctx.probe_bind:
        problem = ctx.probe_bind(str(address), 0)
        if problem:
            yield f"an address of this host: {problem}"


def listen_port(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if not isinstance(value, int) or not FIRST_UNPRIVILEGED_PORT <= value <= 65535:
        yield (
            f"a port from {FIRST_UNPRIVILEGED_PORT} to 65535 (OMERO.web runs without the privilege "
            "to bind lower ports)"
        )


def workers(raw: str, value: object, ctx: Context) -> Iterator[str]:
    yield from integer(1, 256, " (with 0 or fewer gunicorn starts but serves nothing)")(raw, value, ctx)
    if isinstance(value, int) and ctx.memory_mb and value * WORKER_MB > ctx.memory_mb:
        fits = max(1, ctx.memory_mb // WORKER_MB)
        yield f"at most {fits} here: a worker holds about {WORKER_MB} MB and the host has {ctx.memory_mb} MB"


# What the appliance's unit passes to gunicorn itself (templates/omero-web.service.j2).
UNIT_OPTIONS = {
    "bind": "omero.web.application_server.host and .port",
    "workers": "omero.web.wsgi_workers",
    "threads": "omero.web.wsgi_threads",
    "worker_class": "omero.web.wsgi_worker_class",
    "timeout": "omero.web.wsgi_timeout",
    "max_requests": "omero.web.application_server.max_requests",
    "daemon": "the systemd unit (it runs gunicorn in the foreground)",
    "user": "the systemd unit (omero_web_user)",
    "group": "the systemd unit (omero_web_user)",
    "pidfile": "the systemd unit",
    "chdir": "the systemd unit",
    "config": "the systemd unit",
    "control_socket": "the systemd unit (it has none)",
    "reload": "the appliance (a code reloader does not belong in production)",
}


def gunicorn_args(raw: str, value: object, ctx: Context) -> Iterator[str]:
    try:
        words = shlex.split(str(value))
    except ValueError as error:
        yield f"gunicorn options as on a command line ({error})"
        return
    try:
        import contextlib
        import io

        from gunicorn.config import Config
    except ImportError:
        yield "gunicorn options, but gunicorn is not in this venv to check them"
        return
    parser = Config().parser()
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            parsed = parser.parse_args(words)
    except SystemExit:
        message = errors.getvalue().strip().splitlines()
        yield f"gunicorn options gunicorn accepts ({message[-1] if message else 'it refused them'})"
        return
    if getattr(parsed, "args", None):
        yield f"options only: gunicorn would read {' '.join(parsed.args)} as the app to run"
    defaults = parser.parse_args([])
    for dest, owner in UNIT_OPTIONS.items():
        if getattr(parsed, dest, None) != getattr(defaults, dest, None):
            yield f"no --{dest.replace('_', '-')} here: it is set by {owner}"


# The worker classes gunicorn has built in; others need their package.
WORKER_CLASS_MODULES = {"sync": "gunicorn.workers.sync", "gthread": "gunicorn.workers.gthread"}


def worker_class(raw: str, value: object, ctx: Context) -> Iterator[str]:
    if not ctx.can_import(WORKER_CLASS_MODULES.get(str(value), str(value))):
        yield f"{value} workers need the {value} package in OMERO.web's venv"


# -- the table -----------------------------------------------------------------

REMOVED = {
    "django.core.cache.backends.memcached.MemcachedCache": (
        " (Django removed MemcachedCache in 4.1; use django.core.cache.backends.memcached.PyMemcacheCache"
        " with pymemcache in the venv)"
    ),
}

REQUIRED_MIDDLEWARE = {
    "django.contrib.sessions.middleware.SessionMiddleware": "OMERO.web keeps its login in the session",
    "django.middleware.csrf.CsrfViewMiddleware": "it protects every form from cross-site requests",
}

# Django settings the appliance or OMERO.web sets from their own variables;
# omero.web.django_additional_settings must not override them behind its back.
OWNED_SETTINGS = {
    "SECRET_KEY": "omero_web_secret_key",
    "DEBUG": "omero.web.debug",
    "ALLOWED_HOSTS": "omero.web.allowed_hosts",
    "SESSION_ENGINE": "omero.web.session_engine (omero_web_session_engine)",
    "CACHES": "omero.web.caches",
    "DATABASES": "omero.web.databases",
    "INSTALLED_APPS": "omero.web.apps",
    "MIDDLEWARE": "omero.web.middleware",
    "STATIC_ROOT": "omero.web.static_root",
    "STATIC_URL": "omero.web.static_url",
    "FORCE_SCRIPT_NAME": "omero.web.prefix",
    "SESSION_COOKIE_SECURE": "omero.web.session_cookie_secure",
    "CSRF_COOKIE_SECURE": "omero.web.csrf_cookie_secure",
    "SECURE_PROXY_SSL_HEADER": "omero.web.secure_proxy_ssl_header",
    "CSRF_TRUSTED_ORIGINS": "omero.web.csrf_trusted_origins",
    "ROOT_URLCONF": "OMERO.web",
}

NOT_WEB = refused("not an omero.web.* property: the appliance sets OMERO.web's own properties only")
REFERRER_POLICIES = (
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "origin-when-crossorigin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
)
BIG = 10**12

SCHEMA: dict[str, tuple[Rule, ...]] = {
    # INTERNAL_SETTINGS_MAPPING
    "omero.qa.feedback": (NOT_WEB,),
    "omero.web.upgrades.url": (http_url,),
    "omero.web.check_version": (boolean,),
    "omero.web.allowed_hosts": (list_of(_host, non_empty=True),),
    "omero.web.system_checks": (list_of(_system_check),),
    "omero.mail.from": (NOT_WEB,),
    "omero.mail.host": (NOT_WEB,),
    "omero.mail.password": (NOT_WEB,),
    "omero.mail.username": (NOT_WEB,),
    "omero.mail.port": (NOT_WEB,),
    "omero.web.admins.email_subject_prefix": (accepted,),
    "omero.mail.smtp.starttls.enable": (NOT_WEB,),
    # CUSTOM_SETTINGS_MAPPINGS
    "omero.web.debug": (boolean,),
    "omero.web.secret_key": (
        refused(
            "not in the config (it would sit in config.xml and in every diff): "
            "set omero_web_secret_key, which the appliance keeps in a file only OMERO.web reads"
        ),
    ),
    "omero.web.admins": (list_of(_admin),),
    "omero.web.application_server": (
        choice("wsgi-tcp", why=" (the appliance runs gunicorn over TCP under systemd)"),
    ),
    "omero.web.application_server.host": (listen_host,),
    "omero.web.application_server.port": (listen_port,),
    "omero.web.application_server.max_requests": (integer(0, BIG, " (0: workers are never recycled)"),),
    "omero.web.middleware": (middleware,),
    "omero.web.prefix": (prefix,),
    "omero.web.use_x_forwarded_host": (boolean,),
    "omero.web.static_url": (static_url,),
    "omero.web.static_root": (writable_path,),
    "omero.web.session_engine": (dotted(),),
    "omero.web.session_expire_at_browser_close": (boolean,),
    "omero.web.caches": (caches,),
    "omero.web.secure": (boolean,),
    "omero.web.session_cookie_age": (integer(60, 10 * 365 * 86400, " seconds"),),
    "omero.web.session_cookie_domain": (text(HOST, "omero.example.org or .example.org"),),
    "omero.web.session_cookie_name": (text(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", "sessionid (no blanks, ; or =)"),),
    "omero.web.session_cookie_path": (text(r"/[^\s;,]*", "/ or /omero"),),
    "omero.web.session_cookie_secure": (boolean,),
    "omero.web.csrf_cookie_secure": (boolean,),
    "omero.web.csrf_cookie_httponly": (boolean,),
    "omero.web.csrf_cookie_samesite": (choice("Lax", "Strict", "None", fold=True),),
    "omero.web.csrf_trusted_origins": (list_of(_origin),),
    "omero.web.session_cookie_samesite": (choice("Lax", "Strict", "None", fold=True),),
    "omero.web.logdir": (writable_path,),
    "omero.web.secure_proxy_ssl_header": (proxy_ssl_header,),
    "omero.web.wsgi_args": (gunicorn_args,),
    "omero.web.wsgi_workers": (workers,),
    "omero.web.wsgi_timeout": (integer(5, 86400, " seconds (0 would never replace a hung worker)"),),
    "omero.web.session_serializer": (dotted(),),
    "omero.web.public.enabled": (boolean,),
    "omero.web.public.url_filter": (accepted,),
    "omero.web.public.get_only": (boolean,),
    "omero.web.public.server_id": (integer(1, 1000, " (a position in omero.web.server_list, from 1)"),),
    "omero.web.public.user": (text(r"\S+", "public-user"),),
    "omero.web.public.password": (text(r"\S(.*\S)?", "a password"),),
    "omero.web.public.cache.enabled": (boolean,),
    "omero.web.public.cache.key": (text(r"\S+", "omero.web.public.cache.key"),),
    "omero.web.public.cache.timeout": (integer(0, BIG, " seconds"),),
    "omero.web.sharing.twitter": (dict_of(_sharing),),
    "omero.web.sharing.opengraph": (dict_of(_sharing),),
    "omero.web.server_list": (list_of(_server, non_empty=True),),
    "omero.web.ping_interval": (integer(1000, 86_400_000, " milliseconds"),),
    "omero.web.chunk_size": (integer(1024, 2**30, " bytes"),),
    "omero.web.maximum_multifile_download_size": (integer(0, BIG * 1000, " bytes"),),
    "omero.web.max_table_download_rows": (integer(1, BIG),),
    "omero.web.max_table_slice_size": (integer(1, BIG),),
    "omero.web.viewer.view": (dotted(),),
    "omero.web.open_with": (list_of(_open_with),),
    "omero.web.pipeline_js_compressor": (dotted(optional=True),),
    "omero.web.pipeline_css_compressor": (dotted(optional=True),),
    "omero.web.pipeline_staticfile_storage": (dotted(),),
    "omero.web.login_logo": (accepted,),
    "omero.web.login_view": (text(r"[\w:.-]+", "weblogin (a URL name)"),),
    "omero.web.login_incorrect_credentials_text": (accepted,),
    "omero.web.top_logo": (accepted,),
    "omero.web.top_logo_link": (accepted,),
    "omero.web.user_dropdown": (boolean,),
    "omero.web.feedback.comment.enabled": (boolean,),
    "omero.web.feedback.error.enabled": (boolean,),
    "omero.web.show_forgot_password": (boolean,),
    "omero.web.favicon_url": (text(r"\S+", "webgateway/img/ome.ico"),),
    "omero.web.staticfile_dirs": (list_of(_absolute_dir),),
    "omero.web.template_dirs": (list_of(_absolute_dir),),
    "omero.web.index_template": (accepted,),
    "omero.web.base_include_template": (accepted,),
    "omero.web.login_redirect": (login_redirect,),
    "omero.web.redirect_allowed_hosts": (list_of(_host),),
    "omero.web.login.show_client_downloads": (boolean,),
    "omero.web.login.client_downloads_base": (text(r"[\w.-]+/[\w.-]+", "ome/omero-insight (owner/repo)"),),
    "omero.web.apps": (apps,),
    "omero.web.root_application": (accepted,),
    "omero.web.databases": (databases,),
    "omero.web.page_size": (integer(1, 100_000),),
    "omero.web.thumbnails_batch": (integer(1, 10_000),),
    "omero.web.search.default_user": (integer(-1, BIG, " (an OMERO user id; 0 for none)"),),
    "omero.web.search.default_group": (integer(-1, BIG, " (an OMERO group id; 0 for none)"),),
    "omero.web.ui.top_links": (list_of(_top_link),),
    "omero.web.ui.metadata_panes": (list_of(_metadata_pane),),
    "omero.web.ui.right_plugins": (list_of(_plugin),),
    "omero.web.ui.center_plugins": (list_of(_plugin),),
    "omero.web.plate_layout": (choice("expand", "shrink", "trim"),),
    "omero.web.cors_origin_whitelist": (cors_origins,),
    "omero.web.cors_origin_allow_all": (boolean,),
    "omero.web.html_meta_referrer": (choice(*REFERRER_POLICIES),),
    "omero.web.x_frame_options": (choice("DENY", "SAMEORIGIN", fold=True),),
    "omero.web.time_zone": (accepted,),
    "omero.web.django_additional_settings": (list_of(_additional_setting),),
    "omero.web.nginx_server_extra_config": (
        refused(
            "read only by `omero web config nginx`, which the appliance does not use: set nginx_* variables"
        ),
    ),
    # DEPRECATED_SETTINGS_MAPPINGS
    "omero.web.force_script_name": (deprecated("set omero.web.prefix (omero_web_prefix)"),),
    "omero.web.server_email": (deprecated("set omero.mail.from"),),
    "omero.web.email_host": (deprecated("set omero.mail.host"),),
    "omero.web.email_host_password": (deprecated("set omero.mail.password"),),
    "omero.web.email_host_user": (deprecated("set omero.mail.username"),),
    "omero.web.email_port": (deprecated("set omero.mail.port"),),
    "omero.web.email_subject_prefix": (deprecated("the subject is no longer configurable"),),
    "omero.web.email_use_tls": (deprecated("set omero.mail.smtp.starttls.enable"),),
    "omero.web.plate_download.enabled": (deprecated("restrict downloads with omero.policy.binary_access"),),
    "omero.web.viewer.initial_zoom_level": (deprecated("set omero.client.viewer.initial_zoom_level"),),
    "omero.web.send_broken_link_emails": (deprecated("set omero.web.admins"),),
    # DEVELOPMENT_SETTINGS_MAPPINGS
    "omero.web.wsgi_worker_class": (choice("sync", "gthread", "gevent", "eventlet"), worker_class),
    "omero.web.wsgi_worker_connections": (integer(1, 100_000),),
    "omero.web.wsgi_threads": (integer(1, 64),),
}

# -- rules across properties ---------------------------------------------------

Config = Mapping[str, object]
CrossRule = Callable[[Config, Context], Iterator[tuple[str, str]]]

# OMERO.web's defaults, where a cross rule needs one the config does not set.
DEFAULTS: dict[str, object] = {
    "omero.web.session_engine": "django.contrib.sessions.backends.file",
    "omero.web.caches": {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
    "omero.web.databases": {},
    "omero.web.session_cookie_secure": False,
    "omero.web.csrf_cookie_secure": False,
    "omero.web.session_cookie_samesite": "Lax",
    "omero.web.csrf_cookie_samesite": "Lax",
    "omero.web.public.enabled": False,
    "omero.web.server_list": [["localhost", 4064, "omero"]],
    "omero.web.public.server_id": 1,
    "omero.web.apps": [],
    "omero.web.prefix": "",
    "omero.web.application_server.port": 4080,
    "omero.web.application_server.host": "127.0.0.1",
}

PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.locmem.LocMemCache",
)


def _get(config: Config, key: str) -> object:
    return config.get(key, DEFAULTS.get(key))


def _session_store(config: Config, ctx: Context) -> Iterator[tuple[str, str]]:
    engine = _get(config, "omero.web.session_engine")
    if engine in ("django.contrib.sessions.backends.cache", "django.contrib.sessions.backends.cached_db"):
        default = (_get(config, "omero.web.caches") or {}).get("default", {})
        backend = default.get("BACKEND") if isinstance(default, dict) else None
        if backend in PROCESS_LOCAL_CACHES:
            yield (
                "omero.web.caches",
                f"a shared default cache for the {engine.rsplit('.', 1)[1]} session engine: {backend} keeps "
                "sessions in one worker (or nowhere), so logins are lost between requests",
            )
    if engine in ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"):
        if "default" not in (_get(config, "omero.web.databases") or {}):
            yield (
                "omero.web.databases",
                f"a default database for the {engine.rsplit('.', 1)[1]} session engine (OMERO.web has none)",
            )


def _secure_cookies(config: Config, ctx: Context) -> Iterator[tuple[str, str]]:
    for kind in ("session", "csrf"):
        key = f"omero.web.{kind}_cookie_secure"
        secure = _get(config, key) is True
        if secure and not ctx.behind_tls:
            yield (
                key,
                "false while the front ends serve plain HTTP: browsers would never send the cookie back, "
                "so no one could log in",
            )
        if ctx.behind_tls and key in config and not secure:
            yield (
                key,
                "true while the front ends serve HTTPS: a cookie that may travel over plain HTTP "
                "can be read on the way and the session taken over",
            )
        samesite = str(_get(config, f"omero.web.{kind}_cookie_samesite")).lower()
        if samesite == "none" and not secure:
            yield (
                f"omero.web.{kind}_cookie_samesite",
                f"Lax or Strict unless omero.web.{kind}_cookie_secure is true: "
                "browsers drop SameSite=None cookies that are not Secure",
            )


def _public_user(config: Config, ctx: Context) -> Iterator[tuple[str, str]]:
    if _get(config, "omero.web.public.enabled") is not True:
        return
    for key in ("omero.web.public.user", "omero.web.public.password"):
        if not config.get(key):
            yield (key, "set when omero.web.public.enabled is true (the public user logs in with it)")
    servers = _get(config, "omero.web.server_list")
    server_id = _get(config, "omero.web.public.server_id")
    if isinstance(servers, list) and isinstance(server_id, int) and not 1 <= server_id <= len(servers):
        yield ("omero.web.public.server_id", f"a position in omero.web.server_list, from 1 to {len(servers)}")


def _root_application(config: Config, ctx: Context) -> Iterator[tuple[str, str]]:
    root = config.get("omero.web.root_application")
    apps = _get(config, "omero.web.apps") or []
    labels = {str(app).rsplit(".", 1)[-1] for app in apps}
    if root and root not in labels:
        yield (
            "omero.web.root_application",
            f"empty or the label of an app in omero.web.apps ({', '.join(sorted(labels))})",
        )


def _cookie_path(config: Config, ctx: Context) -> Iterator[tuple[str, str]]:
    path = config.get("omero.web.session_cookie_path")
    site = str(_get(config, "omero.web.prefix") or "") + "/"
    if isinstance(path, str) and not site.startswith(path.rstrip("/") + "/"):
        yield (
            "omero.web.session_cookie_path",
            f"a path that covers the site at {site} (e.g. /): browsers would not send the session cookie",
        )


def _static_under_prefix(config: Config, ctx: Context) -> Iterator[tuple[str, str]]:
    problem = rules.static_url_problem(config.get("omero.web.static_url"), config.get("omero.web.prefix"))
    if problem:
        yield ("omero.web.static_url", problem)


def _port_free(config: Config, ctx: Context) -> Iterator[tuple[str, str]]:
    port = _get(config, "omero.web.application_server.port")
    host = str(_get(config, "omero.web.application_server.host"))
    if not ctx.probe_bind or not isinstance(port, int) or port == ctx.live_port:
        return
    if not FIRST_UNPRIVILEGED_PORT <= port <= 65535:
        return
    problem = ctx.probe_bind(host, port)
    if problem:
        yield ("omero.web.application_server.port", f"a port free on this host: {problem}")


CROSS_RULES: tuple[CrossRule, ...] = (
    _session_store,
    _secure_cookies,
    _public_user,
    _root_application,
    _cookie_path,
    _static_under_prefix,
    _port_free,
)


# -- running the table ---------------------------------------------------------


def judge(raw: Mapping[str, str], parsed: Mapping[str, object], ctx: Context) -> Iterator[tuple[str, str]]:
    """(property, what is expected) for each problem the table finds in
    values OMERO.web's parsers accepted (``parsed``)."""
    for key, value in parsed.items():
        for rule in SCHEMA.get(key, ()):
            for expected in rule(raw[key], value, ctx):
                yield key, expected
    known = {k: v for k, v in parsed.items() if k in SCHEMA}
    for cross in CROSS_RULES:
        yield from cross(known, ctx)


def uncovered(properties: Iterable[str]) -> list[str]:
    """OMERO.web's properties this table has no entry for."""
    return sorted(set(properties) - SCHEMA.keys())


def probe_bind(host: str, port: int) -> str | None:
    """Whether this process could listen on host:port (None) or why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"{host}:{port} is in use by another service"
            if error.errno == errno.EADDRNOTAVAIL:
                return f"{host} is not an address of this host"
            if error.errno == errno.EACCES:
                return None  # privileged port as root: judged by listen_port
            return f"{host}:{port}: {error.strerror}"
    return None


def host_memory_mb(meminfo: str = "/proc/meminfo") -> int | None:
    try:
        with open(meminfo) as lines:
            for line in lines:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None
