import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import { formatTime } from "../lib/format";
import { currentStates, dotNodeIds, HistoryEvent, takenPath, TERMINAL } from "../lib/instance";
import { parsePatch } from "../lib/patch";
import { Session } from "../lib/session";
import { timeline } from "../lib/timeline";
import { Answer, AnswerView } from "../components/answer";
import { Graph } from "../components/graph";
import { JsonPanel } from "../components/json_view";
import { Link } from "../components/link";
import { StatusBadge } from "../components/status";

export function InstancePage(props: { session: Session; id: string }) {
  const [inst, setInst] = useState<any | null>(null);
  const [events, setEvents] = useState<HistoryEvent[]>([]);
  const [dot, setDot] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const [compact, setCompact] = useState(true);

  useEffect(() => {
    let live = true;
    Promise.all([api.instance(props.id), api.history(props.id)])
      .then(([i, h]) => {
        if (!live) return;
        setInst(i);
        setEvents(h.items);
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e.status === 404 ? `No instance ${props.id}.` : e.message));
    return () => {
      live = false;
    };
  }, [props.id, tick]);
  useEffect(() => {
    if (!inst) return;
    api
      .workflow(inst.workflow, inst.version)
      .then((w) => setDot(w.graph?.dot ?? null))
      .catch(() => setDot(null));
  }, [inst?.workflow, inst?.version]);
  // Watch it move on: refresh while the instance is not finished.
  useEffect(() => {
    if (inst && TERMINAL.has(inst.status)) return;
    const t = setInterval(() => setTick((n) => n + 1), 2000);
    return () => clearInterval(t);
  }, [inst?.status]);

  const path = useMemo(() => (dot ? takenPath(events, dotNodeIds(dot), inst ?? undefined) : undefined), [dot, events, inst]);
  const rows = useMemo(() => timeline(events, compact), [events, compact]);

  if (error)
    return (
      <div class="error-box" role="alert">
        {error}
      </div>
    );
  if (!inst) return <p>Loading {props.id}…</p>;
  const where = currentStates(inst);
  const tasks = (inst.threads ?? []).filter((t: any) => t.task);
  const waits = (inst.threads ?? []).filter((t: any) => t.event || t.phase === "timer" || t.phase === "waiting");
  return (
    <section aria-labelledby="inst-title">
      <p>
        <Link href="/instances">← Instances</Link>
      </p>
      <h1 id="inst-title">
        {inst.workflow} <span class="mono">{inst.id}</span> <StatusBadge status={inst.status} />
      </h1>
      <div class="grid2">
        <div class="panel">
          <dl class="facts">
            <dt>Business key</dt>
            <dd class="mono" data-testid="business-key">{inst.business_key || "—"}</dd>
            <dt>Correlation id</dt>
            <dd class="mono">{inst.correlation_id}</dd>
            <dt>Workflow</dt>
            <dd>
              <Link href={`/workflows/${encodeURIComponent(inst.workflow)}?version=${inst.version}`}>
                {inst.workflow} v{inst.version}
              </Link>
            </dd>
            <dt>Current state</dt>
            <dd data-testid="current-states">{where.join(", ") || "—"}</dd>
            {inst.outcome && (
              <>
                <dt>Outcome</dt>
                <dd>{inst.outcome}</dd>
              </>
            )}
            <dt>Created</dt>
            <dd>{formatTime(inst.created_at)} UTC</dd>
            <dt>Updated</dt>
            <dd>{formatTime(inst.updated_at)} UTC</dd>
          </dl>
        </div>
        <Repair session={props.session} inst={inst} onDone={() => setTick((n) => n + 1)} />
      </div>
      <h2>Graph</h2>
      {dot ? <Graph dot={dot} path={path} label={`${inst.workflow} with the path of ${inst.id}`} /> : <p class="muted">Loading the graph…</p>}
      <div class="grid2">
        <div>
          <div class="row">
            <h2 id="timeline-title">Timeline</h2>
            <div role="group" aria-label="Timeline view">
              <button type="button" class="secondary" aria-pressed={compact ? "true" : "false"} onClick={() => setCompact(true)}>
                Compact
              </button>{" "}
              <button type="button" class="secondary" aria-pressed={compact ? "false" : "true"} onClick={() => setCompact(false)}>
                Full
              </button>
            </div>
          </div>
          <ol class="timeline" aria-labelledby="timeline-title" data-testid="timeline">
            {rows.map((r) => (
              <li class={r.kind} data-kind={r.kind}>
                <span class="mono">{formatTime(r.at).slice(11) || r.at}</span>
                <span class="muted">{r.sincePrevious ? "+" + r.sincePrevious : ""}</span>
                <span class="what">
                  {r.text}
                  {r.detail && <div class="muted">{r.detail}</div>}
                </span>
              </li>
            ))}
          </ol>
        </div>
        <div>
          <h2>Pending</h2>
          {tasks.length === 0 && waits.length === 0 && <p class="muted">No open task, timer or wait.</p>}
          <ul>
            {tasks.map((t: any) => (
              <li>
                task <span class="mono">{t.task}</span> at {t.state}
              </li>
            ))}
            {waits.map((t: any) => (
              <li>
                {t.event ? `waiting for event ${t.event} (key ${JSON.stringify(t.event_key)})` : `timer (${t.phase})`} at {t.state}
              </li>
            ))}
          </ul>
          {inst.undo?.length > 0 && (
            <>
              <h3>Undo chain (runs in reverse order)</h3>
              <ol>
                {inst.undo.map((u: any) => (
                  <li>
                    {u.step}: {u.connector}.{u.operation}
                  </li>
                ))}
              </ol>
            </>
          )}
          <JsonPanel title="Data" value={inst.data} />
        </div>
      </div>
    </section>
  );
}

