import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "../lib/api";
import { parseMetrics, sumBy } from "../lib/metrics";

// KPIs from /metrics, sampled every 10 s while the page is open and drawn as series over time.
// The series live in this tab only (a first edition: no server-side history of the KPIs).
interface Sample {
  t: number;
  values: Record<string, number>;
}

const KPIS: { key: string; title: string; pick: (m: ReturnType<typeof parseMetrics>) => number }[] = [
  { key: "open_tasks", title: "Approvals waiting", pick: (m) => sumBy(m, "retailflow_open_tasks") },
  { key: "dead", title: "Instances waiting for an operator", pick: (m) => sumBy(m, "retailflow_dead_letters") },
  { key: "errors", title: "Failed connector calls (total)", pick: (m) => sumBy(m, "retailflow_connector_errors_total") },
  {
    key: "odoo_errors",
    title: "Failed calls to Odoo (total)",
    pick: (m) => sumBy(m, "retailflow_connector_errors_total", (l) => l.connector === "odoo"),
  },
  {
    key: "dup",
    title: "Duplicate webhooks suppressed (total)",
    pick: (m) => sumBy(m, "retailflow_webhook_duplicates_total"),
  },
  {
    key: "started",
    title: "Instances started (total)",
    pick: (m) => sumBy(m, "retailflow_instances_started_total"),
  },
];

export function Dashboard() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const take = () =>
      api
        .metrics()
        .then((text) => {
          if (!live) return;
          const m = parseMetrics(text);
          const values: Record<string, number> = {};
          for (const k of KPIS) values[k.key] = k.pick(m);
          setSamples((s) => [...s.slice(-359), { t: Date.now() / 1000, values }]);
          setError(null);
        })
        .catch((e) => live && setError(String(e.message ?? e)));
    take();
    const t = setInterval(take, 10000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, []);
  const last = samples[samples.length - 1];
  return (
    <section aria-labelledby="dash-title">
      <h1 id="dash-title">Dashboard</h1>
      <p class="muted">Sampled from the service's metrics every 10 s while this page is open.</p>
      {error && <div class="error-box" role="alert">{error}</div>}
      <div class="cards">
        {KPIS.map((k) => (
          <div class="card">
            <h2>{k.title}</h2>
            <p class="kpi" data-kpi={k.key}>
              <strong>{last ? last.values[k.key] : "…"}</strong>
            </p>
            <Chart samples={samples} k={k.key} title={k.title} />
          </div>
        ))}
      </div>
    </section>
  );
}

function Chart(props: { samples: Sample[]; k: string; title: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (!host.current) return;
    plot.current = new uPlot(
      {
        width: 300,
        height: 160,
        legend: { show: false },
        series: [{}, { label: props.title, stroke: "#1f4e79", width: 2 }],
        axes: [{}, { size: 50 }],
      },
      [[], []],
      host.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => {
    plot.current?.setData([props.samples.map((s) => s.t), props.samples.map((s) => s.values[props.k] ?? null)] as any);
  }, [props.samples]);
  return <div class="chart" ref={host} role="img" aria-label={props.title + " over time"} />;
}
