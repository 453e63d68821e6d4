"""HTTPS where clients meet the site: Nginx (or Apache) with Mozilla's
intermediate profile, plain HTTP redirected, the security headers, a login
form that passes Django's CSRF check, and the verdicts of the scanners a
security review runs (sslyze, gixy, django check --deploy)."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import tempfile
import urllib.parse
from http.client import HTTPSConnection
from pathlib import Path

import pytest

from helpers import VENV, Load, as_omero_web, http, wait_for
from playbook import changed_nothing, recap, run_site
from topology import (
    address,
    host_of,
    is_container,
    limit_to_one_apache,
    nginx_https_port,
    nginx_port,
    nginx_url,
    outside,
)

pytestmark = [pytest.mark.group("frontends"), pytest.mark.any_config]

CERTIFICATE = "/etc/ssl/omero-web/certificate.pem"
KEY = "/etc/ssl/omero-web/private-key.pem"
# sslyze and gixy, in a venv of their own (make: requirements-scanners.txt).
SCANNERS = Path(__file__).resolve().parents[2] / ".venv-scanners/bin"


def faces_clients(node) -> bool:
    return "apache_frontends" not in node.groups


def https_port(node) -> int:
    return nginx_https_port(node) if faces_clients(node) else int(node.vars.get("apache_https_port", 443))


def self_signed(host) -> bool:
    out = host.run(f"openssl x509 -in {CERTIFICATE} -noout -subject -issuer -nameopt RFC2253")
    subject, issuer = (line.split("=", 1)[1] for line in out.stdout.splitlines())
    return subject == issuer


def acme() -> bool:
    """The front ends take their certificate from the scenario's ACME CA
    (pebble on the front end itself: molecule/cluster/prepare.yml)."""
    return bool(os.environ.get("APPLIANCE_ACME_DIRECTORY"))


def acme_root(host) -> str:
    """The root of pebble's chains: pebble makes a new one each time it starts."""
    code = (
        "import ssl, urllib.request; print(urllib.request.urlopen('https://localhost:15000/roots/0', "
        "timeout=10, context=ssl._create_unverified_context()).read().decode())"
    )
    return host.check_output(f"python3 -c {shlex.quote(code)}")


def served(ip: str, port: int) -> bytes:
    """The certificate a front end serves now (DER)."""
    with socket.create_connection((ip, port), timeout=10) as raw, unverified().wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True)


def unverified() -> ssl.SSLContext:
    # The scenario's certificates are self-signed or from its own test CA.
    return ssl._create_unverified_context()


def request(ip: str, port: int, path: str, method="GET", headers=None, body=None, name=None):
    """One HTTPS request from the controller to a front end of this run."""
    connection = HTTPSConnection(ip, port, timeout=60, context=unverified())
    try:
        connection.request(method, path, body=body, headers={"Host": name or ip, **(headers or {})})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_plain_http_only_redirects_to_https(host, node):
    if not faces_clients(node):
        pytest.skip("Apache faces the clients here (test_apache.py)")
    port = https_port(node)
    status, headers, _ = http(host, f"http://127.0.0.1:{nginx_port(node)}/webclient/login/?url=x")
    assert status == 301
    target = "https://127.0.0.1" + ("" if port == 443 else f":{port}") + "/webclient/login/?url=x"
    assert f"Location: {target}\n" in headers


def test_https_speaks_http2_and_tls_12_or_13_alone(host, node):
    ip, port = outside(node, host, https_port(node))
    context = unverified()
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection((ip, port), timeout=10) as raw, context.wrap_socket(raw) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
    for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        context = unverified()
        context.minimum_version = context.maximum_version = old
        context.set_ciphers("ALL:@SECLEVEL=0")
        with socket.create_connection((ip, port), timeout=10) as raw, pytest.raises(ssl.SSLError):
            context.wrap_socket(raw)


