import assert from "node:assert/strict";
import { measureFmaPeak } from "../bench/fma_peak.ts";

Deno.test("measureFmaPeak: builds fma_peak.c and reads its figure on one thread", async () => {
  const peak = await measureFmaPeak(1);
  if (peak.gflops === null) {
    // No C compiler on this machine: the reason names what was tried.
    assert.match(peak.reason, /no C compiler/);
    return;
  }
  assert.equal(peak.threads, 1);
  assert.ok(peak.lanes === 8 || peak.lanes === 16, `lanes ${peak.lanes}`);
  assert.ok(Number.isFinite(peak.gflops) && peak.gflops > 0, `${peak.gflops}`);
});

Deno.test("measureFmaPeak: without a C compiler it says so instead of throwing", async () => {
  const path = Deno.env.get("PATH");
  Deno.env.set("PATH", "/nonexistent");
  try {
    const peak = await measureFmaPeak(1);
    assert.equal(peak.gflops, null);
    assert.match((peak as { reason: string }).reason, /no C compiler \(cc, gcc, clang\)/);
  } finally {
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
  }
});

async function fmaPeakCli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../bench/fma_peak.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("fma_peak.ts answers --help with its usage, and an unknown flag with a one-line error", async () => {
  const help = await fmaPeakCli(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^usage: deno run -A bench\/fma_peak\.ts \[--threads N\]/);
  assert.match(help.stdout, /--threads N +threads to run on/);
  const bad = await fmaPeakCli(["--thread", "1"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: .*--thread.*\(see --help\)\n$/);
  const zero = await fmaPeakCli(["--threads", "0"]);
  assert.equal(zero.code, 2);
  assert.equal(zero.stderr, 'error: --threads must be a positive integer, got "0"\n');
});
