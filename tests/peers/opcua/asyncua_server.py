"""asyncua test peer for the lineside OPC UA driver tests, run as its own process.

Same address space and control protocol as server.js (node-opcua), so a test can run
against either stack:

    ns "urn:lineside:test:plant" (its index can be shifted with --ns-padding)
    Objects/Line1 (BrowseName 1:Line1 with no padding):
        Line1.Counter Int32 (+1 every tick), Line1.Temperature Double, Line1.Running
        Boolean, Line1.State String, Line1.BadSensor (BadSensorFailure),
        Line1.Uncertain (UncertainLastUsableValue), Line1.Removable Int32
    Objects/Packer (changed only by `set`): Packer.State Int32 6, Packer.UnitMode Int32 1,
        Packer.Good UInt32, Packer.Reject UInt16, Packer.Signed Int16 (all 0)
    Objects/Bulk: Bulk.V00000 .. Bulk.V<bulk-1> Double, all set to the tick number
        every tick (SourceTimestamp = time of change)

Control: a TCP line protocol on --ctl-port, one JSON reply per line:
    stats | remove <nodeid> | status <nodeid> <code> | set <nodeid> <json> | drop-sessions
stats = {"sessions", "max_sessions", "created_sessions", "requests": {type: n},
         "max_read_size"}
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import math
import sys
from pathlib import Path

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto import cert_gen
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server import internal_session, uaprocessor
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from lineside.simulator.aspace import init_server

NS_URI = "urn:lineside:test:plant"
STATS: dict = {"sessions": 0, "max_sessions": 0, "created_sessions": 0, "requests": {},
               "max_read_size": 0}


class Users:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(self, iserver, username=None, password=None, certificate=None):
        if not self.users:
            return User(role=UserRole.User)
        if username in self.users and self.users[username] == password:
            return User(role=UserRole.User, name=username)
        return None


def instrument(max_read: int | None) -> None:
    """Count sessions and requests; enforce a small MaxNodesPerRead like real PLCs do."""
    original = uaprocessor.UaProcessor._process_message

    async def process(self, typeid, requesthdr, seqhdr, body):
        name = ua.ObjectIdNames.get(typeid.Identifier, str(typeid.Identifier))
        name = name.replace("_Encoding_DefaultBinary", "")
        STATS["requests"][name] = STATS["requests"].get(name, 0) + 1
        return await original(self, typeid, requesthdr, seqhdr, body)

    uaprocessor.UaProcessor._process_message = process

    original_read = internal_session.InternalSession.read

    async def read(self, params):
        if self.external:
            n = len(params.NodesToRead)
            STATS["max_read_size"] = max(STATS["max_read_size"], n)
            if max_read and n > max_read:
                raise ua.UaStatusCodeError(ua.StatusCodes.BadTooManyOperations)
        return await original_read(self, params)

    internal_session.InternalSession.read = read


def count_sessions(server: Server) -> None:
    iserver = server.iserver
    reg, unreg = iserver.register_external_session, iserver.unregister_external_session

    def register(session):
        reg(session)
        STATS["created_sessions"] += 1
        STATS["sessions"] = len(iserver._external_sessions)
        STATS["max_sessions"] = max(STATS["max_sessions"], STATS["sessions"])

    def unregister(session):
        unreg(session)
        STATS["sessions"] = len(iserver._external_sessions)

    iserver.register_external_session = register
    iserver.unregister_external_session = unregister


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ctl-port", type=int, required=True)
    ap.add_argument("--pki", type=Path, help="server cert/key; clients trusted from <pki>/trusted")
    ap.add_argument("--secure", action="store_true", help="offer the secured endpoints too")
    ap.add_argument("--user", action="append", default=[], help="user:password")
    ap.add_argument("--max-nodes-per-read", type=int)
    ap.add_argument("--hide-limits", action="store_true",
                    help="enforce --max-nodes-per-read without declaring it (like many PLCs)")
    ap.add_argument("--bulk", type=int, default=0)
    ap.add_argument("--rate", type=float, default=1.0, help="ticks per second")
    ap.add_argument("--ns-padding", type=int, default=0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    instrument(args.max_nodes_per_read)
    users = dict(u.split(":", 1) for u in args.user)
    server = Server(user_manager=Users(users))
    # asyncua's standard address space from the user's cache, as the simulator does:
    # a start in ~0.2 s, not ~3 s of CPU; the same space (tests/simulator/test_aspace.py)
    await init_server(server)
    count_sessions(server)
    server.set_endpoint(f"opc.tcp://127.0.0.1:{args.port}/lineside")
    server.set_server_name("lineside asyncua peer")
    await server.set_application_uri("urn:lineside:test:asyncua-peer")
    policies = [ua.SecurityPolicyType.NoSecurity]
    if args.secure:
        assert args.pki, "--secure needs --pki"
        args.pki.mkdir(parents=True, exist_ok=True)
        (args.pki / "trusted").mkdir(exist_ok=True)
        key, cert = args.pki / "server_key.pem", args.pki / "server_cert.der"
        await cert_gen.setup_self_signed_certificate(
            key, cert, "urn:lineside:test:asyncua-peer", "127.0.0.1",
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], {},
        )
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        policies += [
            ua.SecurityPolicyType.Basic256Sha256_Sign,
            ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
            ua.SecurityPolicyType.Aes128Sha256RsaOaep_SignAndEncrypt,
            ua.SecurityPolicyType.Aes256Sha256RsaPss_SignAndEncrypt,
        ]
        trusted_dir = args.pki / "trusted"

        async def validator(cert, app_description):
            # exact-match trust list, re-read on every session so tests can trust later
            der = cert.public_bytes(Encoding.DER)
            for f in trusted_dir.iterdir():
                if f.read_bytes() == der:
                    return
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

        server.set_certificate_validator(validator)
    server.set_security_policy(policies)
    if users:
        server.set_identity_tokens([ua.UserNameIdentityToken])
    if args.max_nodes_per_read and not args.hide_limits:
        await server.write_attribute_value(
            ua.NodeId(ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead),
            ua.DataValue(ua.Variant(args.max_nodes_per_read, ua.VariantType.UInt32)),
        )

    for i in range(args.ns_padding):
        await server.register_namespace(f"urn:lineside:test:padding:{i}")
    idx = await server.register_namespace(NS_URI)
    objects = server.nodes.objects
    line = await objects.add_object(ua.NodeId("Line1", idx), ua.QualifiedName("Line1", idx))
    nodes = {}

    async def var(parent, name, value, vtype):
        node = await parent.add_variable(ua.NodeId(name, idx),
                                         ua.QualifiedName(name.split(".", 1)[1], idx),
                                         ua.Variant(value, vtype))
        nodes[name] = node
        return node

    await var(line, "Line1.Counter", 0, ua.VariantType.Int32)
    await var(line, "Line1.Temperature", 20.0, ua.VariantType.Double)
    await var(line, "Line1.Running", True, ua.VariantType.Boolean)
    await var(line, "Line1.State", "Execute", ua.VariantType.String)
    await var(line, "Line1.BadSensor", 0.0, ua.VariantType.Double)
    await var(line, "Line1.Uncertain", 1.5, ua.VariantType.Double)
    await var(line, "Line1.Removable", 7, ua.VariantType.Int32)
    packer = await objects.add_object(ua.NodeId("Packer", idx), ua.QualifiedName("Packer", idx))
    for name, value, vtype in (("Packer.State", 6, ua.VariantType.Int32),
                               ("Packer.UnitMode", 1, ua.VariantType.Int32),
                               ("Packer.Good", 0, ua.VariantType.UInt32),
                               ("Packer.Reject", 0, ua.VariantType.UInt16),
                               ("Packer.Signed", 0, ua.VariantType.Int16)):
        await var(packer, name, value, vtype)
    bulk = await objects.add_object(ua.NodeId("Bulk", idx), ua.QualifiedName("Bulk", idx))
    bulk_ids = []
    for i in range(args.bulk):
        n = await var(bulk, f"Bulk.V{i:05d}", 0.0, ua.VariantType.Double)
        bulk_ids.append(n.nodeid)

    async def set_status(name: str, code: int, value, vtype) -> None:
        await server.write_attribute_value(
            nodes[name].nodeid,
            ua.DataValue(ua.Variant(value, vtype), StatusCode=ua.StatusCode(code),
                         SourceTimestamp=dt.datetime.now(dt.UTC)),
        )

    await set_status("Line1.BadSensor", ua.StatusCodes.BadSensorFailure, 0.0,
                     ua.VariantType.Double)
    await set_status("Line1.Uncertain", ua.StatusCodes.UncertainLastUsableValue, 1.5,
                     ua.VariantType.Double)

    async def control(reader, writer):
        try:
            while line_ := await reader.readline():
                parts = line_.decode().strip().split(" ", 2)
                try:
                    if parts[0] == "stats":
                        reply = STATS
                    elif parts[0] == "drop-sessions":
                        # the server forgets every session (as after a session timeout)
                        for sess in list(server.iserver._external_sessions.values()):
                            await sess.close_session(True)
                        reply = {"ok": True}
                    elif parts[0] == "remove":
                        await server.delete_nodes([server.get_node(parts[1])], recursive=True)
                        reply = {"ok": True}
                    elif parts[0] == "status":
                        await server.write_attribute_value(
                            ua.NodeId.from_string(parts[1]),
                            ua.DataValue(StatusCode=ua.StatusCode(int(parts[2], 0)),
                                         SourceTimestamp=dt.datetime.now(dt.UTC)))
                        reply = {"ok": True}
                    elif parts[0] == "set":
                        node = server.get_node(parts[1])
                        vtype = (await node.read_data_value()).Value.VariantType
                        await node.write_value(ua.Variant(json.loads(parts[2]), vtype))
                        reply = {"ok": True}
                    else:
                        reply = {"error": f"unknown command {parts[0]}"}
                except Exception as exc:
                    reply = {"error": repr(exc)}
                writer.write((json.dumps(reply) + "\n").encode())
                await writer.drain()
        finally:
            writer.close()

    ctl = await asyncio.start_server(control, "127.0.0.1", args.ctl_port)
    async with server:
        print(f"READY opc.tcp://127.0.0.1:{args.port}/lineside ns={idx}", flush=True)
        tick = 0
        period = 1.0 / args.rate
        loop = asyncio.get_running_loop()
        next_t = loop.time()
        while True:
            tick += 1
            now = dt.datetime.now(dt.UTC)
            await server.write_attribute_value(
                nodes["Line1.Counter"].nodeid,
                ua.DataValue(ua.Variant(tick, ua.VariantType.Int32), SourceTimestamp=now))
            await server.write_attribute_value(
                nodes["Line1.Temperature"].nodeid,
                ua.DataValue(ua.Variant(20 + 5 * math.sin(tick / 10), ua.VariantType.Double),
                             SourceTimestamp=now))
            v = ua.Variant(float(tick), ua.VariantType.Double)
            for nid in bulk_ids:
                await server.write_attribute_value(nid, ua.DataValue(v, SourceTimestamp=now))
            next_t += period
            await asyncio.sleep(max(0.0, next_t - loop.time()))
    ctl.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
