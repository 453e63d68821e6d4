"""Bad input: a clear error naming the variable, before anything changes.

Each case runs site.yml against one converged web node (the cases are shared
out between the web nodes, so verify runs them side by side; the checks are
the same on every host, and the preflight play's stop all of them) with one
bad variable and checks the message, that no task changed anything (an app
that installs but does not import may leave a new venv beside the live one,
nothing else), and that OMERO.web still serves from the same venv with its
config untouched.
"""

import pytest

from helpers import PROPERTIES, ROOT, VENV, applied_config, http
from playbook import changed_nothing, recap, run_site
from topology import host_of, read_inventory

pytestmark = [pytest.mark.any_topology, pytest.mark.any_config]

CHECK_MODE = {"args": ["--check", "--diff"]}

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
    # 0 reads as "no limit" to some; gunicorn would then never replace a hung worker.
    "request timeout of 0": (
        {"omero_web_request_timeout": 0},
        ["omero_web_request_timeout = 0: expected 5 to 86400 seconds"],
    ),
    # 0 workers passes the spec's int check; gunicorn would not start.
    "no gunicorn worker": (
        {"omero_web_workers": 0},
        [
            "omero_web_workers = 0, omero_web_threads",
            "expected sync, gthread, gevent or eventlet, 1 to 256 processes",
        ],
    ),
    "negative build jobs": (
        {"omero_web_ice_build_jobs": -2},
        ["omero_web_ice_build_jobs = -2: expected 1 to 256 compilers at once, or 0 for one per core"],
    ),
    "wheel not on the controller": (
        {"omero_web_wheels": ["/nonexistent/site_app-1.0-py3-none-any.whl", "/etc/hostname"]},
        [
            "omero_web_wheels: [",
            "/nonexistent/site_app-1.0-py3-none-any.whl",
            "/etc/hostname",
            "]: expected wheel files (.whl) on the controller",
        ],
    ),
    "health wait without a bound": (
        {"omero_web_health_timeout": 3600},
        ["omero_web_health_timeout = 3600: expected 10 to 600 seconds"],
    ),
    # The controller's own way in: refused before a ruleset could lock it out.
    "SSH port the controller does not use": (
        {"firewall_controller_port": "22", "firewall_ssh_port": 2222},
        ["firewall_ssh_port = 2222: the controller reaches", "over SSH on port 22"],
    ),
    "SSH sources without the controller": (
        {"firewall_controller_address": "192.0.2.7", "firewall_ssh_sources": ["198.51.100.0/24"]},
        ['firewall_ssh_sources = ["198.51.100.0/24"]: the controller reaches', "from 192.0.2.7"],
    ),
    "extra package not pinned": (
        {"omero_web_extra_packages": ["gevent"]},
        ['omero_web_extra_packages: ["gevent"]: expected each package pinned as name==version'],
    ),
    # A line break would add a line to the unit; a dict is no value at all.
    "extra environment of more than one line": (
        {
            "omero_web_extra_environment": {
                "GOOD": 3,
                "INJECTED": "x\nExecStartPre=/bin/false",
                "NESTED": {"a": 1},
            }
        },
        [
            'omero_web_extra_environment: {"INJECTED": ',
            '"NESTED": {"a": 1}}: expected names',
            "values of one line (a string, number or boolean)",
        ],
    ),
    "ACME CA over plain HTTP": (
        {"tls_acme_directory": "http://acme.example.org/directory"},
        ["tls_acme_directory = 'http://acme.example.org/directory': expected the https:// URL"],
    ),
    # Caught on the host by OMERO.web's own parsers and the appliance's
    # rules. The config's values are all judged in one run: more of them in
    # tests/infra/test_never_down.py, each kind in omeroweb/tests.
    "bad config in check mode": (
        {"omero_web_config": {"omero.web.session_cookie_age": "a day"}},
        ["omero.web.session_cookie_age = 'a day': OMERO.web rejects it", "unchanged"],
        CHECK_MODE,
    ),
    # A host with several networks names the one the others reach it on.
    "service address that is no IP address": (
        {"omero_web_appliance_address": "web.example.org"},
        ["omero_web_appliance_address = 'web.example.org' on", "expected an IP address of"],
    ),
    # Sentinel needs a majority of three or more stores to elect a primary.
    "Sentinel asked for with two stores": (
        {"omero_web_appliance_sentinel": True},
        ["omero_web_appliance_sentinel = true with 2 session store(s)", "Sentinel needs three or more"],
    ),
    "Sentinel quorum larger than the stores": (
        {"redis_sentinel_quorum": 5},
        ["redis_sentinel_quorum = 5, redis_sentinel_down_after = 5: expected 1 to 2 Sentinels"],
    ),
    # VRRP moves the address between two or more front ends of their own.
    "virtual address with a single front end": (
        {"omero_web_appliance_virtual_address": "192.0.2.20"},
        [
            "omero_web_appliance_virtual_address = '192.0.2.20' with 0 front end(s) of their own (none)",
            "a virtual address moves between two or more front ends",
        ],
    ),
    "prefix without a leading slash": (
        {"omero_web_prefix": "omero"},
        ["omero_web_prefix = 'omero': expected a path that starts with /"],
    ),
    "app listed twice": (
        {"omero_web_apps": [{"name": "omero-iviewer", "version": "0.19.1"}] * 2},
        [
            "omero_web_apps[1] (omero-iviewer): package omero-iviewer is listed twice",
            "(first as omero_web_apps[0])",
        ],
    ),
    "mapr without its config": (
        {"omero_web_apps": [{"name": "omero-mapr", "version": "0.5.3"}]},
        ["omero_web_apps[0] (omero-mapr): omero_mapr does not start without omero.web.mapr.config"],
    ),
    # Caught by pip's resolver in the live venv, before any file changes.
    "app not on PyPI": (
        {"omero_web_apps": [{"name": "omero-appliance-no-such-app", "version": "1.0.0"}]},
        ["omero_web_apps[0] = omero-appliance-no-such-app 1.0.0: no such package on PyPI", "unchanged"],
    ),
    "app release not on PyPI, in check mode": (
        {"omero_web_apps": [{"name": "omero-figure", "version": "99.0.0"}]},
        [
            "omero_web_apps[0] = omero-figure 99.0.0: PyPI has no release 99.0.0 (its latest: ",
            "8.0.1)",
            "unchanged",
        ],
        CHECK_MODE,
    ),
    # Installs into a new venv, which fails the check; the live one stays.
    "app module that does not import": (
        {"omero_web_apps": [{"name": "omero-figure", "version": "8.0.1", "module": "omero_figures"}]},
        ["omero.web.apps = ", "app 'omero_figures' cannot be imported in OMERO.web's venv", "unchanged"],
        {"stages_a_venv": True},
    ),
}


