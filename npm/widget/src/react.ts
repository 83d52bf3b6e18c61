"use client";
/**
 * @prefill/widget/react: `<PrefillProvider url user proof>` and `usePrefill()`.
 *
 * The provider loads widget.js after the first render (never on a server),
 * identifies the user once its proof is there and again when either changes,
 * and resets the session only on a real sign-out; all of it idempotent under
 * StrictMode's double effects (core.ts's syncIdentity keeps what was sent).
 */
import { createContext, createElement, useContext, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import type { ReactNode } from "react";

import { api, getServerState, getState, keyOf, loadPrefill, subscribe, syncIdentity, warn } from "./core.js";
import type { LoadOptions, PrefillState, ProofOption } from "./core.js";
import type { Prefill, PrefillUser } from "./types.js";

export interface PrefillProviderProps extends LoadOptions {
  /** The app's signed-in user; null when signed out; undefined while the app does not know yet. */
  user: PrefillUser | null | undefined;
  /** Its proof, `{userHash}` or `{identityToken}`; null while it is on its way (nothing is sent);
   * "none" when the app sends none (Prefill's IDENTITY_VERIFICATION=optional takes the user as a claim). */
  proof: ProofOption;
  children?: ReactNode;
}

/** What usePrefill() gives: widget.js's API and its state. */
export type PrefillContextValue = Omit<Prefill, "loaded"> & PrefillState;

const PrefillContext = createContext<PrefillContextValue | null>(null);

export function PrefillProvider({ user, proof, children, ...options }: PrefillProviderProps): ReactNode {
  const state = useSyncExternalStore(subscribe, getState, getServerState);
  const load = keyOf(options) as string;
  const started = useRef<string | null>(null);
  useEffect(() => {
    if (started.current === load) return; // StrictMode's second effect: loading once is enough
    started.current = load;
    loadPrefill(JSON.parse(load) as LoadOptions).catch((e: Error) => warn(e.message));
  }, [load]);

  const userKey = keyOf(user), proofKey = keyOf(proof);
  const ready = state.ready;
  useEffect(() => {
    if (ready) syncIdentity(userKey, proofKey);
  }, [ready, userKey, proofKey]);

  const value = useMemo<PrefillContextValue>(() => ({ ...api, ...state }), [state]);
  return createElement(PrefillContext.Provider, { value }, children);
}

/** widget.js's API (`showForm`, `on`, …; the same functions on every render) and its state
 * (`ready`, `visitorId`, `userId`, `verified`, `identity`). */
export function usePrefill(): PrefillContextValue {
  const value = useContext(PrefillContext);
  if (!value) throw new Error("usePrefill() is used outside <PrefillProvider url={…} user={…} proof={…}>: put the provider above this component.");
  return value;
}

export type { LoadOptions, PrefillState, ProofOption } from "./core.js";
