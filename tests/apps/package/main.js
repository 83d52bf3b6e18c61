// A page that runs docs/widget.md's loadPrefill example (docs-package.ts, written by the test).
import { askSupport } from "../ts/docs-package.ts";

window.askSupport = askSupport;
