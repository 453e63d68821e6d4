"""Apache in front of Nginx: TLS, the client as OMERO.web sees it, uploads of
any size, the maintenance page, and Nginx hidden behind it.

Requests come from an OMERO.web node, a host of its own, so the client's
address differs from every proxy's."""

import json
import shlex
import ssl

import pytest

from helpers import PortHolder, exposure, http, login_page, wait_for
from playbook import run_site
from topology import address, connects, host_of, in_group, limit_to_one_apache, nginx_port

pytestmark = pytest.mark.group("apache_frontends")

# Above Apache's own default limit (1 GiB since 2.4.54) and Nginx's (1 MiB).
UPLOAD_BYTES = (1 << 30) + (1 << 20)

# A multipart login form with one big file in it, streamed from the client:
# OMERO.web reads the whole body (CSRF checks the form's token against the
# cookie), then answers with the login page.
UPLOAD = """
import http.client, json, ssl, sys
a = json.loads(sys.argv[1])
token = "a" * 32
boundary = "appliance-upload-boundary"
head = (f"--{boundary}\\r\\nContent-Disposition: form-data; name=\\"csrfmiddlewaretoken\\"\\r\\n"
        f"\\r\\n{token}\\r\\n"
        f"--{boundary}\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"big.bin\\"\\r\\n"
        "Content-Type: application/octet-stream\\r\\n\\r\\n").encode()
tail = f"\\r\\n--{boundary}--\\r\\n".encode()
c = http.client.HTTPSConnection(a["host"], 443, timeout=300, context=ssl._create_unverified_context())
c.putrequest("POST", a["path"])
for k, v in {"Content-Type": f"multipart/form-data; boundary={boundary}",
             "Content-Length": str(len(head) + a["size"] + len(tail)),
             "Cookie": f"csrftoken={token}", "Origin": f"https://{a['host']}",
             "Referer": f"https://{a['host']}{a['path']}"}.items():
    c.putheader(k, v)
c.endheaders()
c.send(head)
chunk = bytes(1 << 20)
left = a["size"]
while left:
    c.send(chunk[: min(left, len(chunk))])
    left -= min(left, len(chunk))
c.send(tail)
r = c.getresponse()
print(json.dumps({"status": r.status, "body": r.read().decode("utf-8", "replace")}))
"""


@pytest.fixture
def client(nodes):
    """An OMERO.web node: a host other than the front end."""
    return host_of(in_group(nodes, "omero_web_nodes")[0])


def test_plain_http_redirects_to_https(host, client, prefix):
    front = address(host)
    status, headers, _ = http(client, f"http://{front}{prefix}/webclient/login/?url=x")
    assert status == 301
    assert f"Location: https://{front}{prefix}/webclient/login/?url=x\n" in headers


def test_the_login_page_answers_over_https_with_secure_cookies(host, client, prefix):
    status, headers, body = login_page(client, f"https://{address(host)}", prefix)
    assert status == 200 and "OMERO.web - Login" in body
    cookies = [line for line in headers.splitlines() if line.startswith("Set-Cookie: csrftoken=")]
    assert cookies and all("; Secure" in line for line in cookies), headers


def test_omero_web_sees_the_clients_address_and_scheme(host, client, prefix):
    """Whatever a client claims in its own forwarding headers."""
    front = address(host)
    claims = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http", "X-Real-IP": "203.0.113.9"}
    status, _, body = http(client, f"https://{front}{prefix}/health/client/", headers=claims)
    assert status == 200, body
    assert json.loads(body) == {"address": address(client), "scheme": "https", "host": front}


def test_omero_webs_own_links_are_https(host, client, prefix):
    front = address(host)
    status, _, body = http(client, f"https://{front}{prefix}/api/")
    assert status == 200, body
    assert json.loads(body)["data"][0]["url:base"] == f"https://{front}{prefix}/api/v0/"


def test_apache_serves_the_configured_certificate(host, client):
    code = f"import ssl; print(ssl.get_server_certificate(({address(host)!r}, 443)))"
    pem = client.check_output(f"python3 -c {shlex.quote(code)}")
    configured = host.file("/etc/ssl/omero-web/certificate.pem").content_string
    site = configured[: configured.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    assert ssl.PEM_cert_to_DER_cert(pem) == ssl.PEM_cert_to_DER_cert(site)


def test_an_upload_above_a_gibibyte_reaches_omero_web(host, client, prefix):
    request = json.dumps({"host": address(host), "path": f"{prefix}/webclient/login/", "size": UPLOAD_BYTES})
    out = client.run(f"timeout 600 python3 -c {shlex.quote(UPLOAD)} {shlex.quote(request)}")
    assert out.rc == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["status"] == 200, answer["body"][:2000]
    assert "OMERO.web - Login" in answer["body"]


def test_apache_runs_in_a_systemd_sandbox(host):
    """Debian's unit scores 9.2 (unsafe); the appliance's drop-in brings it
    to 5.0 or less, and the tests around show it still serves."""
    assert exposure(host, "apache2") <= 5.0


def test_nginx_answers_on_loopback_alone(host, node, client):
    port = nginx_port(node)
    assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening
    assert not connects(client, address(host), port)


@pytest.mark.alone
def test_maintenance_page_through_apache(host, client, prefix, web_hosts):
    front = address(host)
    # gunicorn down: Nginx's maintenance page passes through Apache.
    for web in web_hosts:
        web.run("systemctl stop omero-web")
    try:
        status, _, body = login_page(client, f"https://{front}", prefix)
        assert status == 503 and "OMERO.web is down for maintenance" in body
    finally:
        for web in web_hosts:
            web.run("systemctl start omero-web")
    # Nginx down: Apache shows the same page itself.
    host.run("systemctl stop nginx")
    try:
        status, _, body = login_page(client, f"https://{front}", prefix)
        assert status == 503 and "OMERO.web is down for maintenance" in body
    finally:
        host.run("systemctl start nginx")
    assert wait_for(lambda: login_page(client, f"https://{front}", prefix)[0] == 200, timeout=60)


@pytest.mark.once
@pytest.mark.alone
def test_a_port_apache_cannot_bind_is_rolled_back(host, node, nodes, client, prefix, request):
    """`apache2 -t` passes, the restart cannot bind. The run is limited to
    this front end and the web node, so it also proves a --limit that leaves
    out a host the roles read (the other front end)."""
    files = ["/etc/apache2/ports.conf", "/etc/apache2/sites-available/omero-web.conf"]
    before = [host.file(f).sha256sum for f in files]
    limit = limit_to_one_apache(node, nodes)
    with PortHolder(host, 8443):
        extra = {"apache_https_port": 8443, "apache_reload_timeout": 5}
        result = run_site(request.config.getoption("inventory"), extra, "--limit", limit)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"Apache on {node.name} did not take the new config within 5 s" in output, output
    assert "apache_https_port = 8443" in output
    assert "The last good config is back and Apache serves it." in output
    assert [host.file(f).sha256sum for f in files] == before
    assert login_page(client, f"https://{address(host)}", prefix)[0] == 200
