import { describe, expect, it } from "vitest";
import { formatDuration, formatTime, isInstanceId, toMillis } from "./format";
import { currentStates, dotNodeIds, nodeIdFor, takenPath, HistoryEvent } from "./instance";
import { parsePatch } from "./patch";
import { parseRoute, hrefOf } from "./router";
import { cleanToken, canApprove, Session } from "./session";
import { timeline } from "./timeline";
import { caret, diagnosticsByLine, highlightLine } from "./source";
import { parseMetrics, sumBy } from "./metrics";

const DOT = `digraph "store_return" {
  __start [shape=point, width=0.2];
  __start -> "find_sale";
  "find_sale" [label="find_sale\\npos.get_sale", shape=box];
  "check" [label="check?", shape=diamond];
  "approve" [label="approve\\napproval by store_manager", shape=hexagon];
  "lines" [label="lines\\nfor each line", shape=box3d];
  "lines__body__credit_line" [label="credit_line", shape=box];
  "restock__undo" [label="undo: inventory.adjust", shape=note];
  "done" [label="done", shape=doublecircle];
}`;

const ev = (seq: number, type: string, extra: Partial<HistoryEvent> = {}): HistoryEvent => ({
  seq,
  type,
  at: new Date(Date.UTC(2026, 11, 2, 10, 0, 0) + seq * 1000).toISOString(),
  thread: 0,
  ...extra,
});

describe("format", () => {
  it("formats durations at a readable unit", () => {
    expect(formatDuration(0)).toBe("0 ms");
    expect(formatDuration(1500)).toBe("1.5 s");
    expect(formatDuration(65000)).toBe("1 min 5 s");
    expect(formatDuration(2 * 3600000 + 5 * 60000)).toBe("2 h 5 min");
    expect(formatDuration(3 * 86400000 + 4 * 3600000)).toBe("3 d 4 h");
    expect(formatDuration(-1)).toBe("");
    expect(formatDuration(undefined)).toBe("");
  });
  it("reads and prints API times in UTC", () => {
    expect(toMillis("2026-12-02T19:35:53.648Z")).toBe(Date.UTC(2026, 11, 2, 19, 35, 53, 648));
    expect(toMillis("not a time")).toBeNull();
    expect(formatTime("2026-12-02T19:35:53.648Z")).toBe("2026-12-02 19:35:53");
  });
  it("recognises instance ids", () => {
    expect(isInstanceId("01-1796240153026-000001")).toBe(true);
    expect(isInstanceId("RET-31D1-00028")).toBe(false);
  });
});

describe("session", () => {
  it("accepts a pasted token with or without Bearer, refuses anything else", () => {
    expect(cleanToken("  rf_abc-DEF_123  ")).toBe("rf_abc-DEF_123");
    expect(cleanToken("Bearer rf_abc")).toBe("rf_abc");
    expect(cleanToken("rf abc")).toBeNull();
    expect(cleanToken("")).toBeNull();
    expect(cleanToken("<script>")).toBeNull();
  });
  it("knows which tasks a session may decide", () => {
    const s = (approve: string[]): Session => ({ name: "n", roles: [], can: { read: false, operate: false, repair: false, deploy: false, approve } });
    expect(canApprove(s(["store_manager"]), "store_manager")).toBe(true);
    expect(canApprove(s(["store_manager"]), "regional_manager")).toBe(false);
    expect(canApprove(s(["*"]), "anything")).toBe(true);
    expect(canApprove(null, "store_manager")).toBe(false);
  });
});

describe("router", () => {
  it("parses the console's paths and prints them back", () => {
    expect(parseRoute("/")).toMatchObject({ page: "instances" });
    expect(parseRoute("/instances/01-2-3")).toEqual({ page: "instance", id: "01-2-3" });
    expect(parseRoute("/workflows/store_return", "?version=2")).toEqual({ page: "workflow", name: "store_return", version: 2 });
    expect(parseRoute("/workflows/x", "?version=zero")).toEqual({ page: "workflow", name: "x", version: undefined });
    expect(parseRoute("/inbox")).toEqual({ page: "inbox" });
    expect(parseRoute("/inbox/extra")).toMatchObject({ page: "notfound" });
    expect(parseRoute("/a/b/c")).toMatchObject({ page: "notfound" });
    expect(hrefOf({ page: "instance", id: "a b" })).toBe("/instances/a%20b");
    expect(hrefOf({ page: "instances", query: new URLSearchParams("status=held") })).toBe("/instances?status=held");
  });
});

