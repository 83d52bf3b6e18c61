/**
 * What the package adds to widget.js, shared by its entry points: loading the
 * script once, a store of its state for the bindings, the guard every call goes
 * through, and the rule that turns the app's user and proof into identify or
 * resetUser calls. It holds one page's state, as widget.js does.
 *
 * Nothing here touches `window` when imported: server rendering may import it.
 */
import { installStub } from "./stub.js";
import type { Prefill, PrefillFailure, PrefillIdentity, PrefillProof, PrefillUser } from "./types.js";

export interface LoadOptions {
  /** Your Prefill's address, e.g. `"https://prefill.example.com"`. */
  url: string;
  /** widget.js's version, the snippet's VERSION (`flask --app app prefill widget-version`): loads
   * `/widget.js?v=<version>`, cached for a year. Without it, the plain URL (revalidated after 5 minutes). */
  version?: string;
  /** `data-form`: shows a launcher button that opens this form. */
  form?: string;
  /** `data-label`: the launcher's text. */
  label?: string;
  /** `data-accent`: the colour of the launcher and the panel's header. */
  accent?: string;
  /** `data-locale`: sent as `Accept-Language` with every call. */
  locale?: string;
  /** A CSP nonce for the script tag. */
  nonce?: string;
}

/** What the bindings show of widget.js: filled in by its `ready` and `identityUpdate` events. */
export interface PrefillState {
  /** widget.js has loaded and checked its session. */
  ready: boolean;
  visitorId: string | null;
  /** Who Prefill's session is: null when anonymous. */
  userId: string | null;
  /** Whether that identity was proven. */
  verified: boolean;
  /** The last identity an identity call answered (sanitized); null until one has. */
  identity: PrefillIdentity | null;
}

/** `proof` when the app sends none: identify as a claim (Prefill's IDENTITY_VERIFICATION=optional). */
export type ProofOption = PrefillProof | "none" | null;

const SERVER_STATE: PrefillState = Object.freeze({
  ready: false, visitorId: null, userId: null, verified: false, identity: null,
}) as PrefillState;

let state: PrefillState = SERVER_STATE;
const listeners = new Set<() => void>();
let watching = false;
let loading: Promise<Prefill> | null = null;
let loadedFrom = "";

function setState(patch: Partial<PrefillState>): void {
  state = { ...state, ...patch };
  listeners.forEach((listener) => listener());
}

/** The store the bindings read (`useSyncExternalStore`'s shape). */
export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => { listeners.delete(listener); };
}
export function getState(): PrefillState { return state; }
export function getServerState(): PrefillState { return SERVER_STATE; }

export function warn(message: string): void {
  if (typeof console !== "undefined") console.warn("Prefill: " + message);
}

/** `window.prefill`, the install snippet's stub first (the same code), watched once; null on a server. */
function prefill(): Prefill | null {
  if (typeof window === "undefined" || typeof document === "undefined") return null;
  installStub(window);
  const api = (window as unknown as { prefill: Prefill }).prefill;
  if (!watching) {
    watching = true;
    api.on("ready", (d) => setState({ ready: true, visitorId: d.visitorId, userId: d.userId, verified: d.verified }));
    api.on("identityUpdate", (identity) => setState({
      visitorId: identity.visitorId, userId: identity.userId, verified: identity.verified, identity,
    }));
  }
  return api;
}

function fail(code: string, message: string): PrefillFailure {
  return { success: false, error: { code, message } };
}

type Method = Exclude<keyof Prefill, "loaded">;
const SYNC: Partial<Record<Method, unknown>> = { getVisitorId: null, hideForm: undefined, registerFormSchema: undefined };

/** Every call goes through here: on a server, or when widget.js misbehaves, it warns instead of throwing. */
function guard(name: Method, args: unknown[]): unknown {
  const fallback = () => {
    if (name === "on") return () => {};
    if (name in SYNC) return SYNC[name];
    return Promise.resolve(fail("not_in_browser", `prefill.${name}() needs a browser.`));
  };
  const api = prefill();
  if (!api) {
    warn(`prefill.${name}() was called outside a browser (during server rendering?): call it from an effect or an event handler.`);
    return fallback();
  }
  try {
    const out = (api[name] as (...a: unknown[]) => unknown)(...args);
    if (name === "on" && typeof out !== "function") return () => {};
    return out;
  } catch (e) {
    warn(`prefill.${name}() failed: ${String(e)}`);
    return fallback();
  }
}

