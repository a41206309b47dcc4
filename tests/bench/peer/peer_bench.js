#!/usr/bin/env node
// Side-by-side peer benchmark (issue #15): the same purchase-order workload
// against Treaty (treatyd over gRPC) and Restate (restate-server with a
// Node.js SDK service), with the same driver, in one run.
//
// Each order is four calls -- start, submit, accept, pay -- and each call
// waits for its durable result (Treaty: the step ordered, applied and
// committed with --sync full; Restate: the handler's invocation completed,
// its journal and state in Restate's fsynced log). A "step" here is one
// such call, the start included, for both systems.
//
// Per system it prints: confirmed steps/s at saturation (closed loop, N
// concurrent orders); the server's CPU per step (utime + stime of
// /proc/PID/stat over the phase: treatyd; restate-server plus the Node.js
// SDK service-endpoint process); the server's disk bytes written per step
// (write_bytes of /proc/PID/io over the phase, the same processes); p50 and
// p99 latency at a fixed offered rate (open loop, latency counted from the
// time each call was due). Then the ratios against the targets of #15 and
// the machine's limits measured in the same run.
//
// No build step: plain CommonJS. The npm packages come from --modules
// (default build/peer/node_modules, installed by deploy/bench.sh --peer
// restate from tests/bench/peer/package.json).
//
// The same file is also the Restate service endpoint: the driver starts it
// as a child process with --serve-restate, so its CPU and writes can be
// counted apart from the driver's.
'use strict';

// The Restate SDK uses Promise.withResolvers, which Node 20 lacks. Loaded
// before anything else.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');
const http2 = require('http2');
const net = require('net');
const { spawn, execFileSync } = require('child_process');
const { createRequire } = require('module');
const { performance } = require('perf_hooks');

const ROOT = path.resolve(__dirname, '..', '..', '..');

// ------------------------------------------------------------------ flags

const USAGE = `usage: node tests/bench/peer/peer_bench.js [options]
  --peer NAME              peer to compare with Treaty (only: restate)  [restate]
  --systems LIST           which to run, comma-separated                [treaty,restate]
  --treatyd PATH           the treatyd binary        [$TREATY_TREATYD or build/bin/treatyd]
  --modules DIR            node_modules with the npm packages           [build/peer/node_modules]
  --work DIR               scratch folder for data and logs (emptied)   [build/peer/run]
  --concurrency N          concurrent orders at saturation              [64]
  --seconds S              saturation phase                             [10]
  --warmup S               closed-loop warm-up before it, not counted   [3]
  --rate R                 offered steps/s for the latency phase        [1000]
  --rate-seconds S         latency phase                                [10]
  --limit-seconds S        each machine-limit probe                     [1]
  --partitions N           Restate partitions                           [the core count]
  --restate-provider P     Restate's log (bifrost) provider: replicated or local [replicated]
  --restate-journal-retention D   journal retention of the service, e.g. 0s [the server's default]
  --restate-claim          also claim po_number in a second virtual object (Treaty's unique key)
  --restate-endpoint E     the SDK endpoint: http2 (bidirectional streams) or http1
                           (request-response over HTTP/1.1)                 [http2]
  --treaty-port P          [17420]
  --restate-ports I,A,N,E  ingress, admin, node, service endpoint       [8080,9070,5122,9080]`;

function parseArgs(argv) {
  const a = {
    peer: 'restate',
    systems: null,
    treatyd: process.env.TREATY_TREATYD || path.join(ROOT, 'build/bin/treatyd'),
    modules: path.join(ROOT, 'build/peer/node_modules'),
    work: path.join(ROOT, 'build/peer/run'),
    concurrency: 64,
    seconds: 10,
    warmup: 3,
    rate: 1000,
    rateSeconds: 10,
    limitSeconds: 1,
    partitions: os.cpus().length,
    restateProvider: 'replicated',
    restateJournalRetention: null,
    restateClaim: false,
    restateEndpoint: 'http2',
    treatyPort: 17420,
    restatePorts: [8080, 9070, 5122, 9080],
    serveRestate: false,
    port: 9080,
  };
  const num = (v, name) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a number: ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; ++i) {
    const f = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${f} needs a value`);
      return argv[++i];
    };
    switch (f) {
      case '--peer': a.peer = v(); break;
      case '--systems': a.systems = v().split(',').filter(Boolean); break;
      case '--treatyd': a.treatyd = path.resolve(v()); break;
      case '--modules': a.modules = path.resolve(v()); break;
      case '--work': a.work = path.resolve(v()); break;
      case '--concurrency': a.concurrency = num(v(), f); break;
      case '--seconds': a.seconds = num(v(), f); break;
      case '--warmup': a.warmup = num(v(), f); break;
      case '--rate': a.rate = num(v(), f); break;
      case '--rate-seconds': a.rateSeconds = num(v(), f); break;
      case '--limit-seconds': a.limitSeconds = num(v(), f); break;
      case '--partitions': a.partitions = num(v(), f); break;
      case '--restate-provider': a.restateProvider = v(); break;
      case '--restate-journal-retention': a.restateJournalRetention = v(); break;
      case '--restate-claim': a.restateClaim = true; break;
      case '--restate-endpoint': a.restateEndpoint = v(); break;
      case '--treaty-port': a.treatyPort = num(v(), f); break;
      case '--restate-ports': a.restatePorts = v().split(',').map((p) => num(p, f)); break;
      case '--serve-restate': a.serveRestate = true; break;  // internal: the SDK endpoint
      case '--port': a.port = num(v(), f); break;            // internal: its port
      case '-h': case '--help': console.log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${f}\n${USAGE}`);
    }
  }
  if (a.peer !== 'restate') throw new Error(`--peer ${a.peer}: only restate is supported`);
  if (!a.systems) a.systems = ['treaty', a.peer];
  for (const s of a.systems) {
    if (s !== 'treaty' && s !== 'restate') throw new Error(`--systems: unknown system ${s}`);
  }
  if (!['replicated', 'local'].includes(a.restateProvider)) {
    throw new Error('--restate-provider: replicated or local');
  }
  if (!['http2', 'http1'].includes(a.restateEndpoint)) throw new Error('--restate-endpoint: http2 or http1');
  if (a.restatePorts.length !== 4) throw new Error('--restate-ports: four ports');
  return a;
}

