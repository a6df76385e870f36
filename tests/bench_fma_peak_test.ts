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
