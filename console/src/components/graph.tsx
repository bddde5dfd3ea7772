import { useEffect, useRef, useState } from "preact/hooks";
import { TakenPath } from "../lib/instance";

// Renders a flow's DOT (from GET /v1/workflows/{name}) with Graphviz compiled to WebAssembly,
// then marks the taken path on the SVG by class (the stylesheet colours them): visited nodes,
// taken edges, the current state(s), the failed or held state.
let graphviz: Promise<any> | null = null;
function loadGraphviz() {
  if (!graphviz) graphviz = import("@hpcc-js/wasm-graphviz").then((m) => m.Graphviz.load());
  return graphviz;
}

export function Graph(props: { dot: string; path?: TakenPath; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    loadGraphviz()
      .then((gv) => {
        if (!live || !host.current) return;
        const svgText: string = gv.dot(props.dot, "svg");
        const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
        const svg = doc.documentElement;
        if (svg.nodeName !== "svg") throw new Error("the graph could not be drawn");
        mark(svg as unknown as SVGSVGElement, props.path);
        svg.setAttribute("role", "img");
        svg.setAttribute("aria-label", props.label);
        host.current.replaceChildren(document.importNode(svg, true));
        setError(null);
      })
      .catch((e) => live && setError(String(e?.message ?? e)));
    return () => {
      live = false;
    };
  }, [props.dot, JSON.stringify(props.path)]);
  return (
    <div>
      {props.path && (
        <div class="legend" aria-hidden="true">
          <span>
            <span class="k visited" />
            path taken
          </span>
          <span>
            <span class="k current" />
            current state
          </span>
          <span>
            <span class="k failed" />
            failed or held
          </span>
        </div>
      )}
      <div class="graph" ref={host} data-testid="graph" />
      {error && <div class="error-box">Graph: {error}</div>}
    </div>
  );
}

function mark(svg: SVGSVGElement, path?: TakenPath) {
  const visited = new Set(path?.visited ?? []);
  const current = new Set(path?.current ?? []);
  const failed = new Set(path?.failed ?? []);
  const edges = new Set((path?.edges ?? []).map(([a, b]) => a + "->" + b));
  for (const g of Array.from(svg.querySelectorAll("g.node"))) {
    const id = g.querySelector("title")?.textContent ?? "";
    if (visited.has(id)) g.classList.add("visited");
    if (current.has(id)) g.classList.add("current");
    if (failed.has(id)) g.classList.add("failed");
    g.setAttribute("data-state", id);
  }
  for (const g of Array.from(svg.querySelectorAll("g.edge"))) {
    const t = g.querySelector("title")?.textContent ?? "";
    if (edges.has(t)) g.classList.add("taken");
  }
}
