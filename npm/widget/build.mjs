// Builds dist/ from src/ and the install snippet's stub, which it takes from
// static/widget.js itself (its CommonJS export `stub`, the function that
// docs/widget.md prints as "!" + it + "(window);"): one text for the docs, the
// script and the package. The package loads widget.js from your Prefill; it
// never carries a copy of it. Run by `npm pack` (prepack) in npm/widget, with the
// repository's node_modules (typescript).
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const dist = join(here, "dist");

function stubSource() {
  const { stub } = createRequire(import.meta.url)(join(root, "static", "widget.js"));
  const text = String(stub);
  if (typeof stub !== "function" || !text.startsWith("function(w){")) throw new Error("static/widget.js exports no stub(w)");
  return text;
}

function tool(name) {
  for (let dir = here; ; dir = dirname(dir)) {
    const bin = join(dir, "node_modules", ".bin", name);
    if (existsSync(bin)) return bin;
    if (dirname(dir) === dir) throw new Error(`${name} not found in any node_modules/.bin above ${here}: run npm ci at the repository's root`);
  }
}

rmSync(dist, { recursive: true, force: true });
execFileSync(tool("tsc"), ["-p", join(here, "tsconfig.json")], { stdio: "inherit" });
mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, "stub.js"), "// The install snippet's stub: static/widget.js's `stub`, verbatim.\n"
  + "export const installStub = " + stubSource() + ";\n");
for (const name of ["stub.d.ts", "global.d.ts"]) copyFileSync(join(here, "src", name), join(dist, name));
