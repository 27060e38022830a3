// The client of benchmark (g), bench/many_websockets.py, on node's `ws` (tests/js's
// node_modules, through NODE_PATH): N connections to one URL, each sending one event
// per second at a random phase for S seconds, answers matched by id.
//
//   node bench/many_websockets_client.js URL N SECONDS RATE AT_ONCE WAIT PREFIX SUFFIX
//
// Protocol on stdout/stdin, one JSON line each: it prints {"connected": n, ...} once
// every connection is open (or failed), waits for a line on stdin, runs the load,
// prints the tally once every answer is in (or WAIT seconds after the last send), then
// closes the connections and exits.
"use strict";
const WebSocket = require("ws");
const readline = require("readline");

const [url, n, seconds, rate, atOnce, wait, prefix, suffix] = process.argv.slice(2);
const N = Number(n), S = Number(seconds), RATE = Number(rate), AT_ONCE = Number(atOnce);
const WAIT = Number(wait) * 1000;
const tally = { connected: 0, sent: 0, answered: 0, duplicated: 0, lost: 0, errors: 0, samples: [] };
const latencies = new Float64Array(N * S);
const sockets = [];
const lags = [];
const worst = new Array(S).fill(0); // the slowest answer to the events of each second
let opening = 0, started = false, finished = false;

function error(what) {
  tally.errors += 1;
  if (tally.samples.length < 5) tally.samples.push(String(what).slice(0, 200));
}

function open(index) {
  opening += 1;
  const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 60000 });
  const conn = { ws, index, pending: new Map(), answered: new Set(), open: false };
  ws.on("open", () => { opening -= 1; conn.open = true; tally.connected += 1; sockets.push(conn); settle(); });
  ws.on("error", (e) => { if (!conn.open) { opening -= 1; settle(); } error(`${conn.open ? "connection" : "connect"}: ${e.message}`); });
  ws.on("close", () => { if (conn.open && started && !finished) error(`closed early: connection ${index}`); });
  ws.on("message", (data) => {
    const now = performance.now();
    let reply;
    try { reply = JSON.parse(data.toString()); } catch (e) { error(`unreadable answer: ${e}`); return; }
    const sentAt = conn.pending.get(reply.id);
    if (sentAt === undefined) {
      if (conn.answered.has(reply.id)) tally.duplicated += 1;
      else error(`answer to an unknown id: ${reply.id}`);
      return;
    }
    conn.pending.delete(reply.id);
    conn.answered.add(reply.id);
    if (reply.name !== "some event:response") { error(`error answer: ${data.toString().slice(0, 150)}`); return; }
    const latency = now - sentAt;
    latencies[tally.answered++] = latency;
    const second = Number(reply.id.split("-")[1]);
    worst[second] = Math.max(worst[second], latency);
  });
}

let next = 0, announced = false;
function settle() {
  if (!announced && tally.connected + tally.errors >= N) {
    announced = true;
    console.log(JSON.stringify({ connected: tally.connected, errors: tally.errors }));
  }
}
const opener = setInterval(() => {
  for (let k = 0; k < RATE / 20 && next < N && opening < AT_ONCE; k++) open(next++);
  if (next >= N) clearInterval(opener);
}, 50);

function run() {
  started = true;
  // how late the event loop runs: a 50 ms timer's overshoot, as the Python client measures it
  let tick = performance.now();
  const lag = setInterval(() => { const now = performance.now(); lags.push(now - tick - 50); tick = now; }, 50);
  const cpu = process.cpuUsage();
  const begin = performance.now() + 1000;
  for (const conn of sockets) {
    const phase = Math.random() * 1000;
    let k = 0;
    const send = () => {
      if (conn.ws.readyState !== WebSocket.OPEN) return;
      const id = `${conn.index}-${k}`;
      conn.pending.set(id, performance.now());
      conn.ws.send(prefix + id + suffix);
      tally.sent += 1;
      k += 1;
      if (k < S) setTimeout(send, Math.max(0, begin + phase + k * 1000 - performance.now()));
    };
    setTimeout(send, begin + phase - performance.now());
  }
  const deadline = begin + S * 1000 + 1000 + WAIT;
  const check = setInterval(() => {
    const expected = sockets.length * S;
    if ((tally.sent >= expected && tally.answered + tally.errors >= tally.sent) || performance.now() > deadline) {
      clearInterval(check);
      finish(cpu, lag);
    }
  }, 100);
}

function finish(cpu, lag) {
  finished = true;
  const used = process.cpuUsage(cpu);
  clearInterval(lag);
  for (const conn of sockets) tally.lost += conn.pending.size;
  const sorted = latencies.subarray(0, tally.answered).sort();
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null);
  console.log(JSON.stringify({
    ...tally,
    p50_ms: at(0.5), p90_ms: at(0.9), p99_ms: at(0.99), p999_ms: at(0.999), max_ms: at(1),
    client_cpu: (used.user + used.system) / 1e6,
    client_sys_cpu: used.system / 1e6,
    worst_ms_by_second: worst.map((v) => Math.round(v * 10) / 10),
    client_lag_p99_ms: lags.length ? lags.sort((a, b) => a - b)[Math.floor(0.99 * (lags.length - 1))] : 0,
  }));
  for (const conn of sockets) conn.ws.close();
  setTimeout(() => process.exit(0), 5000).unref();
}

const input = readline.createInterface({ input: process.stdin });
input.once("line", () => { input.close(); run(); });
