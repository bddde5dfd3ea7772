// Browser tests of the console: playwright-core drives Debian's chromium (headless) against the
// real `retailflow serve` and simulators that tests/console/test_console.py started. The world
// comes in RF_CONSOLE_WORLD (JSON: url, tokens, fixtures); screenshots go to RF_SCREENSHOTS.
// Every wait is on a condition in the page (Playwright's waits), never a sleep.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const world = JSON.parse(process.env.RF_CONSOLE_WORLD ?? "{}");
const shots = process.env.RF_SCREENSHOTS ?? "";
const base = world.url;
const T = world.tokens ?? {};
const F = world.fixtures ?? {};
const WAIT = 30000;

let browser;
const cspViolations = [];

before(async () => {
  assert.ok(base, "RF_CONSOLE_WORLD must give the service's url");
  browser = await chromium.launch({
    executablePath: process.env.RF_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  if (shots) fs.mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
});

async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(WAIT);
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("pageerror", (e) => cspViolations.push("page error: " + e.message));
  return page;
}

async function signIn(page, token, landing = "/") {
  await page.goto(base + landing);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("who").waitFor();
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
}

async function apiGet(p, token = T.admin) {
  const r = await fetch(base + p, { headers: { Authorization: "Bearer " + token } });
  return { status: r.status, body: await r.json() };
}

test("the service serves the console with its security headers, and never in place of the API", async () => {
  const index = await fetch(base + "/");
  assert.equal(index.status, 200);
  assert.match(index.headers.get("content-type"), /^text\/html/);
  const csp = index.headers.get("content-security-policy");
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(index.headers.get("x-content-type-options"), "nosniff");
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const html = await index.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)[1];
  const js = await fetch(base + asset);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("cache-control"), /immutable/);
  assert.match(js.headers.get("content-type"), /^text\/javascript/);
  const etag = js.headers.get("etag");
  assert.equal((await fetch(base + asset, { headers: { "If-None-Match": etag } })).status, 304);
  // A console route is the console; an unknown API path or asset stays a JSON 404.
  const deep = await fetch(base + "/instances/00-1-1");
  assert.equal(deep.status, 200);
  assert.equal(await deep.text(), html);
  for (const p of ["/v1/nothing-here", "/assets/missing-123.js", "/metrics/x"]) {
    const r = await fetch(base + p);
    assert.equal(r.status, 404, p);
    assert.match(r.headers.get("content-type"), /application\/json/, p);
  }
});

test("sign in with a token, kept in sessionStorage only", async () => {
  const page = await newPage();
  await page.goto(base + "/");
  await shot(page, "signin");
  await page.getByLabel("Access token").fill("rf_not_a_token_the_service_knows");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("The service does not know this token.").waitFor();
  await page.getByLabel("Access token").fill(T.admin);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Instances" }).waitFor();
  assert.match(await page.getByTestId("who").textContent(), /admin/);
  assert.ok(!page.url().includes(T.admin), "the token is never in the URL");
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("retailflow.token")), T.admin);
  // Counts per status come from the API.
  await page.locator('.counts button[data-status="held"]').waitFor();
  await page.locator(`tr[data-id="${F.completed.id}"]`).waitFor();
  await shot(page, "instances");
  await page.context().close();
});

