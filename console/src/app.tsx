import { useEffect, useState } from "preact/hooks";
import { api, ApiError, setUnauthenticatedHandler } from "./lib/api";
import { currentRoute, navigate, onNavigate, Route } from "./lib/router";
import { forgetToken, isApprover, Session, storedToken } from "./lib/session";
import { SignIn } from "./pages/signin";
import { Instances } from "./pages/instances";
import { InstancePage } from "./pages/instance";
import { Inbox } from "./pages/inbox";
import { Workflows, WorkflowPage } from "./pages/workflows";
import { Connectors } from "./pages/connectors";
import { Dashboard } from "./pages/dashboard";
import { Link } from "./components/link";

export function App() {
  const [route, setRoute] = useState<Route>(currentRoute());
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState<boolean>(!!storedToken());

  useEffect(() => onNavigate(() => setRoute(currentRoute())), []);
  useEffect(() => {
    setUnauthenticatedHandler(() => {
      forgetToken();
      setSession(null);
    });
    if (!storedToken()) return;
    api
      .session()
      .then((s) => setSession(s))
      .catch((e) => {
        if (e instanceof ApiError && e.status === 401) forgetToken();
      })
      .finally(() => setChecking(false));
  }, []);
  useEffect(() => {
    document.getElementById("main")?.focus();
  }, [route.page]);

  if (checking) return <main><p>Checking your token…</p></main>;
  if (!session)
    return (
      <SignIn
        onSignedIn={(s) => {
          setSession(s);
          if (route.page === "signin") navigate(isApprover(s) && !s.can.read ? "/inbox" : "/instances", true);
        }}
      />
    );

  const signOut = () => {
    forgetToken();
    setSession(null);
    navigate("/signin", true);
  };
  let page = route.page;
  if (page === "instances" && !session.can.read && isApprover(session)) page = "inbox";
  const nav: [string, string, boolean][] = [
    ["/instances", "Instances", session.can.read],
    ["/inbox", "Inbox", isApprover(session)],
    ["/workflows", "Workflows", session.can.read],
    ["/connectors", "Connectors", session.can.read],
    ["/dashboard", "Dashboard", session.can.read],
  ];
  const active = (href: string) =>
    (href === "/instances" && (page === "instances" || page === "instance")) ||
    (href === "/workflows" && (page === "workflows" || page === "workflow")) ||
    href === "/" + page;
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">retailflow</span>
        <nav aria-label="Main">
          {nav
            .filter(([, , show]) => show)
            .map(([href, label]) => (
              <Link href={href} current={active(href)}>
                {label}
              </Link>
            ))}
        </nav>
        <div class="who">
          <span data-testid="who">
            {session.name} <span class="sr-only">roles:</span>({session.roles.join(", ")})
          </span>
          <button type="button" class="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page === "instances" && route.page === "instances" && <Instances session={session} query={route.query} />}
        {route.page === "instance" && <InstancePage session={session} id={route.id} />}
        {page === "inbox" && <Inbox session={session} />}
        {route.page === "workflows" && <Workflows session={session} />}
        {route.page === "workflow" && <WorkflowPage session={session} name={route.name} version={route.version} />}
        {route.page === "connectors" && <Connectors />}
        {route.page === "dashboard" && <Dashboard />}
        {route.page === "signin" && <p>You are signed in as {session.name}.</p>}
        {route.page === "notfound" && (
          <p>
            No page at <span class="mono">{route.path}</span>. <Link href="/instances">Instances</Link>
          </p>
        )}
      </main>
    </>
  );
}