def test_responses_carry_the_security_headers(host, node, prefix):
    ip, port = outside(node, host, https_port(node))
    status, headers, body = request(ip, port, f"{prefix}/webclient/login/")
    assert status == 200 and "OMERO.web - Login" in body
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    # OMERO.web's viewers use frames: its own pages only.
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    if self_signed(host):
        assert "Strict-Transport-Security" not in headers
    else:
        assert re.fullmatch(r"max-age=\d{7,}", headers["Strict-Transport-Security"])
    # The maintenance page and static files carry them too (Nginx sets them).
    status, headers, _ = request(ip, port, f"{prefix}/static/webgateway/css/ome.body.css")
    assert status == 200 and headers["X-Content-Type-Options"] == "nosniff"


def test_the_key_is_root_only_and_matches_the_certificate(host):
    key = host.file(KEY)
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    of_certificate = host.run(f"openssl x509 -in {CERTIFICATE} -noout -pubkey").stdout
    of_key = host.run(f"openssl pkey -in {KEY} -pubout").stdout
    assert of_certificate and of_certificate == of_key


def test_a_login_form_posted_over_https_reaches_omero_web(host, node, prefix):
    """The CSRF check passes (no Django 403 page): OMERO.web itself answers
    that no OMERO.server responds, and sets no session."""
    ip, port = outside(node, host, https_port(node))
    origin = f"https://{ip}" + ("" if port == 443 else f":{port}")
    status, headers, page = request(ip, port, f"{prefix}/webclient/login/")
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", headers.get("Set-Cookie", ""))
    assert cookie, headers
    assert "Secure" in headers["Set-Cookie"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "server": "1", "username": "root", "password": "omero"}
    )
    status, headers, page = request(
        ip,
        port,
        f"{prefix}/webclient/login/",
        method="POST",
        body=form,
        headers={
            "Cookie": f"csrftoken={cookie.group(1)}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": f"{origin}{prefix}/webclient/login/",
        },
    )
    assert "CSRF verification failed" not in page
    assert status == 200, page[:500]
    assert "OMERO.web - Login" in page
    assert re.search(r"not responding|Connection not available|Server is not responding", page, re.I), page[
        -3000:
    ]


