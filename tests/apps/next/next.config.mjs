// The test app builds in tests/apps/next; its packages are the repository's (node_modules at the root).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export default {
  turbopack: { root },
  outputFileTracingRoot: root,
};
