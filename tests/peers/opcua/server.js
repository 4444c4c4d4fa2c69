// node-opcua test peer for the lineside OPC UA driver tests: an independent stack.
// Same address space and control protocol as asyncua_server.py:
//   ns "urn:lineside:test:plant" (index shifted by --ns-padding)
//   Objects/Line1: Line1.Counter Int32 (+1 per tick), Line1.Temperature Double,
//     Line1.Running Boolean, Line1.State String, Line1.BadSensor (BadSensorFailure),
//     Line1.Uncertain (UncertainLastUsableValue), Line1.Removable Int32
//   Objects/Bulk: Bulk.V00000.. Double, set to the tick number every tick
//   Objects/Packer (changed only by `set`, for counter and mode scenarios):
//     Packer.State Int32 6 (PackML Execute), Packer.UnitMode Int32 1 (Production),
//     Packer.Good UInt32, Packer.Reject UInt16, Packer.Signed Int16 (all 0)
// --cert/--key: serve this certificate (PEM; a chain: the server's first, then its CAs)
// instead of the one node-opcua creates in --pki.
// Control: TCP line protocol on --ctl-port, one JSON reply per line:
//   stats | remove <nodeid> | status <nodeid> <code> | set <nodeid> <json> | drop-sessions
"use strict";
const net = require("net");
const path = require("path");
const {
  OPCUAServer, OPCUACertificateManager, Variant, DataType, StatusCodes, StatusCode,
  SecurityPolicy, MessageSecurityMode, DataValue, resolveNodeId,
} = require("node-opcua");

function parseArgs(argv) {
  const a = { port: 0, ctlPort: 0, pki: null, secure: false, users: [], maxNodesPerRead: 0,
              bulk: 0, rate: 1, nsPadding: 0, cert: null, key: null };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    switch (k) {
      case "--port": a.port = +v; i++; break;
      case "--ctl-port": a.ctlPort = +v; i++; break;
      case "--pki": a.pki = v; i++; break;
      case "--secure": a.secure = true; break;
      case "--user": a.users.push(v); i++; break;
      case "--max-nodes-per-read": a.maxNodesPerRead = +v; i++; break;
      case "--bulk": a.bulk = +v; i++; break;
      case "--rate": a.rate = +v; i++; break;
      case "--ns-padding": a.nsPadding = +v; i++; break;
      case "--cert": a.cert = v; i++; break;
      case "--key": a.key = v; i++; break;
      default: throw new Error("unknown option " + k);
    }
  }
  return a;
}

const NS_URI = "urn:lineside:test:plant";
const stats = { sessions: 0, max_sessions: 0, created_sessions: 0, requests: {},
                max_read_size: 0 };

