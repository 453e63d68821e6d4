"""Never down: a bad change is refused or rolled back, faults heal, and a
run killed half-way is finished by the next one. All-in-one hosts (the
default scenario); a bounded load on the host counts what visitors saw.
Each test works on one host, and the tests are shared out between the
hosts, so verify runs the hosts' tests side by side.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time

import pytest
import yaml

from helpers import (
    HEALTH_WAIT,
    OMERODIR,
    ROOT,
    VENV,
    Load,
    PortHolder,
    applied_config,
    config_with,
    crashing_change,
    http,
    live_state,
    load_session,
    login_page,
    processes,
    save_session,
)
from playbook import changed_nothing, playbook_command, playbook_environment, recap, run_site, steps_taken
from topology import address, host_of, nginx_url, read_inventory


@pytest.fixture(scope="module")
def inventory(request):
    return request.config.getoption("inventory")


@pytest.fixture(scope="module")
def all_in_one(inventory):
    """The all-in-one hosts: OMERO.web, Nginx and Redis on each."""
    everything = {"omero_web_nodes", "frontends", "session_stores"}
    found = [n for n in read_inventory(inventory) if everything <= n.groups]
    assert found, "these tests need all-in-one hosts"
    return found


pytestmark = [
    pytest.mark.group("omero_web_nodes"),
    pytest.mark.once,
    pytest.mark.any_topology,
    pytest.mark.any_config,
]


@pytest.fixture
def subject(node, all_in_one):
    """The all-in-one host a test works on (its ``once`` marker picks it)."""
    assert node in all_in_one, f"{node.name} is not an all-in-one host"
    return node, host_of(node)


def login_url(node) -> str:
    return f"{nginx_url(node)}/webclient/login/"


def serving(node, host) -> bool:
    status, _, body = login_page(host, nginx_url(node), applied_config(host).get("omero.web.prefix", ""))
    return status == 200 and "OMERO.web - Login" in body


# Values OMERO.web's own parsers accept (or that a tired admin would write)
# that the service cannot use: all refused in one run, each named.
BAD_VALUES = {
    "omero.web.server_list": [["omero.example.org", "4064x", "omero"]],
    "omero.web.application_server.port": 99999,
    "omero.web.wsgi_workers": 0,
    "omero.web.debug": "yes",
    "omero.web.session_cookie_age": 0,
    "omero.web.session_cookie_samesite": "false",
    "omero.web.csrf_trusted_origins": ["omero.example.org"],
    "omero.web.allowed_hosts": ["https://omero.example.org"],
    "omero.web.x_frame_options": "ALLOW-FROM https://example.org",
    "omero.web.static_root": "/var/www/static",
    "omero.web.secret_key": "copied-from-a-forum-post",
    "omero.web.wsgi_args": "--bind 0.0.0.0:4080",
    "omero.web.wsgi_timeout": 0,
    "omero.web.session_serializer": "django.contrib.sessions.serializers.PickleSerializer",
    "omero.web.viewer.view": "omero_iviewer.views.indexx",
    "omero.web.admins": [["Jane Admin", "jane"]],
    # A recipe from before Django 4.1.
    "omero.web.caches": {"default": {"BACKEND": "django.core.cache.backends.memcached.MemcachedCache"}},
    # What OMERO.web's own parsers reject is reported in the same run.
    "omero.web.page_size": "twenty",
    "omero.web.cors_origin_whitelist": ["viewer.example.org"],
    "omero.web.application_server": "development",
    "omero.web.logdir": "/tmp/omero-logs",
    "omero.web.secure_proxy_ssl_header": ["X-Forwarded-Proto", "https"],
    "omero.web.session_cookie_secure": False,
    "omero.web.public.enabled": True,
    "omero.web.force_script_name": "/omero",
    "omero.web.django_additional_settings": [["SECRET_KEY", "x"]],
    "omero.web.wsgi_worker_class": "gevent",
    "omero.web.ping_interval": 60,
    "omero.web.cors_origin_allow_all": "yes",
    "omero.web.time_zone": "Europe/Londn",
    "omero.web.public.url_filter": "^/webgateway/(",
}


# A rule across properties names the one to set.
NAMED_AS = {"omero.web.public.enabled": "omero.web.public.user = '(not set)': set when omero.web.public"}
# What the message says beyond the name, for some.
SAYS = [
    "omero.web.page_size = 'twenty': OMERO.web rejects it",
    "PyMemcacheCache",
    "'viewer.example.org' needs a scheme",
]


# Secrets in the same run, one of them refused: neither appears in the output.
SECRET = "never-in-a-log-7f3a9c"
SECRET_VALUES = {"omero.web.public.password": SECRET, "omero.web.email_host_password": SECRET}


def test_values_the_service_cannot_use_are_all_refused_at_once(inventory, subject):
    node, host = subject
    before = live_state(host)
    with Load(host, login_url(node)) as load:
        bad = config_with(node, **BAD_VALUES, **SECRET_VALUES)
        result = run_site(inventory, bad, "-v", "--limit", node.name)
    output = result.stdout + result.stderr
    assert SECRET not in output, "a secret is in the run's output"
    assert "omero.web.email_host_password = (secret): " in output, output
    assert result.returncode != 0, output
    for key in BAD_VALUES:
        assert NAMED_AS.get(key, f"{key} = ") in output, f"{key} not named:\n{output}"
    for words in SAYS:
        assert words in output, f"{words!r} not said:\n{output}"
    assert "problem(s); the live config is unchanged" in output
    assert changed_nothing(result), recap(result)
    assert live_state(host) == before
    assert load.result["ok"] > 0 and load.result["maintenance"] == 0 and load.result["error"] == 0, (
        load.result
    )
    print(f"refused at once: {len(BAD_VALUES)} values; load during the run: {load.result}")


def test_a_change_that_does_not_come_up_healthy_is_rolled_back(inventory, subject):
    node, host = subject
    before = live_state(host)
    started = time.monotonic()
    with Load(host, login_url(node)) as load:
        result = run_site(inventory, crashing_change(node), "--limit", node.name)
    took = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "did not answer /health/ after this change (OMERO.web crashed" in output, output
    named = ("property changed: omero.web.middleware", "property added: omero.web.middleware")
    assert any(change in output for change in named), output
    assert "The last good state is back and OMERO.web serves it." in output
    assert "The last lines of OMERO.web's journal since the restart:" in output
    assert live_state(host) == before
    assert serving(node, host)
    # Visitors saw the maintenance page while it restarted, never an error.
    assert load.result["error"] == 0 and load.result["ok"] > 0, load.result
    # Bounded: the health wait, then the rest of a run (every step of the
    # role, twice the restart) on a host the other lane keeps busy.
    assert took < HEALTH_WAIT + 360, f"the rolled-back run took {took:.0f} s"
    print(f"rolled back in {took:.0f} s; load during the run: {load.result}")


def test_a_nginx_site_that_does_not_take_is_rolled_back(inventory, subject):
    node, host = subject
    site = "/etc/nginx/sites-available/omero-web.conf"
    declared = "/etc/omero-web-appliance/firewall.d/nginx.json"
    before = host.file(site).sha256sum, host.file(declared).sha256sum
    # `nginx -t` passes; the reload cannot bind, and Nginx would go on
    # serving the old site without a word.
    with PortHolder(host, 8081), Load(host, login_url(node)) as load:
        taken = {"nginx_http_port": 8081, "nginx_reload_timeout": 5}
        result = run_site(inventory, taken, "--limit", node.name)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"Nginx on {node.name} did not take the new site within 5 s" in output, output
    assert "nginx_http_port = 8081" in output
    assert "The last good site is back and Nginx serves it." in output
    assert "Address already in use" in output, "Nginx's log is not quoted"
    # The site and the firewall's declaration are the last good ones, so the
    # next run changes nothing; visitors never noticed.
    assert (host.file(site).sha256sum, host.file(declared).sha256sum) == before
    assert serving(node, host)
    assert load.result["ok"] > 0 and load.result["maintenance"] == 0 and load.result["error"] == 0, (
        load.result
    )


def test_a_redis_config_that_does_not_start_is_rolled_back(inventory, subject):
    node, host = subject
    conf = "/etc/redis/redis.conf"
    before = host.file(conf).sha256sum
    # An address of no host here: Redis cannot bind it and does not start.
    result = run_site(inventory, {"redis_bind": ["127.0.0.1", "192.0.2.1"]}, "--limit", node.name)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"Redis on {node.name} did not listen within 30 s" in output, output
    assert 'redis_bind = ["127.0.0.1", "192.0.2.1"]' in output
    assert "The last good config is back and Redis serves it." in output
    assert host.file(conf).sha256sum == before
    assert host.service("redis-server").is_running
    assert http(host, f"{nginx_url(node)}/health/")[0] == 200

    # The rolled-back states (Nginx's above, Redis's) are what the inventory
    # asks: the next run changes nothing.
    again = run_site(inventory, {}, "--limit", node.name)
    assert again.returncode == 0 and changed_nothing(again), recap(again)


def over_ssh(node, host, folder) -> str:
    """An inventory that reaches the node's container over SSH, as a real
    controller reaches a host: sshd in it, a key of the test's own."""
    apt = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends"
    installed = host.run(f"{apt} openssh-server")
    assert installed.rc == 0, installed.stderr
    key = folder / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = key.with_suffix(".pub").read_text().strip()
    host.run(f"install -d -m 0700 /root/.ssh && echo {shlex.quote(public)} > /root/.ssh/authorized_keys")
    assert host.run("systemctl restart ssh").rc == 0
    ssh_node = {
        "ansible_host": address(host),
        "ansible_connection": "ssh",
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
    }
    groups = {g: {"hosts": {node.name: {}}} for g in node.groups if g not in ("all", "ungrouped")}
    inventory = folder / "over-ssh.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {node.name: ssh_node}, "children": groups}}))
    return str(inventory)


