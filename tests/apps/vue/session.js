// The app's session, as docs/widget.md's Vue example imports it: refs of the
// signed-in user and of the proof its backend made, which arrives after the user.
import { ref, watch } from "vue";

const user = ref(null);
const proof = ref(null);

watch(() => user.value?.id, (id, _old, onCleanup) => {
  proof.value = null;
  if (!id) return;
  const abort = new AbortController();
  onCleanup(() => abort.abort());
  fetch("/api/prefill-proof", { signal: abort.signal })
    .then((r) => r.json())
    .then((value) => { proof.value = value; })
    .catch(() => {});
});

export function useSession() {
  return { user, proof };
}

export async function signIn(id) {
  await fetch(`/login?user=${id}`);
  user.value = { id, email: `${id}@example.com`, name: `User ${id}` };
}

export async function signOut() {
  await fetch("/logout");
  user.value = null;
}