function loadModule(modules, name) {
  // Resolve from the folder the packages were installed into, not from
  // this file's folder (which has no node_modules).
  const req = createRequire(path.join(modules, '..', 'peer_bench_resolver.js'));
  try {
    return req(name);
  } catch (e) {
    throw new Error(`cannot load ${name} from ${modules} (run deploy/bench.sh --peer restate, ` +
                    `or npm ci in ${path.dirname(modules)}): ${e.message}`);
  }
}

// ------------------------------------------------- the Restate service

// The purchase order of examples/purchase-order/purchase-order.yaml as a
// keyed virtual object: the key is the order id, the state one K/V entry
// "order". Each handler checks its transition and input as Treaty's
// machine does (from-state, the input schema, pay's guard) and fails with
// a TerminalError (HTTP 409 or 400 at the ingress) otherwise, changing
// nothing. Roles are not modelled: on a single Treaty node every role is
// the node's own.
function serveRestate(args) {
  const restate = loadModule(args.modules, '@restatedev/restate-sdk');
  const { TerminalError } = restate;
  const bad = (msg) => new TerminalError(msg, { errorCode: 400 });
  const wrongState = (step, from, st) =>
    new TerminalError(`NOT_FROM_STATE: ${step} needs ${from}, order is ${st || 'not started'}`, { errorCode: 409 });
  const isInt = (x) => Number.isSafeInteger(x);

  const options = {};
  if (args.restateJournalRetention) options.journalRetention = args.restateJournalRetention;

  const poNumber = restate.object({
    name: 'PoNumber',
    handlers: {
      // Claims a po_number for an order: the first claim wins.
      claim: async (ctx, orderId) => {
        const owner = await ctx.get('owner');
        if (owner && owner !== orderId) {
          throw new TerminalError(`DUPLICATE_KEY: po_number ${ctx.key} belongs to ${owner}`, { errorCode: 409 });
        }
        if (!owner) ctx.set('owner', orderId);
        return true;
      },
    },
    options,
  });

  const purchaseOrder = restate.object({
    name: 'PurchaseOrder',
    handlers: {
      start: async (ctx) => {
        const o = await ctx.get('order');
        if (o) throw new TerminalError(`ALREADY_EXISTS: order ${ctx.key}`, { errorCode: 409 });
        ctx.set('order', { state: 'draft' });
        return { state: 'draft', position: 0 };
      },
      submit: async (ctx, input) => {
        const o = await ctx.get('order');
        if (!o || o.state !== 'draft') throw wrongState('submit', 'draft', o && o.state);
        if (!input || typeof input !== 'object') throw bad('input must be an object');
        const { po_number: po, items, total } = input;
        if (typeof po !== 'string' || po.length < 1 || po.length > 64) throw bad('po_number: string of 1..64');
        if (!Array.isArray(items) || items.length < 1) throw bad('items: a non-empty array');
        for (const it of items) {
          if (!it || typeof it !== 'object') throw bad('items[]: objects');
          if (it.sku !== undefined && (typeof it.sku !== 'string' || it.sku.length < 1)) throw bad('items[].sku');
          if (it.qty !== undefined && (!isInt(it.qty) || it.qty < 1)) throw bad('items[].qty');
        }
        if (!isInt(total) || total < 1) throw bad('total: integer >= 1');
        if (args.restateClaim) await ctx.objectClient(poNumber, po).claim(ctx.key);
        o.state = 'submitted';
        o.po_number = po;
        o.items = items;
        o.total = total;
        o.position = 1;
        ctx.set('order', o);
        return { state: o.state, position: o.position };
      },
      accept: async (ctx) => {
        const o = await ctx.get('order');
        if (!o || o.state !== 'submitted') throw wrongState('accept', 'submitted', o && o.state);
        o.state = 'accepted';
        o.position = 2;
        ctx.set('order', o);
        return { state: o.state, position: o.position };
      },
      pay: async (ctx, input) => {
        const o = await ctx.get('order');
        if (!o || o.state !== 'accepted') throw wrongState('pay', 'accepted', o && o.state);
        if (!input || !isInt(input.amount)) throw bad('amount: integer');
        if (input.amount !== o.total) {
          throw new TerminalError('GUARD_FALSE: input.amount == data.total', { errorCode: 409 });
        }
        o.state = 'paid';
        o.paid = input.amount;
        o.position = 3;
        ctx.set('order', o);
        return { state: o.state, position: o.position, final: true };
      },
    },
    options,
  });

  const services = args.restateClaim ? [purchaseOrder, poNumber] : [purchaseOrder];
  const handler = restate.createEndpointHandler({ services });
  const server = args.restateEndpoint === 'http1' ? http.createServer({ keepAlive: true }, handler)
                                                  : http2.createServer(handler);
  server.listen(args.port, '127.0.0.1', () => {
    console.log(`restate service endpoint (${args.restateEndpoint}) on 127.0.0.1:${args.port} (pid ${process.pid})`);
  });
  // Nothing durable lives here: close and go, without waiting for the
  // server's HTTP/2 sessions to end.
  const bye = () => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
}

