// Browser tests of the dashboard in Debian's Chromium (playwright-core, executablePath
// /usr/bin/chromium) with axe-core on every page. Starts the real churn-saver binary against the
// standalone fake Whop, seeds cases through signed webhooks, and walks the creator's path: setup
// link, sign-in, overview KPIs, a case page, a manual nudge that reaches the fake Whop, a settings
// error next to its field, a CSV download. Screenshots of each page go to $CS_ARTIFACTS.
//
// Environment: CS_BINARY, CS_FAKE_WHOP (paths of the two executables), CS_ARTIFACTS (folder for
// screenshots), CS_FIXTURES (tests/fixtures). Run by ctest as the "browser" test.
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

function membershipEvent(type, m, timeMs) {
  const e = fixture("v1_membership.deactivated.json");
  delete e.id;
  e.type = type;
  e.timestamp = iso(timeMs);
  e.data.id = m.id;
  e.data.updated_at = e.data.canceled_at = iso(timeMs);
  e.data.user = { id: m.user, username: m.username, name: m.username };
  return e;
}

const members = {
  ann: { key: "Ann1", id: "mem_AnnAnnAnn001", user: "user_AnnAnn001", username: "ann_recovers", amount: 29.99 },
  bob: { key: "Bob1", id: "mem_BobBobBob002", user: "user_BobBob002", username: "bob_recovers", amount: 29.99 },
  cat: { key: "Cat1", id: "mem_CatCatCat003", user: "user_CatCat003", username: "cat_leaves", amount: 49.0 },
  dan: { key: "Dan1", id: "mem_DanDanDan004", user: "user_DanDan004", username: "dan_open", amount: 19.5 },
  eve: { key: "Eve1", id: "mem_EveEveEve005", user: "user_EveEve005", username: "eve_open", amount: 99.0 },
};

async function seed() {
  const now = Date.now();
  for (const m of Object.values(members)) {
    const ms = fixture("v1_membership.deactivated.json").data;
    ms.id = m.id;
    ms.status = "past_due";
    ms.canceled_at = null;
    ms.manage_url = `https://whop.com/billing/manage/${m.id}`;
    ms.user = { id: m.user, username: m.username, name: m.username };
    await fakeJson("POST", "/_fake/memberships", ms);
  }
  await deliver(paymentEvent("payment.failed", members.ann, now - 3 * DAY));
  await deliver(paymentEvent("payment.succeeded", members.ann, now - 2 * DAY));
  await deliver(paymentEvent("payment.failed", members.bob, now - 2 * DAY));
  await deliver(paymentEvent("payment.succeeded", members.bob, now - 1 * DAY));
  await deliver(paymentEvent("payment.failed", members.cat, now - 5 * DAY));
  await deliver(membershipEvent("membership.deactivated", members.cat, now - 4 * DAY));
  await deliver(paymentEvent("payment.failed", members.dan, now - 2 * 3600000));
  await deliver(paymentEvent("payment.failed", members.eve, now - 30 * 60000));
}

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
  await seed();
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