def pytest_generate_tests(metafunc):
    """Each case on one web node, taken in turn (``target``)."""
    if "target" not in metafunc.fixturenames:
        return
    nodes = [
        n for n in read_inventory(metafunc.config.getoption("inventory")) if "omero_web_nodes" in n.groups
    ]
    if "case" in metafunc.fixturenames:
        pairs = [(case, nodes[i % len(nodes)]) for i, case in enumerate(CASES)]
        metafunc.parametrize(("case", "target"), pairs, ids=[f"{case}-{n.name}" for case, n in pairs])
    else:
        # The first node: the last carries the longest never-down test, so
        # the two hosts' processes end about together.
        metafunc.parametrize("target", nodes[:1], ids=[n.name for n in nodes[:1]])


def test_bad_input_is_refused_before_anything_changes(case, request, target):
    extra, messages, *rest = CASES[case]
    options = rest[0] if rest else {}
    host = host_of(target)
    before = (host.file(PROPERTIES).sha256sum, host.file(VENV).linked_to)

    limit = ["--limit", target.name]
    result = run_site(request.config.getoption("inventory"), extra, *limit, *options.get("args", []))

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for message in messages:
        assert message in output, output
    if not options.get("stages_a_venv"):
        assert changed_nothing(result), recap(result)
    assert (host.file(PROPERTIES).sha256sum, host.file(VENV).linked_to) == before
    config = applied_config(host)
    port = config.get("omero.web.application_server.port", "4080")
    prefix = config.get("omero.web.prefix", "")
    status, _, body = http(host, f"http://127.0.0.1:{port}{prefix}/webclient/login/")
    assert status == 200 and "OMERO.web - Login" in body


def test_a_secret_stays_out_of_a_check_diff_run(request, target):
    """The properties file would change: --diff shows no diff of it, -v no
    log of the config check's input."""
    secret = "never-in-a-diff-5b1e"
    node = target
    extra = {
        "omero_web_config": {**node.vars.get("omero_web_config", {}), "omero.web.public.password": secret}
    }
    options = ["--limit", node.name, "--check", "--diff", "-v"]
    result = run_site(request.config.getoption("inventory"), extra, *options)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "TASK [omero_web : Write OMERO.web's config]" in output
    assert secret not in output, "the secret is in the run's output"
