"""Whether to talk to a server: its certificate's dates, its chain to our trust list, CRLs.

The client's share of OPC UA Part 4 §6.1.3 certificate validation, in this order so that
each refusal names the one thing to fix:

1. **validity dates** of the server's own certificate (`BadCertificateTimeInvalid`): an
   expired certificate cannot be made acceptable by trusting it, it must be renewed on
   the server; one not valid yet means one of the two clocks is wrong;
2. **chain**: the certificate is trusted when it, or a CA certificate that issued it at
   any depth, is in `trusted/`. The chain is built from the certificates the server
   sends after its own (the ServerCertificate field may hold the whole chain), the CA
   certificates in `trusted/` and those in `issuers/` (CAs that help build a chain but
   are not trusted by themselves, as in Part 12's layout). Every certificate of the chain
   must be within its dates too (`BadCertificateIssuerTimeInvalid`). The chain is checked
   by `cryptography`'s X.509 path validation with asyncua's trust-store policy (a CA must
   say `cA=true`), given the intermediates; asyncua's `TrustStore.is_trusted` itself
   passes none, so it cannot follow a chain the server sends;
3. **revocation**, where CRLs are given (`trusted/crl/`, `issuers/crl/`, or `*.crl` files
   in `trusted/` and `issuers/`): a CRL counts for a certificate when it names the
   certificate's issuer and its signature verifies with that issuer's key (asyncua's
   `TrustStore.is_revoked` matches serial numbers of any CRL, whoever signed it). An
   issuer without a CRL is not an error: plants rarely run a CA with revocation.

Not trusted: the certificate is saved under `rejected/` and the message says how to
trust it (`lineside trust`, or move the file). Expired or revoked: nothing is saved,
trusting would not help.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

from asyncua import Client
from asyncua.crypto.truststore import basic_ca_validator
from cryptography import x509
from cryptography.x509 import verification

from lineside.drivers.opcua.security import (
    OpcuaSetupError,
    Pki,
    UntrustedServerCertificate,
    common_name,
    describe,
    file_name_for,
    load_certificates,
)

log = logging.getLogger(__name__)

MAX_CHAIN_DEPTH = 8  # CAs between the server's certificate and a trusted one


class ServerCertificateTimeInvalid(OpcuaSetupError):
    """The server's certificate, or a CA certificate of its chain, is outside its dates."""


class ServerCertificateRevoked(OpcuaSetupError):
    """A CRL of the issuer lists the server's certificate or a CA of its chain."""


def split_chain(data: bytes) -> list[bytes]:
    """The DER certificates of a ServerCertificate field, leaf first.

    OPC UA lets a server send its certificate followed by its issuers, concatenated.
    """
    out = []
    pos = 0
    while pos < len(data):
        if data[pos] != 0x30 or pos + 2 > len(data):
            raise ValueError(f"not a DER certificate at byte {pos} of the server certificate")
        first = data[pos + 1]
        if first < 0x80:
            head, length = 2, first
        else:
            n = first & 0x7F
            head, length = 2 + n, int.from_bytes(data[pos + 2:pos + 2 + n], "big")
        end = pos + head + length
        if end > len(data):
            raise ValueError("truncated DER certificate in the server certificate")
        out.append(data[pos:end])
        pos = end
    if not out:
        raise ValueError("the server sent an empty certificate")
    return out


@dataclass
class TrustMaterial:
    trusted: list[x509.Certificate]
    issuers: list[x509.Certificate]
    crls: list[tuple[Path, x509.CertificateRevocationList]]

    @classmethod
    def load(cls, pki: Pki) -> TrustMaterial:
        crls: list[tuple[Path, x509.CertificateRevocationList]] = []
        for folder in (pki.trusted, pki.trusted / "crl", pki.issuers, pki.issuers / "crl"):
            crls += _load_crls(folder)
        return cls(trusted=[x509.load_der_x509_certificate(d)
                            for d in load_certificates(pki.trusted)],
                   issuers=[x509.load_der_x509_certificate(d)
                            for d in load_certificates(pki.issuers)],
                   crls=crls)


def _load_crls(folder: Path) -> list[tuple[Path, x509.CertificateRevocationList]]:
    out: list[tuple[Path, x509.CertificateRevocationList]] = []
    if not folder.is_dir():
        return out
    for f in sorted(folder.iterdir()):
        if not f.is_file() or f.suffix.lower() not in (".crl", ".der", ".pem"):
            continue
        data = f.read_bytes()
        try:
            crl = (x509.load_pem_x509_crl(data) if data.lstrip().startswith(b"-----BEGIN")
                   else x509.load_der_x509_crl(data))
        except ValueError:
            if f.suffix.lower() == ".crl":  # .der/.pem in trusted/ are certificates
                log.warning("ignoring %s: not a certificate revocation list", f)
            continue
        out.append((f, crl))
    return out


def _when(t: dt.datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M} UTC"


def _dates_problem(cert: x509.Certificate, now: dt.datetime) -> str | None:
    if cert.not_valid_after_utc < now:
        days = (now - cert.not_valid_after_utc).days
        return f"expired on {_when(cert.not_valid_after_utc)} ({days} days ago)"
    if cert.not_valid_before_utc > now:
        return f"is not valid before {_when(cert.not_valid_before_utc)}"
    return None


