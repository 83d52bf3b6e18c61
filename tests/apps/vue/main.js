// The host app: docs/widget.md's Vue example (docs-App.vue, written from the doc by
// the test) with a status line and sign-in buttons.
import { createApp, defineComponent, h } from "vue";
import { usePrefill } from "@prefill/widget/vue";

import App from "./docs-App.vue";
import { signIn, signOut } from "./session.js";

const events = (window.events = []);

const Status = defineComponent({
  setup() {
    const { ready, userId, verified, on } = usePrefill(); // no options: the API and state only
    on("formSubmitted", (d) => events.push(["composable", d.id]));
    return () => h("p", { id: "status" }, `ready:${ready.value} user:${userId.value ?? "-"} verified:${verified.value}`);
  },
});

const Root = defineComponent({
  setup() {
    return () => [
      h("button", { type: "button", id: "sign-in-u1", onClick: () => signIn("u1") }, "Sign in as u1"),
      h("button", { type: "button", id: "sign-in-u2", onClick: () => signIn("u2") }, "Sign in as u2"),
      h("button", { type: "button", id: "sign-out", onClick: signOut }, "Sign out"),
      h(Status),
      h(App),
    ];
  },
});

createApp(Root).mount("#root");
