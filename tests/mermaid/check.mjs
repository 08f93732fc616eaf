// Parses Mermaid files with Mermaid's own parser (the `mermaid` package), in Node with no browser: jsdom
// gives the window DOMPurify needs, before Mermaid is loaded. Exit 1 if any file does not parse.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`ok ${file} (${result.diagramType})`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${file}: ${String(err.message || err).split("\n").slice(0, 4).join(" | ")}`);
  }
}
process.exit(failed ? 1 : 0);
