"""The tls role's certificate checks (plugins/filter/tls.py): each bad
certificate an admin could give is refused, naming the variable."""

import datetime
import importlib.util
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PLUGIN = Path(__file__).resolve().parents[2] / "plugins/filter/tls.py"
spec = importlib.util.spec_from_file_location("tls_filters", PLUGIN)
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def key():
    return ec.generate_private_key(ec.SECP256R1())


def pem(*items) -> str:
    out = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            out += item.public_bytes(serialization.Encoding.PEM)
        else:
            out += item.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
    return out.decode()


def issue(
    subject_key, name, issuer_key, issuer_name=None, names=(), ca=False, start=NOW - DAY, end=NOW + 90 * DAY
):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        alt = [x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki():
    root_key, middle_key, site_key = key(), key(), key()
    root = issue(root_key, "Test Root", root_key, ca=True)
    middle = issue(middle_key, "Test Intermediate", root_key, "Test Root", ca=True)
    site = issue(
        site_key,
        "omero.example.org",
        middle_key,
        "Test Intermediate",
        ["omero.example.org", "*.example.net", "192.0.2.7"],
    )
    return {"root": root, "middle": middle, "middle_key": middle_key, "site": site, "site_key": site_key}


def problems(cert_pem, key_pem, names=("omero.example.org",)):
    return filters.tls_certificate_problems(
        cert_pem, key_pem, list(names), "nginx_server_names", NOW.isoformat()
    )


def test_a_good_certificate_with_its_chain_passes(pki):
    names = ["omero.example.org", "images.example.net", "192.0.2.7"]
    assert problems(pem(pki["site"], pki["middle"]), pem(pki["site_key"]), names) == []


@pytest.mark.parametrize(
    "key_text", ["other", "", "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n"]
)
def test_a_key_that_is_not_the_certificates_is_refused(pki, key_text):
    text = pem(key()) if key_text == "other" else key_text
    found = problems(pem(pki["site"]), text)
    assert len(found) == 1 and found[0].startswith("tls_certificate_key:")


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        (NOW - 400 * DAY, NOW - 35 * DAY, "expired on"),
        (NOW - 90 * DAY, NOW - DAY, "expired on"),
        (NOW + DAY, NOW + 90 * DAY, "valid only from"),
    ],
)
def test_a_certificate_not_valid_now_is_refused(pki, start, end, words):
    site_key = key()
    site = issue(
        site_key,
        "omero.example.org",
        pki["middle_key"],
        "Test Intermediate",
        ["omero.example.org"],
        start=start,
        end=end,
    )
    found = problems(pem(site, pki["middle"]), pem(site_key))
    assert len(found) == 1 and found[0].startswith("tls_certificate:") and words in found[0]


def test_a_chain_that_does_not_lead_to_the_certificate_is_refused(pki):
    # The root where the intermediate should be; an unrelated CA; the order turned round.
    other_key = key()
    other = issue(other_key, "Other CA", other_key, ca=True)
    for chain in (
        [pki["site"], pki["root"]],
        [pki["site"], other],
        [pki["site"], pki["root"], pki["middle"]],
    ):
        found = problems(pem(*chain), pem(pki["site_key"]))
        assert found and all("did not issue" in p and p.startswith("tls_certificate:") for p in found)


@pytest.mark.parametrize("name", ["omero.example.com", "a.b.example.net", "example.net", "192.0.2.8"])
def test_a_server_name_the_certificate_does_not_cover_is_refused(pki, name):
    found = problems(pem(pki["site"]), pem(pki["site_key"]), ["omero.example.org", name])
    assert found == [
        f"nginx_server_names: {name} is not among the names the certificate of omero.example.org covers "
        "(expected each server name in its subjectAltName)"
    ]


@pytest.mark.parametrize("text", ["", "not a certificate", "/etc/ssl/certs/site.pem"])
def test_text_that_holds_no_certificate_is_refused(pki, text):
    found = problems(text, pem(pki["site_key"]))
    assert found and found[0].startswith("tls_certificate: no PEM certificate")


def test_the_key_never_shows_in_a_problem(pki):
    text = pem(key())
    found = problems(pem(pki["site"]), text, ["elsewhere.example.com"])
    assert found and not any("PRIVATE" in p or text[40:80] in p for p in found)


def test_server_names_become_subject_alt_names():
    names = ["omero.example.org", "192.0.2.7", "2001:db8::7", "localhost"]
    assert filters.tls_subject_alt_names(names) == [
        "DNS:omero.example.org",
        "IP:192.0.2.7",
        "IP:2001:db8::7",
        "DNS:localhost",
    ]


def test_the_ocsp_responder_is_read_from_the_certificate(pki):
    assert filters.tls_ocsp_responder(pem(pki["site"])) == ""
    assert filters.tls_ocsp_responder("not a certificate") == ""
    site_key = key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "omero.example.org")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Intermediate")]))
        .public_key(site_key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier("http://ca.example.org/ca.crt"),
                    ),
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier("http://ocsp.example.org"),
                    ),
                ]
            ),
            critical=False,
        )
    )
    site = builder.sign(pki["middle_key"], hashes.SHA256())
    assert filters.tls_ocsp_responder(pem(site, pki["middle"])) == "http://ocsp.example.org"