def test_a_ruleset_that_shuts_the_controller_out_reverts_by_itself(subject, tmp_path):
    """The preflight refuses the rulesets it can see shut the controller out.
    One it cannot (here: the controller's address as the host sees it is not
    the one the inventory gives) loads with a revert armed, and the run fails
    naming the variables."""
    node, host = subject
    ruleset = host.check_output("nft list ruleset")
    try:
        inventory = over_ssh(node, host, tmp_path)
        elsewhere = {
            "firewall_controller_address": "192.0.2.10",
            "firewall_ssh_sources": ["192.0.2.10/32"],
            "firewall_revert_seconds": 20,
        }
        started = time.monotonic()
        result = run_site(inventory, elsewhere, playbook="playbooks/firewall.yml")
        took = time.monotonic() - started
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert f"The new ruleset on {node.name} shut the controller out" in output, output
        assert 'firewall_ssh_sources = ["192.0.2.10/32"]' in output
        assert "it reverted by itself to the last good ruleset" in output
        assert host.check_output("nft list ruleset") == ruleset
        assert host.run("systemctl is-active firewall-revert.timer").stdout.strip() != "active"
        # The way back is open: the same inventory without the mistake.
        again = run_site(inventory, {}, playbook="playbooks/firewall.yml")
        assert again.returncode == 0, again.stdout[-3000:]
        assert host.check_output("nft list ruleset") == ruleset
        print(f"shut out, reverted and failed in {took:.0f} s")
    finally:
        host.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq openssh-server; rm -rf /root/.ssh")