test("find a store return by business key, see its path highlighted and its timeline", async () => {
  const page = await newPage();
  await signIn(page, T.admin);
  await page.getByLabel("Find by instance id or business key").fill(F.completed.business_key);
  await page.getByRole("button", { name: "Find" }).click();
  await page.waitForURL("**/instances/" + F.completed.id);
  assert.equal(await page.getByTestId("business-key").textContent(), F.completed.business_key);
  assert.equal(await page.getByTestId("status").first().textContent(), "completed");
  // The graph is drawn by Graphviz (WASM) and the taken path is marked on it.
  await page.locator('[data-testid="graph"] g.node.visited[data-state="find_sale"]').waitFor();
  for (const s of ["restock", "credit_note", "refunded"])
    await page.locator(`[data-testid="graph"] g.node.visited[data-state="${s}"]`).waitFor();
  assert.equal(await page.locator('[data-testid="graph"] g.node.visited[data-state="manager_approval"]').count(), 0);
  assert.ok((await page.locator('[data-testid="graph"] g.edge.taken').count()) >= 5);
  const timeline = page.getByTestId("timeline");
  await timeline.getByText(/find_sale: completed/).waitFor();
  await timeline.getByText(/completed at refunded/).waitFor();
  const compactRows = await timeline.locator("li").count();
  await page.getByRole("button", { name: "Full" }).click();
  await timeline.getByText(/find_sale: started/).waitFor();
  assert.ok((await timeline.locator("li").count()) > compactRows, "the full view has every event");
  await shot(page, "instance");
  await page.context().close();
});

test("approve a task as approver:store_manager and watch the instance move on", async () => {
  const watcher = await newPage();
  await signIn(watcher, T.admin, "/instances/" + F.approval.id);
  await watcher.locator('[data-testid="graph"] g.node.current[data-state="manager_approval"]').waitFor();
  assert.equal(await watcher.getByTestId("current-states").textContent(), "manager_approval");

  const manager = await newPage();
  await signIn(manager, T.store_manager);
  // An approver without a reader role lands on the inbox; the reader pages are not offered.
  await manager.getByRole("heading", { name: "Inbox" }).waitFor();
  assert.equal(await manager.getByRole("link", { name: "Instances" }).count(), 0);
  const card = manager.locator(`article[data-task="${F.approval.task}"]`);
  await card.getByText(F.approval.title).waitFor();
  await card.getByText(/Deadline/).waitFor();
  await shot(manager, "inbox");
  await card.getByLabel("Comment").fill("receipt checked in the console");
  await card.getByRole("button", { name: "Approve" }).click();
  await card.getByText("Approved").waitFor();

  const timeline = watcher.getByTestId("timeline");
  await timeline.getByText(/manager_approval: approved by e2e-store_manager/).waitFor();
  await timeline.getByText("“receipt checked in the console”").waitFor();
  await watcher.locator('[data-testid="status"]').getByText("completed").waitFor();
  await watcher.locator('[data-testid="graph"] g.node.visited[data-state="restock"]').waitFor();
  await manager.locator("table").getByText("receipt checked in the console").waitFor();
  await watcher.context().close();
  await manager.context().close();
});

test("a viewer sees no repair buttons", async () => {
  const page = await newPage();
  await signIn(page, T.viewer);
  await page.getByRole("heading", { name: "Instances" }).waitFor();
  await page.locator(`tr[data-id="${F.held.id}"]`).waitFor();
  assert.equal(await page.getByRole("button", { name: /Cancel selected/ }).count(), 0);
  assert.equal(await page.getByRole("checkbox", { name: /^select / }).count(), 0);
  await page.goto(base + "/instances/" + F.held.id);
  await page.getByTestId("instance-error").waitFor();
  await page.getByText("No action is open to you on this instance.").waitFor();
  for (const name of [/^Retry/, /^Skip/, /Cancel instance/])
    assert.equal(await page.getByRole("button", { name }).count(), 0, String(name));
  await page.context().close();
});

