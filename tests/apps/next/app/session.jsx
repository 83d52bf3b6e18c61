"use client";
// The app's session, as docs/widget.md's Next.js example imports it: the signed-in
// user (a first-party cookie set by /login) and the proof its backend made, which
// arrives after the user. Also the sign-in buttons and a status line for the test.
import { createContext, useContext, useEffect, useState } from "react";
import { usePrefill } from "@prefill/widget/react";

const SessionContext = createContext(null);

export function Session({ children }) {
  const [user, setUser] = useState(null);
  const [proof, setProof] = useState({ userId: null, value: null });
  const userId = user?.id;
  useEffect(() => {
    if (!userId) return;
    const request = new AbortController();
    fetch("/api/prefill-proof", { signal: request.signal })
      .then((r) => r.json())
      .then((value) => setProof({ userId, value }))
      .catch(() => {});
    return () => request.abort();
  }, [userId]);
  async function signIn(id) {
    await fetch(`/login?user=${id}`);
    setUser({ id, email: `${id}@example.com`, name: `User ${id}` });
  }
  async function signOut() {
    await fetch("/logout");
    setUser(null);
  }
  const value = { user, proof: proof.userId === userId ? proof.value : null, signIn, signOut };
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession() {
  return useContext(SessionContext);
}

export function SignIn() {
  const { signIn, signOut } = useSession();
  return (
    <>
      <button type="button" id="sign-in-u1" onClick={() => signIn("u1")}>Sign in as u1</button>
      <button type="button" id="sign-in-u2" onClick={() => signIn("u2")}>Sign in as u2</button>
      <button type="button" id="sign-out" onClick={signOut}>Sign out</button>
    </>
  );
}

export function Status() {
  const { ready, userId, verified, on } = usePrefill();
  useEffect(() => {
    const events = (window.events = window.events || []);
    return on("formSubmitted", (d) => events.push(["hook", d.id]));
  }, [on]);
  return <p id="status">{`ready:${ready} user:${userId ?? "-"} verified:${verified}`}</p>;
}
