"""A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate, made
with `cryptography` at test time (nothing secret is committed)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here: trusting only it must fail


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _certificate(subject: str, key, issuer: x509.Name, issuer_key, *, ca: bool,
                 usage=None, sans=None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_tls_files(directory: Path) -> TlsFiles:
    pem = serialization.Encoding.PEM
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("pixel test CA", ca_key, _name("pixel test CA"), ca_key, ca=True)
    files = TlsFiles(*(directory / n for n in ("ca.pem", "server.pem", "server.key",
                                                "client.pem", "client.key", "other-ca.pem")))
    files.ca.write_bytes(ca.public_bytes(pem))
    server_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    files.server_cert.write_bytes(_certificate(
        "127.0.0.1", server_key, ca.subject, ca_key, ca=False,
        usage=ExtendedKeyUsageOID.SERVER_AUTH, sans=sans).public_bytes(pem))
    _write_key(server_key, files.server_key)
    client_key = ec.generate_private_key(ec.SECP256R1())
    files.client_cert.write_bytes(_certificate(
        "pixel test client", client_key, ca.subject, ca_key, ca=False,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH).public_bytes(pem))
    _write_key(client_key, files.client_key)
    other_key = ec.generate_private_key(ec.SECP256R1())
    files.other_ca.write_bytes(_certificate("another CA", other_key, _name("another CA"),
                                            other_key, ca=True).public_bytes(pem))
    return files
