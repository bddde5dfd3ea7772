import { caret, Diagnostic, diagnosticsByLine, highlightLine } from "../lib/source";

// A .flow source with line numbers, highlighting, and each diagnostic under its line.
export function SourceView(props: { source: string; diagnostics?: Diagnostic[]; label: string }) {
  const byLine = diagnosticsByLine(props.diagnostics);
  const lines = props.source.split("\n");
  return (
    <pre class="source" aria-label={props.label} tabIndex={0} data-testid="source">
      {lines.map((line, i) => {
        const n = i + 1;
        const diags = byLine.get(n);
        return (
          <>
            <span class={"line" + (diags ? " diag" : "")} data-line={n}>
              <span class="no" aria-hidden="true">
                {n}
              </span>
              {highlightLine(line).map((t) => (t.cls ? <span class={t.cls}>{t.text}</span> : t.text))}
            </span>
            {diags?.map((d) => (
              <span class={"diag-msg " + d.severity} role="note" data-diagnostic-line={n}>
                {caret(d)}
                {"\n"}
                {`line ${d.line}:${d.column}: ${d.severity}: ${d.message}`}
                {d.hint ? `\nhint: ${d.hint}` : ""}
              </span>
            ))}
          </>
        );
      })}
    </pre>
  );
}
