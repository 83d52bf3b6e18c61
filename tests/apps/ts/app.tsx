// Code using @prefill/widget as the package's types shape it (docs-package.ts is the doc's own
// example, written by the test). `tsc --noEmit` must pass: each @ts-expect-error must be an error.
import { loadPrefill } from "@prefill/widget";
import type { IdentityResult, Prefill, PrefillEvents, PrefillMessage, PrefillUser } from "@prefill/widget";
import { PrefillProvider, usePrefill } from "@prefill/widget/react";
import { usePrefill as usePrefillVue } from "@prefill/widget/vue";
import { ref } from "vue";

export async function typed(): Promise<string> {
  const prefill: Prefill = await loadPrefill({ url: "https://prefill.example", version: "abc", form: "support_ticket" });
  const result: IdentityResult = await prefill.identify({ userId: "u1", email: "a@example.com", userHash: "ff" });
  if (result.success) result.trustedKeys.join(",");
  else result.error.code.toUpperCase();
  await prefill.identify({ userId: "u1", userMetadata: { plan: "pro", seats: 3 } });
  const off: () => void = prefill.on("formSubmitted", (d) => d.id.toUpperCase());
  off();
  prefill.on("message", (m: PrefillMessage) => (m.type === "prefill:formSubmitted" ? m.data.id : m.type));
  prefill.on("ready", (d: PrefillEvents["ready"]) => d.visitorId ?? "");
  const shown = await prefill.showForm({ fields: [{ name: "q", type: "select", options: [{ label: "A", value: "a" }] }] });
  prefill.registerFormSchema({ nps: (_args, user) => ({ fields: [{ name: "score", label: user.userId ?? "you" }] }) });
  // @ts-expect-error: no such event
  prefill.on("formSubmited", () => {});
  // @ts-expect-error: formShown's data has no id
  prefill.on("formShown", (d) => d.id);
  // @ts-expect-error: identify needs a userId
  await prefill.identify({ email: "a@example.com" });
  // @ts-expect-error: getVisitorId is synchronous, not a Promise
  await prefill.getVisitorId().then(() => {});
  return shown.success ? "shown" : shown.error.message;
}

const user: PrefillUser = { userId: "u1", name: "Ann" };

export function App() {
  return (
    <PrefillProvider url="https://prefill.example" user={user} proof={{ userHash: "ff" }} form="support_ticket">
      <Child />
      {/* @ts-expect-error: proof is required (null while it is on its way) */}
      <PrefillProvider url="https://prefill.example" user={null} />
    </PrefillProvider>
  );
}

function Child() {
  const { ready, visitorId, identity, showForm, on } = usePrefill();
  on("formClosed", (d) => d.form);
  const verified: boolean = ready && identity !== null && identity.verified;
  return <button type="button" onClick={() => showForm("support_ticket")}>{visitorId ?? String(verified)}</button>;
}

export function vueSetup() {
  const signedIn = ref<PrefillUser | null>(null);
  const { ready, userId, on } = usePrefillVue({ url: "https://prefill.example", user: signedIn, proof: () => "none" });
  on("error", (e) => e.message);
  const flag: boolean = ready.value;
  const who: string | null = userId.value;
  // @ts-expect-error: a proof is {userHash} or {identityToken}
  usePrefillVue({ user: signedIn, proof: { hash: "x" } });
  return [flag, who];
}
