// The Socket.IO clients of the push fan-out benchmark (bench/fanout.py), in one node
// process: node bench/fanout_client.js URL COUNT, with NODE_PATH=tests/js/node_modules.
//
// Opens COUNT clients to URL over the WebSocket transport, each on the namespaces
// /events and /bare over one connection (one Manager each), a few at a time; then
// prints one JSON line per message on stdout:
//   {"type": "ready", "clients": N, "seconds": S, "rss": BYTES, "rssBefore": BYTES}
//     all connected (resident memory now and before the first client)
//   {"type": "done", "push": ID, "last": MS}  every connected client has push ID
//     (MS: the last one's Date.now())
//   {"type": "stats", ...}  on "stats" from stdin: per push, clients that got it,
//     duplicates, first and last receive times; CPU time since ready; disconnects
// and exits when stdin closes.
"use strict";

const { Manager } = require("socket.io-client");
const readline = require("node:readline");

const [url, countText, concurrencyText] = process.argv.slice(2);
const count = Number(countText);
const concurrency = Number(concurrencyText || 50);
const NAMESPACES = ["/events", "/bare"];

const pushes = new Map(); // push id -> {got, dup, first, last}
const managers = [];
let disconnects = 0;
let errors = 0;
let readyCpu = null;
let connected = Infinity; // the clients that connected, once all tried
const rssBefore = process.memoryUsage().rss;

function say(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function openClient() {
  const manager = new Manager(url, {
    transports: ["websocket"],
    reconnection: false,
    timeout: 60000,
  });
  managers.push(manager);
  const seen = new Set(); // the push ids this client got (exactly once each)
  return Promise.all(
    NAMESPACES.map(
      (namespace) =>
        new Promise((resolve, reject) => {
          const socket = manager.socket(namespace);
          socket.on("event", (envelope) => {
            const now = Date.now();
            const id = envelope.payload.push;
            let push = pushes.get(id);
            if (push === undefined) {
              push = { got: 0, dup: 0, first: now, last: now };
              pushes.set(id, push);
            }
            if (seen.has(id)) {
              push.dup += 1;
              return;
            }
            seen.add(id);
            push.got += 1;
            if (now > push.last) push.last = now;
            if (push.got === connected) say({ type: "done", push: id, last: push.last });
          });
          socket.once("connect", resolve);
          socket.once("connect_error", (error) => reject(error));
          socket.on("disconnect", () => {
            disconnects += 1;
          });
          socket.connect();
        }),
    ),
  );
}

async function main() {
  const started = Date.now();
  let next = 0;
  async function opener() {
    while (next < count) {
      next += 1;
      try {
        await openClient();
      } catch (error) {
        errors += 1;
        say({ type: "error", message: String(error) });
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, opener));
  connected = count - errors;
  for (const [id, push] of pushes) {
    if (push.got === connected) say({ type: "done", push: id, last: push.last });
  }
  readyCpu = process.cpuUsage();
  say({
    type: "ready",
    clients: count - errors,
    errors,
    seconds: (Date.now() - started) / 1000,
    rss: process.memoryUsage().rss,
    rssBefore,
  });
}

const input = readline.createInterface({ input: process.stdin });
input.on("line", (line) => {
  if (line.trim() === "stats") {
    const cpu = process.cpuUsage(readyCpu || undefined);
    say({
      type: "stats",
      pushes: Object.fromEntries(pushes),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rss: process.memoryUsage().rss,
      disconnects,
      errors,
    });
  }
});
input.on("close", () => {
  for (const manager of managers) manager.engine && manager.engine.close();
  process.exit(0);
});

main();