// --------------------------------------------------------- measurements

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch (e) {
    return 100;
  }
})();

// utime + stime of a process (all its threads, live and exited), in ms.
function procCpuMs(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');  // f[0] is field 3 (state)
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;  // fields 14, 15
}

function procIo(pid) {
  const out = {};
  for (const line of fs.readFileSync(`/proc/${pid}/io`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

// The whole machine's busy and total jiffies.
function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((x, y) => x + y, 0);  // without guest (already in user)
  const idle = f[3] + f[4];
  return { busyMs: ((total - idle) * 1000) / CLK_TCK, totalMs: (total * 1000) / CLK_TCK };
}

// A snapshot of the server processes (CPU, writes), the driver and the machine.
function snapshot(procs) {
  const s = { t: performance.now(), procs: {}, driver: process.cpuUsage(), machine: machineCpu() };
  for (const p of procs) {
    const io = procIo(p.pid);
    s.procs[p.name] = { cpu: procCpuMs(p.pid), write: io.write_bytes, cancelled: io.cancelled_write_bytes };
  }
  return s;
}

function diff(a, b, steps) {
  const sec = (b.t - a.t) / 1000;
  const r = { sec, procs: {}, cpuMs: 0, writeBytes: 0, cancelledBytes: 0 };
  for (const name of Object.keys(a.procs)) {
    const cpu = b.procs[name].cpu - a.procs[name].cpu;
    const write = b.procs[name].write - a.procs[name].write;
    const cancelled = b.procs[name].cancelled - a.procs[name].cancelled;
    r.procs[name] = { cpu, write, cancelled };
    r.cpuMs += cpu;
    r.writeBytes += write;
    r.cancelledBytes += cancelled;
  }
  r.driverMs = (b.driver.user - a.driver.user + b.driver.system - a.driver.system) / 1000;
  r.machineBusyMs = b.machine.busyMs - a.machine.busyMs;
  r.otherMs = Math.max(0, r.machineBusyMs - r.cpuMs - r.driverMs);
  r.steps = steps;
  return r;
}

function pct(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const fmt = (x, d = 0) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------ child processes

const children = [];

function startProcess(name, cmd, argv, { env, logFile } = {}) {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(cmd, argv, { env: { ...process.env, ...(env || {}) }, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const p = { name, child, pid: child.pid, cmd: [cmd, ...argv].join(' '), logFile };
  p.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.on('error', (e) => console.error(`${name}: ${e.message}`));
  children.push(p);
  return p;
}

function alive(p) {
  return p.child.exitCode === null && p.child.signalCode === null;
}

// SIGTERM by PID, then wait; SIGKILL after the timeout.
async function stopProcess(p, timeoutMs = 20000) {
  if (!alive(p)) return;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch (e) {
    return;
  }
  // The last CPU and write counters before it exits (a server may write
  // deferred data while it shuts down).
  const poll = () => {
    try {
      p.last = { cpu: procCpuMs(p.pid), write: procIo(p.pid).write_bytes };
    } catch (e) { /* exiting */ }
  };
  poll();
  const poller = setInterval(poll, 10);
  const t = setTimeout(() => {
    if (alive(p)) {
      console.error(`${p.name} (pid ${p.pid}) did not stop in ${timeoutMs / 1000} s: SIGKILL`);
      try { process.kill(p.pid, 'SIGKILL'); } catch (e) { /* gone */ }
    }
  }, timeoutMs);
  await p.exited;
  clearTimeout(t);
  clearInterval(poller);
}

async function stopAll() {
  for (const p of children.slice().reverse()) await stopProcess(p);
}

process.on('exit', () => {
  // Last resort (an exception past the handlers): nothing we started outlives us.
  for (const p of children) if (alive(p)) { try { process.kill(p.pid, 'SIGKILL'); } catch (e) { /* gone */ } }
});

function checkAlive(p) {
  if (!alive(p)) throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}); see ${p.logFile}`);
}

async function waitFor(what, fn, timeoutMs, procs = []) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    for (const p of procs) checkAlive(p);
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

async function assertPortsFree(ports) {
  for (const port of ports) {
    if (await portOpen(port)) throw new Error(`127.0.0.1:${port} is in use: stop what listens there or pick other ports`);
  }
}

// ------------------------------------------------------------- workload

// Every order: start, submit, accept, pay. po_number is unique per order
// (Treaty's definition makes it a network-wide unique key).
const STEPS = ['start', 'submit', 'accept', 'pay'];
const TOTAL = 250;
const submitInput = (id) => ({ po_number: id, items: [{ sku: 'A-1', qty: 2 }], total: TOTAL });
const payInput = { amount: TOTAL };

// Closed loop: `concurrency` orders in flight, each call awaited before the
// next; counts calls confirmed within the phase, snapshots at its edges.
async function saturation(sys, { concurrency, seconds, prefix, procs }) {
  let stop = false;
  let confirmed = 0;
  let confirmedAll = 0;  // with the calls that were in flight at the end
  let errors = 0;
  const firstErrors = [];
  const lat = [];
  let end = null;
  const start = snapshot(procs);
  const timer = setTimeout(() => {
    stop = true;
    end = { snap: snapshot(procs), confirmed };
  }, seconds * 1000);
  const worker = async (w) => {
    for (let n = 0; !stop; ++n) {
      const id = `${prefix}-${w}-${n}`;
      for (const step of STEPS) {
        if (stop) break;
        const t = performance.now();
        try {
          await sys.call(step, id);
          confirmedAll++;
          if (!stop) {
            confirmed++;
            lat.push(performance.now() - t);
          }
        } catch (e) {
          if (!stop) errors++;
          if (firstErrors.length < 3) firstErrors.push(`${step} ${id}: ${e.message}`);
          break;  // abandon the order
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  clearTimeout(timer);
  if (!end) end = { snap: snapshot(procs), confirmed };
  lat.sort((x, y) => x - y);
  const d = diff(start, end.snap, end.confirmed);
  return { ...d, confirmed: end.confirmed, confirmedAll, rate: end.confirmed / d.sec, errors, firstErrors,
           p50: pct(lat, 50), p99: pct(lat, 99), startSnap: start };
}

// Open loop: call i is due at t0 + i/rate whatever happened before; each
// goes to an order whose previous step is confirmed, or starts a new one.
// Latency is counted from the due time, so a stall cannot hide the calls
// it delayed (no coordinated omission).
async function fixedRate(sys, { rate, seconds, prefix, procs }) {
  const total = Math.round(rate * seconds);
  const ready = [];
  const lat = [];
  let newOrders = 0;
  let errors = 0;
  let inflight = 0;
  let maxInflight = 0;
  const firstErrors = [];
  const pending = new Set();
  const late = [];  // how late the driver issued each call (its own share of the latency)
  const issue = (due) => {
    late.push(performance.now() - due);
    const o = ready.length ? ready.pop() : { id: `${prefix}-${newOrders++}`, next: 0 };
    const step = STEPS[o.next];
    inflight++;
    maxInflight = Math.max(maxInflight, inflight);
    const pr = sys.call(step, o.id).then(
      () => {
        lat.push(performance.now() - due);
        if (++o.next < STEPS.length) ready.push(o);
      },
      (e) => {
        errors++;
        if (firstErrors.length < 3) firstErrors.push(`${step} ${o.id}: ${e.message}`);
      },
    ).finally(() => {
      inflight--;
      pending.delete(pr);
    });
    pending.add(pr);
  };
  const start = snapshot(procs);
  const t0 = performance.now();
  let issued = 0;
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    while (issued < due) issue(t0 + (issued++ * 1000) / rate);
    await sleep(1);
  }
  const issuedAt = snapshot(procs);
  while (pending.size) await Promise.all([...pending]);
  lat.sort((x, y) => x - y);
  late.sort((x, y) => x - y);
  const d = diff(start, issuedAt, lat.length);
  return { ...d, offered: rate, achieved: total / d.sec, confirmed: lat.length, errors, firstErrors,
           p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1], maxInflight,
           lateP50: pct(late, 50), lateP99: pct(late, 99), lateMax: late[late.length - 1] };
}

// Both systems must check the same rules: a wrong transition, a bad input
// and a false guard are refused, the right calls confirmed.
async function validationCheck(sys) {
  const id = 'check-1';
  const expect = async (ok, what, step, input, order = id) => {
    let err = null;
    try {
      await sys.call(step, order, input);
    } catch (e) {
      err = e;
    }
    if (ok && err) throw new Error(`validation check: ${what} failed: ${err.message}`);
    if (!ok && !err) throw new Error(`validation check: ${what} was confirmed, it must be refused`);
    return err ? err.message.replace(/\s+/g, ' ').slice(0, 90) : 'confirmed';
  };
  const refused = [];
  await expect(true, 'start', 'start');
  refused.push(`accept before submit: ${await expect(false, 'accept before submit', 'accept')}`);
  refused.push(`submit with total 0: ${await expect(false, 'submit with total 0', 'submit',
                                                    { po_number: 'check-0', items: [{ sku: 'A-1', qty: 1 }], total: 0 })}`);
  await expect(true, 'submit', 'submit');
  await expect(true, 'accept', 'accept');
  refused.push(`pay 1 of ${TOTAL}: ${await expect(false, 'pay with the wrong amount', 'pay', { amount: 1 })}`);
  await expect(true, 'pay', 'pay');
  refused.push(`pay again: ${await expect(false, 'pay after paid', 'pay')}`);
  return refused;
}

// ------------------------------------------------------- machine limits

function machineLine() {
  const model = (os.cpus()[0] || {}).model || 'unknown cpu';
  return `machine: ${os.cpus().length} cores (${model.trim()}), ${fmt(os.totalmem() / 2 ** 30, 0)} GiB, ` +
         `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
}

// 4 KiB pwrite + fdatasync in a loop, in the folder the servers write to.
function fsyncLimit(dir, seconds) {
  const file = path.join(dir, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.alloc(4096, 7);
  const lat = [];
  const end = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < end) {
    const t = performance.now();
    fs.writeSync(fd, buf, 0, buf.length, (i++ % 256) * 4096);
    fs.fdatasyncSync(fd);
    lat.push(performance.now() - t);
  }
  fs.closeSync(fd);
  fs.unlinkSync(file);
  lat.sort((x, y) => x - y);
  return { rate: lat.length / seconds, p50: pct(lat, 50), max: lat[lat.length - 1] };
}

// A closed loop of no-op calls with the same concurrency: what this
// driver and the transport can do at most.
async function noopLimit(call, concurrency, seconds) {
  let stop = false;
  let n = 0;
  let errors = 0;
  const t0 = performance.now();
  setTimeout(() => { stop = true; }, seconds * 1000);
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (!stop) {
      try {
        await call();
        n++;
      } catch (e) {
        errors++;
        if (errors > 100) throw e;
      }
    }
  }));
  return { rate: n / ((performance.now() - t0) / 1000), errors };
}

