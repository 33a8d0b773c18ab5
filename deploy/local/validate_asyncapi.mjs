// Validates an AsyncAPI document with the official parser; exits 1 on any error-level diagnostic.
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";
const file = process.argv[2];
const { document, diagnostics } = await new Parser().parse(readFileSync(file, "utf8"), { source: file });
for (const d of diagnostics) console.log(`${DiagnosticSeverity[d.severity]} ${d.code} ${d.path.join("/")}: ${d.message}`);
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
console.log(document && errors.length === 0 ? `${file}: valid` : `${file}: ${errors.length} errors`);
process.exit(document && errors.length === 0 ? 0 : 1);
