// Bundles the Vue app with esbuild; .vue files are compiled by Vue's own compiler-sfc.
// node build.mjs <outfile>
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import { compileScript, parse } from "vue/compiler-sfc";

const here = dirname(fileURLToPath(import.meta.url));

const vue = {
  name: "vue-sfc",
  setup(build) {
    build.onLoad({ filter: /\.vue$/ }, async ({ path }) => {
      const { descriptor, errors } = parse(await readFile(path, "utf8"), { filename: path });
      if (errors.length) return { errors: errors.map((e) => ({ text: String(e) })) };
      const script = compileScript(descriptor, { id: "app", inlineTemplate: true });
      return { contents: script.content, loader: "js", resolveDir: dirname(path) };
    });
  },
};

await esbuild.build({
  entryPoints: [join(here, "main.js")],
  bundle: true,
  minify: true,
  format: "esm",
  outfile: process.argv[2],
  define: { "process.env.NODE_ENV": '"production"', __VUE_OPTIONS_API__: "false", __VUE_PROD_DEVTOOLS__: "false",
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false" },
  plugins: [vue],
  logLevel: "warning",
});