test("the creator's path through the dashboard", async (t) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const cspErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) cspErrors.push(m.text());
  });

  await t.test("setup link: choose the password", async () => {
    await page.goto(setupLink);
    await shot(page, "01-setup");
    await accessible(page, "setup");
    await page.getByLabel("New password").fill(PASSWORD);
    await page.getByLabel("Repeat the password").fill(PASSWORD);
    await page.getByRole("button", { name: "Set password and sign in" }).click();
    await page.waitForURL(base + "/settings");
    // The link works once.
    const again = await context.request.get(setupLink);
    assert.equal(again.status(), 404);
  });

  await t.test("sign out and sign in", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login/);
    await page.getByLabel("Admin password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That did not work").waitFor();
    await shot(page, "02-login-error");
    await accessible(page, "login");
    await page.getByLabel("Admin password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(base + "/");
  });

  await t.test("overview shows KPIs that match the seeded webhooks", async () => {
    await waitFor(async () => {
      const r = await context.request.get(base + "/api/dashboard/kpis?window=30");
      const k = await r.json();
      return k.active_cases === 2 && k.recoveries === 2 && k.lost === 1;
    }, "the seeded cases");
    await visit(page, "/?window=30", "03-overview");
    const kpi = async (k) => (await page.locator(`[data-kpi="${k}"]`).textContent()).trim();
    assert.equal(await kpi("active"), "2");
    assert.equal(await kpi("recoveries"), "2");
    assert.equal(await kpi("rate"), "66.7%");
    assert.equal(await kpi("revenue"), "$59.98");
    assert.equal(await page.locator("svg.chart").count(), 5);
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "03-overview-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await t.test("cases list and a case page", async () => {
    await visit(page, "/cases", "04-cases");
    await page.getByLabel("Search").fill("dan_open");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: "dan_open" }).click();
    await page.getByRole("heading", { name: /dan_open/ }).waitFor();
    await shot(page, "05-case");
    await accessible(page, "case");
    assert.ok(await page.getByText("Your card has insufficient funds.").isVisible());
  });

  await t.test("a manual nudge reaches the fake Whop", async () => {
    const before = (await fakeJson("GET", "/_fake/calls")).filter((c) => c.method === "POST" && /notifications|messages/.test(c.path)).length;
    await page.getByRole("link", { name: "Nudge now" }).click();
    await page.getByRole("heading", { name: "Nudge now?" }).waitFor();
    await shot(page, "06-case-confirm");
    await accessible(page, "case confirmation");
    await page.getByRole("button", { name: "Yes, nudge now" }).click();
    // The flash after the redirect says what happened to each channel.
    await page.getByText(/^Nudge sent\. Push sent\. Direct message sent\.$/).waitFor();
    await waitFor(async () => {
      const calls = (await fakeJson("GET", "/_fake/calls")).filter((c) => c.method === "POST" && /notifications|messages/.test(c.path));
      return calls.length > before && calls.some((c) => c.body.includes("dan_open") || c.body.includes("/r/"));
    }, "the manual nudge at the fake Whop");
    await waitFor(async () => {
      await page.reload();
      return (await page.getByText("Manual 1").count()) > 0;
    }, "the nudge on the case page");
    await shot(page, "07-case-after-nudge");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "07-case-after-nudge-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await t.test("a settings error is shown next to its field", async () => {
    await visit(page, "/settings", "08-settings");
    await page.getByLabel("Incentive: free days").fill("45");
    await page.getByRole("button", { name: "Save recovery settings" }).click();
    const err = page.locator("#incentive_days-error");
    await err.waitFor();
    assert.match(await err.textContent(), /between 0 \(off\) and 30/);
    assert.equal(await page.getByLabel("Incentive: free days").inputValue(), "45");
    assert.equal(await page.getByLabel("Incentive: free days").getAttribute("aria-invalid"), "true");
    await err.scrollIntoViewIfNeeded();
    await shot(page, "09-settings-error");
    await accessible(page, "settings with an error");
  });

  await t.test("messages with a live preview", async () => {
    await visit(page, "/messages", "10-messages");
    await page.locator("#first-push_title").fill("Hey {{name}}, about {{product}}");
    assert.equal(await page.locator("#preview-first-push_title").textContent(), "Hey Alex, about Pro Trading Community");
    // The live DM preview renders the markdown as the server does, and escapes everything else.
    await page.locator("#final-dm_content").fill("**Last** call{{#incentive_days}}, {{incentive_days}} days{{/incentive_days}} <b>x</b>");
    assert.equal(await page.locator("#preview-final-dm_content").innerHTML(), "<strong>Last</strong> call, 3 days &lt;b&gt;x&lt;/b&gt;");
    await shot(page, "10-messages-edited");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "10-messages-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await t.test("events, one event, jobs", async () => {
    await visit(page, "/events", "11-events");
    await page.getByRole("link", { name: "payment.failed" }).first().click();
    await page.getByRole("heading", { name: "Payload (decrypted)" }).waitFor();
    await shot(page, "12-event");
    await accessible(page, "event");
    await visit(page, "/jobs", "13-jobs");
  });

  await t.test("CSV download with the filtered rows", async () => {
    await page.goto(base + "/cases?status=recovered");
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    const file = path.join(ARTIFACTS, "cases-recovered.csv");
    await download.saveAs(file);
    const lines = fs.readFileSync(file, "utf8").trim().split("\r\n");
    assert.match(lines[0], /^case_id,status,resolution,membership_id,user_id,username,/);
    assert.equal(lines.length, 3);
    const users = lines.slice(1).map((l) => l.split(",")[5]).sort();
    assert.deepEqual(users, ["ann_recovers", "bob_recovers"]);
    assert.ok(lines.slice(1).every((l) => l.split(",")[1] === "recovered" && l.includes(",29.99,usd,29.99,")));
  });

  await t.test("sorting applies on change, without a separate button press", async () => {
    await page.goto(base + "/cases");
    await Promise.all([page.waitForURL(/sort=amount/), page.getByLabel("Sort").selectOption("amount")]);
    assert.equal(await page.getByLabel("Sort").inputValue(), "amount");
  });

  await t.test("every page at phone width (390 px): usable, no overflow, axe clean", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const caseHref = await (async () => {
      await page.goto(base + "/cases");
      return page.locator("a[href^='/cases/']").filter({ hasText: "dan_open" }).first().getAttribute("href");
    })();
    const eventHref = await (async () => {
      await page.goto(base + "/events");
      return page.locator("a[href^='/events/']").first().getAttribute("href");
    })();
    const pages = [
      ["overview", "/?window=30"],
      ["cases", "/cases"],
      ["case", caseHref],
      ["events", "/events"],
      ["event", eventHref],
      ["jobs", "/jobs"],
      ["settings", "/settings"],
      ["messages", "/messages"],
    ];
    for (const [name, url] of pages) {
      await page.goto(base + url);
      // Nothing wider than the screen (the day charts scroll inside their own box).
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${name} is ${overflow}px wider than the phone`);
      await shot(page, `phone-${name}`);
      await accessible(page, `${name} at phone width`);
    }
    // The navigation folds behind a Menu button and opens on a tap.
    await page.goto(base + "/cases");
    const navEvents = page.locator("#main-nav").getByRole("link", { name: "Events" });
    assert.equal(await navEvents.isVisible(), false);
    await page.getByRole("button", { name: "Menu" }).click();
    assert.equal(await page.getByRole("button", { name: "Menu" }).getAttribute("aria-expanded"), "true");
    await navEvents.click();
    await page.waitForURL(base + "/events");
    await page.goto(base + "/cases");
    // The cases table is a list of cards: one box per case, the header row hidden.
    const card = page.locator("table.list tbody tr").first();
    assert.equal(await card.evaluate((el) => getComputedStyle(el).display), "grid");
    const box = await card.boundingBox();
    assert.ok(box.width <= 390, `a case card is ${box.width}px wide`);
    // Chart labels stay readable: at least 9 px on screen.
    await page.goto(base + "/?window=30");
    const smallest = await page.evaluate(() =>
      Math.min(...[...document.querySelectorAll("svg.chart text")].map((t) => t.getBoundingClientRect().height)));
    assert.ok(smallest >= 9, `chart text is ${smallest}px high`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  assert.deepEqual(cspErrors, []);
  await context.close();
});
