// Bundles src/widget.ts into ../dsviz_widget/static/widget.{js,css} (minified ESM for anywidget).
// `node build.mjs --watch` rebuilds on change; pair it with ANYWIDGET_HMR=1 in the kernel.
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes("--watch");
const options = {
  entryPoints: {
    widget: path.join(here, "src", "widget.ts"),
    lineage: path.join(here, "src", "lineage.ts"),
  },
  outdir: path.join(here, "..", "dsviz_widget", "static"),
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  legalComments: "none",
  logLevel: "info",
};
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