/** widget.js's API, each call through the guard; the same functions for the page's life. */
export const api: Omit<Prefill, "loaded"> = {
  identify: (payload) => guard("identify", [payload]) as ReturnType<Prefill["identify"]>,
  updateUser: (payload) => guard("updateUser", [payload]) as ReturnType<Prefill["updateUser"]>,
  updateSession: (payload) => guard("updateSession", [payload]) as ReturnType<Prefill["updateSession"]>,
  update: (payload) => guard("update", [payload]) as ReturnType<Prefill["update"]>,
  resetUser: () => guard("resetUser", []) as ReturnType<Prefill["resetUser"]>,
  clearIdentity: () => guard("clearIdentity", []) as ReturnType<Prefill["clearIdentity"]>,
  getVisitorId: () => guard("getVisitorId", []) as string | null,
  showForm: ((form: unknown, options?: unknown) => guard("showForm", [form, options])) as Prefill["showForm"],
  registerFormSchema: (schemas) => { guard("registerFormSchema", [schemas]); },
  hideForm: () => { guard("hideForm", []); },
  on: (event, handler) => guard("on", [event, handler]) as () => void,
};

/**
 * Loads widget.js from your Prefill once per page (the install snippet's two tags,
 * made by code) and resolves to its API once it is ready. Calls made before then
 * are queued by the snippet's stub, in order. Rejects only when the script cannot
 * be loaded, or outside a browser.
 */
export function loadPrefill(options: LoadOptions): Promise<Prefill> {
  const base = String((options && options.url) || "").replace(/\/+$/, "");
  const api = prefill();
  if (!api) return Promise.reject(new Error("loadPrefill() runs in a browser: call it from an effect, not during server rendering."));
  if (!base) return Promise.reject(new Error("loadPrefill() needs the url of your Prefill."));
  if (loading) {
    if (base !== loadedFrom) warn(`widget.js is already loaded from ${loadedFrom}; ${base} is ignored.`);
    return loading;
  }
  loadedFrom = base;
  loading = new Promise<Prefill>((resolve, reject) => {
    if (api.loaded) { // widget.js came by the snippet's own tag, before this call
      if (!state.ready) setState({ ready: true, visitorId: api.getVisitorId() });
      resolve(api);
      return;
    }
    const off = api.on("ready", () => { off(); resolve(prefill() as Prefill); });
    let script = document.querySelector<HTMLScriptElement>(`script[src^="${base}/widget.js"]`);
    if (!script) {
      const link = document.createElement("link"); // as the snippet: crossorigin on both, one connection
      link.rel = "preconnect";
      link.href = base;
      link.crossOrigin = "anonymous";
      document.head.appendChild(link);
      script = document.createElement("script");
      script.async = true;
      script.crossOrigin = "anonymous";
      script.src = `${base}/widget.js${options.version ? "?v=" + encodeURIComponent(options.version) : ""}`;
      const data: Array<[string, string | undefined]> = [["form", options.form], ["label", options.label],
        ["accent", options.accent], ["locale", options.locale]];
      for (const [name, value] of data) if (value) script.setAttribute("data-" + name, value);
      if (options.nonce) script.nonce = options.nonce;
      document.head.appendChild(script);
    }
    const failed = script;
    failed.addEventListener("error", () => {
      off();
      loading = null;
      failed.remove();
      reject(new Error(`widget.js could not be loaded from ${failed.src}.`));
    });
  });
  return loading;
}

// -- the app's user and proof, into identify and resetUser ------------------------------

/** A value as a stable string (keys sorted): what changes when the value does, not when its object does.
 * null stays null and undefined undefined. */
export function keyOf(value: unknown): string | null | undefined {
  if (value === null || value === undefined) return value;
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

// What this page last told Prefill: an identity (its key and userId), anonymous (userId null), or nothing yet.
let acted: { key: string; userId: string | null } | null = null;

/**
 * Brings Prefill's session to the app's user (keys from keyOf), once widget.js is
 * ready. A user is identified once its proof is there (or `proof` is "none"), and
 * again only when the user or the proof changes; the session is reset only when
 * it holds someone the app has not signed in: after a sign-out, never on an
 * anonymous visitor's page. A user `undefined` is one the app does not know yet
 * (its session still loading): nothing is done, unless it follows a signed-in
 * user, which makes it a sign-out. The same keys twice (StrictMode's second
 * effect, a remounted provider) do nothing.
 */
export function syncIdentity(userKey: string | null | undefined, proofKey: string | null | undefined): void {
  if (!state.ready) return;
  if (userKey === undefined) {
    if (!acted || acted.userId === null) return;
    userKey = null;
  }
  const user = userKey ? (JSON.parse(userKey) as PrefillUser) : null;
  if (user && proofKey) {
    const key = userKey + "\n" + proofKey;
    if (acted && acted.key === key) return;
    acted = { key, userId: user.userId };
    const proof = JSON.parse(proofKey) as Exclude<ProofOption, null>;
    void api.identify({ ...user, ...(proof === "none" ? {} : proof) }).then((r) => {
      if (!r.success) warn(`identify failed: ${r.error.code}: ${r.error.message}`);
    });
    return;
  }
  // Signed out, or signed in with the proof still on its way: the session must not stay someone else's.
  const holder = acted ? acted.userId : state.userId;
  if (holder === null || (user && holder === user.userId)) {
    if (!user) acted = { key: "", userId: null };
    return;
  }
  acted = { key: "", userId: null };
  void api.resetUser();
}