def _issuer_path(leaf: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The CAs above `leaf` found in `pool` by name and signature (for messages only)."""
    path: list[x509.Certificate] = []
    cur = leaf
    while len(path) < MAX_CHAIN_DEPTH and cur.issuer != cur.subject:
        for ca in pool:
            if ca.subject == cur.issuer and ca not in path:
                try:
                    cur.verify_directly_issued_by(ca)
                except Exception:  # another CA of the same name, or a bad signature
                    continue
                path.append(ca)
                cur = ca
                break
        else:
            break
    return path


def verify_chain(leaf: x509.Certificate, intermediates: list[x509.Certificate],
                 trusted: list[x509.Certificate], now: dt.datetime) -> list[x509.Certificate]:
    """The validated chain, leaf first, ending at a trusted certificate; raises
    `verification.VerificationError` when there is none."""
    if not trusted:
        raise verification.VerificationError("the trust list is empty")
    builder = (verification.PolicyBuilder()
               .store(verification.Store(trusted))
               .time(now)
               .max_chain_depth(MAX_CHAIN_DEPTH)
               .extension_policies(
                   ca_policy=verification.ExtensionPolicy.permit_all().require_present(
                       x509.BasicConstraints, verification.Criticality.AGNOSTIC,
                       basic_ca_validator),
                   ee_policy=verification.ExtensionPolicy.permit_all()))
    # a client verifier checks no host name: OPC UA servers are named by application URI
    return list(builder.build_client_verifier().verify(leaf, intermediates).chain)


def _revocation(chain: list[x509.Certificate],
                crls: list[tuple[Path, x509.CertificateRevocationList]]) -> str | None:
    for cert, issuer in itertools.pairwise(chain):
        for path, crl in crls:
            if crl.issuer != issuer.subject:
                continue
            if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]  # a CA's RSA/EC key
                log.warning("ignoring CRL %s: it names %s as issuer but is not signed by it",
                            path, common_name(issuer))
                continue
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                what = ("the server certificate" if cert is chain[0]
                        else f"its CA certificate CN={common_name(cert)}")
                return (f"{what} was revoked on {_when(entry.revocation_date_utc)} "
                        f"(CRL {path} of CN={common_name(issuer)})")
    return None


def check_server_certificate(chain_der: bytes, pki: Pki, endpoint: str,
                             now: dt.datetime | None = None) -> bytes:
    """Accept the server's certificate or raise a clear `OpcuaSetupError`; returns its DER.

    `chain_der` is the endpoint's ServerCertificate: the server's certificate, possibly
    followed by its issuers.
    """
    now = now or dt.datetime.now(dt.UTC)
    ders = split_chain(chain_der)
    leaf_der = ders[0]
    leaf = x509.load_der_x509_certificate(leaf_der)
    sent = [x509.load_der_x509_certificate(d) for d in ders[1:]]
    clock = f"this gateway's clock says {_when(now)}"

    problem = _dates_problem(leaf, now)
    if problem is not None:
        advice = ("The server needs a new certificate: renew it on the server (or its "
                  "engineering tool), then trust the new one with `lineside trust`"
                  if leaf.not_valid_after_utc < now else
                  "One of the two clocks is wrong: check NTP on this gateway and on the server")
        raise ServerCertificateTimeInvalid(
            f"the server certificate of {endpoint} {problem}; {clock} ({describe(leaf_der)}). "
            f"{advice}. The driver retries on its own.")

    material = TrustMaterial.load(pki)
    try:
        chain = verify_chain(leaf, sent + material.issuers, material.trusted, now)
    except verification.VerificationError as exc:
        # say which CA is out of its dates, if that is why no chain holds
        for ca in _issuer_path(leaf, sent + material.trusted + material.issuers):
            ca_problem = _dates_problem(ca, now)
            if ca_problem is not None:
                raise ServerCertificateTimeInvalid(
                    f"the CA certificate CN={common_name(ca)} that issued the server "
                    f"certificate of {endpoint} {ca_problem}; {clock}. Renew the CA "
                    f"certificate (and what it issued) or check this gateway's clock "
                    f"(NTP).") from exc
        pki.rejected.mkdir(parents=True, exist_ok=True)
        saved = pki.rejected / file_name_for(leaf_der)
        saved.write_bytes(leaf_der)
        above = _issuer_path(leaf, sent + material.issuers)
        via = (f" It was issued by CN={common_name(above[-1])}, which is not trusted "
               f"either: trusting that CA trusts every certificate it issues."
               if above else "")
        raise UntrustedServerCertificate(
            f"the server certificate of {endpoint} is not trusted ({describe(leaf_der)})."
            f"{via} It was saved to {saved}. After checking its thumbprint with the "
            f"server's administrator, trust it with `lineside trust --endpoint {endpoint} "
            f"--trust-dir {pki.trusted}` or copy the file into {pki.trusted}/"
        ) from exc
    revoked = _revocation(chain, material.crls)
    if revoked is not None:
        raise ServerCertificateRevoked(
            f"{endpoint}: {revoked}. The server needs a certificate that is not revoked; "
            f"trusting this one again would not help.")
    return leaf_der


async def fetch_certificates(endpoint: str, timeout: float) -> list[bytes]:
    """Distinct server certificates (DER) offered on the endpoint's secured endpoints,
    fetched with GetEndpoints over an unsecured channel (no session, no credentials:
    the step a client takes before it can trust anything; `lineside trust`)."""
    client = Client(endpoint, timeout=timeout)
    endpoints = await asyncio.wait_for(client.connect_and_get_server_endpoints(), timeout)
    out: list[bytes] = []
    for ep in endpoints:
        if ep.ServerCertificate:
            der = split_chain(ep.ServerCertificate)[0]  # its own, not its issuers
            if der not in out:
                out.append(der)
    return out
