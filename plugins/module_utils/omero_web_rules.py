# GPL-2.0-or-later
"""Rules of OMERO.web's config that need nothing but the value.

One module for both ends: the controller's checks before any host changes
(plugins/filter/omero_web_config.py, the preflight play) and the checker
on the host (omeroweb/, where ``omero_web_appliance.rules`` is this file).
Pure Python, standard library only.
"""

from __future__ import annotations

import re

PROPERTY_PREFIX = "omero.web."
PROPERTY = re.compile(r"omero\.web\.[A-Za-z0-9_.]+")
# Properties whose values are secrets: no message or log prints them.
SECRET_PROPERTIES = frozenset(
    {"omero.web.secret_key", "omero.web.public.password", "omero.web.email_host_password"}
)
# The password in a URL's user part (a Redis or database URL).
URL_PASSWORD = re.compile(r"(://[^/@:\s'\"]*:)[^/@\s'\"]+@")
# A password in JSON or Python text (a cache's OPTIONS, as Sentinel's client
# takes it); an empty one or null is none.
JSON_PASSWORD = re.compile(r"""(["'](?:PASSWORD|password)["']\s*:\s*["'])[^"']+(["'])""")
# Where the site is served (omero.web.prefix): no trailing slash, no query.
PREFIX = re.compile(r"/[^\s?#]*[^/\s?#]")
# A CORS origin as django-cors-headers 3.x takes it: scheme, host, port.
ORIGIN = re.compile(r"https?://[^/\s:]+(:\d{1,5})?")
# A Django app's module (omero.web.apps).
MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

PREFIX_EXPECTED = "a path that starts with / and does not end with /, e.g. /omero"
ORIGIN_EXPECTED = "an origin with its scheme and no path, e.g. https://omero.example.org"


def is_property(key: object) -> bool:
    """An OMERO.web property's name (omero.web.*)."""
    return isinstance(key, str) and PROPERTY.fullmatch(key) is not None


def prefix_problem(value: object) -> str | None:
    """None for a usable omero.web.prefix, else what is expected."""
    return None if isinstance(value, str) and PREFIX.fullmatch(value) else PREFIX_EXPECTED


def static_url_for(prefix: str) -> str:
    """omero.web.static_url for a site at ``prefix``."""
    return f"{prefix}/static/"


def static_url_problem(url: object, prefix: object) -> str | None:
    """None when a static URL path lies under the site's prefix (or is a
    full URL), else what is expected."""
    if (
        isinstance(url, str)
        and prefix
        and not re.match(r"https?://", url)
        and not url.startswith(f"{prefix}/")
    ):
        return f"a URL under the prefix {prefix}, e.g. {static_url_for(str(prefix))} (or a full URL)"
    return None


def origin_problem(value: object) -> str | None:
    """None for a usable CORS origin, else what is expected."""
    return None if isinstance(value, str) and ORIGIN.fullmatch(value) else ORIGIN_EXPECTED


def module_problem(value: object) -> str | None:
    """None for a Python module name, else what is expected."""
    return (
        None
        if isinstance(value, str) and MODULE.fullmatch(value)
        else "a Python module name, e.g. omero_iviewer"
    )
