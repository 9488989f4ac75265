// What the browser tests share: the two executables and folders from the environment, starting
// processes, the fake Whop's control API, Whop event bodies built from the fixtures, screenshots,
// and axe-core (no violation of any impact). A test file sets `site.base` (the churn-saver under
// test) and `site.fakeBase` (the fake Whop) once both have started.
//
// Environment: CS_BINARY, CS_FAKE_WHOP (paths of the two executables), CS_ARTIFACTS (folder for
// screenshots), CS_FIXTURES (tests/fixtures).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
export const { chromium } = require("playwright-core");
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export const BIN = process.env.CS_BINARY;
export const FAKE = process.env.CS_FAKE_WHOP;
export const ARTIFACTS = process.env.CS_ARTIFACTS || path.join(os.tmpdir(), "cs-browser-artifacts");
export const FIXTURES = process.env.CS_FIXTURES;
export const DAY = 86400000;

/// The addresses of the server under test and of the fake Whop.
export const site = { base: "", fakeBase: "" };
/// Every process started, for after() to stop.
export const procs = [];

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/// Starts a process and resolves with it once `ready` matches its stdout.
export function start(cmd, args, env, ready) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    procs.push(p);
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${out}`)), 15000);
    p.stdout.on("data", (d) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ p, out, m });
      }
    });
    p.stderr.on("data", (d) => {
      if (process.env.CS_VERBOSE) process.stderr.write(d);
    });
    p.on("exit", (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

/// A call to the fake Whop's control API (`/_fake/...`).
export async function fakeJson(method, p, body) {
  const res = await fetch(site.fakeBase + p, {
    method,
    headers: { "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

export const iso = (ms) => new Date(ms).toISOString();
export const fixture = (name) => JSON.parse(fs.readFileSync(path.join(FIXTURES, "whop", name), "utf8"));

/// A payment.failed or payment.succeeded of member `m` ({key, id, user, username, amount}).
export function paymentEvent(type, m, timeMs) {
  const e = fixture("v1_payment.failed.json");
  delete e.id;
  e.type = type;
  e.timestamp = iso(timeMs);
  const d = e.data;
  d.id = `pay_${m.key}${type === "payment.failed" ? "F" : "S"}`;
  d.updated_at = d.last_payment_attempt = iso(timeMs);
  if (type === "payment.succeeded") {
    d.status = "paid";
    d.substatus = "succeeded";
    d.paid_at = iso(timeMs);
    d.failure_message = null;
  }
  d.total = d.subtotal = d.usd_total = m.amount;
  d.membership.id = m.id;
  d.user = { id: m.user, username: m.username, name: m.username, email: `${m.username}@example.com` };
  return e;
}

/// The fake Whop signs `event` and delivers it to the server under test, which must answer 200.
export async function deliver(event) {
  const r = await fakeJson("POST", "/_fake/deliver", { event, target: `${site.base}/webhooks/whop`, options: { retry: false } });
  assert.equal(r.status, 200, `webhook ${event.type} answered ${JSON.stringify(r)}`);
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/// axe-core on the current page: no violation of any impact.
export async function accessible(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
  const text = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(text, [], `axe on ${name}`);
}

/// Opens `url` of the server under test, takes its screenshot and checks it with axe.
export async function visit(page, url, name) {
  const res = await page.goto(site.base + url);
  await shot(page, name);
  await accessible(page, name);
  return res;
}

export async function waitFor(fn, what, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}
