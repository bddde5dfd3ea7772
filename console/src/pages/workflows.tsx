import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import { formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { Session } from "../lib/session";
import { Diagnostic } from "../lib/source";
import { Answer, AnswerView } from "../components/answer";
import { Graph } from "../components/graph";
import { Link } from "../components/link";
import { SourceView } from "../components/source";

export function Workflows(props: { session: Session }) {
  const [items, setItems] = useState<any[]>([]);
  const [counts, setCounts] = useState<Record<string, Record<string, number>>>({});
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    api
      .workflows()
      .then(async (w) => {
        setItems(w.items);
        const c: Record<string, Record<string, number>> = {};
        for (const it of w.items) c[it.name] = (await api.counts(it.name)).counts;
        setCounts(c);
      })
      .catch((e: ApiError) => setError(e.message));
  }, [tick]);
  return (
    <section aria-labelledby="wf-title">
      <h1 id="wf-title">Workflows</h1>
      {error && <div class="error-box" role="alert">{error}</div>}
      <table>
        <thead>
          <tr>
            <th>Workflow</th>
            <th>Versions</th>
            <th>Instances</th>
          </tr>
        </thead>
        <tbody>
          {items.map((w) => {
            const c = counts[w.name] ?? {};
            const total = Object.values(c).reduce((a, b) => a + b, 0);
            const busy = Object.entries(c).filter(([, n]) => n > 0);
            return (
              <tr>
                <td>
                  <Link href={"/workflows/" + encodeURIComponent(w.name)}>{w.name}</Link>
                </td>
                <td>
                  {w.versions.map((v: number) => (
                    <>
                      <Link href={`/workflows/${encodeURIComponent(w.name)}?version=${v}`}>v{v}</Link>{" "}
                    </>
                  ))}
                </td>
                <td>
                  <Link href={"/instances?workflow=" + encodeURIComponent(w.name)}>{total}</Link>{" "}
                  <span class="muted">{busy.map(([s, n]) => `${s} ${n}`).join(", ")}</span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.session.can.deploy && <Deploy onDeployed={() => setTick((n) => n + 1)} />}
    </section>
  );
}

// Paste or upload a .flow and deploy it; a refusal shows each diagnostic under its line.
function Deploy(props: { onDeployed: () => void }) {
  const [source, setSource] = useState("");
  const [diags, setDiags] = useState<Diagnostic[] | null>(null);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [busy, setBusy] = useState(false);
  const deploy = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setDiags(null);
    try {
      const r = await api.deploy(source);
      setAnswer({ ok: true, title: `${r.created ? "Deployed" : "Already deployed"}: ${r.workflow} v${r.version}`, body: r });
      setDiags(r.diagnostics?.length ? r.diagnostics : null);
      props.onDeployed();
    } catch (err) {
      const x = err as ApiError;
      const d = (x.details as any)?.diagnostics as Diagnostic[] | undefined;
      setDiags(d ?? null);
      setAnswer({ ok: false, title: `${x.status} ${x.code}: ${x.message}`, body: x.details });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel" onSubmit={deploy} aria-labelledby="deploy-title">
      <h2 id="deploy-title">Deploy a workflow</h2>
      <label>
        Upload a .flow file
        <input
          type="file"
          accept=".flow,text/plain"
          onChange={async (e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) setSource(await f.text());
            setDiags(null);
          }}
        />
      </label>
      <label>
        or paste its source
        <textarea name="flow" rows={12} spellcheck={false} value={source} onInput={(e) => (setSource((e.target as HTMLTextAreaElement).value), setDiags(null))} />
      </label>
      <div class="row">
        <button type="submit" disabled={busy || !source.trim()}>
          Deploy
        </button>
      </div>
      {answer && <AnswerView answer={answer} />}
      {diags && <SourceView source={source} diagnostics={diags} label="the source with the checker's diagnostics" />}
    </form>
  );
}

export function WorkflowPage(props: { session: Session; name: string; version?: number }) {
  const [wf, setWf] = useState<any | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .workflow(props.name, props.version)
      .then((w) => (setWf(w), setError(null)))
      .catch((e: ApiError) => setError(e.status === 404 ? `No workflow ${props.name}${props.version ? " v" + props.version : ""}.` : e.message));
  }, [props.name, props.version]);
  if (error) return <div class="error-box" role="alert">{error}</div>;
  if (!wf) return <p>Loading…</p>;
  return (
    <section aria-labelledby="wfd-title">
      <p>
        <Link href="/workflows">← Workflows</Link>
      </p>
      <h1 id="wfd-title">
        {wf.name} v{wf.version}
      </h1>
      <div class="row">
        <label>
          Version
          <select
            value={String(wf.version)}
            onChange={(e) => navigate(`/workflows/${encodeURIComponent(wf.name)}?version=${(e.target as HTMLSelectElement).value}`)}
          >
            {wf.versions.map((v: number) => (
              <option value={String(v)}>v{v}</option>
            ))}
          </select>
        </label>
        <span class="muted">deployed {formatTime(wf.deployed_at)} UTC</span>
        <Link href={`/instances?workflow=${encodeURIComponent(wf.name)}&version=${wf.version}`}>instances of this version</Link>
      </div>
      <div class="grid2">
        <div>
          <h2>Source</h2>
          <SourceView source={wf.source} label={`${wf.name} source`} />
        </div>
        <div>
          <h2>Graph</h2>
          {wf.graph?.dot && <Graph dot={wf.graph.dot} label={`${wf.name} v${wf.version} graph`} />}
          <h3>Inputs</h3>
          <ul>
            {(wf.inputs ?? []).map((i: any) => (
              <li>
                <span class="mono">{i.name}</span> {i.type}
                {i.optional ? " (optional)" : ""}
              </li>
            ))}
          </ul>
        </div>
      </div>
    </section>
  );
}
