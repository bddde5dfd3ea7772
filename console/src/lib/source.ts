// The .flow source as the console shows it: tokens for highlighting, and the checker's
// diagnostics grouped by line. Pure; unit-tested.

const KEYWORDS = new Set(
  ("workflow version uses input step call with save result as timeout retry up times waiting doubling " +
    "on error go to goto when otherwise undo approval ask if nobody decides within approved rejected " +
    "wait for event where finish fail parallel branch join each in at a time every set then and or not " +
    "true false task outcome deadline escalate details title final after trigger webhook key").split(" "),
);

export interface Token {
  cls: "" | "kw" | "str" | "com" | "num";
  text: string;
}

export function highlightLine(line: string): Token[] {
  const out: Token[] = [];
  const re = /("(?:[^"\\]|\\.)*"?)|(#.*$)|(\b\d+(?:\.\d+)?[a-z]*\b)|([A-Za-z_][A-Za-z0-9_]*)|(\s+|.)/g;
  let m: RegExpExecArray | null;
  const push = (cls: Token["cls"], text: string) => {
    const last = out[out.length - 1];
    if (last && last.cls === cls) last.text += text;
    else out.push({ cls, text });
  };
  while ((m = re.exec(line)) !== null) {
    if (m[1] !== undefined) push("str", m[1]);
    else if (m[2] !== undefined) push("com", m[2]);
    else if (m[3] !== undefined) push("num", m[3]);
    else if (m[4] !== undefined) push(KEYWORDS.has(m[4]) ? "kw" : "", m[4]);
    else push("", m[0]);
  }
  return out;
}

export interface Diagnostic {
  line: number;
  column: number;
  length?: number;
  message: string;
  severity: string;
  hint?: string;
  code?: string;
}

export function diagnosticsByLine(diags: Diagnostic[] | undefined): Map<number, Diagnostic[]> {
  const m = new Map<number, Diagnostic[]>();
  for (const d of diags ?? []) {
    if (!Number.isInteger(d.line) || d.line < 1) continue;
    const list = m.get(d.line) ?? [];
    list.push(d);
    m.set(d.line, list);
  }
  return m;
}

// "      ^~~~" under the diagnostic's columns (1-based), for a monospace line.
export function caret(d: Diagnostic): string {
  const col = Math.max(1, d.column || 1);
  return " ".repeat(col - 1) + "^" + "~".repeat(Math.max(0, (d.length ?? 1) - 1));
}
