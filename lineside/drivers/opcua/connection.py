"""One client session to one endpoint: open (securely), guard, close.

Session discipline (no session floods): a `Connection` holds at most one session. The
driver closes it before opening another. When a session was lost without a clean close
(network cut, agent killed), its authentication token is still persisted under
``<state_dir>/opcua/<device>.session.json``; the next open first re-activates that
session on the new channel and closes it, so the server never holds two sessions from
this agent for one endpoint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.ua import UaStatusCodeError

from lineside.drivers.opcua.framing import guard_framing
from lineside.drivers.opcua.security import (
    NONE_URI,
    POLICIES,
    CertificateRejectedByServer,
    OpcuaSetupError,
    Pki,
    UserRejected,
    ensure_client_certificate,
    read_password,
)
from lineside.drivers.opcua.servercert import check_server_certificate
from lineside.drivers.opcua.settings import OpcuaDevice

log = logging.getLogger(__name__)

# Services the agent must never issue (docs/design.md: the agent never writes to a PLC).
FORBIDDEN_REQUESTS = frozenset({
    "WriteRequest", "CallRequest", "HistoryUpdateRequest", "AddNodesRequest",
    "AddReferencesRequest", "DeleteNodesRequest", "DeleteReferencesRequest",
    "RegisterServerRequest", "RegisterServer2Request",
})

_CERT_REJECTED = {
    "BadCertificateUntrusted", "BadSecurityChecksFailed", "BadCertificateInvalid",
    "BadCertificateUriInvalid", "BadCertificateTimeInvalid", "BadCertificateRevoked",
    "BadCertificateIssuerRevoked", "BadCertificateUseNotAllowed", "BadCertificateHostNameInvalid",
    "BadCertificateRevocationUnknown", "BadCertificateIssuerRevocationUnknown",
}
_USER_REJECTED = {
    "BadUserAccessDenied", "BadIdentityTokenRejected", "BadIdentityTokenInvalid",
    "BadUserSignatureInvalid",
}

# Publish faults after which the subscription can only be re-created
_PUBLISH_FATAL = {
    "BadSessionIdInvalid", "BadSessionClosed", "BadSessionNotActivated", "BadNoSubscription",
    "BadSubscriptionIdInvalid",
}

# OperationLimits (Part 5 §6.3.11); 0 or absent = no declared limit
_LIMITS = {
    "max_nodes_per_read": ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
    "max_items_per_call":
        ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxMonitoredItemsPerCall,
    "max_paths_per_call": ua.ObjectIds.
        Server_ServerCapabilities_OperationLimits_MaxNodesPerTranslateBrowsePathsToNodeIds,
}


class ForbiddenService(RuntimeError):
    pass


class _ChannelRefused(Exception):
    pass


@dataclass
class Limits:
    max_nodes_per_read: int | None = None
    max_items_per_call: int | None = None
    max_paths_per_call: int | None = None


@dataclass
class Connection:
    device: OpcuaDevice
    state_dir: Path
    client: Client | None = None
    namespaces: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    requests: dict[str, int] = field(default_factory=dict)  # request type -> count

    @property
    def pki(self) -> Pki:
        return Pki.for_device(self.device, self.state_dir)

    @property
    def session_file(self) -> Path:
        return Path(self.state_dir) / "opcua" / f"{self.device.id}.session.json"

    async def open(self, on_lost: Callable[[Exception], Coroutine[Any, Any, None]]) -> None:
        """Connect and activate one session; raises OpcuaSetupError for fixable problems."""
        if self.client is not None:
            raise RuntimeError("connection already open; close it first (one session only)")
        d = self.device
        stale = self.session_file.is_file()
        client = await self._make_client()
        try:
            created = self.requests.get("CreateSessionRequest", 0)
            await self._connect(client)
            # no CreateSession sent: asyncua re-activated the persisted session
            # (a token comparison is not enough: some servers number tokens 1, 2, ...
            # again after a restart)
            if stale and self.requests.get("CreateSessionRequest", 0) == created:
                # we re-activated a session left behind by a dirty loss: close it (and its
                # subscriptions) and start clean, so exactly one session exists
                log.info("%s: closing the session left from the previous connection", d.id)
                await _abandon(client, graceful=True, timeout=d.timeout_s)
                client = await self._make_client()
                await self._connect(client)
        except BaseException:
            await _abandon(client)
            raise
        client.connection_lost_callback = on_lost
        self._watch_publish(client, on_lost)
        self.client = client
        try:
            self.namespaces = await client.get_namespace_array()
            self.limits = await self._read_limits(client)
        except BaseException:
            await self.close()
            raise

    async def _make_client(self) -> Client:
        d = self.device
        # watchdog_intervall: asyncua's supervisor would otherwise Read ServerState every
        # second; the driver detects loss itself (socket close, publish keep-alive, poll
        # failure), so the poll cycle stays exactly one Read.
        client = Client(d.endpoint, timeout=d.timeout_s, watchdog_intervall=3600.0)
        client.application_uri = d.application_uri
        client.name = f"lineside {d.id}"
        client.description = client.name
        client.product_uri = "urn:lineside"
        client.session_timeout = int(d.session_timeout_s * 1000)
        client.session_state_path = self.session_file
        self._guard(client)
        guard_framing(client)  # garbage on the port: malformed at once, not a timeout
        password = read_password(d)
        if d.username:
            client.set_user(d.username)
        if password is not None:
            client.set_password(password)
        if d.security_policy != "None":
            # first start: create our certificate before anything can fail, so the
            # integrator can hand it to the server's administrator right away
            cert, key = ensure_client_certificate(self.pki, d.application_uri)
        endpoints = await asyncio.wait_for(client.connect_and_get_server_endpoints(), d.timeout_s)
        if d.security_policy == "None":
            ep = _pick(endpoints, NONE_URI, ua.MessageSecurityMode.None_, d)
        else:
            policy = POLICIES[d.security_policy]
            mode = getattr(ua.MessageSecurityMode, d.security_mode)
            ep = _pick(endpoints, policy.URI, mode, d)
            # dates, chain to the trust list, CRLs; the server's own certificate back
            server_der = check_server_certificate(ep.ServerCertificate, self.pki, d.endpoint)
            await client.set_security(policy, str(cert), str(key), server_certificate=server_der,
                                      mode=mode)
        # the user token policies of the endpoint, so a persisted session can be
        # re-activated with the right PolicyId before any CreateSession
        client._policy_ids = ep.UserIdentityTokens
        return client

    async def _connect(self, client: Client) -> None:
        d = self.device
        open_channel = client.open_secure_channel

        async def tagged_open(renew: bool = False) -> None:
            try:
                await open_channel(renew)
            except Exception as exc:
                raise _ChannelRefused(repr(exc)) from exc

        # servers that distrust our certificate often just drop the OpenSecureChannel
        # (node-opcua, many PLCs): tag that phase so the message can say so
        client.open_secure_channel = tagged_open  # type: ignore[method-assign]  # wrapped, see above
        try:
            await asyncio.wait_for(client.connect(auto_reconnect=False), d.timeout_s * 2)
        except _ChannelRefused as exc:
            if d.security_policy == "None":
                raise ConnectionError(f"OpenSecureChannel failed: {exc}") from exc
            raise CertificateRejectedByServer(
                f"the server {d.endpoint} refused to open a {d.security_policy}/"
                f"{d.security_mode} secure channel ({exc}); most likely it does not trust "
                f"the client certificate. {self._trust_hint()}"
            ) from exc
        except UaStatusCodeError as exc:
            raise self._explain(exc) from exc
        except ua.UaError as exc:
            raise self._explain(exc) from exc

    def _explain(self, exc: Exception) -> Exception:
        name = type(exc).__name__
        code = getattr(exc, "code", None)
        if code is not None:
            name = ua.StatusCode(code).name
        d = self.device
        if name in _CERT_REJECTED:
            return CertificateRejectedByServer(
                f"the server {d.endpoint} rejected the client certificate ({name}). "
                f"{self._trust_hint()}"
            )
        if name in _USER_REJECTED:
            who = f"user {d.username!r}" if d.username else "anonymous access"
            source = (f"environment variable {d.password_env}" if d.password_env
                      else f"file {d.password_file}" if d.password_file else "no password")
            return UserRejected(
                f"the server {d.endpoint} rejected {who} ({name}); check the username and "
                f"the password (read from {source})"
            )
        return exc

    @staticmethod
    def _watch_publish(client: Client,
                       on_lost: Callable[[Exception], Coroutine[Any, Any, None]]) -> None:
        """Report a Publish answered with "session/subscription gone" at once.

        asyncua's publish loop retries such faults quietly forever (or stops on
        BadNoSubscription); the keep-alive watchdog would notice only seconds later.
        """
        session = client.uaclient.session
        publish = session.publish

        async def watched(acks: list[ua.SubscriptionAcknowledgement]) -> ua.PublishResponse:
            try:
                return await publish(acks)
            except UaStatusCodeError as exc:
                name = ua.StatusCode(exc.code).name
                if name in _PUBLISH_FATAL:
                    await on_lost(exc)
                raise

        session.publish = watched  # type: ignore[method-assign]  # wrapped, see above

    def _trust_hint(self) -> str:
        return (
            f"Trust {self.pki.cert} on the server (node-opcua: copy it into "
            "<server pki>/trusted/certs/; most servers and PLCs: move it from their rejected "
            "to their trusted list, e.g. on the PLC's web page or with UaExpert) and the "
            "driver connects on its next retry"
        )

    def _guard(self, client: Client) -> None:
        """Refuse forbidden services at the transport and count every request by type."""
        uaclient = client.uaclient
        send = uaclient._send_request
        counts = self.requests

        async def guarded(request: Any, *args: Any, **kwargs: Any) -> Any:
            kind = type(request).__name__
            if kind in FORBIDDEN_REQUESTS:
                raise ForbiddenService(f"{kind} refused: lineside never writes to a device")
            counts[kind] = counts.get(kind, 0) + 1
            return await send(request, *args, **kwargs)

        uaclient._send_request = guarded  # type: ignore[method-assign]  # wrapped, see above

    async def _read_limits(self, client: Client) -> Limits:
        ids = [ua.NodeId(ua.Int32(i)) for i in _LIMITS.values()]
        params = ua.ReadParameters()
        params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=ua.AttributeIds.Value)
                              for n in ids]
        results = await client.uaclient.session.read(params)
        limits = Limits()
        for name, dv in zip(_LIMITS, results, strict=True):
            good = dv.StatusCode is None or dv.StatusCode.is_good()  # absent: Good (Part 4)
            v = dv.Value.Value if dv.Value is not None and good else None
            if isinstance(v, int) and v > 0:
                setattr(limits, name, v)
        return limits

    async def close(self) -> None:
        """Close the session (deleting its subscriptions) and the channel; never raises.

        With the transport already gone there is nobody to say CloseSession to: the
        socket is dropped and the persisted token kept for the next open to clean up.
        """
        client, self.client = self.client, None
        if client is not None:
            client.connection_lost_callback = None
            alive = client.uaclient.state.name == "CONNECTED"
            await _abandon(client, graceful=alive, timeout=self.device.timeout_s)


async def _abandon(client: Client, graceful: bool = True, timeout: float = 2.0) -> None:
    if graceful:
        try:
            await asyncio.wait_for(client.uaclient.close_session(True), timeout)
        except (TimeoutError, Exception):
            pass
        else:
            client._clear_persisted_session()
    # the session file stays when the close failed: the next open re-activates and closes
    # that session instead of leaving it to time out on the server
    for task in (client._supervisor_task, client._stale_watchdog_task,
                 client._renew_channel_task):
        if task is not None and not task.done():
            task.cancel()
    publish = client.uaclient.session._publish_task
    if publish is not None and not publish.done():
        publish.cancel()
    try:
        client.uaclient.request_disconnect()
        client.disconnect_socket()
    except Exception:
        pass


def _pick(endpoints: list[ua.EndpointDescription], policy_uri: str,
          mode: ua.MessageSecurityMode, d: OpcuaDevice) -> ua.EndpointDescription:
    for ep in endpoints:
        if ep.SecurityPolicyUri == policy_uri and ep.SecurityMode == mode:
            return ep
    offered = ", ".join(
        f"{ep.SecurityPolicyUri.rsplit('#', 1)[-1]}/{ep.SecurityMode.name.rstrip('_')}"
        for ep in endpoints
    ) or "none"
    raise OpcuaSetupError(
        f"{d.endpoint} offers no endpoint with security {d.security_policy}/{d.security_mode}; "
        f"it offers: {offered}"
    )