def kill_when(inventory: str, extra: dict, marker: str, *options: str, limit: int = 600) -> str:
    """Run site.yml and SIGKILL it (and everything it started on the
    controller) as soon as ``marker`` appears in its output."""
    process = subprocess.Popen(
        playbook_command(inventory, extra, *options),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env=playbook_environment(ANSIBLE_FORCE_COLOR="false"),
    )
    seen = []
    deadline = time.monotonic() + limit
    try:
        for line in process.stdout:
            seen.append(line)
            if marker in line:
                time.sleep(2)  # let the task get going on the hosts
                break
            if time.monotonic() > deadline:
                break
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    output = "".join(seen)
    assert marker in output, output[-3000:]
    return output


def settle(host, limit: int = 300):
    """Wait (bounded) until what the killed run started on the host has ended."""
    deadline = time.monotonic() + limit
    while processes(host, matching="pip install") or processes(host, matching="omero-web-appliance apply"):
        assert time.monotonic() < deadline, "the killed run's pip or apply still runs"
        time.sleep(2)


# The omero-web release before the pinned one: going there and back is an
# upgrade and its way back, with a killed run on the way.
PREVIOUS_OMERO_WEB = "5.33.1"
ROLE_DEFAULTS = yaml.safe_load((ROOT / "roles/omero_web/defaults/main.yml").read_text())
PINNED_OMERO_WEB = ROLE_DEFAULTS["omero_web_version"]