// ---------------------------------------------------------------- Treaty

async function setupTreaty(args) {
  const grpc = loadModule(args.modules, '@grpc/grpc-js');
  const protoLoader = loadModule(args.modules, '@grpc/proto-loader');
  if (!fs.existsSync(args.treatyd)) {
    throw new Error(`no treatyd at ${args.treatyd}: build it (deploy/build.sh) or pass --treatyd / TREATY_TREATYD`);
  }
  const def = protoLoader.loadSync(path.join(ROOT, 'proto/treaty/v1/treaty.proto'), {
    keepCase: true, longs: Number, enums: String,
    includeDirs: [path.join(ROOT, 'proto')],
  });
  const pkg = grpc.loadPackageDefinition(def).treaty.v1;
  await assertPortsFree([args.treatyPort]);
  const dataDir = path.join(args.work, 'treaty-data');
  fs.mkdirSync(dataDir, { recursive: true });
  const addr = `127.0.0.1:${args.treatyPort}`;
  const proc = startProcess('treatyd', args.treatyd, ['--data', dataDir, '--listen', addr, '--plaintext', '--party', 'acme'],
                            { logFile: path.join(args.work, 'treatyd.log') });
  const processes = new pkg.Processes(addr, grpc.credentials.createInsecure());
  const node = new pkg.Node(addr, grpc.credentials.createInsecure());
  const unary = (client, method, req) => new Promise((resolve, reject) => {
    client[method](req, (err, res) => (err ? reject(new Error(`${err.code} ${err.details}`)) : resolve(res)));
  });
  await waitFor('treatyd to answer Node.Status', async () => (await unary(node, 'Status', {})) !== undefined, 30000, [proc]);
  const status = await unary(node, 'Status', {});
  const confirmed = (res) => {
    if (res.outcome !== 'CONFIRMED') throw new Error(`${res.outcome} ${res.reject_code} ${res.reason}`);
    return res;
  };
  const call = async (step, id, input) => {
    switch (step) {
      case 'start':
        return confirmed(await unary(processes, 'StartProcess', { definition: 'purchase-order', instance_id: id }));
      case 'submit':
        return confirmed(await unary(processes, 'TriggerStep',
                                     { instance_id: id, step: 'submit', input_json: JSON.stringify(input || submitInput(id)) }));
      case 'accept':
        return confirmed(await unary(processes, 'TriggerStep', { instance_id: id, step: 'accept' }));
      case 'pay':
        return confirmed(await unary(processes, 'TriggerStep',
                                     { instance_id: id, step: 'pay', input_json: JSON.stringify(input || payInput) }));
      default:
        throw new Error(step);
    }
  };
  const empty = Buffer.alloc(0);  // grpc.health.v1.HealthCheckRequest{} is no bytes
  const noop = () => new Promise((resolve, reject) => {
    processes.makeUnaryRequest('/grpc.health.v1.Health/Check', () => empty, (b) => b, {},
                               (err, res) => (err ? reject(err) : resolve(res)));
  });
  return {
    name: 'treaty',
    title: `Treaty: treatyd ${status.version || ''} (${args.treatyd}), embedded ledger, --sync full (default), 127.0.0.1:${args.treatyPort}`.replace('  ', ' '),
    procs: [proc],
    countedAs: 'treatyd',
    call,
    noop,
    noopName: 'no-op gRPC calls/s (grpc.health.v1.Health/Check on treatyd)',
    config: [`command: ${proc.cmd}`],
    close: async () => {
      processes.close();
      node.close();
      await stopProcess(proc);
    },
    dataDir,
  };
}

