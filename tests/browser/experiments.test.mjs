// Browser test of experiments (issue 13) in Debian's Chromium with axe-core: the creator sets up
// a two-arm test with a 10 % holdout from the dashboard (live preview of an arm's copy), starts
// it, a month of synthetic cases arrives through signed webhooks, and the results page shows the
// split, the rates and intervals that match a hand computation, and the lift over the holdout;
// holdout members get nothing at the fake Whop; promoting an arm changes the messages.
// Screenshots at 1280 and 390 px go to $CS_ARTIFACTS (exp-*.png).
//
// Same environment as dashboard.test.mjs (CS_BINARY, CS_FAKE_WHOP, CS_ARTIFACTS, CS_FIXTURES).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ARTIFACTS, BIN, DAY, FAKE, FIXTURES, accessible, chromium, deliver, fakeJson, fixture, freePort, iso,
  paymentEvent, procs, shot, site, start, visit, waitFor,
} from "./support.mjs";

const SECRET = "ws_browsertest0123456789abcdef0123456789abcdef0123456789abcdef0123";
const API_KEY = "browser_test_key";
const PASSWORD = "a calm and very long passphrase";

let fake, server, browser, dir, base, fakeBase, setupLink;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-browser-"));
  const fakePort = await freePort();
  fake = await start(FAKE, ["--port", String(fakePort), "--secret", SECRET, "--api-key", API_KEY], {}, /listening on (http:\/\/\S+)/);
  fakeBase = site.fakeBase = fake.m[1];
  const port = await freePort();
  base = site.base = `http://127.0.0.1:${port}`;
  server = await start(
    BIN,
    ["serve", "--db", path.join(dir, "cs.db"), "--listen", `127.0.0.1:${port}`],
    {
      CHURN_SAVER_CONFIG: "/dev/null",
      CHURN_SAVER_WHOP_API_BASE: `${fakeBase}/api/v1`,
      CHURN_SAVER_WHOP_WEBHOOK_SECRET: SECRET,
      CHURN_SAVER_WHOP_API_KEY: API_KEY,
      CHURN_SAVER_WHOP_COMPANY_ID: "biz_BrowserTest01",
      CHURN_SAVER_WHOP_EXPERIENCE_ID: "exp_BrowserTest01",
      CHURN_SAVER_PUBLIC_URL: base,
      CHURN_SAVER_SCHEDULER_INTERVAL: "0.2",
      CHURN_SAVER_RECONCILE_INTERVAL: "86400",
    },
    /(http:\/\/\S+\/setup\/[0-9a-f]{32})/,
  );
  setupLink = server.m[1];
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of procs) p.kill("SIGTERM");
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const N = 200; // synthetic cases over the last month
const FRESH = 30; // of which the last ones fail just now (nudged at once, not a late backlog)
let resultsPath = "";
const B_TITLE = "Short: {{product}} needs a new card";

function member(i) {
  const k = String(i).padStart(4, "0");
  return { key: `X${k}`, id: `mem_Exp${k}AbCdEf`, user: `user_Exp${k}AbCd`, username: `member_${k}`, amount: 20 + (i % 5) * 10 };
}

/// The z-interval and pooled z-test, as a creator would compute them by hand.
function handStats(x1, n1, x2, n2) {
  const p1 = x1 / n1, p2 = x2 / n2, d = p1 - p2;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return { d, lo: d - 1.959964 * se, hi: d + 1.959964 * se };
}

async function pushMonth() {
  const now = Date.now();
  for (let i = 0; i < N; i++) {
    const m = member(i);
    const ms = fixture("v1_membership.deactivated.json").data;
    ms.id = m.id;
    ms.status = "past_due";
    ms.canceled_at = null;
    ms.manage_url = `https://whop.com/billing/manage/${m.id}`;
    ms.renewal_period_end = iso(now + 3 * DAY);
    ms.user = { id: m.user, username: m.username, name: m.username };
    await fakeJson("POST", "/_fake/memberships", ms);
  }
  for (let i = 0; i < N; i++) {
    const m = member(i);
    const fresh = i >= N - FRESH;
    const failedAt = fresh ? now - 60000 : now - (1 + (i % 30)) * DAY - 3600000;
    await deliver(paymentEvent("payment.failed", m, failedAt));
    // Every third older member pays a day after the failure (inside the 14-day window).
    if (!fresh && i % 3 === 0) await deliver(paymentEvent("payment.succeeded", m, failedAt + DAY));
  }
}

