"""Filters of the tls role: what is wrong with a certificate the inventory
gives, in words that name the variable, before any host has changed."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID, NameOID


def _certificates(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def _name(certificate: x509.Certificate) -> str:
    common = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else certificate.subject.rfc4514_string()


def _covers(certificate: x509.Certificate, name: str) -> bool:
    """Whether the certificate's subjectAltName covers a host name or address
    (a wildcard covers one label, as browsers read it)."""
    try:
        names = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if address is not None:
        return address in names.get_values_for_type(x509.IPAddress)
    name = name.lower().rstrip(".")
    for pattern in names.get_values_for_type(x509.DNSName):
        pattern = pattern.lower().rstrip(".")
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def tls_certificate_problems(
    certificate_pem: str,
    key_pem: str,
    server_names: list[str],
    names_variable: str = "tls_server_names",
    now: str = "",
) -> list[str]:
    """Everything wrong with a PEM certificate (the site's, then its
    intermediates) and its private key, each naming the variable.
    ``now`` (ISO 8601) is for tests; empty means now."""
    moment = datetime.datetime.fromisoformat(now) if now else datetime.datetime.now(datetime.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    problems = []
    try:
        chain = _certificates(str(certificate_pem or ""))
    except ValueError:
        chain = []
    if not chain:
        return ["tls_certificate: no PEM certificate in it (expected the site's, then its intermediates)"]
    site = chain[0]
    try:
        key = serialization.load_pem_private_key(str(key_pem or "").encode(), password=None)
    except (ValueError, TypeError):
        problems.append(
            "tls_certificate_key: not an unencrypted PEM private key (expected the certificate's key)"
        )
    else:
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        encoding = serialization.Encoding.DER
        if key.public_key().public_bytes(encoding, public) != site.public_key().public_bytes(
            encoding, public
        ):
            problems.append(
                f"tls_certificate_key: does not match the certificate of {_name(site)} "
                "(expected the private key the certificate was issued for)"
            )
    if site.not_valid_after_utc <= moment:
        problems.append(
            f"tls_certificate: the certificate of {_name(site)} expired on "
            f"{site.not_valid_after_utc:%Y-%m-%d} (expected one valid now)"
        )
    elif site.not_valid_before_utc > moment:
        problems.append(
            f"tls_certificate: the certificate of {_name(site)} is valid only from "
            f"{site.not_valid_before_utc:%Y-%m-%d} (expected one valid now)"
        )
    for lower, upper in zip(chain, chain[1:], strict=False):
        if not _issued_by(lower, upper):
            problems.append(
                f"tls_certificate: {_name(upper)} did not issue {_name(lower)} "
                "(expected the site's certificate, then each intermediate that issued the one before)"
            )
    for name in server_names:
        if not _covers(site, str(name)):
            problems.append(
                f"{names_variable}: {name} is not among the names the certificate of {_name(site)} covers "
                "(expected each server name in its subjectAltName)"
            )
    return problems


def tls_ocsp_responder(certificate_pem: str) -> str:
    """The OCSP responder the site's certificate names ('' for none): Nginx
    and Apache staple its answers only then."""
    try:
        site = _certificates(str(certificate_pem or ""))[0]
        access = site.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    except (ValueError, IndexError, x509.ExtensionNotFound):
        return ""
    for description in access:
        if description.access_method == x509.oid.AuthorityInformationAccessOID.OCSP:
            return str(description.access_location.value)
    return ""


def tls_subject_alt_names(names: list[str]) -> list[str]:
    """subjectAltName entries for host names and addresses (DNS:..., IP:...)."""
    out = []
    for name in names:
        try:
            out.append(f"IP:{ipaddress.ip_address(str(name))}")
        except ValueError:
            out.append(f"DNS:{name}")
    return out


class FilterModule:
    def filters(self):
        return {
            "tls_certificate_problems": tls_certificate_problems,
            "tls_subject_alt_names": tls_subject_alt_names,
            "tls_ocsp_responder": tls_ocsp_responder,
        }