test("retry a held instance with a data patch", async () => {
  const page = await newPage();
  await signIn(page, T.admin, "/instances/" + F.held.id);
  await page.getByTestId("instance-error").getByText(/Held at credit_note: rejected/).waitFor();
  await page.locator('[data-testid="graph"] g.node.failed[data-state="credit_note"]').waitFor();
  const patch = page.getByLabel(/Data patch for the retry/);
  await patch.fill('{"console_note": "checked",}');
  await page.getByText(/not valid JSON at line 1/).waitFor();
  assert.ok(await page.getByRole("button", { name: "Retry credit_note" }).isDisabled());
  await patch.fill('{"console_note": "checked"}');
  await page.getByText("Valid JSON object.").waitFor();
  await shot(page, "repair");
  await page.getByRole("button", { name: "Retry credit_note" }).click();
  await page.getByTestId("answer").getByText("Retry: accepted").waitFor();
  await page.locator('[data-testid="status"]').getByText("completed").waitFor();
  await page.getByTestId("timeline").getByText(/credit_note: retried by an operator/).waitFor();
  const inst = await apiGet("/v1/instances/" + F.held.id);
  assert.equal(inst.body.status, "completed");
  assert.equal(inst.body.data.console_note, "checked");
  await page.context().close();
});

test("cancel a selection of instances with a confirmation that says how many", async () => {
  const page = await newPage();
  await signIn(page, T.admin, "/instances?status=held");
  await page.locator(`tr[data-id="${F.held2.id}"]`).waitFor();
  await page.getByRole("checkbox", { name: "select " + F.held2.id }).check();
  await page.getByRole("button", { name: "Cancel selected…" }).click();
  await page.getByText("Cancel 1 instance? Each runs its undo chain.").waitFor();
  await page.getByLabel(/Reason/).fill("refund refused by Odoo");
  await page.getByRole("button", { name: "Cancel 1", exact: true }).click();
  await page.getByTestId("answer").getByText("1 accepted, 0 refused").waitFor();
  await page.waitForFunction(
    async ([id, token]) => {
      const r = await fetch("/v1/instances/" + id, { headers: { Authorization: "Bearer " + token } });
      return (await r.json()).status === "cancelled";
    },
    [F.held2.id, T.admin],
    { polling: 200 },
  );
  await page.context().close();
});

test("deploy a broken flow and see the diagnostic at its line", async () => {
  const page = await newPage();
  await signIn(page, T.admin, "/workflows");
  await page.getByRole("link", { name: "store_return" }).first().waitFor();
  await shot(page, "workflows");
  const lines = [
    "workflow console_broken version 1",
    '  "A flow with a mistake on line 7."',
    "",
    "input order_id text",
    "",
    "decide route",
    '  when input.order_id == "x" go to nowhere',
    "  otherwise go to done",
    "",
    "finish done",
  ];
  await page.getByLabel("or paste its source").fill(lines.join("\n"));
  await page.getByRole("button", { name: "Deploy" }).click();
  await page.getByTestId("answer").getByText(/422 invalid_workflow/).waitFor();
  const diag = page.locator('[data-diagnostic-line="7"]');
  await diag.waitFor();
  assert.match(await diag.textContent(), /nowhere/);
  assert.ok(await page.locator('.source .line.diag[data-line="7"]').count() === 1);
  await shot(page, "deploy-refused");
  const wf = await apiGet("/v1/workflows/console_broken");
  assert.equal(wf.status, 404, "a refused flow is not deployed");
  // The workflow page shows a deployed flow's source and graph.
  await page.goto(base + "/workflows/store_return");
  await page.locator('[data-testid="graph"] g.node[data-state="find_sale"]').waitFor();
  await page.getByTestId("source").getByText("workflow", { exact: true }).first().waitFor();
  await shot(page, "workflow");
  await page.context().close();
});

test("connectors and dashboard pages show the service's figures", async () => {
  const page = await newPage();
  await signIn(page, T.admin, "/connectors");
  await page.locator('tr[data-connector="odoo"]').waitFor();
  await shot(page, "connectors");
  await page.goto(base + "/dashboard");
  await page.locator('[data-kpi="started"] strong').filter({ hasText: /^[1-9]\d*$/ }).waitFor();
  await shot(page, "dashboard");
  await page.context().close();
});

test("no page broke the Content-Security-Policy or threw", () => {
  assert.deepEqual(cspViolations, []);
});
