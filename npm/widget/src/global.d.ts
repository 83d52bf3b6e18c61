/**
 * `window.prefill` typed, for pages that load widget.js with the install snippet:
 * `/// <reference types="@prefill/widget/global" />`, or "types": ["@prefill/widget/global"]
 * in tsconfig.json.
 */
import type { Prefill, PrefillMessage } from "./index.js";

declare global {
  interface Window {
    /** The install snippet's stub until widget.js has loaded, then widget.js's API. */
    prefill: Prefill;
  }
}

export type { Prefill, PrefillMessage };
