"""A first and a repeat load of the login page, as a browser makes them.

Runs on the bench host (the system Python, stdlib only) against its own
Nginx at 127.0.0.1. Loads the page and every asset its HTML names (script
src, link href, img src; not the images style sheets name, which a browser
fetches only for elements on the page that use them) twice per client:
  today  - a browser that gets no compression and no Cache-Control, as
           before the appliance sent them: it revalidates every asset
  now    - a browser: gzip accepted; on the repeat load an asset whose
           Cache-Control makes it fresh is not asked for, any other is
           revalidated (If-None-Match / If-Modified-Since)
Prints one JSON object: requests and body bytes of each load.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import ssl
import sys
from urllib.parse import urljoin, urlsplit

BASE = sys.argv[1] if len(sys.argv) > 1 else "https://127.0.0.1/"
PAGE = urljoin(BASE, "webclient/login/")
CONTEXT = ssl._create_unverified_context()  # the bench host's own certificate
ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#]+)["']""")


def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    kwargs = {"context": CONTEXT} if parts.scheme == "https" else {}
    conn = conn_class(parts.hostname, parts.port, timeout=10, **kwargs)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def text(headers: dict[str, str], body: bytes) -> str:
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    return body.decode("utf-8", "replace")


def fresh(headers: dict[str, str]) -> bool:
    cache = headers.get("cache-control", "")
    age = re.search(r"max-age=(\d+)", cache)
    return "immutable" in cache or (age is not None and int(age.group(1)) > 0 and "no-cache" not in cache)


def page_assets(html: str, page: str) -> list[str]:
    site = urlsplit(page).netloc
    urls = []
    for found in ASSET.findall(html):
        url = urljoin(page, found)
        if urlsplit(url).netloc == site and "/static/" in url and url not in urls:
            urls.append(url)
    return urls


def load(accept: str, cache: dict[str, dict[str, str]], heed_cache_control: bool) -> dict:
    """One page view with a browser's cache (url: headers)."""
    totals: dict = {"requests": 0, "bytes": 0, "not_modified": 0, "from_cache": 0}
    headers = {"Accept-Encoding": accept}
    status, got, body = get(PAGE, headers)
    if status != 200:
        raise SystemExit(f"{PAGE} answered {status}")
    totals["requests"] += 1
    totals["bytes"] += len(body)
    assets = page_assets(text(got, body), PAGE)
    for url in assets:
        ask = dict(headers)
        if url in cache:
            if heed_cache_control and fresh(cache[url]):
                totals["from_cache"] += 1
                continue
            if "etag" in cache[url]:
                ask["If-None-Match"] = cache[url]["etag"]
            if "last-modified" in cache[url]:
                ask["If-Modified-Since"] = cache[url]["last-modified"]
        status, got, body = get(url, ask)
        totals["requests"] += 1
        if status == 200 and url.split("?")[0].endswith(".js"):
            if len(body) > totals.get("largest_bytes", 0):
                totals["largest_bytes"], totals["largest"] = len(body), urlsplit(url).path
            if len(body) < totals.get("smallest_bytes", 1 << 30):
                totals["smallest_bytes"], totals["smallest"] = len(body), urlsplit(url).path
        totals["bytes"] += len(body)
        if status == 304:
            totals["not_modified"] += 1
            continue
        if status != 200:
            continue
        cache[url] = got
    totals["assets"] = len(assets)
    return totals


def main() -> None:
    before: dict[str, dict[str, str]] = {}
    browser: dict[str, dict[str, str]] = {}
    print(
        json.dumps(
            {
                "today": {
                    "first": load("identity", before, False),
                    "repeat": load("identity", before, False),
                },
                "now": {"first": load("gzip", browser, True), "repeat": load("gzip", browser, True)},
            }
        )
    )


if __name__ == "__main__":
    main()
