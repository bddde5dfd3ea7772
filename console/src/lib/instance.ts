// What the console derives from an instance view and its history (GET /v1/instances/{id} and
// /history): where it is, and the path it took through the flow's graph. Pure; unit-tested.

export const STATUS_ORDER = [
  "running",
  "waiting",
  "held",
  "compensating",
  "completed",
  "failed",
  "compensated",
  "compensation_failed",
  "cancelled",
];

export const TERMINAL = new Set(["completed", "failed", "compensated", "compensation_failed", "cancelled"]);

export interface HistoryEvent {
  seq: number;
  at: string;
  type: string;
  state?: string;
  thread?: number;
  to?: string;
  [k: string]: unknown;
}

// The states the instance is in now: each live thread's state (none once it has ended).
export function currentStates(inst: { status?: string; threads?: { state?: string; phase?: string }[] }): string[] {
  if (!inst || TERMINAL.has(inst.status ?? "")) return [];
  const out: string[] = [];
  for (const t of inst.threads ?? [])
    if (t.state && t.phase !== "done" && t.phase !== "joining" && !out.includes(t.state)) out.push(t.state);
  return out;
}

// The graph's node id for a state named in the history. Nested states (parallel branches,
// for-each bodies) are drawn as "<parent>__<branch>__<state>" (dsl/src/graph.cc); the history
// names them by their own name, so a nested state is found by that suffix.
export function nodeIdFor(state: string, nodeIds: Set<string>): string | null {
  if (nodeIds.has(state)) return state;
  for (const id of nodeIds) if (id.endsWith("__" + state) && !id.endsWith("__undo")) return id;
  return null;
}

export interface TakenPath {
  visited: string[]; // node ids in the order first entered
  edges: [string, string][]; // node id pairs, each taken at least once
  current: string[]; // node ids the instance is in now
  failed: string[]; // node ids where a step is held or the instance failed
}

// The path through the graph: per thread, the sequence of states it entered; an edge for each
// move from one state to the next (and from the start point to the first state).
export function takenPath(
  events: HistoryEvent[],
  nodeIds: Set<string>,
  inst?: { status?: string; threads?: { state?: string; phase?: string }[]; error?: { state?: string } },
): TakenPath {
  const visited: string[] = [];
  const edges: [string, string][] = [];
  const seenEdge = new Set<string>();
  const last = new Map<number, string>();
  const addEdge = (a: string, b: string) => {
    const k = a + "\u0000" + b;
    if (a === b || seenEdge.has(k)) return;
    seenEdge.add(k);
    edges.push([a, b]);
  };
  const enter = (thread: number, state: string | undefined) => {
    if (!state) return;
    const id = nodeIdFor(state, nodeIds);
    if (!id) return;
    if (!visited.includes(id)) visited.push(id);
    const prev = last.get(thread);
    if (prev === undefined) {
      if (thread === 0 && nodeIds.has("__start")) addEdge("__start", id);
    } else {
      addEdge(prev, id);
    }
    last.set(thread, id);
  };
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  for (const e of sorted) {
    const thread = typeof e.thread === "number" ? e.thread : 0;
    if (e.type === "instance_started") continue;
    if (typeof e.type === "string" && e.type.startsWith("undo")) continue; // undo runs beside the path
    enter(thread, e.state);
    if (typeof e.to === "string" && (e.type === "decided" || e.type === "error_handled" || e.type === "approval_escalated"))
      enter(thread, e.to);
  }
  const current = inst ? currentStates(inst).map((s) => nodeIdFor(s, nodeIds)).filter((x): x is string => !!x) : [];
  const failed: string[] = [];
  if (inst?.error?.state) {
    const id = nodeIdFor(inst.error.state, nodeIds);
    if (id) failed.push(id);
  }
  return { visited, edges, current, failed };
}

// The node ids declared in a DOT text of dsl/src/graph.cc (quoted ids before " [").
export function dotNodeIds(dot: string): Set<string> {
  const ids = new Set<string>();
  const re = /^\s*"((?:[^"\\]|\\.)*)"\s*\[/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(dot)) !== null) ids.add(m[1]);
  if (/^\s*__start\s*\[/m.test(dot)) ids.add("__start");
  return ids;
}
