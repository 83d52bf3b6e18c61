/**
 * The types of widget.js's API (`window.prefill`), its events and their payloads,
 * as docs/widget.md describes them. Nothing here runs.
 */

/** A JSON value, as the API sends and answers. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The app's signed-in user, as `identify` takes it: either payload shape of the SDKs Prefill replaces. */
export interface PrefillUser {
  userId: string;
  userMetadata?: JsonObject | null;
  email?: string | null;
  name?: string | null;
  metadata?: JsonObject | null;
}

/** What the app's backend made for the user: an HMAC of the userId, or a signed identity token (or both). */
export type PrefillProof =
  | { userHash: string; identityToken?: string | null }
  | { identityToken: string; userHash?: string | null };

/** `identify`'s argument: the user, with its proof when Prefill verifies identities. */
export type IdentifyPayload = PrefillUser & { userHash?: string | null; identityToken?: string | null };

/** `updateUser`'s argument. */
export interface UpdateUserPayload {
  userId: string;
  email?: string | null;
  name?: string | null;
  metadata?: JsonObject | null;
}

export interface PrefillError {
  code: string;
  message: string;
}

/** Every call that can fail resolves to this instead of rejecting. */
export interface PrefillFailure {
  success: false;
  error: PrefillError;
}

/** Who the session is, sanitized (sensitive keys removed), as `GET /api/me` answers. */
export interface PrefillIdentity {
  visitorId: string | null;
  userId: string | null;
  verified: boolean;
  userMetadata: JsonObject;
  trustedKeys: string[];
  sessionMetadata: JsonObject;
}

/** What identity calls resolve to when they succeed. */
export interface IdentitySuccess extends PrefillIdentity {
  success: true;
  warnings: string[];
}

export type IdentityResult = IdentitySuccess | PrefillFailure;
export type ShowResult = { success: true } | PrefillFailure;

export interface SelectOption {
  label: string;
  value: string;
}

/** A field of an ad-hoc form or of a client-side provider's schema (docs/providers.md). */
export interface FormField {
  name: string;
  type?: "text" | "email" | "textarea" | "select" | "radio" | "checkbox" | "number" | "date" | "tel" | "url" | "hidden";
  label?: string;
  required?: boolean;
  disabled?: boolean;
  defaultValue?: string | number | boolean | null;
  options?: SelectOption[];
  placeholder?: string;
  help?: string;
  minLength?: number;
  maxLength?: number;
  min?: number | string;
  max?: number | string;
  pattern?: string;
  patternMessage?: string;
  autocomplete?: string;
  lockKnown?: boolean;
  [key: string]: unknown;
}

/** `showForm({fields, …})`: a form the page defines (needs ADHOC_FORMS=1 on Prefill). */
export interface AdhocForm {
  fields: FormField[];
  title?: string;
  description?: string;
  submitLabel?: string;
  lockKnown?: boolean;
  [key: string]: unknown;
}

export interface ShowFormOptions {
  /** Passed to the form's provider as its `args`. */
  args?: Record<string, string>;
  /** Show the form inside this element (or the first match of this selector) instead of the panel. */
  container?: Element | string;
}

/** A client-side provider: runs with the sanitized identity, returns an ad-hoc schema. */
export type ClientFormSchema = (
  args: Record<string, string>,
  user: { userId: string | null; userMetadata: JsonObject },
) => AdhocForm | Promise<AdhocForm>;

/** Each event's data, as `on()` handlers receive it. */
export interface PrefillEvents {
  ready: { visitorId: string | null; userId: string | null; verified: boolean };
  identityUpdate: PrefillIdentity;
  formShown: { form: string };
  formSubmitted: { form: string; id: string };
  formClosed: { form: string };
  error: PrefillError;
  /** Every event above, as it is posted to the host window. */
  message: PrefillMessage;
}
export type PrefillEventName = keyof PrefillEvents;
export type PrefillHandler<E extends PrefillEventName> = (data: PrefillEvents[E]) => void;

/** What every event also posts to the host window (`window.addEventListener("message", …)`). */
export type PrefillMessage = {
  [E in Exclude<PrefillEventName, "message">]: { type: `prefill:${E}`; data: PrefillEvents[E] };
}[Exclude<PrefillEventName, "message">];

/** `window.prefill`: the install snippet's stub until widget.js has loaded, then widget.js's API; each
 * method returns the same type from both. */
export interface Prefill {
  /** True once widget.js has loaded (absent on the stub). */
  readonly loaded?: boolean;
  identify(payload: IdentifyPayload): Promise<IdentityResult>;
  updateUser(payload: UpdateUserPayload): Promise<IdentityResult>;
  updateSession(payload: { metadata: JsonObject }): Promise<IdentityResult>;
  /** @deprecated use identify, updateUser and updateSession. */
  update(payload: { user?: IdentifyPayload | null; session?: { metadata: JsonObject } | null }): Promise<IdentityResult>;
  /** Forgets the user; keeps the visitorId. */
  resetUser(): Promise<IdentityResult>;
  /** The same as resetUser. */
  clearIdentity(): Promise<IdentityResult>;
  /** This browser's visitorId, `v_<ms>_<chars>`, once widget.js has loaded; null before (the stub's answer). */
  getVisitorId(): string | null;
  showForm(name: string, options?: ShowFormOptions): Promise<ShowResult>;
  showForm(form: AdhocForm, options?: ShowFormOptions): Promise<ShowResult>;
  registerFormSchema(schemas: Record<string, ClientFormSchema>): void;
  hideForm(): void;
  /** Subscribes, before or after widget.js has loaded; returns a function that unsubscribes. */
  on<E extends PrefillEventName>(event: E, handler: PrefillHandler<E>): () => void;
}