describe("taken path", () => {
  it("finds the DOT's node ids, nested ones by their suffix", () => {
    const ids = dotNodeIds(DOT);
    expect([...ids].sort()).toEqual(["__start", "approve", "check", "done", "find_sale", "lines", "lines__body__credit_line", "restock__undo"].sort());
    expect(nodeIdFor("credit_line", ids)).toBe("lines__body__credit_line");
    expect(nodeIdFor("restock", ids)).toBeNull(); // an undo note is never a state
    expect(nodeIdFor("nope", ids)).toBeNull();
  });
  it("marks visited states, taken edges and where the instance is now", () => {
    const ids = dotNodeIds(DOT);
    const events = [
      ev(1, "instance_started", { workflow: "store_return", version: 1 }),
      ev(2, "step_started", { state: "find_sale" }),
      ev(3, "step_completed", { state: "find_sale" }),
      ev(4, "decided", { state: "check", to: "approve" }),
      ev(5, "task_created", { state: "approve", role: "store_manager" }),
    ];
    const p = takenPath(events, ids, { status: "waiting", threads: [{ state: "approve", phase: "task" }] });
    expect(p.visited).toEqual(["find_sale", "check", "approve"]);
    expect(p.edges).toEqual([
      ["__start", "find_sale"],
      ["find_sale", "check"],
      ["check", "approve"],
    ]);
    expect(p.current).toEqual(["approve"]);
    expect(p.failed).toEqual([]);
  });
  it("has no current state once finished, and marks a held step as failed", () => {
    const ids = dotNodeIds(DOT);
    expect(currentStates({ status: "completed", threads: [{ state: "done", phase: "done" }] })).toEqual([]);
    const p = takenPath([ev(1, "step_started", { state: "find_sale" }), ev(2, "step_held", { state: "find_sale" })], ids, {
      status: "held",
      threads: [{ state: "find_sale", phase: "held" }],
      error: { state: "find_sale" },
    });
    expect(p.failed).toEqual(["find_sale"]);
    expect(p.current).toEqual(["find_sale"]);
  });
  it("orders by sequence, whatever order the events come in", () => {
    const ids = dotNodeIds(DOT);
    const p = takenPath([ev(3, "step_started", { state: "check" }), ev(2, "step_started", { state: "find_sale" })], ids);
    expect(p.visited).toEqual(["find_sale", "check"]);
  });
});

describe("timeline", () => {
  const events = [
    ev(1, "instance_started", { workflow: "w", version: 2, business_key: "K1" }),
    ev(2, "step_started", { state: "find_sale" }),
    ev(4, "attempt_failed", { state: "find_sale", attempt: 1, kind: "unavailable", message: "HTTP 503" }),
    ev(6, "step_completed", { state: "find_sale", attempt: 2 }),
    ev(7, "task_completed", { state: "approve", decision: "approve", actor: "ann", comment: "ok" }),
    ev(8, "undo_started", { step: "restock", attempt: 1 }),
    ev(9, "instance_completed", { state: "done", outcome: "Refunded." }),
  ];
  it("full view: one row per event, with the time since the previous one", () => {
    const rows = timeline(events, false);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 4, 6, 7, 8, 9]);
    expect(rows[2]).toMatchObject({ kind: "error", text: "find_sale: attempt 1 failed (unavailable)", detail: "HTTP 503", sincePrevious: "2.0 s" });
    expect(rows[4]).toMatchObject({ kind: "approval", text: "approve: approved by ann", detail: "“ok”" });
    expect(rows[5].kind).toBe("undo");
    expect(rows[6]).toMatchObject({ kind: "end", detail: "Refunded." });
  });
  it("compact view: a step is one row with how long it took", () => {
    const rows = timeline(events, true);
    expect(rows.map((r) => r.seq)).toEqual([1, 4, 6, 7, 8, 9]);
    expect(rows[2].text).toBe("find_sale: completed on attempt 2 in 4.0 s");
  });
  it("compact view keeps a step that has not finished", () => {
    const rows = timeline([ev(1, "step_started", { state: "s" })], true);
    expect(rows).toHaveLength(1);
    expect(rows[0].text).toBe("s: started");
  });
});

describe("patch", () => {
  it("accepts an object or nothing, refuses the rest with where", () => {
    expect(parsePatch("")).toEqual({ ok: true, value: undefined });
    expect(parsePatch('{"a": {"b": 1}}')).toEqual({ ok: true, value: { a: { b: 1 } } });
    const bad = parsePatch('{\n  "a": 1,\n}');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/not valid JSON/);
    expect(parsePatch("[1]").ok).toBe(false);
    expect(parsePatch("null").ok).toBe(false);
    expect(parsePatch("42").ok).toBe(false);
  });
});

describe("source", () => {
  it("highlights keywords, strings, comments and numbers", () => {
    const t = highlightLine('  call pos.get_sale with id = "x" # find it');
    expect(t.find((x) => x.text === "call")?.cls).toBe("kw");
    expect(t.find((x) => x.text === '"x"')?.cls).toBe("str");
    expect(t.find((x) => x.cls === "com")?.text).toBe("# find it");
    expect(t.map((x) => x.text).join("")).toBe('  call pos.get_sale with id = "x" # find it');
    expect(highlightLine("timeout 10s").find((x) => x.cls === "num")?.text).toBe("10s");
  });
  it("groups diagnostics by line and draws a caret under the columns", () => {
    const d = { line: 7, column: 5, length: 3, message: "m", severity: "error" };
    const m = diagnosticsByLine([d, { ...d, line: 0 }, { ...d, column: 1 }]);
    expect([...m.keys()]).toEqual([7]);
    expect(m.get(7)).toHaveLength(2);
    expect(caret(d)).toBe("    ^~~");
  });
});

describe("metrics", () => {
  it("reads the Prometheus text format and sums by label", () => {
    const m = parseMetrics(
      '# HELP x y\n# TYPE x counter\nretailflow_connector_errors_total{connector="odoo",kind="unavailable"} 3\n' +
        'retailflow_connector_errors_total{connector="pos",kind="timeout"} 2\nretailflow_ready 1\nbad line\n',
    );
    expect(m).toHaveLength(3);
    expect(sumBy(m, "retailflow_connector_errors_total")).toBe(5);
    expect(sumBy(m, "retailflow_connector_errors_total", (l) => l.connector === "odoo")).toBe(3);
    expect(sumBy(m, "nothing")).toBe(0);
  });
});