@pytest.mark.once(1)
def test_a_run_killed_half_way_is_finished_by_the_next(inventory, subject):
    node, host = subject
    only = ("--limit", node.name)
    session = save_session(host)
    change = {"omero_web_version": PREVIOUS_OMERO_WEB, **config_with(node, **{"omero.web.page_size": 120})}
    kill_when(inventory, change, "TASK [omero_web : Install the package set into its venv]", *only)
    settle(host)
    assert serving(node, host)
    kill_when(inventory, change, "TASK [omero_web : Apply the config with the omero CLI]", *only)
    settle(host)
    assert serving(node, host)

    # The next run finishes the change (an upgrade's way, here to the release
    # before), serving throughout: the maintenance page only while it restarts.
    started = time.monotonic()
    with Load(host, login_url(node)) as load:
        finished = run_site(inventory, change, *only)
    moved = time.monotonic() - started
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert serving(node, host)
    assert applied_config(host)["omero.web.page_size"] == "120"
    assert f"omero-web=={PREVIOUS_OMERO_WEB}" in host.check_output(f"{VENV}/bin/pip freeze")
    assert load_session(host, session) == "kept"
    assert load.result["error"] == 0 and load.result["not_ok_window"] <= 20, load.result
    again = run_site(inventory, change, *only)
    assert again.returncode == 0 and changed_nothing(again), recap(again)

    # Going back to the pinned release reuses the venv before: nothing is built.
    started = time.monotonic()
    back = run_site(inventory, {}, *only)
    took = time.monotonic() - started
    assert back.returncode == 0, back.stdout[-3000:]
    install = back.stdout[back.stdout.index("TASK [omero_web : Install the package set into its venv]") :]
    assert "changed: [" not in install[: install.index("TASK [", 10)], "going back built a venv"
    assert serving(node, host)
    assert f"omero-web=={PINNED_OMERO_WEB}" in host.check_output(f"{VENV}/bin/pip freeze")
    assert load_session(host, session) == "kept"
    print(f"killed change to omero-web {PREVIOUS_OMERO_WEB} done in {moved:.0f} s, load {load.result}")
    print(f"back to omero-web {PINNED_OMERO_WEB} (venv before) in {took:.0f} s")