// --------------------------------------------------------------- Restate

function restateBinary(modules) {
  const arch = os.arch();
  const bin = path.join(modules, '@restatedev', `restate-server-linux-${arch}`, 'bin', 'restate-server');
  if (!fs.existsSync(bin)) throw new Error(`no restate-server at ${bin} (npm install @restatedev/restate-server)`);
  return bin;
}

function restateConfig(args, [ingress, admin, nodePort]) {
  // Only what differs from restate-server's defaults for a single node
  // (restate-server --dump-config prints the rest).
  return [
    '# Written by tests/bench/peer/peer_bench.js: the best configuration found',
    '# for this machine (docs/performance.md, issue #15).',
    `default-num-partitions = ${args.partitions}   # one per core; the default is 24`,
    'disable-telemetry = true',
    `bind-address = "127.0.0.1:${nodePort}"`,
    `advertised-address = "http://127.0.0.1:${nodePort}/"`,
    'log-filter = "warn"',
    '',
    '[ingress]',
    `bind-address = "127.0.0.1:${ingress}"`,
    `advertised-ingress-endpoint = "http://127.0.0.1:${ingress}/"`,
    '',
    '[admin]',
    `bind-address = "127.0.0.1:${admin}"`,
    '',
    '[bifrost]',
    `default-provider = "${args.restateProvider}"`,
    '',
  ].join('\n');
}

