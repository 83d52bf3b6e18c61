// The host app: docs/widget.md's React example (docs-react.jsx, written from the doc
// by the test) inside an app with a sign-in, in StrictMode.
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { usePrefill } from "@prefill/widget/react";

import { SupportButton, WithPrefill } from "./docs-react.jsx";

const events = (window.events = []);

function Status() {
  const { ready, userId, verified, on } = usePrefill();
  // Subscribed before widget.js has loaded: through the binding, and on the stub itself,
  // the way the crash was written; both cleanups must be functions.
  useEffect(() => on("formSubmitted", (d) => events.push(["hook", d.id])), [on]);
  useEffect(() => window.prefill.on("formSubmitted", (d) => events.push(["stub", d.id])), []);
  return <p id="status">{`ready:${ready} user:${userId ?? "-"} verified:${verified}`}</p>;
}

function App() {
  const [user, setUser] = useState(null);
  async function signIn(id) {
    await fetch(`/login?user=${id}`); // the app's own first-party session
    setUser({ id, email: `${id}@example.com`, name: `User ${id}` });
  }
  async function signOut() {
    await fetch("/logout");
    setUser(null);
  }
  return (
    <>
      <button type="button" id="sign-in-u1" onClick={() => signIn("u1")}>Sign in as u1</button>
      <button type="button" id="sign-in-u2" onClick={() => signIn("u2")}>Sign in as u2</button>
      <button type="button" id="sign-out" onClick={signOut}>Sign out</button>
      <WithPrefill user={user}>
        <Status />
        <SupportButton />
      </WithPrefill>
    </>
  );
}

createRoot(document.getElementById("root")).render(<StrictMode><App /></StrictMode>);
