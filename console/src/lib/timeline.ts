// The timeline of an instance's history: one row per event (full view) or per meaningful moment
// (compact view: a step's start and end become one row). Pure; unit-tested.
import { formatDuration, toMillis } from "./format";
import { HistoryEvent } from "./instance";

export type RowKind = "start" | "step" | "error" | "decision" | "approval" | "wait" | "undo" | "end" | "other";

export interface Row {
  seq: number;
  at: string;
  sincePrevious: string; // duration since the previous row
  kind: RowKind;
  text: string;
  detail?: string;
}

function str(v: unknown): string {
  return v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
}

export function describe(e: HistoryEvent): { kind: RowKind; text: string; detail?: string } {
  const s = e.state ?? "";
  switch (e.type) {
    case "instance_started":
      return { kind: "start", text: `started ${str(e.workflow)} v${str(e.version)}`, detail: e.business_key ? `business key ${str(e.business_key)}` : undefined };
    case "step_started":
      return { kind: "step", text: `${s}: started` + (Number(e.visit) > 1 ? ` (visit ${e.visit})` : "") };
    case "step_completed":
      return { kind: "step", text: `${s}: completed` + (Number(e.attempt) > 1 ? ` on attempt ${e.attempt}` : "") };
    case "attempt_failed":
      return { kind: "error", text: `${s}: attempt ${str(e.attempt)} failed (${str(e.kind)})`, detail: str(e.message) };
    case "step_held":
      return { kind: "error", text: `${s}: held for an operator (${str(e.kind)})`, detail: str(e.message) };
    case "step_failed":
      return { kind: "error", text: `${s}: failed (${str(e.kind)})`, detail: str(e.message) };
    case "decided":
      return { kind: "decision", text: `${s}: went to ${str(e.to)}` };
    case "task_created":
      return { kind: "approval", text: `${s}: task for ${str(e.role)}` };
    case "task_completed":
      return {
        kind: "approval",
        text: `${s}: ${str(e.decision)}${e.decision === "approve" ? "d" : e.decision === "reject" ? "ed" : ""} by ${str(e.actor)}` +
          (e.escalated ? " (escalated)" : ""),
        detail: e.comment ? `“${str(e.comment)}”` : undefined,
      };
    case "approval_escalated":
      return { kind: "approval", text: `${s}: nobody decided in time, escalated to ${str(e.to)}` };
    case "error_handled":
      return { kind: "error", text: `${s}: error ${str(e.kind)} handled, went to ${str(e.to)}` };
    case "step_retried_by_operator":
      return { kind: "step", text: `${s}: retried by an operator`, detail: e.patch ? `patch ${str(e.patch)}` : undefined };
    case "step_skipped_by_operator":
      return { kind: "step", text: `${s}: skipped by an operator` };
    case "cancel_requested":
      return { kind: "end", text: "cancel requested", detail: str(e.reason) || undefined };
    case "compensation_started":
      return { kind: "undo", text: `undo chain started (${str(e.undo_actions)} to undo, ${str(e.kind)})`, detail: str(e.message) || undefined };
    case "undo_started":
      return { kind: "undo", text: `undo of ${str(e.step)} started (attempt ${str(e.attempt)})` };
    case "undo_completed":
      return { kind: "undo", text: `undo of ${str(e.step)} completed`, detail: str(e.result ?? e.note) || undefined };
    case "undo_failed":
      return { kind: "error", text: `undo of ${str(e.step)} failed (${str(e.kind)})`, detail: str(e.message) || undefined };
    case "instance_completed":
      return { kind: "end", text: `completed at ${s}`, detail: str(e.outcome) || undefined };
    case "instance_failed":
    case "instance_compensated":
    case "instance_cancelled":
    case "instance_compensation_failed":
      return { kind: "end", text: e.type.replace("instance_", "").replace(/_/g, " ") + (s ? ` at ${s}` : ""), detail: str(e.outcome) || undefined };
  }
  if (e.type.startsWith("undo")) return { kind: "undo", text: `${e.type.replace(/_/g, " ")}${s ? " " + s : ""}`, detail: str(e.message ?? e.kind) || undefined };
  if (e.type.startsWith("wait") || e.type.startsWith("timer") || e.type.startsWith("event"))
    return { kind: "wait", text: `${s ? s + ": " : ""}${e.type.replace(/_/g, " ")}` + (e.event ? ` ${str(e.event)}` : "") };
  const extra = Object.entries(e)
    .filter(([k]) => !["seq", "at", "type", "state", "thread"].includes(k))
    .map(([k, v]) => `${k}=${str(v)}`)
    .join(" ");
  return { kind: "other", text: `${s ? s + ": " : ""}${e.type.replace(/_/g, " ")}`, detail: extra || undefined };
}

export function timeline(events: HistoryEvent[], compact: boolean): Row[] {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const rows: Row[] = [];
  let prevMs: number | null = null;
  const open = new Map<string, HistoryEvent>(); // step_started per thread+state (compact)
  for (const e of sorted) {
    const key = `${e.thread ?? 0}/${e.state ?? ""}`;
    if (compact && e.type === "step_started") {
      open.set(key, e);
      continue;
    }
    const d = describe(e);
    const ms = toMillis(e.at);
    let text = d.text;
    if (compact && e.type === "step_completed") {
      const started = open.get(key);
      const t0 = started ? toMillis(started.at) : null;
      if (t0 !== null && ms !== null) text += ` in ${formatDuration(ms - t0)}`;
      open.delete(key);
    }
    if (compact && (e.type === "for_each_started" || e.type === "for_each_finished")) {
      if (e.type === "for_each_started") text = `${e.state}: for each of ${String(e.items ?? "?")} items`;
      else continue;
    }
    rows.push({
      seq: e.seq,
      at: e.at,
      sincePrevious: prevMs !== null && ms !== null ? formatDuration(ms - prevMs) : "",
      kind: d.kind,
      text,
      detail: d.detail,
    });
    if (ms !== null) prevMs = ms;
  }
  // A step still running (compact) shows as started.
  for (const e of open.values()) {
    const ms = toMillis(e.at);
    rows.push({ seq: e.seq, at: e.at, sincePrevious: prevMs !== null && ms !== null ? formatDuration(ms - prevMs) : "", kind: "step", text: describe(e).text });
  }
  return rows.sort((a, b) => a.seq - b.seq);
}