def test_omero_web_sees_the_client_and_https(host, node, prefix):
    """Forged X-Forwarded-For and X-Forwarded-Proto from a client are
    overwritten: OMERO.web sees the address that connected, and https."""
    ip, port = outside(node, host, https_port(node))
    forged = {"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "http", "X-Real-IP": "203.0.113.66"}
    status, _, body = request(ip, port, f"{prefix}/health/client/", headers=forged)
    assert status == 200
    seen = json.loads(body)
    assert seen["scheme"] == "https"
    assert seen["address"] != "203.0.113.66"
    if is_container(node):
        # The controller's address on the scenario's network.
        with socket.create_connection((ip, port), timeout=10) as probe:
            assert seen["address"] == probe.getsockname()[0]


def test_sslyze_finds_the_mozilla_intermediate_profile(host, node):
    ip, port = outside(node, host, https_port(node))
    with tempfile.TemporaryDirectory() as tmp:
        # Trust what the scenario trusts: its test CA, or the self-signed certificate itself.
        trusted = Path(tmp) / "trusted.pem"
        if acme():
            trusted.write_text(acme_root(host))
        elif os.environ.get("APPLIANCE_TEST_CA"):
            trusted.write_text(Path(os.environ["APPLIANCE_TEST_CA"]).read_text())
        else:
            trusted.write_text(host.file(CERTIFICATE).content_string)
        report = Path(tmp) / "report.json"
        result = subprocess.run(
            [
                str(SCANNERS / "sslyze"),
                "--mozilla_config=intermediate",
                f"--certinfo_ca_file={trusted}",
                f"--json_out={report}",
                # By the name the certificate covers (an ACME one: no address).
                f"{node.name}:{port}{{{ip}}}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    # A self-signed certificate fails path validation by nature; nothing else may fail.
    report = result.stdout[result.stdout.index("COMPLIANCE AGAINST") :]
    issues = set(re.findall(r"^\s+\* (\w+): ", report, re.M))
    assert issues == ({"certificate_path_validation"} if self_signed(host) else set()), report
    assert "FAILED" not in report or self_signed(host), report


def test_gixy_finds_no_issue_in_the_nginx_config(host, node):
    """With a self-signed certificate no HSTS is sent, by design: the one
    issue gixy may report then (Nginx behind Apache speaks no TLS)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "nginx"
        archive = host.run("tar -C /etc -chf - nginx | base64 -w0")
        assert archive.rc == 0
        subprocess.run(["tar", "-C", tmp, "-xf", "-"], input=base64.b64decode(archive.stdout), check=True)
        for conf in copy.rglob("*"):
            if conf.is_file() and not conf.is_symlink():
                text = conf.read_text(errors="replace")
                conf.write_text(text.replace("/etc/nginx/", f"{copy}/"))
        result = subprocess.run(
            [str(SCANNERS / "gixy"), "--format", "json", str(copy / "nginx.conf")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        shutil.rmtree(copy)
    issues = json.loads(result.stdout or "[]")
    expected = {"hsts_header"} if faces_clients(node) and self_signed(host) else set()
    assert {issue["plugin"] for issue in issues} == expected, json.dumps(issues, indent=1)[:3000]


@pytest.mark.group("omero_web_nodes")
def test_django_check_deploy_reports_only_the_documented_warnings(host):
    """W001: Nginx (or Apache), not Django's SecurityMiddleware, sends HSTS,
    nosniff and Referrer-Policy, for static files and error pages too.
    W019: X-Frame-Options is SAMEORIGIN, as OMERO.web's viewers use frames.
    (README, "HTTPS".)"""
    out = as_omero_web(host, f"{VENV}/bin/python -m django check --deploy 2>&1")
    found = set(re.findall(r"\(security\.(W\d{3})\)", out.stdout))
    assert found == {"W001", "W019"}, out.stdout[-3000:]


def bad_certificate() -> tuple[str, str]:
    """An expired certificate for another name, after a CA that did not
    issue it, with a key that is not its own (PEM certificate, PEM key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def certificate(key, name, days):
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=400))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
            .decode()
        )

    site = certificate(ec.generate_private_key(ec.SECP256R1()), "elsewhere.example.com", -30)
    stranger = certificate(ec.generate_private_key(ec.SECP256R1()), "Stranger CA", 30)
    other_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return site + stranger, other_key.decode()


@pytest.mark.once
@pytest.mark.alone
def test_a_bad_certificate_is_refused_before_anything_changes(host, node, request):
    """Every problem of the certificate at once, each naming the variable;
    the key never shows; no host changes and the site keeps its certificate."""
    inventory = request.config.getoption("inventory")
    served = host.file(CERTIFICATE).sha256sum
    certificate, key = bad_certificate()
    names = "nginx_server_names:" if faces_clients(node) else "apache_server_name:"
    result = run_site(inventory, {"tls_certificate": certificate, "tls_certificate_key": key})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for words in (
        "tls_certificate_key: does not match the certificate of elsewhere.example.com",
        "tls_certificate: the certificate of elsewhere.example.com expired on",
        "tls_certificate: Stranger CA did not issue elsewhere.example.com",
        f"{names} {node.name} is not among the names the certificate of elsewhere.example.com",
    ):
        assert words in output, output[-4000:]
    assert key.splitlines()[1] not in output
    assert changed_nothing(result), recap(result)

    result = run_site(
        inventory, {"tls_certificate": "/nowhere/site.pem", "tls_certificate_key": "/nowhere/site.key"}
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "tls_certificate = '/nowhere/site.pem': no such file on the controller" in output, output[-4000:]
    assert changed_nothing(result), recap(result)
    assert host.file(CERTIFICATE).sha256sum == served


HAPROXY = """
global
    log stdout format raw local0
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend https
    bind 127.0.0.1:8443 ssl crt /etc/haproxy/test.pem
    http-request set-header X-Forwarded-Proto https
    option forwardfor
    default_backend omero_web
backend omero_web
    server front {front}:{port}
"""


@pytest.mark.once
@pytest.mark.alone
def test_a_trusted_load_balancer_forwards_the_client(host, node, nodes):
    """Debian's haproxy terminates TLS on the host nginx_trusted_proxies
    names and speaks plain HTTP to Nginx: OMERO.web sees the client haproxy
    saw (a client on its own loopback) and https, whatever the client forged;
    the same headers from anyone else count for nothing."""
    trusted = [p for p in os.environ.get("APPLIANCE_TRUSTED_PROXIES", "").split(",") if p]
    if not trusted:
        pytest.skip("no load balancer in this scenario (APPLIANCE_TRUSTED_PROXIES)")
    balancer = next(h for h in (host_of(n) for n in nodes) if address(h) == trusted[0])
    front, port = address(host), nginx_port(node)
    setup = balancer.run(
        "set -e; DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >/dev/null; "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=balancer -keyout /etc/haproxy/test.key -out /etc/haproxy/test.crt 2>/dev/null; "
        "cat /etc/haproxy/test.crt /etc/haproxy/test.key > /etc/haproxy/test.pem; "
        f"printf %s {shlex.quote(HAPROXY.format(front=front, port=port))} > /etc/haproxy/haproxy.cfg; "
        "systemctl restart haproxy"
    )
    assert setup.rc == 0, setup.stderr
    forged = {"X-Forwarded-For": "203.0.113.66", "X-Forwarded-Proto": "http", "X-Real-IP": "203.0.113.66"}
    try:
        assert wait_for(lambda: http(balancer, "https://127.0.0.1:8443/health/client/")[0] == 200, timeout=30)
        status, _, body = http(balancer, "https://127.0.0.1:8443/health/client/", headers=forged)
        assert status == 200, body
        assert {k: json.loads(body)[k] for k in ("address", "scheme")} == {
            "address": "127.0.0.1",
            "scheme": "https",
        }
        # The balancer's plain HTTP is not redirected: it said https.
        status, _, body = http(balancer, "https://127.0.0.1:8443/webclient/login/")
        assert status == 200 and "OMERO.web - Login" in body
    finally:
        balancer.run("systemctl stop haproxy; systemctl disable haproxy")
    # Anyone else who claims https over plain HTTP is redirected all the same.
    status, headers, _ = http(
        host, f"http://127.0.0.1:{port}/webclient/login/", headers={"X-Forwarded-Proto": "https"}
    )
    assert status == 301, headers


RENEWAL = "/etc/letsencrypt/renewal/omero-web.conf"
LINEAGE = "/etc/letsencrypt/live/omero-web"
CERTBOT_LOG = "/var/log/letsencrypt/letsencrypt.log"
DUE = "renew_before_expiry = 36500 days"


def test_the_acme_ca_issues_and_its_timer_renews_without_a_failed_request(host, node, prefix):
    """The CA (pebble) issued the certificate Nginx serves over HTTP-01;
    certbot's timer unit, with the renewal window widened so the certificate
    is due, renews it under load: the deploy hook installs the new pair and
    reloads, and no request fails meanwhile."""
    if not acme():
        pytest.skip("no ACME CA in this scenario (APPLIANCE_ACME_DIRECTORY)")
    ip, port = outside(node, host, https_port(node))
    first = served(ip, port)
    assert first == ssl.PEM_cert_to_DER_cert(host.file(f"{LINEAGE}/cert.pem").content_string)
    with tempfile.TemporaryDirectory() as tmp:
        root, chain = Path(tmp) / "root.pem", Path(tmp) / "served.pem"
        root.write_text(acme_root(host))
        chain.write_text(host.file(CERTIFICATE).content_string)
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", root, "-untrusted", chain, chain], capture_output=True, text=True
        )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    timer = host.service("certbot.timer")
    assert timer.is_enabled and timer.is_running

    try:
        # Due now: a renewal window longer than the certificate's life (a
        # top-level setting, so before the file's first section).
        host.run(f"sed -i '1i {DUE}' {RENEWAL}")
        with Load(host, f"{nginx_url(node)}{prefix}/webclient/login/", name="appliance-acme-load") as load:
            host.run("sleep 2")
            renewed = host.run("timeout 240 systemctl start certbot.service")
            assert renewed.rc == 0, renewed.stderr + host.run(f"tail -n 30 {CERTBOT_LOG}").stdout
            assert wait_for(lambda: served(ip, port) != first, timeout=30)
            host.run("sleep 2")
    finally:
        host.run(f"sed -i '/^{DUE}$/d' {RENEWAL}")
    assert DUE not in host.file(RENEWAL).content_string
    print(f"renewed by certbot.service under load: {load.result}")
    assert load.result["ok"] > 10 and load.result["error"] == 0 and load.result["maintenance"] == 0, (
        load.result
    )
    assert served(ip, port) == ssl.PEM_cert_to_DER_cert(host.file(f"{LINEAGE}/cert.pem").content_string)
    key = host.file(KEY)
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)


