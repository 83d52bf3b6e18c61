// ESLint's React hooks rules, all of them (recommended-latest, exhaustive-deps as an error), on
// docs/widget.md's React and Next.js examples and on the package's React binding (lint/src, written
// by tests/test_npm_package_browser.py).
import reactHooks from "eslint-plugin-react-hooks";

export default [
  {
    files: ["**/*.js", "**/*.jsx"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      parserOptions: { ecmaFeatures: { jsx: true } },
    },
  },
  reactHooks.configs.flat["recommended-latest"],
  { rules: { "react-hooks/exhaustive-deps": "error" } },
];