@pytest.mark.once(1)
def test_what_was_changed_by_hand_is_put_back_by_the_next_run(inventory, subject):
    """The roles skip their steps only while the host is as they left it."""
    node, host = subject
    site, redis = "/etc/nginx/sites-available/omero-web.conf", "/etc/redis/redis.conf"
    before = {path: host.file(path).sha256sum for path in (site, redis)}
    ruleset = host.check_output("nft list table inet appliance")
    host.run_expect([0], f"echo '# edited by hand' >> {site}")
    host.run_expect([0], f"echo '# edited by hand' >> {redis}")
    host.run_expect([0], "nft delete table inet appliance")
    host.run_expect([0], "systemctl stop omero-web")

    repaired = run_site(inventory, {}, "--limit", node.name)
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    for role in ("omero_web", "nginx", "redis", "firewall"):
        assert f"{role} runs its steps:" in repaired.stdout, role
    assert {path: host.file(path).sha256sum for path in (site, redis)} == before
    assert host.check_output("nft list table inet appliance") == ruleset
    assert serving(node, host)
    again = run_site(inventory, {}, "--limit", node.name)
    assert again.returncode == 0 and changed_nothing(again), recap(again)
    assert not steps_taken(again), steps_taken(again)


@pytest.mark.once(1)
def test_gunicorn_killed_shows_maintenance_then_comes_back(subject):
    node, host = subject
    pid = host.check_output("systemctl show --property MainPID --value omero-web")
    with Load(host, login_url(node)) as load:
        host.run("sleep 2")
        killed = time.monotonic()
        host.check_output(f"kill -KILL {pid}")
        while not (
            host.check_output("systemctl show --property MainPID --value omero-web") not in (pid, "0")
        ):
            assert time.monotonic() - killed < 10, "systemd did not start OMERO.web again within 10 s"
            time.sleep(0.5)
        while not serving(node, host):
            assert time.monotonic() - killed < 10, "OMERO.web did not answer again within 10 s"
            time.sleep(0.5)
        back = time.monotonic() - killed
    # Visitors saw the page or the maintenance page, never an error.
    assert load.result["error"] == 0, load.result
    print(f"back {back:.1f} s after SIGKILL of gunicorn's master; load: {load.result}")


@pytest.mark.once(1)
def test_a_hung_worker_is_replaced_while_others_answer(subject):
    node, host = subject
    timeout = int(applied_config(host).get("omero.web.wsgi_timeout", "60"))
    master = int(host.check_output("systemctl show --property MainPID --value omero-web"))
    workers = processes(host, parent=master)
    hung = workers[0]
    host.check_output(f"kill -STOP {hung}")
    stopped = time.monotonic()
    try:
        answered = 0
        while host.run(f"test -d /proc/{hung}").rc == 0:
            assert time.monotonic() - stopped < timeout + 30, (
                f"worker {hung} still there after {timeout + 30} s"
            )
            assert serving(node, host)
            answered += 1
            time.sleep(2)
    finally:
        host.run(f"kill -CONT {hung}")
    assert len(processes(host, parent=master)) == len(workers)
    print(f"hung worker replaced after {time.monotonic() - stopped:.0f} s; {answered} pages served meanwhile")


@pytest.mark.once(1)
def test_a_full_disk_fails_the_health_check_until_space_returns(subject):
    node, host = subject
    tmp = f"{OMERODIR}/var/tmp"
    health = f"{nginx_url(node)}/health/"
    # A small filesystem of the test's own, mounted where OMERO.web sees it
    # (inside its unit's mount namespace).
    pid = host.check_output("systemctl show --property MainPID --value omero-web")
    inside = f"nsenter --target {pid} --mount"
    mounted = host.run(f"{inside} mount -t tmpfs -o size=256k,mode=0700,uid=$(id -u omero-web) tmpfs {tmp}")
    assert mounted.rc == 0, mounted.stderr
    try:
        host.run(f"{inside} dd if=/dev/zero of={tmp}/fill bs=4k")
        status, _, body = http(host, health)
        assert status == 503 and '"disk": "fail"' in body, (status, body)
        log = host.check_output(f"tail -n 50 {OMERODIR}/var/log/OMEROweb.log")
        assert "health check failed: disk:" in log and "No space left on device" in log
        host.check_output(f"{inside} rm -f {tmp}/fill")
        assert http(host, health)[0] == 200
    finally:
        host.run(f"{inside} umount {tmp}")
    assert http(host, health)[0] == 200
