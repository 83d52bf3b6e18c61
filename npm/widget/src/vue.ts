/**
 * @prefill/widget/vue: `usePrefill({url, user, proof})`, a composable.
 *
 * With `url` it loads widget.js once mounted (never on a server); with `user`
 * (and `proof`), refs, getters or plain values, it identifies the user once the
 * proof is there, again when either changes, and resets the session only on a
 * real sign-out. Without options it gives the API and state to any component.
 * Subscriptions made with its `on()` end with the component.
 */
import { computed, getCurrentInstance, getCurrentScope, onMounted, onScopeDispose, shallowRef, toValue, watch } from "vue";
import type { ComputedRef, MaybeRefOrGetter } from "vue";

import { api, getServerState, getState, keyOf, loadPrefill, subscribe, syncIdentity, warn } from "./core.js";
import type { LoadOptions, PrefillState, ProofOption } from "./core.js";
import type { Prefill, PrefillIdentity, PrefillUser } from "./types.js";

export interface UsePrefillOptions extends Partial<LoadOptions> {
  /** The app's signed-in user; null when signed out; undefined while the app does not know yet. */
  user?: MaybeRefOrGetter<PrefillUser | null | undefined>;
  /** Its proof, `{userHash}` or `{identityToken}`; null while it is on its way; "none" to send none. */
  proof?: MaybeRefOrGetter<ProofOption>;
}

export type UsePrefill = Omit<Prefill, "loaded"> & {
  ready: ComputedRef<boolean>;
  visitorId: ComputedRef<string | null>;
  userId: ComputedRef<string | null>;
  verified: ComputedRef<boolean>;
  identity: ComputedRef<PrefillIdentity | null>;
};

export function usePrefill(options: UsePrefillOptions = {}): UsePrefill {
  const { user, proof, ...load } = options;
  const state = shallowRef<PrefillState>(getServerState()); // as on the server, until mounted
  const offs: Array<() => void> = [];

  function start(): void {
    state.value = getState();
    offs.push(subscribe(() => { state.value = getState(); }));
    if (load.url) loadPrefill(load as LoadOptions).catch((e: Error) => warn(e.message));
  }
  if (getCurrentInstance()) onMounted(start);
  else if (typeof window !== "undefined") start();

  if ("user" in options) {
    watch(() => [state.value.ready, keyOf(toValue(user)), keyOf(toValue(proof))] as const,
      ([ready, userKey, proofKey]) => { if (ready) syncIdentity(userKey, proofKey); }, { immediate: true });
  }
  if (getCurrentScope()) onScopeDispose(() => offs.splice(0).forEach((off) => off()));

  return {
    ...api,
    on: (event, handler) => {
      if (typeof window === "undefined") return () => {}; // setup on a server: no events will come there
      const off = api.on(event, handler);
      offs.push(off);
      return off;
    },
    ready: computed(() => state.value.ready),
    visitorId: computed(() => state.value.visitorId),
    userId: computed(() => state.value.userId),
    verified: computed(() => state.value.verified),
    identity: computed(() => state.value.identity),
  };
}

export type { LoadOptions, PrefillState, ProofOption } from "./core.js";
