// First start in a browser (issue 12 items 1, 2, 7): the real churn-saver binary starts with no
// password, no Whop secret and no API key, next to the standalone fake Whop. The test opens the
// login page (which says how to set a password), follows the setup link the binary printed, sets
// the password, connects Whop on the settings page (webhook URL shown, a bad secret refused next
// to its field, Check connection answered next to its button), sends a test webhook, and watches
// the overview's getting-started steps tick off as a real webhook and the first nudge happen.
// axe-core must report no violation of any impact. Screenshots (login and settings at 1280 and
// 390 px wide) go to $CS_ARTIFACTS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ARTIFACTS, BIN, DAY, FAKE, FIXTURES, accessible, chromium, deliver, fakeJson, fixture, freePort, iso,
  paymentEvent, procs, shot, site, start, visit, waitFor,
} from "./support.mjs";

const SECRET = "ws_setuptest0123456789abcdef0123456789abcdef0123456789abcdef01234";
const API_KEY = "apik_setupBrowserTestKey";
const PASSWORD = "a first start passphrase";

let fake, server, browser, dir, base, fakeBase, setupLine;

/// Screenshots at desktop and phone width, axe at both.
async function both(page, name) {
  await shot(page, `${name}-1280`);
  await accessible(page, name);
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-390`);
  await accessible(page, `${name} (390 px)`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${name} scrolls sideways at 390 px by ${overflow} px`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

const stepDone = async (page, key) => page.locator(`[data-step="${key}"]`).getAttribute("data-done");

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cs-setup-"));
  const fakePort = await freePort();
  fake = await start(FAKE, ["--port", String(fakePort), "--secret", SECRET, "--api-key", API_KEY], {}, /listening on (http:\/\/\S+)/);
  fakeBase = site.fakeBase = fake.m[1];
  const port = await freePort();
  base = site.base = `http://127.0.0.1:${port}`;
  // Nothing about Whop is configured: the creator enters it on the settings page.
  server = await start(
    BIN,
    ["serve", "--db", path.join(dir, "cs.db"), "--listen", `127.0.0.1:${port}`],
    {
      CHURN_SAVER_CONFIG: "/dev/null",
      CHURN_SAVER_WHOP_API_BASE: `${fakeBase}/api/v1`,
      CHURN_SAVER_SCHEDULER_INTERVAL: "0.2",
      CHURN_SAVER_RECONCILE_INTERVAL: "86400",
    },
    /^(\{.*"setup_link".*\})$/m,
  );
  setupLine = JSON.parse(server.m[1]);
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

test("first start: setup link, password, connect Whop, test webhook, getting started", async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  await t.test("the start-up line says how to reach the link from a laptop", async () => {
    assert.match(setupLine.setup_link, new RegExp(`^${base}/setup/[0-9a-f]{32}$`));
    assert.match(setupLine.from_a_laptop, /ssh -N -L \d+:127\.0\.0\.1:\d+ YOU@YOUR-SERVER/);
    assert.match(setupLine.new_link, /admin setup-link/);
    assert.equal(fs.readFileSync(path.join(dir, "cs.db.setup-link"), "utf8"), `${setupLine.setup_link}\n`);
  });

  await t.test("before any password, the login page says how to set one", async () => {
    await page.goto(base + "/");
    await page.waitForURL(/\/login/);
    await page.getByRole("heading", { name: "Set the admin password first" }).waitFor();
    assert.ok(await page.getByText("ssh -N -L", { exact: false }).first().isVisible());
    assert.ok(await page.getByText("admin setup-link", { exact: false }).first().isVisible());
    await both(page, "setup-01-login-no-password");
  });

  await t.test("the setup link sets the password", async () => {
    await page.goto(setupLine.setup_link);
    await page.getByLabel("New password").fill(PASSWORD);
    await page.getByLabel("Repeat the password").fill(PASSWORD);
    await page.getByRole("button", { name: "Set password and sign in" }).click();
    await page.waitForURL(base + "/settings");
  });

  await t.test("settings: the webhook URL, a bad secret, then the connection", async () => {
    // The public URL first: the exact webhook URL appears.
    await page.getByLabel("Public URL").fill(base);
    await page.getByLabel("Webhook secret").fill("whsec_not base64!");
    await page.getByRole("button", { name: "Save connection" }).click();
    const err = page.locator("#webhook_secrets-error");
    await err.waitFor();
    assert.match(await err.textContent(), /Paste one secret|base64/);
    await page.getByLabel("Public URL").fill(base);
    await page.getByLabel("Webhook secret").fill(SECRET);
    await page.getByLabel("API key").fill(API_KEY);
    await page.getByLabel("Company id").fill("biz_SetupBrowser01");
    await page.getByLabel("Experience id").fill("exp_SetupBrowser01");
    await page.getByRole("button", { name: "Save connection" }).click();
    await page.getByText("Whop connection saved and in use.").waitFor();
    assert.equal((await page.locator("#webhook-url").textContent()).trim(), `${base}/webhooks/whop`);
    assert.ok(await page.locator("#webhook-events").getByText("payment.failed").isVisible());
    assert.match(await page.locator("#webhook_secrets-hint").textContent(), /ending in 1234/);

    await page.getByRole("button", { name: "Check connection" }).click();
    await page.locator("#check-result").waitFor();
    assert.match(await page.locator("#check-result").textContent(), /Whop answered/);
  });

  await t.test("a test webhook goes through and opens no case", async () => {
    await page.getByRole("button", { name: "Send a test webhook" }).click();
    await page.locator("#test-result").waitFor();
    assert.match(await page.locator("#test-result").textContent(), /Test webhook received/);
    await page.locator("#test-result").scrollIntoViewIfNeeded();
    await both(page, "setup-02-settings");
    await page.goto(base + "/");
    assert.equal(await stepDone(page, "secret"), "yes");
    assert.equal(await stepDone(page, "api-key"), "yes");
    assert.equal(await stepDone(page, "webhook"), "no");
    assert.equal(await stepDone(page, "nudge"), "no");
    await shot(page, "setup-03-overview-connected");
    await accessible(page, "overview, connected");
    const cases = await (await context.request.get(base + "/api/dashboard/cases?status=")).json();
    assert.equal((cases.cases || cases.rows || []).length, 0);
  });

  await t.test("Whop's first webhook and the first nudge tick the last steps", async () => {
    const m = fixture("v1_membership.deactivated.json").data;
    m.id = "mem_SetupMember0001";
    m.status = "past_due";
    m.canceled_at = null;
    m.manage_url = `https://whop.com/billing/manage/${m.id}`;
    m.user = { id: "user_SetupUser001", username: "first_member", name: "First Member" };
    await fakeJson("POST", "/_fake/memberships", m);
    const e = fixture("v1_payment.failed.json");
    delete e.id;
    const now = new Date().toISOString();
    e.timestamp = now;
    e.data.id = "pay_SetupFailed0001";
    e.data.updated_at = e.data.last_payment_attempt = now;
    e.data.membership.id = m.id;
    e.data.user = { id: m.user.id, username: m.user.username, name: m.user.name, email: "first@example.com" };
    const r = await fakeJson("POST", "/_fake/deliver", { event: e, target: `${base}/webhooks/whop`, options: { retry: false } });
    assert.equal(r.status, 200);
    await waitFor(async () => {
      await page.goto(base + "/");
      return (await page.locator("#getting-started").count()) === 0;
    }, "every getting-started step to tick off");
    await shot(page, "setup-04-overview-all-done");
  });

  await t.test("errors a person reads", async () => {
    const missing = await page.goto(base + "/cases/nothing-here");
    assert.equal(missing.status(), 404);
    await page.getByRole("heading", { name: "Page not found" }).waitFor();
    await accessible(page, "404");
    await page.getByRole("link", { name: "Back to the overview" }).click();
    await page.waitForURL(base + "/");
    const link = await page.goto(base + "/r/0123456789abcdef0123456789abcdef");
    assert.equal(link.status(), 404);
    await page.getByRole("link", { name: "Open Whop" }).waitFor();
    await accessible(page, "unknown tracked link");
    await page.goto(base + "/api/health");
    await page.getByRole("heading", { name: /^Health: / }).waitFor();
    await shot(page, "setup-05-health");
    await accessible(page, "health");
  });

  await t.test("signed out, the login page asks for the password", async () => {
    await page.goto(base + "/");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login/);
    await page.getByLabel("Admin password").waitFor();
    await both(page, "setup-06-login");
  });

  await context.close();
});
