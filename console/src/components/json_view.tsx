import { useState } from "preact/hooks";

// A collapsible JSON tree; keyboard-operable through <details>/<summary>.
export function JsonView(props: { value: unknown; name?: string; depth?: number }) {
  const { value, name } = props;
  const depth = props.depth ?? 0;
  const label = name !== undefined ? <span class="mono">{name}: </span> : null;
  if (value === null || typeof value !== "object") {
    return (
      <div class="mono">
        {label}
        <span>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as object);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <details open={depth < 1}>
      <summary>
        {label}
        <span class="muted mono">{summary}</span>
      </summary>
      <div class="json-children">
        {entries.map(([k, v]) => (
          <JsonView name={k} value={v} depth={depth + 1} />
        ))}
      </div>
    </details>
  );
}

export function JsonPanel(props: { value: unknown; title: string }) {
  const [raw, setRaw] = useState(false);
  return (
    <div>
      <div class="row">
        <h3>{props.title}</h3>
        <button type="button" class="secondary" onClick={() => setRaw(!raw)}>
          {raw ? "Tree" : "Raw JSON"}
        </button>
      </div>
      {raw ? <pre class="json">{JSON.stringify(props.value, null, 2)}</pre> : <JsonView value={props.value} />}
    </div>
  );
}