async function setupRestate(args) {
  const bin = restateBinary(args.modules);
  const version = execFileSync(bin, ['--version']).toString().trim();
  const [ingressPort, adminPort, nodePort, endpointPort] = args.restatePorts;
  await assertPortsFree(args.restatePorts);
  const base = path.join(args.work, 'restate-data');
  fs.mkdirSync(base, { recursive: true });
  const configFile = path.join(args.work, 'restate.toml');
  const config = restateConfig(args, args.restatePorts);
  fs.writeFileSync(configFile, config);

  const server = startProcess('restate-server', bin,
                              ['--config-file', configFile, '--base-dir', base, '--node-name', 'bench',
                               '--listen-mode', 'tcp', '--no-logo', '--log-format', 'compact',
                               '--log-disable-ansi-codes', 'true'],
                              { logFile: path.join(args.work, 'restate-server.log') });
  const endpointArgs = [__filename, '--serve-restate', '--port', String(endpointPort), '--modules', args.modules];
  if (args.restateClaim) endpointArgs.push('--restate-claim');
  if (args.restateJournalRetention) endpointArgs.push('--restate-journal-retention', args.restateJournalRetention);
  endpointArgs.push('--restate-endpoint', args.restateEndpoint);
  const endpoint = startProcess('sdk-endpoint', process.execPath, endpointArgs,
                                { env: { RESTATE_LOGGING: 'WARN' }, logFile: path.join(args.work, 'restate-endpoint.log') });
  const procs = [server, endpoint];

  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(args.concurrency, 64) + 16 });
  const request = (port, method, urlPath, body) => new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const headers = data ? { 'content-type': 'application/json', 'content-length': data.length } : {};
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data || undefined);
  });

  await waitFor('restate-server admin health', async () => (await request(adminPort, 'GET', '/health')).status === 200,
                60000, procs);
  await waitFor('the service endpoint', () => portOpen(endpointPort), 30000, procs);
  const reg = await request(adminPort, 'POST', '/deployments',
                            { uri: `http://127.0.0.1:${endpointPort}`, use_http_11: args.restateEndpoint === 'http1' });
  if (reg.status !== 200 && reg.status !== 201) throw new Error(`registering the deployment: ${reg.status} ${reg.body}`);

  const call = async (step, id, input) => {
    const body = input || (step === 'submit' ? submitInput(id) : step === 'pay' ? payInput : undefined);
    const res = await request(ingressPort, 'POST', `/PurchaseOrder/${encodeURIComponent(id)}/${step}`, body);
    if (res.status !== 200) throw new Error(`HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return res.body;
  };
  // The deployment reaches the partitions' schema a moment after it is
  // registered: wait until a call goes through.
  let probe = 0;
  await waitFor('the ingress to route to PurchaseOrder', async () => {
    await call('start', `probe-${probe++}`);
    return true;
  }, 30000, procs);

  const summary = [
    `restate-server ${version.replace(/^restate-server\s*/, '')} (npm @restatedev/restate-server), ` +
      `SDK @restatedev/restate-sdk ${loadModule(args.modules, '@restatedev/restate-sdk/package.json').version} ` +
      `on Node ${process.version} (` +
      `${args.restateEndpoint === 'http2' ? 'HTTP/2 endpoint, bidirectional streams' : 'HTTP/1.1 endpoint, request-response'}, ` +
      'RESTATE_LOGGING=WARN)',
    `configuration: ${args.partitions} partitions (default-num-partitions; the default is 24), ` +
      `bifrost provider ${args.restateProvider}, telemetry off, log filter warn, everything else restate-server's ` +
      'default (single node, all roles, RocksDB WAL fsync on)',
    `service: virtual object PurchaseOrder keyed by order id, state in one K/V entry, journal retention ` +
      `${args.restateJournalRetention || 'the server default (1 day)'}` +
      `${args.restateClaim ? ', po_number claimed in virtual object PoNumber (a nested call)' : ', po_number not claimed'}`,
    `config file (${configFile}):\n    ${config.trim().split('\n').join('\n    ')}`,
  ];
  return {
    name: 'restate',
    title: `Restate: ingress 127.0.0.1:${ingressPort}, admin ${adminPort}, service endpoint ${endpointPort}`,
    procs,
    countedAs: 'restate-server + the Node.js SDK service-endpoint process',
    call,
    noop: async () => {
      const r = await request(ingressPort, 'GET', '/restate/health');
      if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
    },
    noopName: 'no-op HTTP calls/s (GET /restate/health on the ingress)',
    config: summary,
    close: async () => {
      agent.destroy();
      await stopProcess(server);
      await stopProcess(endpoint);
    },
    dataDir: base,
  };
}

// ---------------------------------------------------------------- report

function duSync(dir) {
  try {
    return Number(execFileSync('du', ['-sb', dir]).toString().split(/\s/)[0]);
  } catch (e) {
    return NaN;
  }
}

function printPhase(label, r) {
  const per = (x) => x / Math.max(1, r.steps);
  const procs = Object.entries(r.procs)
    .map(([n, v]) => `${n} ${fmt(per(v.cpu), 3)} ms (${fmt(v.cpu / 1000 / r.sec, 2)} cores)`).join(', ');
  console.log(`  ${label} server CPU per step: ${fmt(per(r.cpuMs), 3)} ms  [${procs}]`);
  const writes = Object.entries(r.procs).map(([n, v]) => `${n} ${fmt(per(v.write) / 1024, 1)}`).join(', ');
  console.log(`  ${label} disk written per step: ${fmt(per(r.writeBytes) / 1024, 1)} KiB  [${writes}]` +
              `${per(r.cancelledBytes) >= 51.2 ? `; cancelled_write_bytes ${fmt(per(r.cancelledBytes) / 1024, 1)} KiB` : ''}`);
  console.log(`  ${label} driver CPU per step: ${fmt(per(r.driverMs), 3)} ms (${fmt(r.driverMs / 1000 / r.sec, 2)} cores); ` +
              `other processes on the machine: ${fmt(r.otherMs / 1000 / r.sec, 2)} cores`);
}

async function runSystem(args, setup, limits) {
  const sys = await setup(args);
  const res = { name: sys.name };
  try {
    console.log(`\n--- ${sys.title}`);
    for (const line of sys.config) console.log(`  ${line}`);
    console.log(`  server processes counted: ${sys.countedAs} (pids ${sys.procs.map((p) => `${p.name}=${p.pid}`).join(', ')})`);
    const refused = await validationCheck(sys);
    console.log(`  validation check passed; refused as they must be:\n    ${refused.join('\n    ')}`);
    if (args.warmup > 0) {
      const w = await saturation(sys, { concurrency: args.concurrency, seconds: args.warmup, prefix: 'warm', procs: sys.procs });
      console.log(`  warm-up (not counted): ${fmt(w.rate)} steps/s for ${args.warmup} s, ${w.errors} errors`);
      if (w.firstErrors.length) console.log(`    first errors: ${w.firstErrors.join(' | ')}`);
    }
    if (args.limitSeconds > 0) {
      const n = await noopLimit(sys.noop, args.concurrency, args.limitSeconds);
      res.noop = n.rate;
      console.log(`  limit: ${sys.noopName}, ${args.concurrency} concurrent, same driver: ${fmt(n.rate)}` +
                  `${n.errors ? ` (${n.errors} errors)` : ''}`);
      limits.push(`${sys.noopName}, ${args.concurrency} concurrent: ${fmt(n.rate)}`);
    }
    const s = await saturation(sys, { concurrency: args.concurrency, seconds: args.seconds, prefix: 'sat', procs: sys.procs });
    res.sat = s;
    console.log(`  saturation, ${args.concurrency} concurrent orders, ${fmt(s.sec, 1)} s: ${fmt(s.confirmed)} steps confirmed, ` +
                `**${fmt(s.rate)} steps/s**, ${s.errors} errors; latency p50 ${fmt(s.p50, 1)} / p99 ${fmt(s.p99, 1)} ms`);
    if (s.firstErrors.length) console.log(`    first errors: ${s.firstErrors.join(' | ')}`);
    printPhase('saturation', s);
    if (args.rateSeconds > 0) {
      const f = await fixedRate(sys, { rate: args.rate, seconds: args.rateSeconds, prefix: 'rate', procs: sys.procs });
      res.rate = f;
      console.log(`  fixed rate, ${fmt(f.offered)} steps/s offered (open loop) for ${args.rateSeconds} s: ` +
                  `${fmt(f.confirmed)} confirmed, ${f.errors} errors, at most ${f.maxInflight} in flight; ` +
                  `latency p50 ${fmt(f.p50, 1)} / **p99 ${fmt(f.p99, 1)}** / max ${fmt(f.max, 1)} ms`);
      console.log(`  fixed rate: the driver issued calls late by p50 ${fmt(f.lateP50, 2)} / p99 ${fmt(f.lateP99, 1)} / ` +
                  `max ${fmt(f.lateMax, 1)} ms (part of the latency above)`);
      if (f.firstErrors.length) console.log(`    first errors: ${f.firstErrors.join(' | ')}`);
      printPhase('fixed-rate', f);
    }
  } finally {
    await sys.close();
    if (res.sat && sys.procs.every((p) => p.last)) {
      // Everything written from the start of the saturation phase until the
      // servers exited (deferred flushes and checkpoints included), per
      // step confirmed in between.
      const steps = res.sat.confirmedAll + (res.rate ? res.rate.confirmed : 0);
      const bytes = sys.procs.reduce((acc, p) => acc + p.last.write - res.sat.startSnap.procs[p.name].write, 0);
      res.untilStop = bytes / steps;
      console.log(`  disk written from the saturation phase's start until the servers exited (shutdown ` +
                  `included; last reading within 10 ms of exit): ${fmt(bytes / 2 ** 20, 1)} MiB, ` +
                  `${fmt(res.untilStop / 1024, 1)} KiB per step over ${fmt(steps)} steps`);
    }
    res.dataBytes = duSync(sys.dataDir);
    console.log(`  stopped (${sys.procs.map((p) => `${p.name} ${p.child.exitCode ?? p.child.signalCode}`).join(', ')}); ` +
                `data folder after the run: ${fmt(res.dataBytes / 2 ** 20, 1)} MiB`);
  }
  return res;
}

function compare(t, r, limits) {
  console.log('\n--- comparison (targets of issue #15)');
  console.log(`  limits measured in this run: ${limits.join('; ')}`);
  const rows = [];
  const ratio = (a, b) => a / b;
  const sr = ratio(t.sat.rate, r.sat.rate);
  rows.push(['confirmed steps/s at saturation', `${fmt(t.sat.rate)} vs ${fmt(r.sat.rate)}`,
             `${fmt(sr, 2)}x`, '>= 5x', sr >= 5]);
  const tc = t.sat.cpuMs / t.sat.steps;
  const rc = r.sat.cpuMs / r.sat.steps;
  const cr = ratio(tc, rc);
  rows.push(['server CPU per step', `${fmt(tc, 3)} vs ${fmt(rc, 3)} ms`, `${fmt(cr, 3)}`, '<= 0.1 (1/10)', cr <= 0.1]);
  const tb = t.sat.writeBytes / t.sat.steps;
  const rb = r.sat.writeBytes / r.sat.steps;
  const br = ratio(tb, rb);
  rows.push(['disk written per step', `${fmt(tb / 1024, 1)} vs ${fmt(rb / 1024, 1)} KiB`, `${fmt(br, 2)}x`,
             '<= 2x', br <= 2]);
  if (t.untilStop && r.untilStop) {
    rows.push(['disk written per step, until the servers exited', `${fmt(t.untilStop / 1024, 1)} vs ` +
               `${fmt(r.untilStop / 1024, 1)} KiB`, `${fmt(t.untilStop / r.untilStop, 2)}x`, '(no target; see above)', null]);
  }
  if (t.rate && r.rate) {
    rows.push([`p99 at ${fmt(t.rate.offered)} steps/s offered`, `${fmt(t.rate.p99, 1)} vs ${fmt(r.rate.p99, 1)} ms`,
               `${fmt(t.rate.p99 / r.rate.p99, 3)}`, '(no target)', null]);
  }
  for (const [what, vals, rat, target, met] of rows) {
    const verdict = met === null ? target : `target ${target}: ${met ? 'met' : 'NOT MET'}`;
    console.log(`  ${what}: Treaty vs Restate ${vals}; ratio ${rat}; ${verdict}`);
  }
  // The driver and the server share the machine's cores: a closed loop
  // cannot confirm more steps than the cores give to one driver call plus
  // one server step. Where this ceiling is under 5x Restate's rate, the
  // steps/s target cannot be shown with one driver on this machine,
  // whatever the server does.
  const cores = os.cpus().length;
  const tDriver = t.sat.driverMs / t.sat.steps;
  const ceiling = cores * 1000 / (tDriver + tc);
  console.log(`  ceiling: the driver spends ${fmt(tDriver, 3)} ms of CPU per Treaty call and treatyd ${fmt(tc, 3)} ms ` +
              `per step on ${cores} cores: at most ${fmt(ceiling)} steps/s, ${fmt(ceiling / r.sat.rate, 2)}x ` +
              `Restate's rate here (the steps/s target needs 5x)`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.serveRestate) return serveRestate(args);

  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, async () => {
      console.error(`\n${sig}: stopping what was started`);
      await stopAll();
      process.exit(130);
    });
  }
  fs.rmSync(args.work, { recursive: true, force: true });
  fs.mkdirSync(args.work, { recursive: true });

  let head = '';
  try {
    head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString().trim();
  } catch (e) { /* not a checkout */ }
  console.log(`=== peer bench (tests/bench/peer/peer_bench.js${head ? `, tree at ${head}` : ''}), ${new Date().toISOString()}`);
  console.log(`workload: orders of start, submit, accept, pay; every call waits for its durable result; ` +
              `a step is one call (start included); ${args.concurrency} concurrent orders for ${args.seconds} s, ` +
              `then ${fmt(args.rate)} steps/s offered for ${args.rateSeconds} s; one Node.js driver (${process.version}) for both`);
  console.log(machineLine());
  const limits = [`${os.cpus().length} cores`];
  if (args.limitSeconds > 0) {
    const f = fsyncLimit(args.work, args.limitSeconds);
    console.log(`limit: 4 KiB pwrite + fdatasync in ${args.work}: ${fmt(f.rate)}/s (median ${fmt(f.p50, 2)} ms, ` +
                `max ${fmt(f.max, 1)} ms)`);
    limits.push(`fdatasync ${fmt(f.rate)}/s`);
  }

  // Every port free before anything starts, so a clash fails at once.
  await assertPortsFree([...(args.systems.includes('treaty') ? [args.treatyPort] : []),
                         ...(args.systems.includes('restate') ? args.restatePorts : [])]);
  const results = {};
  try {
    for (const s of args.systems) {
      results[s] = await runSystem(args, s === 'treaty' ? setupTreaty : setupRestate, limits);
    }
  } finally {
    await stopAll();
  }
  if (results.treaty && results.restate) compare(results.treaty, results.restate, limits);
  const left = children.filter(alive);
  if (left.length) throw new Error(`still running: ${left.map((p) => p.pid).join(', ')}`);
}

main().catch(async (e) => {
  console.error(`peer_bench: ${e.stack || e.message}`);
  await stopAll();
  process.exit(1);
});
