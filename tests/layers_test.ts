// The layer picture of lib/ (README, "Layout"), enforced: every import of a
// module under lib/ points to its own folder or to a folder below it, and no
// module imports itself back through a cycle.

import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const LIB = fileURLToPath(new URL("../lib/", import.meta.url));

/** Each folder of lib/ and the folders it may import from (all below it). */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  onnx: ["util"],
  autodiff: ["onnx", "util"],
  runtime: ["autodiff", "onnx", "util"],
  nn: ["onnx", "util"],
  models: ["nn", "onnx", "util"],
  weights: ["models", "nn", "onnx", "util"],
  metrics: ["util"],
  augment: ["util"],
  data: ["augment", "util"],
  train: [
    "augment",
    "autodiff",
    "data",
    "metrics",
    "models",
    "nn",
    "onnx",
    "runtime",
    "util",
    "weights",
  ],
  report: ["data", "metrics", "models", "util"],
  study: [
    "augment",
    "autodiff",
    "data",
    "metrics",
    "models",
    "nn",
    "onnx",
    "report",
    "runtime",
    "train",
    "util",
    "weights",
  ],
};

/** Every `.ts` file under lib/, as absolute paths. */
function libFiles(dir = LIB): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...libFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/** The relative module specifiers a file imports or re-exports (static and dynamic). */
function relativeImports(path: string): string[] {
  const text = Deno.readTextFileSync(path);
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms,
    /^\s*import\s+"(\.[^"]+)"/gm,
    /\bimport\(\s*"(\.[^"]+)"\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) specs.push(m[1]);
  }
  return specs;
}

/** The lib/ folder a file belongs to ("" for a file directly in lib/). */
function layerOf(path: string): string {
  const rel = relative(LIB, path);
  return rel.includes("/") ? rel.split("/")[0] : "";
}

Deno.test("layers: every lib folder is in the layer table", () => {
  const folders = [...Deno.readDirSync(LIB)].filter((e) => e.isDirectory).map((e) => e.name).sort();
  assert.deepEqual(folders, Object.keys(ALLOWED).sort());
});

Deno.test("layers: every import under lib/ points to its own folder or one below it", () => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of libFiles()) {
    const from = layerOf(file);
    for (const spec of relativeImports(file)) {
      const target = resolve(dirname(file), spec);
      const to = layerOf(target);
      checked++;
      if (!target.startsWith(LIB)) {
        violations.push(`${relative(LIB, file)} imports ${spec}, outside lib/`);
      } else if (from === "" || to === from) {
        continue; // an entry point directly in lib/ may gather layers; same-folder imports are fine
      } else if (!ALLOWED[from]?.includes(to)) {
        violations.push(`${relative(LIB, file)} (${from}) imports ${spec} (${to}): points up`);
      }
    }
  }
  assert.ok(checked > 300, `only ${checked} imports found: the import pattern is broken`);
  assert.deepEqual(violations, []);
});

/** Every cycle reachable in an import graph, as `a → b → a` strings. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, "visiting" | "done">();
  const cycles: string[] = [];
  const visit = (node: string, stack: string[]) => {
    if (state.get(node) === "done") return;
    if (state.get(node) === "visiting") {
      cycles.push([...stack.slice(stack.indexOf(node)), node].join(" → "));
      return;
    }
    state.set(node, "visiting");
    for (const next of graph.get(node) ?? []) visit(next, [...stack, node]);
    state.set(node, "done");
  };
  for (const node of graph.keys()) visit(node, []);
  return cycles;
}

Deno.test("layers: no import cycle between modules of lib/", () => {
  const graph = new Map<string, string[]>();
  for (const file of libFiles()) {
    graph.set(
      relative(LIB, file),
      relativeImports(file).map((spec) => relative(LIB, resolve(dirname(file), spec))),
    );
  }
  assert.deepEqual(findCycles(graph), []);
});

Deno.test("layers: the checker itself sees an upward import and a cycle", () => {
  // A self-test on fixed input, so the two tests above cannot pass vacuously.
  assert.equal(ALLOWED["report"].includes("study"), false);
  assert.equal(layerOf(join(LIB, "report", "x.ts")), "report");
  assert.deepEqual(
    findCycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])),
    ["a → b → c → a"],
  );
  assert.deepEqual(findCycles(new Map([["a", ["b"]], ["b", []]])), []);
  const probe = Deno.makeTempFileSync({ suffix: ".ts" });
  try {
    Deno.writeTextFileSync(
      probe,
      'import { a } from "./x.ts";\nexport {\n  b,\n} from "../y.ts";\nimport "./side.ts";\nconst m = await import("./lazy.ts");\n',
    );
    assert.deepEqual(relativeImports(probe), ["./x.ts", "../y.ts", "./side.ts", "./lazy.ts"]);
  } finally {
    Deno.removeSync(probe);
  }
});
