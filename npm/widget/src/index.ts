/**
 * @prefill/widget: widget.js, loaded from your Prefill by code, with types.
 *
 * The package does not contain the widget: `loadPrefill` adds the install
 * snippet's two tags (its stub is built from the same source, static/widget.js's)
 * and resolves to `window.prefill` once widget.js is ready. Importing it touches
 * no `window`, so server rendering may import it.
 */
export { loadPrefill } from "./core.js";
export type { LoadOptions, PrefillState, ProofOption } from "./core.js";
export type * from "./types.js";
