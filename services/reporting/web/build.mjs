// Copies the chart library the lock file pins from node_modules into the reporting package's
// static/vendor (committed: the dashboard loads nothing from a CDN or the network at run time)
// and writes vendor/manifest.json (package, version, sha256) that a test checks the vendored
// file and package-lock.json against. Run: `npm ci --ignore-scripts && npm run build`
// (or `make dashboard-assets`).
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "src", "reporting", "static", "vendor");
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const pinned = lock.packages["node_modules/chart.js"].version;
const installed = JSON.parse(
  readFileSync(join(here, "node_modules", "chart.js", "package.json"), "utf8"),
).version;
if (installed !== pinned) {
  throw new Error(`node_modules has chart.js ${installed}, the lock pins ${pinned}: run npm ci`);
}

mkdirSync(vendor, { recursive: true });
const file = "chart.umd.min.js";
copyFileSync(join(here, "node_modules", "chart.js", "dist", file), join(vendor, file));
copyFileSync(join(here, "node_modules", "chart.js", "LICENSE.md"), join(vendor, "chart.js.LICENSE.md"));
const sha256 = createHash("sha256").update(readFileSync(join(vendor, file))).digest("hex");
const manifest = { "chart.js": { version: pinned, file, sha256, license: "MIT" } };
writeFileSync(join(vendor, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`vendored chart.js ${pinned} (${file}, sha256 ${sha256})`);
