"""Bad input: a clear error naming the variable, before anything changes.

Each case runs site.yml against the converged hosts with one bad variable and
checks the message, that no task changed anything, and that OMERO.web still
serves with its config untouched.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import testinfra

from conftest import ROOT, _inventory
from helpers import applied_config, http

PROPERTIES = "/opt/omero/web/config/omero-web.properties"

CASES = {
    "unsupported OS": (
        {"omero_web_supported": {"Debian": ["11"]}},
        ["the omero_web role supports Debian 12 and 13", "runs Debian"],
    ),
    "unsupported Python": (
        {"omero_web_supported_pythons": ["3.9"]},
        ["zeroc-ice 3.6.5 is supported on", "Python 3.9"],
    ),
    "config not a dict": (
        {"omero_web_config": "omero.web.prefix=/omero"},
        ["omero_web_config", "dict"],
    ),
    "config key not omero.web.*": (
        {"omero_web_config": {"omero.server.host": "x", "omero.web.debug": False}},
        ["omero_web_config: omero.server.host is not an omero.web.* property"],
    ),
    "ice wheel missing": (
        {"omero_web_ice_wheel": "/nonexistent/zeroc_ice-3.6.5-cp311-cp311-linux_x86_64.whl"},
        ["omero_web_ice_wheel = '/nonexistent/", "no such file on the controller"],
    ),
    "ice wheel for another ABI": (
        {"omero_web_ice_wheel": str(ROOT / "tests/data/zeroc_ice-3.6.5-cp39-cp39-linux_x86_64.whl")},
        ["omero_web_ice_wheel = ", "it does not match the target", "needs zeroc_ice-3.6.5-cp3"],
    ),
    # Caught on the host by OMERO.web's own parsers and the appliance's rules.
    "session_cookie_age not a number": (
        {"omero_web_config": {"omero.web.session_cookie_age": "a day"}},
        ["omero.web.session_cookie_age = 'a day': OMERO.web rejects it", "nothing was changed"],
    ),
    "memcached backend removed from Django": (
        {
            "omero_web_config": {
                "omero.web.caches": {
                    "default": {"BACKEND": "django.core.cache.backends.memcached.MemcachedCache"}
                }
            }
        },
        ["omero.web.caches = ", "PyMemcacheCache", "nothing was changed"],
    ),
    "CORS origin without a scheme": (
        {"omero_web_config": {"omero.web.cors_origin_whitelist": ["viewer.example.org"]}},
        ["omero.web.cors_origin_whitelist", "'viewer.example.org' needs a scheme"],
    ),
    "bad config in check mode": (
        {"omero_web_config": {"omero.web.session_cookie_age": "a day"}},
        ["omero.web.session_cookie_age = 'a day': OMERO.web rejects it", "nothing was changed"],
        ["--check", "--diff"],
    ),
    "prefix without a leading slash": (
        {"omero_web_prefix": "omero"},
        ["omero_web_prefix = 'omero': expected a path that starts with /"],
    ),
}


@pytest.fixture(scope="module")
def web_nodes(request):
    nodes = _inventory(request.config.getoption("inventory"))
    return [n for n in nodes if "omero_web_nodes" in n.groups]


def run_site(inventory: str, extra: dict, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            inventory,
            "site.yml",
            "-e",
            json.dumps(extra),
            *options,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_refused_before_anything_changes(case, request, web_nodes):
    extra, messages, *options = CASES[case]
    hosts = {n.name: testinfra.get_host(f"podman://{n.container}") for n in web_nodes}
    before = {name: h.file(PROPERTIES).sha256sum for name, h in hosts.items()}

    result = run_site(request.config.getoption("inventory"), extra, *(options[0] if options else []))

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for message in messages:
        assert message in output, output
    recap = output[output.rindex("PLAY RECAP") :]
    assert "changed=0" in recap and "changed=1" not in recap, recap
    for name, host in hosts.items():
        assert host.file(PROPERTIES).sha256sum == before[name]
        config = applied_config(host)
        port = config.get("omero.web.application_server.port", "4080")
        prefix = config.get("omero.web.prefix", "")
        status, _, body = http(host, f"http://127.0.0.1:{port}{prefix}/webclient/login/")
        assert status == 200 and "OMERO.web - Login" in body
