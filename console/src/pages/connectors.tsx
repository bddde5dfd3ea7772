import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import { formatTime } from "../lib/format";
import { Link } from "../components/link";

// Each connector's state (breaker, in flight, queued, errors by kind) and the dead letters,
// grouped by the connector of the step they failed at.
export function Connectors() {
  const [items, setItems] = useState<any[]>([]);
  const [dead, setDead] = useState<any[]>([]);
  const [steps, setSteps] = useState<Record<string, string>>({}); // "workflow/state" -> connector
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    Promise.all([api.connectors(), api.deadLetters()])
      .then(async ([c, d]) => {
        setItems(c.items);
        setDead(d.items);
        const need = new Set<string>(d.items.map((x: any) => `${x.workflow}/${x.version}`));
        const map: Record<string, string> = { ...steps };
        for (const k of need) {
          if (Object.keys(map).some((m) => m.startsWith(k + "/"))) continue;
          const [wf, v] = k.split("/");
          try {
            const w = await api.workflow(wf, Number(v));
            for (const m of w.graph.dot.matchAll(/^\s*"([^"]+)" \[label="[^"\\]*\\n([a-z_][a-z0-9_]*)\.[a-z_]/gim))
              map[`${k}/${m[1]}`] = m[2];
          } catch {
            /* the version is gone: grouped as unknown */
          }
        }
        setSteps(map);
        setError(null);
      })
      .catch((e: ApiError) => setError(e.message));
  }, [tick]);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, []);
  const byConnector = new Map<string, any[]>();
  for (const d of dead) {
    const c = steps[`${d.workflow}/${d.version}/${d.error?.state}`] ?? "(not a connector step)";
    byConnector.set(c, [...(byConnector.get(c) ?? []), d]);
  }
  return (
    <section aria-labelledby="conn-title">
      <h1 id="conn-title">Connectors</h1>
      {error && <div class="error-box" role="alert">{error}</div>}
      <table>
        <thead>
          <tr>
            <th>Connector</th>
            <th>Type</th>
            <th>Circuit breaker</th>
            <th>In flight</th>
            <th>Queued</th>
            <th>Calls</th>
            <th>Succeeded</th>
            <th>Errors by kind</th>
            <th>Breaker openings</th>
          </tr>
        </thead>
        <tbody>
          {items.map((c) => (
            <tr data-connector={c.name}>
              <td>{c.name}</td>
              <td>{c.type}</td>
              <td>
                <span class={"badge " + (c.breaker === "closed" ? "completed" : c.breaker === "open" ? "failed" : "held")}>{c.breaker}</span>
              </td>
              <td>{c.in_flight}</td>
              <td>{c.queued}</td>
              <td>{c.calls}</td>
              <td>{c.succeeded}</td>
              <td>
                {Object.entries(c.errors ?? {})
                  .map(([k, n]) => `${k} ${n}`)
                  .join(", ") || "—"}
              </td>
              <td>{c.breaker_openings}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Dead letters ({dead.length})</h2>
      {dead.length === 0 && <p class="muted">No instance waits for an operator.</p>}
      {[...byConnector.entries()].map(([c, list]) => (
        <div>
          <h3>
            {c} ({list.length})
          </h3>
          <table>
            <thead>
              <tr>
                <th>Instance</th>
                <th>Workflow</th>
                <th>Business key</th>
                <th>Status</th>
                <th>Step</th>
                <th>Error</th>
                <th>Since</th>
              </tr>
            </thead>
            <tbody>
              {list.map((d) => (
                <tr>
                  <td class="mono">
                    <Link href={"/instances/" + encodeURIComponent(d.instance)}>{d.instance}</Link>
                  </td>
                  <td>
                    {d.workflow} v{d.version}
                  </td>
                  <td class="mono">{d.business_key}</td>
                  <td>{d.status}</td>
                  <td>{d.error?.state}</td>
                  <td>
                    {d.error?.kind}: {String(d.error?.message ?? "").slice(0, 160)}
                  </td>
                  <td>{formatTime(d.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
