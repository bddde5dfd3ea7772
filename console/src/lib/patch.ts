// The data patch of a retry: a JSON object merged into the instance's data. Validated in the
// browser before anything is sent, with the place of a syntax error. Pure; unit-tested.
export type PatchResult =
  | { ok: true; value: Record<string, unknown> | undefined }
  | { ok: false; message: string; line?: number; column?: number };

export function parsePatch(text: string): PatchResult {
  if (text.trim() === "") return { ok: true, value: undefined }; // retry without a patch
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const msg = String((e as Error).message);
    const pos = /position (\d+)/.exec(msg);
    if (pos) {
      const at = Number(pos[1]);
      const before = text.slice(0, at);
      const line = before.split("\n").length;
      const column = at - before.lastIndexOf("\n");
      return { ok: false, message: `not valid JSON at line ${line}, column ${column}`, line, column };
    }
    const lc = /line (\d+) column (\d+)/.exec(msg);
    if (lc) return { ok: false, message: `not valid JSON at line ${lc[1]}, column ${lc[2]}`, line: +lc[1], column: +lc[2] };
    return { ok: false, message: "not valid JSON: " + msg };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    return { ok: false, message: "the patch must be a JSON object, e.g. {\"customer\": {\"email\": \"…\"}}" };
  return { ok: true, value: v as Record<string, unknown> };
}
