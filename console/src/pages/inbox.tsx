import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import { formatDuration, formatTime, toMillis } from "../lib/format";
import { canApprove, Session } from "../lib/session";
import { Answer, AnswerView } from "../components/answer";
import { Link } from "../components/link";

// Open tasks for the signed-in approver's roles (all roles for viewers, operators and admin),
// decided here with a comment; closed tasks with who decided.
export function Inbox(props: { session: Session }) {
  const [open, setOpen] = useState<any[]>([]);
  const [closed, setClosed] = useState<any[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    Promise.all([api.tasks("open"), api.tasks("closed")])
      .then(([o, c]) => {
        setOpen(o.items);
        setClosed(c.items.slice(-50).reverse());
        setError(null);
      })
      .catch((e: ApiError) => setError(e.message));
  }, [tick]);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 5000);
    return () => clearInterval(t);
  }, []);
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox</h1>
      <p class="muted">
        {props.session.can.approve.includes("*")
          ? "Every role's tasks."
          : props.session.can.approve.length
            ? "Tasks for: " + props.session.can.approve.join(", ") + "."
            : "You can read tasks but not decide them."}
      </p>
      {error && <div class="error-box" role="alert">{error}</div>}
      <h2>Open ({open.length})</h2>
      {open.length === 0 && <p class="muted">Nothing waits for a decision.</p>}
      <div class="cards">
        {open.map((t) => (
          <TaskCard key={t.id} task={t} session={props.session} onDone={() => setTick((n) => n + 1)} />
        ))}
      </div>
      <h2>Recently decided</h2>
      <table>
        <thead>
          <tr>
            <th>Task</th>
            <th>Role</th>
            <th>Decision</th>
            <th>By</th>
            <th>Comment</th>
            <th>Instance</th>
          </tr>
        </thead>
        <tbody>
          {closed.map((t) => (
            <tr>
              <td>{t.title}</td>
              <td>{t.role}</td>
              <td>{t.status}</td>
              <td>{t.actor ?? ""}</td>
              <td>{t.comment ?? ""}</td>
              <td class="mono">
                {props.session.can.read ? <Link href={"/instances/" + encodeURIComponent(t.instance)}>{t.instance}</Link> : t.instance}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function TaskCard(props: { task: any; session: Session; onDone: () => void }) {
  const t = props.task;
  const [comment, setComment] = useState("");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [busy, setBusy] = useState(false);
  const deadline = toMillis(t.deadline);
  const left = deadline !== null ? deadline - Date.now() : null;
  const decide = async (d: "approve" | "reject") => {
    setBusy(true);
    try {
      const r = await api.decide(t.id, d, comment.trim());
      setAnswer({ ok: true, title: d === "approve" ? "Approved" : "Rejected", body: r });
      setTimeout(props.onDone, 800);
    } catch (e) {
      const err = e as ApiError;
      setAnswer({ ok: false, title: `${err.status} ${err.code}: ${err.message}` });
    } finally {
      setBusy(false);
    }
  };
  const id = "task-" + t.id.replace(/[^A-Za-z0-9]/g, "_");
  return (
    <article class="card" aria-labelledby={id} data-task={t.id}>
      <h3 id={id}>{t.title}</h3>
      <p>{t.details}</p>
      <dl class="facts">
        <dt>Role</dt>
        <dd>{t.role}</dd>
        <dt>Workflow</dt>
        <dd>
          {t.workflow} at {t.state}
        </dd>
        <dt>Instance</dt>
        <dd class="mono">
          {props.session.can.read ? <Link href={"/instances/" + encodeURIComponent(t.instance)}>{t.instance}</Link> : t.instance}
        </dd>
        {t.deadline && (
          <>
            <dt>Deadline</dt>
            <dd>
              {formatTime(t.deadline)} UTC
              {left !== null && (left > 0 ? ` (in ${formatDuration(left)})` : " (passed)")}
            </dd>
          </>
        )}
        {t.escalate_at && (
          <>
            <dt>Escalates</dt>
            <dd>{formatTime(t.escalate_at)} UTC</dd>
          </>
        )}
      </dl>
      {canApprove(props.session, t.role) ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
          }}
        >
          <label>
            Comment
            <textarea name="comment" rows={2} value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="row">
            <button type="button" disabled={busy} onClick={() => decide("approve")}>
              Approve
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => decide("reject")}>
              Reject
            </button>
          </div>
        </form>
      ) : (
        <p class="muted">Needs approver:{t.role}.</p>
      )}
      {answer && <AnswerView answer={answer} />}
    </article>
  );
}
