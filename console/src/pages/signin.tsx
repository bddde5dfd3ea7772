import { useState } from "preact/hooks";
import { api, ApiError } from "../lib/api";
import { cleanToken, Session, storeToken } from "../lib/session";

export function SignIn(props: { onSignedIn: (s: Session) => void }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const token = cleanToken(text);
    if (!token) {
      setError("That does not look like a token: paste the whole token, e.g. rf_… as printed by the service.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const s = (await api.session(token)) as Session;
      storeToken(token);
      setText("");
      props.onSignedIn(s);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? "The service does not know this token."
          : "Sign-in failed: " + (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to retailflow</h1>
      <form onSubmit={submit} class="panel">
        <label>
          Access token
          <input
            type="password"
            name="token"
            autoComplete="off"
            spellcheck={false}
            value={text}
            onInput={(e) => setText((e.target as HTMLInputElement).value)}
            aria-describedby="token-help"
            required
          />
        </label>
        <p id="token-help" class="muted">
          Paste the token you were given (the admin token is printed when the service first starts). It is kept in
          this tab only and sent to the service with each request.
        </p>
        {error && (
          <div class="error-box" role="alert">
            {error}
          </div>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
