// Client-side routes on the History API. The service answers every console path with
// index.html (server/src/routes_console.cc), so a reload or a shared link opens the same page.
export type Route =
  | { page: "instances"; query: URLSearchParams }
  | { page: "instance"; id: string }
  | { page: "inbox" }
  | { page: "workflows" }
  | { page: "workflow"; name: string; version?: number }
  | { page: "connectors" }
  | { page: "dashboard" }
  | { page: "signin" }
  | { page: "notfound"; path: string };

export function parseRoute(pathname: string, search = ""): Route {
  const parts = pathname.split("/").filter((p) => p.length > 0).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const query = new URLSearchParams(search);
  if (parts.length === 0) return { page: "instances", query };
  const [head, arg, ...rest] = parts;
  if (rest.length > 0) return { page: "notfound", path: pathname };
  switch (head) {
    case "instances":
      return arg === undefined ? { page: "instances", query } : { page: "instance", id: arg };
    case "workflows": {
      if (arg === undefined) return { page: "workflows" };
      const v = Number(query.get("version"));
      return { page: "workflow", name: arg, version: Number.isInteger(v) && v > 0 ? v : undefined };
    }
    case "inbox":
    case "connectors":
    case "dashboard":
    case "signin":
      return arg === undefined ? ({ page: head } as Route) : { page: "notfound", path: pathname };
  }
  return { page: "notfound", path: pathname };
}

export function hrefOf(r: Route): string {
  switch (r.page) {
    case "instances": {
      const q = r.query.toString();
      return "/instances" + (q ? "?" + q : "");
    }
    case "instance":
      return "/instances/" + encodeURIComponent(r.id);
    case "workflow":
      return "/workflows/" + encodeURIComponent(r.name) + (r.version ? "?version=" + r.version : "");
    case "notfound":
      return r.path;
    default:
      return "/" + r.page;
  }
}

type Listener = () => void;
const listeners = new Set<Listener>();

export function navigate(href: string, replace = false) {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  listeners.forEach((l) => l());
}

export function onNavigate(l: Listener): () => void {
  listeners.add(l);
  const pop = () => l();
  window.addEventListener("popstate", pop);
  return () => {
    listeners.delete(l);
    window.removeEventListener("popstate", pop);
  };
}

export function currentRoute(): Route {
  return parseRoute(location.pathname, location.search);
}
