"""OMERO.web's WSGI application with what only the bench host gets.

/bench/wait/ stands for a page that waits on OMERO.server (none here): it
sleeps BENCH_WAIT seconds (0.2 by default) and answers a small page. With
BENCH_WHITENOISE=1, whitenoise serves the collected static files at
STATIC_URL, the way a site without Nginx would serve them.
"""

import os
import time

from django.conf import settings
from omeroweb.wsgi import application as omero_web

WAIT = float(os.environ.get("BENCH_WAIT", "0.2"))


def waits(environ, start_response):
    if environ.get("PATH_INFO") == "/bench/wait/":
        time.sleep(WAIT)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"ok\n"]
    return omero_web(environ, start_response)


application = waits
if os.environ.get("BENCH_WHITENOISE") == "1":
    from whitenoise import WhiteNoise

    application = WhiteNoise(waits, root=settings.STATIC_ROOT, prefix=settings.STATIC_URL)
