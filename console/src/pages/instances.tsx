import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import { formatTime, isInstanceId, plural } from "../lib/format";
import { navigate } from "../lib/router";
import { Session } from "../lib/session";
import { currentStates, STATUS_ORDER } from "../lib/instance";
import { Link } from "../components/link";
import { StatusBadge } from "../components/status";
import { Answer, AnswerView } from "../components/answer";

const PAGE_SIZES = [25, 50, 100];

// A datetime-local value ("2026-12-02T19:30", read as UTC) as RFC 3339.
function rfc3339(local: string): string | undefined {
  if (!local) return undefined;
  return local.length === 16 ? local + ":00Z" : local + "Z";
}

// Filters live in the URL's query (shareable, back/forward work); the token never does.
export function Instances(props: { session: Session; query: URLSearchParams }) {
  const q = props.query;
  const workflow = q.get("workflow") ?? "";
  const status = q.get("status") ?? "";
  const key = q.get("business_key") ?? "";
  const version = q.get("version") ?? "";
  const from = q.get("from") ?? "";
  const to = q.get("to") ?? "";
  const limit = Number(q.get("limit")) || 25;
  const [cursors, setCursors] = useState<string[]>([]); // cursors of the pages before this one
  const cursor = q.get("cursor") ?? "";
  const [page, setPage] = useState<any | null>(null);
  const [counts, setCounts] = useState<Record<string, number> | null>(null);
  const [workflows, setWorkflows] = useState<any[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [auto, setAuto] = useState(true);
  const [tick, setTick] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirm, setConfirm] = useState<null | "cancel" | "retry">(null);
  const [reason, setReason] = useState("");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [search, setSearch] = useState("");

  const set = (changes: Record<string, string>, keepCursor = false) => {
    const next = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) v ? next.set(k, v) : next.delete(k);
    if (!keepCursor) {
      next.delete("cursor");
      setCursors([]);
    }
    navigate("/instances" + (next.toString() ? "?" + next.toString() : ""), true);
  };

  useEffect(() => {
    api.workflows().then((w) => setWorkflows(w.items)).catch(() => {});
  }, []);
  useEffect(() => {
    if (!auto) return;
    const t = setInterval(() => setTick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, [auto]);
  useEffect(() => {
    let live = true;
    api
      .instances({ workflow, status, business_key: key, version, created_from: rfc3339(from), created_to: rfc3339(to), limit, cursor })
      .then((p) => live && (setPage(p), setError(null)))
      .catch((e: ApiError) => live && setError(e.message));
    api
      .counts(workflow || undefined)
      .then((c) => live && setCounts(c.counts))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [workflow, status, key, version, from, to, limit, cursor, tick]);

  const items: any[] = page?.items ?? [];
  const versions = useMemo(() => workflows.find((w) => w.name === workflow)?.versions ?? [], [workflows, workflow]);
  const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : 0;
  const selectedIds = [...selected];
  const selectedHeld = items.filter((i) => selected.has(i.id) && i.status === "held").map((i) => i.id);

  const doSearch = async (e: Event) => {
    e.preventDefault();
    const s = search.trim();
    if (!s) return;
    if (isInstanceId(s)) return navigate("/instances/" + encodeURIComponent(s));
    // A business key is unique per workflow: look in the chosen one, or in each.
    const names = workflow ? [workflow] : workflows.map((w) => w.name);
    const found: any[] = [];
    for (const name of names) {
      try {
        const p = await api.instances({ workflow: name, business_key: s, limit: 10 });
        found.push(...p.items);
      } catch {
        /* a workflow without instances */
      }
    }
    if (found.length === 1) return navigate("/instances/" + encodeURIComponent(found[0].id));
    if (found.length > 1) return set({ business_key: s, workflow: found[0].workflow });
    setError("No instance with id or business key " + JSON.stringify(s) + ".");
  };

  const runBulk = async () => {
    try {
      const r =
        confirm === "cancel"
          ? await api.bulkCancel(selectedIds, reason.trim())
          : await api.bulkRetry(selectedHeld);
      setAnswer({ ok: r.refused === 0, title: `${r.accepted} accepted, ${r.refused} refused`, body: r });
      setSelected(new Set());
    } catch (e) {
      const err = e as ApiError;
      setAnswer({ ok: false, title: `${err.status} ${err.code}: ${err.message}`, body: err.details });
    }
    setConfirm(null);
    setReason("");
    setTick((n) => n + 1);
  };

  const toggle = (id: string) => {
    const next = new Set(selected);
    next.has(id) ? next.delete(id) : next.add(id);
    setSelected(next);
  };

  return (
    <section aria-labelledby="instances-title">
      <h1 id="instances-title">Instances</h1>
      <form class="filters" onSubmit={doSearch} role="search">
        <label>
          Find by instance id or business key
          <input
            name="search"
            value={search}
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            placeholder="e.g. RET-PAR-01-00042"
          />
        </label>
        <button type="submit">Find</button>
      </form>
      <div class="filters">
        <label>
          Workflow
          <select
            name="workflow"
            value={workflow}
            onChange={(e) => set({ workflow: (e.target as HTMLSelectElement).value, version: "", business_key: "" })}
          >
            <option value="">all</option>
            {workflows.map((w) => (
              <option value={w.name}>{w.name}</option>
            ))}
          </select>
        </label>
        <label>
          Version
          <select
            name="version"
            value={version}
            disabled={!workflow}
            onChange={(e) => set({ version: (e.target as HTMLSelectElement).value })}
          >
            <option value="">all</option>
            {versions.map((v: number) => (
              <option value={String(v)}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          Business key
          <input
            name="business_key"
            value={key}
            disabled={!workflow}
            title={workflow ? "" : "choose a workflow first (keys are unique per workflow)"}
            onChange={(e) => set({ business_key: (e.target as HTMLInputElement).value.trim() })}
          />
        </label>
        <label>
          Created from (UTC)
          <input type="datetime-local" name="from" value={from} onChange={(e) => set({ from: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          Created to (UTC)
          <input type="datetime-local" name="to" value={to} onChange={(e) => set({ to: (e.target as HTMLInputElement).value })} />
        </label>
        <label>
          Per page
          <select name="limit" value={String(limit)} onChange={(e) => set({ limit: (e.target as HTMLSelectElement).value })}>
            {PAGE_SIZES.map((n) => (
              <option value={String(n)}>{n}</option>
            ))}
          </select>
        </label>
        <label class="row">
          <input type="checkbox" checked={auto} onChange={() => setAuto(!auto)} /> Auto-refresh (5 s)
        </label>
      </div>
      {counts && (
        <div class="counts" role="group" aria-label="Instances per status">
          <button type="button" aria-pressed={status === "" ? "true" : "false"} onClick={() => set({ status: "" })}>
            all {total}
          </button>
          {STATUS_ORDER.filter((s) => (counts[s] ?? 0) > 0 || s === status).map((s) => (
            <button
              type="button"
              data-status={s}
              aria-pressed={status === s ? "true" : "false"}
              onClick={() => set({ status: status === s ? "" : s })}
            >
              {s} {counts[s] ?? 0}
            </button>
          ))}
        </div>
      )}
      {error && (
        <div class="error-box" role="alert">
          {error}
        </div>
      )}
      {(props.session.can.operate || props.session.can.repair) && (
        <div class="row" aria-label="Actions on the selection">
          <span class="muted">{plural(selected.size, "instance")} selected</span>
          {props.session.can.operate && (
            <button type="button" class="danger" disabled={selected.size === 0} onClick={() => setConfirm("cancel")}>
              Cancel selected…
            </button>
          )}
          {props.session.can.repair && (
            <button type="button" disabled={selectedHeld.length === 0} onClick={() => setConfirm("retry")}>
              Retry held…
            </button>
          )}
        </div>
      )}
      {confirm && (
        <div class="panel" role="alertdialog" aria-labelledby="confirm-title">
          <p id="confirm-title">
            <strong>
              {confirm === "cancel"
                ? `Cancel ${plural(selectedIds.length, "instance")}? Each runs its undo chain.`
                : `Retry the failed step of ${plural(selectedHeld.length, "held instance")}?`}
            </strong>
          </p>
          {confirm === "cancel" && (
            <label>
              Reason (kept in each instance's history)
              <input name="reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
            </label>
          )}
          <div class="row">
            <button type="button" class={confirm === "cancel" ? "danger" : ""} onClick={runBulk}>
              {confirm === "cancel" ? `Cancel ${selectedIds.length}` : `Retry ${selectedHeld.length}`}
            </button>
            <button type="button" class="secondary" onClick={() => setConfirm(null)}>
              Back
            </button>
          </div>
        </div>
      )}
      {answer && <AnswerView answer={answer} />}
      <table>
        <caption class="sr-only">Instances, oldest first</caption>
        <thead>
          <tr>
            {(props.session.can.operate || props.session.can.repair) && (
              <th>
                <span class="sr-only">Select</span>
              </th>
            )}
            <th>Instance</th>
            <th>Workflow</th>
            <th>Business key</th>
            <th>Status</th>
            <th>Where</th>
            <th>Created</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr data-id={i.id}>
              {(props.session.can.operate || props.session.can.repair) && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={"select " + i.id}
                    checked={selected.has(i.id)}
                    onChange={() => toggle(i.id)}
                  />
                </td>
              )}
              <td class="mono">
                <Link href={"/instances/" + encodeURIComponent(i.id)}>{i.id}</Link>
              </td>
              <td>
                {i.workflow} <span class="muted">v{i.version}</span>
              </td>
              <td class="mono">{i.business_key}</td>
              <td>
                <StatusBadge status={i.status} />
              </td>
              <td>{currentStates(i).join(", ") || <span class="muted">{i.outcome ?? ""}</span>}</td>
              <td>{formatTime(i.created_at)}</td>
              <td>{formatTime(i.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.length === 0 && page && <p class="muted">No instances match.</p>}
      <div class="row" aria-label="Pages">
        <button
          type="button"
          class="secondary"
          disabled={cursors.length === 0}
          onClick={() => {
            const prev = cursors.slice(0, -1);
            const c = cursors[cursors.length - 1];
            setCursors(prev);
            set({ cursor: c }, true);
          }}
        >
          Previous page
        </button>
        <button
          type="button"
          class="secondary"
          disabled={!page?.next_cursor}
          onClick={() => {
            setCursors([...cursors, cursor]);
            set({ cursor: page.next_cursor }, true);
          }}
        >
          Next page
        </button>
      </div>
    </section>
  );
}