@pytest.mark.once
@pytest.mark.alone
def test_an_unreachable_acme_ca_fails_the_run_naming_it(host, node, nodes, prefix, pytestconfig):
    """The run fails naming tls_acme_directory; the front end keeps serving
    its certificate, and plain HTTP serves the CA's challenge path. Where an
    ACME CA issues (Nginx: a new CA URL makes certbot ask anew) and where
    Apache faces the clients (no certificate from a CA yet; the next run
    goes back to the scenario's own source)."""
    if not acme() and faces_clients(node):
        pytest.skip("Nginx's ACME path runs where a CA issues (APPLIANCE_ACME_DIRECTORY)")
    inventory = pytestconfig.getoption("inventory")
    ip, port = outside(node, host, https_port(node))
    before = served(ip, port)
    unreachable = "https://127.0.0.1:9/directory"
    extra = {"tls_acme_directory": unreachable} | ({} if acme() else {"tls_certificate_source": "acme"})
    limit = ("--limit", limit_to_one_apache(node, nodes))
    result = run_site(inventory, extra, *limit)
    output = result.stdout + result.stderr
    try:
        assert result.returncode != 0, output[-3000:]
        message = f"tls_acme_directory = '{unreachable}': the ACME CA issued no certificate for {node.name}"
        assert message in output, output[-4000:]
        assert served(ip, port) == before
        status, _, body = request(ip, port, f"{prefix}/webclient/login/")
        assert status == 200 and "OMERO.web - Login" in body
        # The CA's challenges are served over plain HTTP, not redirected.
        token = "appliance-probe-" + base64.b32encode(os.urandom(10)).decode().lower()
        challenge = f"/var/lib/omero-web-acme/.well-known/acme-challenge/{token}"
        host.run(f"mkdir -p {os.path.dirname(challenge)} && echo {token} > {challenge}")
        http_port = nginx_port(node) if faces_clients(node) else int(node.vars.get("apache_http_port", 80))
        status, _, body = http(host, f"http://127.0.0.1:{http_port}/.well-known/acme-challenge/{token}")
        host.run(f"rm -f {challenge}")
        assert (status, body.strip()) == (200, token)
    finally:
        if not acme():
            restored = run_site(inventory, {}, *limit)
            assert restored.returncode == 0, (restored.stdout + restored.stderr)[-3000:]