function csvRows(text) {
  const lines = text.trim().split("\r\n");
  const head = lines[0].split(",");
  return lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [head[i], v])));
}

test("experiments: a two-arm test with a 10 % holdout, from setup to promotion", async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const cspErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) cspErrors.push(m.text());
  });

  await t.test("sign in through the setup link", async () => {
    await page.goto(setupLink);
    await page.getByLabel("New password").fill(PASSWORD);
    await page.getByLabel("Repeat the password").fill(PASSWORD);
    await page.getByRole("button", { name: "Set password and sign in" }).click();
    await page.waitForURL(base + "/settings");
  });

  await t.test("create a two-arm experiment with a 10 % holdout, with a live preview", async () => {
    await page.getByRole("link", { name: "Experiments" }).click();
    await page.waitForURL(base + "/experiments");
    await shot(page, "exp-01-new");
    await accessible(page, "experiments");
    await page.locator("#name").fill("Subject line test");
    await page.locator("#holdout_percent").fill("10");
    await page.locator("#a-name").fill("Control");
    await page.locator("#b-name").fill("Short");
    await page.locator("section.arm").nth(1).locator("summary", { hasText: "First notice" }).click();
    await page.locator("#b-first-push_title").fill(B_TITLE);
    assert.equal(await page.locator("#preview-b-first-push_title").textContent(), "Short: Pro Trading Community needs a new card");
    await shot(page, "exp-02-form-filled");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "exp-02-form-phone");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scrolling at 390 px");
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole("button", { name: "Create experiment" }).click();
    await page.waitForURL(/\/experiments\/\d+$/);
    resultsPath = page.url().slice(base.length);
    await page.getByText("Experiment created as a draft").waitFor();
    await page.getByRole("button", { name: "Start" }).click();
    await page.getByText("Experiment running").waitFor();
  });

  await t.test("a month of cases is split as configured; the holdout gets nothing", async () => {
    await pushMonth();
    await waitFor(async () => {
      const csv = await (await context.request.get(base + "/cases/export.csv")).text();
      return csvRows(csv).length === N;
    }, "every case", 60000);
    const cases = csvRows(await (await context.request.get(base + "/cases/export.csv")).text());
    const byArm = {};
    for (const c of cases) byArm[c.arm] = (byArm[c.arm] || 0) + 1;
    assert.equal(cases.length, N);
    assert.equal(byArm[""] || 0, 0, "every case has an arm");
    // 10 % of 200 is 20 (standard deviation 4.2); each arm gets about 90.
    assert.ok(byArm.Holdout >= 6 && byArm.Holdout <= 36, `holdout ${byArm.Holdout}`);
    assert.ok(byArm.Control >= 60 && byArm.Short >= 60, JSON.stringify(byArm));
    // The fresh cases of both arms are nudged at once; the fresh holdout cases never are.
    const fresh = new Set(Array.from({ length: FRESH }, (_, k) => member(N - FRESH + k).user));
    const freshNudged = cases.filter((c) => fresh.has(c.user_id) && c.arm !== "Holdout");
    const contacted = async () => {
      const calls = (await fakeJson("GET", "/_fake/calls")).filter((c) => c.method === "POST" && /notifications|dm_channels/.test(c.path));
      return new Set(calls.flatMap((c) => JSON.parse(c.body).user_ids || JSON.parse(c.body).with_user_ids || []));
    };
    await waitFor(async () => {
      const users = await contacted();
      return freshNudged.every((c) => users.has(c.user_id));
    }, "the nudges of the fresh cases in both arms", 20000);
    const users = await contacted();
    const held = cases.filter((c) => c.arm === "Holdout");
    assert.ok(held.length > 0);
    for (const c of held) assert.ok(!users.has(c.user_id), `holdout member ${c.username} was contacted`);
    const freeDays = (await fakeJson("GET", "/_fake/calls")).filter((c) => /add_free_days/.test(c.path));
    for (const c of held) assert.ok(!freeDays.some((f) => f.path.includes(c.membership_id)), "no free days for the holdout");
    // Arm B's first notice says its own words.
    const pushes = (await fakeJson("GET", "/_fake/calls")).filter((c) => c.method === "POST" && /notifications/.test(c.path)).map((c) => JSON.parse(c.body));
    const shortUsers = new Set(cases.filter((c) => c.arm === "Short" && fresh.has(c.user_id)).map((c) => c.user_id));
    const shortPush = pushes.find((p) => shortUsers.has(p.user_ids[0]));
    assert.ok(shortPush, "a push to a fresh member of arm B");
    assert.match(shortPush.title, /^Short: .* needs a new card$/);
  });

  await t.test("the results page: rates, intervals and lift match a hand computation", async () => {
    await visit(page, resultsPath, "exp-03-results");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export results CSV" }).click()]);
    const file = path.join(ARTIFACTS, "experiment-results.csv");
    await download.saveAs(file);
    const rows = csvRows(fs.readFileSync(file, "utf8"));
    const arm = (k) => rows.find((r) => r.arm === k);
    const a = arm("a"), b = arm("b"), h = arm("holdout");
    assert.equal(Number(a.cases) + Number(b.cases) + Number(h.cases), N);
    for (const r of [a, b, h]) {
      // Only closed windows count: the fresh cases and those of the last 14 days are still open.
      assert.equal(Number(r.open) + Number(r.closed), Number(r.cases));
      if (Number(r.closed) > 0) assert.ok(Math.abs(Number(r.recovery_rate) - r.closed_recovered / r.closed) < 1e-4);
    }
    const hand = handStats(Number(b.closed_recovered), Number(b.closed), Number(a.closed_recovered), Number(a.closed));
    assert.ok(Math.abs(Number(b.diff_vs_control_points) - 100 * hand.d) < 0.01, `difference ${b.diff_vs_control_points} vs ${100 * hand.d}`);
    assert.ok(Math.abs(Number(b.ci_low_vs_control) - 100 * hand.lo) < 0.01);
    assert.ok(Math.abs(Number(b.ci_high_vs_control) - 100 * hand.hi) < 0.01);
    // The page shows the same numbers, and names no winner with so few closed cases.
    const card = page.locator("li.card", { hasText: "Short against Control" });
    const fmt = (v) => (v >= 0 ? "+" : "") + v.toFixed(1);
    assert.match(await card.textContent(), new RegExp(`${fmt(100 * hand.d).replace("+", "\\+")} points`));
    assert.match(await card.textContent(), /Not enough data yet: about [\d,]+ more closed cases per group are needed to see a 5-point difference with 80 % power/);
    // Lift over doing nothing: all nudged arms against the holdout.
    const lift = page.locator("li.card", { hasText: "All nudged arms against Holdout" });
    const x = Number(a.closed_recovered) + Number(b.closed_recovered), n = Number(a.closed) + Number(b.closed);
    if (Number(h.closed) > 0) {
      const l = handStats(x, n, Number(h.closed_recovered), Number(h.closed));
      assert.match(await lift.textContent(), new RegExp(`${fmt(100 * l.d).replace("+", "\\+")} points`));
    }
    assert.match(await page.locator("dl.facts").first().textContent(), /Still open\s*\d+ case/);
    assert.equal(await page.locator("svg.chart polyline").count() >= 2, true);
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "exp-03-results-phone");
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), "no sideways scrolling at 390 px");
    await accessible(page, "results on a phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await t.test("a case page names its arm", async () => {
    const cases = csvRows(await (await context.request.get(base + "/cases/export.csv")).text());
    const held = cases.find((c) => c.arm === "Holdout");
    await visit(page, `/cases/${held.case_id}`, "exp-04-holdout-case");
    assert.ok(await page.getByText("Holdout (nobody contacts this case)").isVisible());
    assert.equal(await page.getByRole("link", { name: "Nudge now" }).count(), 0);
  });

  await t.test("promoting arm B makes its copy the messages", async () => {
    await page.goto(base + resultsPath);
    await page.getByRole("button", { name: "Promote “Short”" }).click();
    await page.getByText("Arm promoted").waitFor();
    await shot(page, "exp-05-promoted");
    await visit(page, "/messages", "exp-06-messages-after");
    assert.equal(await page.locator("#first-push_title").inputValue(), B_TITLE);
  });

  assert.deepEqual(cspErrors, []);
  await context.close();
});
