"""health: 200 only when this worker answers, the session store saves,
loads and deletes a session, and the places OMERO.web writes to (its log
and temporary directories) take a write; 503 otherwise (the reason goes to
OMERO.web's log, not to the caller). client: the caller as OMERO.web sees it. No login
page, no session cookie for the caller, not cached."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from importlib import import_module

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from omeroweb.decorators import get_client_ip

PROBE = "omero-web-appliance-health"
logger = logging.getLogger(__name__)


def session_store_works() -> tuple[bool, str]:
    """Round-trip a short-lived session through the configured store."""
    engine = import_module(settings.SESSION_ENGINE)
    token = secrets.token_hex(8)
    store = engine.SessionStore()
    try:
        store[PROBE] = token
        store.set_expiry(30)
        store.save(must_create=True)
        key = store.session_key
        loaded = engine.SessionStore(session_key=key).get(PROBE)
        store.delete(key)
    except Exception as error:  # any backend failure means unhealthy
        return False, f"{type(error).__name__}: {error}"
    if loaded != token:
        return False, "a saved session did not load back"
    return True, "ok"


# Enough to fail on a full disk, small enough to cost nothing.
PROBE_BYTES = 64 * 1024


def disk_takes_writes() -> tuple[bool, str]:
    """Write (and remove) a small file where OMERO.web writes: its log
    directory and its temporary one (uploads, file sessions)."""
    for directory in (settings.LOGDIR, tempfile.gettempdir()):
        try:
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".health-") as probe:
                probe.write(b"\0" * PROBE_BYTES)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as error:
            return False, f"{directory}: {error.strerror or error}"
    return True, "ok"


@never_cache
@require_safe
def health(request):
    checks = {"session_store": session_store_works(), "disk": disk_takes_writes()}
    for name, (healthy, detail) in checks.items():
        if not healthy:
            logger.error("health check failed: %s: %s", name, detail)
    answer = {name: "ok" if healthy else "fail" for name, (healthy, _) in checks.items()}
    healthy = all(healthy for healthy, _ in checks.values())
    answer["status"] = "ok" if healthy else "fail"
    return JsonResponse(answer, status=200 if healthy else 503)


@never_cache
@require_safe
def client(request):
    """The caller as OMERO.web sees it: the address it records at login
    (omeroweb.decorators.get_client_ip), the scheme and the host. For
    checking what a chain of proxies delivers; the caller learns only
    about itself."""
    return JsonResponse(
        {"address": get_client_ip(request), "scheme": request.scheme, "host": request.get_host()}
    )
