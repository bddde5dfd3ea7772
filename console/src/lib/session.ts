// The signed-in token lives in sessionStorage only: never in a URL, a cookie or localStorage, so
// it is gone when the tab closes and is never sent anywhere but the Authorization header.
const KEY = "retailflow.token";

export interface Capabilities {
  read: boolean;
  operate: boolean;
  repair: boolean;
  deploy: boolean;
  approve: string[]; // approver roles; ["*"] for admin
}

export interface Session {
  name: string;
  roles: string[];
  can: Capabilities;
}

export function storedToken(store: Pick<Storage, "getItem"> = sessionStorage): string | null {
  const t = store.getItem(KEY);
  return t && t.length > 0 ? t : null;
}

export function storeToken(token: string, store: Pick<Storage, "setItem"> = sessionStorage): void {
  store.setItem(KEY, token);
}

export function forgetToken(store: Pick<Storage, "removeItem"> = sessionStorage): void {
  store.removeItem(KEY);
}

// A pasted token, trimmed; null when it cannot be a bearer token (RFC 6750 token68).
export function cleanToken(text: string): string | null {
  let t = text.trim();
  if (/^bearer\s+/i.test(t)) t = t.replace(/^bearer\s+/i, "");
  return /^[A-Za-z0-9\-._~+/]+=*$/.test(t) && t.length <= 512 ? t : null;
}

export function canApprove(s: Session | null, role: string): boolean {
  if (!s) return false;
  return s.can.approve.includes("*") || s.can.approve.includes(role);
}

export function isApprover(s: Session | null): boolean {
  return !!s && s.can.approve.length > 0;
}
