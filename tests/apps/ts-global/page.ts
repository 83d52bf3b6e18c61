// A page that loads widget.js with the install snippet and types window.prefill with
// the package's declarations (docs-global.ts is the doc's example, with the reference).
export async function page(): Promise<void> {
  const answer = await window.prefill.identify({ userId: "u1", email: "a@example.com", name: "Ann", metadata: { plan: "pro" } });
  if (!answer.success) console.log(answer.error.code);
  const off = window.prefill.on("identityUpdate", (identity) => identity.userMetadata);
  off();
  await window.prefill.showForm("support_ticket", { args: { order: "42" }, container: "#help" });
  // @ts-expect-error: the issue's error was TS2339 (no 'prefill' on Window); now a wrong member is the error
  window.prefill.identfy({ userId: "u1" });
  // @ts-expect-error: showForm's options take no such key
  await window.prefill.showForm("support_ticket", { args: {}, where: "#help" });
}
