/**
 * The README's TypeScript runs as written: each fenced `ts` block is
 * extracted, its `"@medtune/medtune"` import pointed at this clone's
 * `mod.ts`, its epoch budget cut to six one-step epochs (the only change), and
 * run type-checked in a temporary folder on the shared MedMNIST files.
 */

import assert from "node:assert/strict";
import { DATA_DIR } from "./data_fixtures.ts";

const REPO = new URL("..", import.meta.url);
const README = await Deno.readTextFile(new URL("README.md", REPO));

/** The fenced TypeScript blocks of the README, with the heading they sit under. */
function tsBlocks(markdown: string): { heading: string; code: string }[] {
  const blocks: { heading: string; code: string }[] = [];
  let heading = "";
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("#")) heading = lines[i].replace(/^#+\s*/, "");
    if (/^```(ts|typescript)\s*$/.test(lines[i])) {
      const end = lines.indexOf("```", i + 1);
      assert.ok(end > i, `README: the block under "${heading}" is not closed`);
      blocks.push({ heading, code: lines.slice(i + 1, end).join("\n") });
      i = end;
    }
  }
  return blocks;
}

/** The block with the package pointed at this clone and a budget of six one-step epochs. */
function localized(code: string): string {
  const mod = new URL("mod.ts", REPO).href;
  let out = code.replaceAll(`from "@medtune/medtune"`, `from "${mod}"`);
  // The budget: every `epochs: N` becomes 6 epochs of one step each (longer than the 5-epoch
  // warmup the Quick start uses); nothing else changes.
  out = out.replace(/\bepochs: \d+,/g, "epochs: 6, maxStepsPerEpoch: 1,");
  return out;
}

Deno.test("readme: the TypeScript blocks import the package by its published name", () => {
  const blocks = tsBlocks(README);
  assert.ok(blocks.length >= 1, "README has a TypeScript block");
  const quick = blocks.find((b) => b.heading === "Quick start");
  assert.ok(quick, "a TypeScript block under Quick start");
  assert.match(quick.code, /from "@medtune\/medtune";/);
  assert.match(README, /deno add jsr:@medtune\/medtune/);
  // The budget rewrite applies to the Quick start (so the test runs what the README shows).
  assert.notEqual(localized(quick.code).indexOf("maxStepsPerEpoch: 1"), -1);
});

for (const [i, block] of tsBlocks(README).entries()) {
  Deno.test(`readme: block ${i + 1} (${block.heading}) runs as written`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "medtune_readme_" });
    try {
      await Deno.writeTextFile(`${dir}/block.ts`, localized(block.code));
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-q",
          "-A",
          "--check",
          "--config",
          new URL("deno.json", REPO).pathname,
          "block.ts",
        ],
        cwd: dir,
        env: { MEDTUNE_DATA_DIR: DATA_DIR },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `block under "${block.heading}" failed:\n${stderr}`);
      if (block.heading === "Quick start") {
        // It prints AUC, balanced accuracy and Brier, and saves the weights where it says.
        const numbers = stdout.trim().split(/\s+/).map(Number);
        assert.equal(numbers.length, 3, stdout);
        assert.ok(numbers.every((x) => Number.isFinite(x) && x >= 0 && x <= 1), stdout);
        assert.ok(Deno.statSync(`${dir}/best.safetensors`).size > 1_000_000);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