async function main() {
  const args = parseArgs(process.argv);
  const users = {};
  for (const u of args.users) { const i = u.indexOf(":"); users[u.slice(0, i)] = u.slice(i + 1); }
  const pki = args.pki || path.join(__dirname, ".pki-" + args.port);
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: pki, automaticallyAcceptUnknownCertificate: false,
  });
  await serverCertificateManager.initialize();
  const securityPolicies = [SecurityPolicy.None];
  const securityModes = [MessageSecurityMode.None];
  if (args.secure) {
    securityPolicies.push(SecurityPolicy.Basic256Sha256, SecurityPolicy.Aes128_Sha256_RsaOaep,
                          SecurityPolicy.Aes256_Sha256_RsaPss);
    securityModes.push(MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt);
  }
  const hasUsers = Object.keys(users).length > 0;
  const server = new OPCUAServer({
    port: args.port,
    resourcePath: "/lineside",
    hostname: "127.0.0.1",
    serverCertificateManager,
    ...(args.cert ? { certificateFile: args.cert, privateKeyFile: args.key } : {}),
    securityPolicies,
    securityModes,
    allowAnonymous: !hasUsers,
    userManager: { isValidUser: (u, p) => hasUsers && users[u] === p },
    serverInfo: { applicationUri: "urn:lineside:test:node-opcua-peer",
                  productUri: "urn:lineside:test", applicationName: { text: "lineside node-opcua peer" } },
    serverCapabilities: args.maxNodesPerRead
      ? { operationLimits: { maxNodesPerRead: args.maxNodesPerRead } } : undefined,
    maxConnectionsPerEndpoint: 50,
  });
  await server.initialize();

  server.on("create_session", () => {
    stats.created_sessions++;
    stats.sessions = server.currentSessionCount;
    stats.max_sessions = Math.max(stats.max_sessions, stats.sessions);
  });
  server.on("session_closed", () => { stats.sessions = server.currentSessionCount; });
  server.on("request", (request) => {
    const name = request.constructor.name;
    stats.requests[name] = (stats.requests[name] || 0) + 1;
    if (name === "ReadRequest" && request.nodesToRead) {
      stats.max_read_size = Math.max(stats.max_read_size, request.nodesToRead.length);
    }
  });

  const addressSpace = server.engine.addressSpace;
  for (let i = 0; i < args.nsPadding; i++) addressSpace.registerNamespace("urn:lineside:test:padding:" + i);
  const ns = addressSpace.registerNamespace(NS_URI);
  const objects = addressSpace.rootFolder.objects;
  const line = ns.addObject({ organizedBy: objects, browseName: "Line1", nodeId: "s=Line1" });
  const vars = {};
  function add(parent, name, dataType, value) {
    vars[name] = ns.addVariable({
      componentOf: parent, browseName: name.split(".")[1], nodeId: "s=" + name,
      dataType, value: { dataType: DataType[dataType], value },
    });
    return vars[name];
  }
  add(line, "Line1.Counter", "Int32", 0);
  add(line, "Line1.Temperature", "Double", 20.0);
  add(line, "Line1.Running", "Boolean", true);
  add(line, "Line1.State", "String", "Execute");
  add(line, "Line1.BadSensor", "Double", 0.0);
  add(line, "Line1.Uncertain", "Double", 1.5);
  add(line, "Line1.Removable", "Int32", 7);
  vars["Line1.BadSensor"].setValueFromSource({ dataType: DataType.Double, value: 0 },
                                            StatusCodes.BadSensorFailure);
  vars["Line1.Uncertain"].setValueFromSource({ dataType: DataType.Double, value: 1.5 },
                                            StatusCodes.UncertainLastUsableValue);
  const packer = ns.addObject({ organizedBy: objects, browseName: "Packer", nodeId: "s=Packer" });
  add(packer, "Packer.State", "Int32", 6);
  add(packer, "Packer.UnitMode", "Int32", 1);
  add(packer, "Packer.Good", "UInt32", 0);
  add(packer, "Packer.Reject", "UInt16", 0);
  add(packer, "Packer.Signed", "Int16", 0);
  const bulkObj = ns.addObject({ organizedBy: objects, browseName: "Bulk", nodeId: "s=Bulk" });
  const bulk = [];
  for (let i = 0; i < args.bulk; i++) {
    bulk.push(add(bulkObj, "Bulk.V" + String(i).padStart(5, "0"), "Double", 0.0));
  }

  const ctl = net.createServer((sock) => {
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line_ = buf.slice(0, i).trim(); buf = buf.slice(i + 1);
        const parts = line_.split(" ");
        let reply;
        try {
          if (parts[0] === "stats") {
            stats.sessions = server.currentSessionCount;
            reply = stats;
          } else if (parts[0] === "drop-sessions") {
            // the server forgets every session (as after a session timeout), sockets stay up
            const engine = server.engine;
            for (const sess of Object.values(engine._sessions)) {
              engine.closeSession(sess.authenticationToken, true, "Terminated");
            }
            reply = { ok: true };
          } else if (parts[0] === "remove") {
            addressSpace.deleteNode(resolveNodeId(parts[1]));
            reply = { ok: true };
          } else if (parts[0] === "status") {
            const node = addressSpace.findNode(parts[1]);
            node.setValueFromSource(node.readValue().value.value === undefined
              ? { dataType: DataType.Null } : node.readValue().value,
              StatusCode.makeStatusCode(Number(parts[2]) >>> 0));
            reply = { ok: true };
          } else if (parts[0] === "set") {
            const node = addressSpace.findNode(parts[1]);
            const dv = node.readValue().value;
            node.setValueFromSource({ dataType: dv.dataType, value: JSON.parse(parts.slice(2).join(" ")) });
            reply = { ok: true };
          } else {
            reply = { error: "unknown command " + parts[0] };
          }
        } catch (e) { reply = { error: String(e) }; }
        sock.write(JSON.stringify(reply) + "\n");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise((r) => ctl.listen(args.ctlPort, "127.0.0.1", r));
  await server.start();
  console.log("READY " + server.getEndpointUrl() + " ns=" + ns.index);

  let tick = 0;
  const period = 1000 / args.rate;
  let next = Date.now();
  const step = () => {
    tick++;
    const now = new Date();
    vars["Line1.Counter"].setValueFromSource({ dataType: DataType.Int32, value: tick }, StatusCodes.Good, now);
    vars["Line1.Temperature"].setValueFromSource(
      { dataType: DataType.Double, value: 20 + 5 * Math.sin(tick / 10) }, StatusCodes.Good, now);
    for (const v of bulk) v.setValueFromSource({ dataType: DataType.Double, value: tick }, StatusCodes.Good, now);
    next += period;
    setTimeout(step, Math.max(0, next - Date.now()));
  };
  setTimeout(step, period);

  const stop = async () => { try { await server.shutdown(0); } finally { process.exit(0); } };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
