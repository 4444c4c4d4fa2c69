"""Client PKI, server trust list, credentials and the messages an integrator needs.

Layout under ``<state_dir>/pki/`` (the usual OPC UA layout, as UaExpert and node-opcua
keep it):

- ``own/cert.der``, ``private/key.pem`` - the client application instance certificate,
  created once on first start for the device's application URI and then reused (it is
  only regenerated when it has expired or names another application URI, and that is
  logged, because every server then has to trust the new one);
- ``trusted/`` - server certificates we trust (DER or PEM), or the CA certificates that
  issued them, unless `trust_dir` is set; CRLs in ``trusted/crl/``;
- ``issuers/`` - CA certificates that complete a chain without being trusted themselves,
  CRLs in ``issuers/crl/`` (servercert.py validates with all of these);
- ``rejected/`` - server certificates we saw and did not trust, saved so that trusting
  one is a file copy (or ``lineside trust``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from asyncua.crypto import cert_gen, security_policies
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lineside.drivers.opcua.settings import OpcuaDevice
from lineside.textfiles import MAX_SECRET_BYTES, read_text

log = logging.getLogger(__name__)

POLICIES: dict[str, type[security_policies.SecurityPolicy]] = {
    "Basic256Sha256": security_policies.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": security_policies.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": security_policies.SecurityPolicyAes256Sha256RsaPss,
}
NONE_URI = security_policies.SecurityPolicyNone.URI


class OpcuaSetupError(Exception):
    """A problem only the integrator can fix (trust, credentials, endpoint); clear text."""


class UntrustedServerCertificate(OpcuaSetupError):
    pass


class CertificateRejectedByServer(OpcuaSetupError):
    pass


class UserRejected(OpcuaSetupError):
    pass


@dataclass(frozen=True)
class Pki:
    root: Path
    cert: Path
    key: Path
    trusted: Path
    rejected: Path
    issuers: Path = None  # type: ignore[assignment]  # default: <root>/issuers

    def __post_init__(self) -> None:
        if self.issuers is None:
            object.__setattr__(self, "issuers", self.root / "issuers")

    @classmethod
    def for_device(cls, device: OpcuaDevice, state_dir: Path) -> Pki:
        root = Path(state_dir) / "pki"
        return cls(
            root=root,
            cert=device.certificate or root / "own" / "cert.der",
            key=device.private_key or root / "private" / "key.pem",
            trusted=device.trust_dir or root / "trusted",
            rejected=root / "rejected",
        )


def _uri_of(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(san.value.get_values_for_type(x509.UniformResourceIdentifier))


def ensure_client_certificate(pki: Pki, application_uri: str) -> tuple[Path, Path]:
    """Create the client certificate and key on first start; reuse them afterwards."""
    if pki.cert.is_file() and pki.key.is_file():
        cert = load_cert(pki.cert.read_bytes())
        expired = cert.not_valid_after_utc < dt.datetime.now(dt.UTC)
        if not expired and application_uri in _uri_of(cert):
            return pki.cert, pki.key
        log.warning(
            "client certificate %s %s; creating a new one - every server must trust the new "
            "certificate", pki.cert,
            "has expired" if expired else f"does not carry application URI {application_uri}",
        )
    pki.cert.parent.mkdir(parents=True, exist_ok=True)
    pki.key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if pki.key.is_file():
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        key = load_pem_private_key(pki.key.read_bytes(), password=None)
    else:
        key = cert_gen.generate_private_key()
        fd = os.open(pki.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(cert_gen.dump_private_key_as_pem(key))
    host = socket.gethostname()
    cert = cert_gen.generate_self_signed_app_certificate(
        key,  # type: ignore[arg-type]  # asyncua annotates an older key type
        application_uri,
        {"organizationName": "lineside"},
        [x509.UniformResourceIdentifier(application_uri), x509.DNSName(host)],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH],
        days=3650,  # an edge gateway must not stop working after a year unattended
    )
    pem = pki.cert.suffix.lower() in (".pem", ".crt")
    pki.cert.write_bytes(cert.public_bytes(Encoding.PEM if pem else Encoding.DER))
    log.info("created client certificate %s for %s", pki.cert, application_uri)
    return pki.cert, pki.key


def load_cert(data: bytes) -> x509.Certificate:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def thumbprint(der: bytes) -> str:
    return hashlib.sha1(der).hexdigest()  # OPC UA thumbprints are SHA-1 by convention


def common_name(cert: x509.Certificate) -> str:
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cn[0].value) if cn else cert.subject.rfc4514_string()


def describe(der: bytes, now: dt.datetime | None = None) -> str:
    cert = load_cert(der)
    uris = ", ".join(_uri_of(cert)) or "-"
    now = now or dt.datetime.now(dt.UTC)
    status = (" (EXPIRED)" if cert.not_valid_after_utc < now
              else " (NOT YET VALID)" if cert.not_valid_before_utc > now else "")
    return (
        f"CN={common_name(cert)}, application URI {uris}, thumbprint {thumbprint(der)}, "
        f"valid {cert.not_valid_before_utc:%Y-%m-%d} to "
        f"{cert.not_valid_after_utc:%Y-%m-%d}{status}"
    )


def file_name_for(der: bytes) -> str:
    cert = load_cert(der)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(cn[0].value) if cn else "server")[:60]
    return f"{name}[{thumbprint(der)}].der"


def load_certificates(folder: Path) -> list[bytes]:
    """DER bytes of every certificate in a folder (and a node-opcua style certs/)."""
    out = []
    for sub in (folder, folder / "certs"):
        if not sub.is_dir():
            continue
        for f in sorted(sub.iterdir()):
            if f.suffix.lower() not in (".der", ".pem", ".crt", ".cer"):
                continue
            try:
                out.append(load_cert(f.read_bytes()).public_bytes(Encoding.DER))
            except ValueError:
                log.warning("ignoring %s: not a certificate", f)
    return out


def read_password(device: OpcuaDevice) -> str | None:
    """Password from the environment or a file; never from the YAML itself."""
    if device.password_env:
        value = os.environ.get(device.password_env)
        if value is None:
            raise OpcuaSetupError(
                f"environment variable {device.password_env} (password_env of device "
                f"{device.id}) is not set"
            )
        return value
    if device.password_file:
        try:  # UTF-8 with or without BOM (Notepad's), another encoding named: textfiles.py
            return read_text(device.password_file, MAX_SECRET_BYTES).rstrip("\r\n")
        except (OSError, ValueError) as exc:
            raise OpcuaSetupError(
                f"cannot read password_file {device.password_file} of device {device.id}: {exc}"
            ) from exc
    return None
