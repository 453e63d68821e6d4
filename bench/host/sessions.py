"""Session engines side by side: save and load per second and p99 as the
number of stored sessions grows, and clearsessions' work at the largest.

Runs on the bench host in OMERO.web's venv as its user, with the unit's
environment, so Django reads OMERO.web's own settings (Redis as the
appliance configures it). The file and database engines get a directory and
an SQLite file of their own under BENCH_DIR, removed at the end; the Redis
sessions it writes carry a prefix of their own and are deleted too.
Prints one JSON object.
"""

import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

WORK = Path(os.environ.get("BENCH_DIR", "/tmp/bench-sessions"))
SIZES = [int(n) for n in (sys.argv[1] if len(sys.argv) > 1 else "1000,10000,100000").split(",")]
OPS = int(os.environ.get("BENCH_OPS", "1000"))
WORK.mkdir(parents=True, exist_ok=True)
(WORK / "files").mkdir(exist_ok=True)
(WORK / "bench_settings.py").write_text(
    "from omeroweb.settings import *  # noqa\n"
    "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',"
    f" 'NAME': '{WORK}/sessions.sqlite3'}}}}\n"
    f"SESSION_FILE_PATH = '{WORK}/files'\n"
)
sys.path.insert(0, str(WORK))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench_settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.sessions.backends import cache as cache_engine  # noqa: E402
from django.contrib.sessions.backends import db as db_engine  # noqa: E402
from django.contrib.sessions.backends import file as file_engine  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

# What OMERO.web keeps in a session after a login, about this size.
DATA = {
    "connector": {"server_id": 1, "is_secure": True, "is_public": False, "omero_session_key": "x" * 36},
    "server_settings": {"ui": {"tree": {"type_order": ["tag", "project", "dataset"]}}, "viewer": {}},
    "_auth_user_id": "1",
    "can_create": True,
}
PREFIX = "bench"


class RedisStore(cache_engine.SessionStore):
    cache_key_prefix = "django.contrib.sessions.cache.bench"


ENGINES = {"redis": RedisStore, "file": file_engine.SessionStore, "db": db_engine.SessionStore}


def key(i: int) -> str:
    return f"{PREFIX}{i:027d}"


def fill(engine: str, start: int, stop: int) -> None:
    """Stores sessions start..stop-1 straight into the engine's storage."""
    store = ENGINES[engine]()
    encoded = store.encode(DATA)
    if engine == "redis":
        cache = caches[settings.SESSION_CACHE_ALIAS]
        for first in range(start, stop, 1000):
            batch = {
                RedisStore.cache_key_prefix + key(i): DATA for i in range(first, min(first + 1000, stop))
            }
            cache.set_many(batch, 3600)
    elif engine == "file":
        name = settings.SESSION_COOKIE_NAME
        for i in range(start, stop):
            (WORK / "files" / f"{name}{key(i)}").write_text(encoded)
    else:
        when = timezone.now() + timezone.timedelta(hours=1)
        for first in range(start, stop, 5000):
            Session.objects.bulk_create(
                Session(session_key=key(i), session_data=encoded, expire_date=when)
                for i in range(first, min(first + 5000, stop))
            )


def timed(action, count: int) -> dict:
    seconds = []
    for i in range(count):
        began = time.perf_counter()
        action(i)
        seconds.append(time.perf_counter() - began)
    return {
        "per_second": count / sum(seconds),
        "p99_ms": statistics.quantiles(seconds, n=100)[98] * 1000,
    }


def measure(engine: str, stored: int) -> dict:
    store_class = ENGINES[engine]
    rng = random.Random(stored)

    def save(_: int) -> None:
        session = store_class()
        session.update(DATA)
        session.save()

    def load(_: int) -> None:
        session = store_class(session_key=key(rng.randrange(stored)))
        if "_auth_user_id" not in session:
            raise SystemExit(f"{engine}: a stored session did not load")

    # Untimed first: connections opened, code and caches warm.
    for i in range(OPS // 10):
        save(i)
        load(i)
    return {"save": timed(save, OPS), "load": timed(load, OPS)}


def main() -> None:
    call_command("migrate", "sessions", verbosity=0)
    results: dict = {engine: {} for engine in ENGINES}
    results["redis_backend"] = settings.CACHES[settings.SESSION_CACHE_ALIAS]["BACKEND"]
    try:
        for engine in ENGINES:
            stored = 0
            for size in SIZES:
                fill(engine, stored, size)
                stored = size
                results[engine][str(size)] = measure(engine, stored)
        # clearsessions at the largest size, half of the sessions expired.
        largest = SIZES[-1]
        old = time.time() - 2 * settings.SESSION_COOKIE_AGE
        name = settings.SESSION_COOKIE_NAME
        for i in range(0, largest, 2):
            os.utime(WORK / "files" / f"{name}{key(i)}", (old, old))
        for first in range(0, largest, 10000):
            Session.objects.filter(
                session_key__in=[key(i) for i in range(first, min(first + 10000, largest), 2)]
            ).update(expire_date=timezone.now() - timezone.timedelta(hours=1))
        clear = {}
        for engine in ("file", "db"):
            began = time.perf_counter()
            ENGINES[engine].clear_expired()
            clear[engine] = time.perf_counter() - began
        left = len(list((WORK / "files").iterdir()))
        results["clearsessions"] = {
            "sessions": largest,
            "expired": (largest + 1) // 2,
            "seconds": clear,
            "file_sessions_left": left,
            "db_sessions_left": Session.objects.count(),
        }
    finally:
        cache = caches[settings.SESSION_CACHE_ALIAS]
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern(RedisStore.cache_key_prefix + "*")
        shutil.rmtree(WORK, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
