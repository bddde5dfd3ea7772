// What the API answered to an action, shown in full (status, code, message, body).
export interface Answer {
  ok: boolean;
  title: string;
  body?: unknown;
}

export function AnswerView(props: { answer: Answer }) {
  const a = props.answer;
  return (
    <div class={a.ok ? "ok-box" : "error-box"} role="status" data-testid="answer">
      <strong>{a.title}</strong>
      {a.body !== undefined && a.body !== null && (
        <details>
          <summary>What the service answered</summary>
          <pre class="json answer">{JSON.stringify(a.body, null, 2)}</pre>
        </details>
      )}
    </div>
  );
}