// The operator's repairs; only the buttons the token's roles allow are shown.
function Repair(props: { session: Session; inst: any; onDone: () => void }) {
  const { inst, session } = props;
  const [patch, setPatch] = useState("");
  const [reason, setReason] = useState("");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [busy, setBusy] = useState(false);
  const check = parsePatch(patch);
  const held = inst.status === "held";
  const open = !TERMINAL.has(inst.status) && inst.status !== "compensating";
  const run = async (what: string, f: () => Promise<any>) => {
    setBusy(true);
    try {
      const r = await f();
      setAnswer({ ok: true, title: `${what}: accepted`, body: r });
      props.onDone();
    } catch (e) {
      const err = e as ApiError;
      setAnswer({ ok: false, title: `${what}: ${err.status} ${err.code}: ${err.message}`, body: err.details });
    } finally {
      setBusy(false);
    }
  };
  const canRepair = session.can.repair && held;
  const canCancel = session.can.operate && open;
  return (
    <div class="panel" data-testid="repair">
      {inst.error && (
        <div class="error-box" data-testid="instance-error">
          <strong>
            {inst.error.held ? "Held at" : "Error at"} {inst.error.state}: {inst.error.kind}
          </strong>
          <div>{inst.error.message}</div>
        </div>
      )}
      {!canRepair && !canCancel && <p class="muted">No action is open to you on this instance.</p>}
      {canRepair && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (check.ok) run("Retry", () => api.retry(inst.id, check.value));
          }}
        >
          <label>
            Data patch for the retry (JSON object merged into the data; empty for none)
            <textarea
              name="patch"
              rows={5}
              value={patch}
              spellcheck={false}
              aria-invalid={check.ok ? "false" : "true"}
              aria-describedby="patch-check"
              onInput={(e) => setPatch((e.target as HTMLTextAreaElement).value)}
            />
          </label>
          <p id="patch-check" class={check.ok ? "muted" : "error-box"} role={check.ok ? undefined : "alert"}>
            {check.ok ? (check.value ? "Valid JSON object." : "No patch: the step runs again as it was.") : check.message}
          </p>
          <div class="row">
            <button type="submit" disabled={busy || !check.ok}>
              Retry {inst.error?.state}
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => run("Skip", () => api.skip(inst.id))}>
              Skip {inst.error?.state}
            </button>
          </div>
        </form>
      )}
      {canCancel && (
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            run("Cancel", () => api.cancel(inst.id, reason.trim()));
          }}
        >
          <label>
            Reason for cancelling
            <input name="reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
          </label>
          <button type="submit" class="danger" disabled={busy}>
            Cancel instance
          </button>
        </form>
      )}
      {answer && <AnswerView answer={answer} />}
    </div>
  );
}
