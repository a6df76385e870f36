import assert from "node:assert/strict";
import { measureCoreDistance, SPLIT_THRESHOLD_NS } from "../bench/core_distance.ts";

Deno.test("measureCoreDistance times a cache-line handoff between two threads", async () => {
  const d = await measureCoreDistance({ bursts: 3, rounds: 200 });
  assert.ok(Number.isFinite(d.handoffNs) && d.handoffNs > 0, `handoff ${d.handoffNs} ns`);
  // A handoff is at least a store and a load on each side: above 1 ns.
  assert.ok(d.handoffNs > 1, `handoff ${d.handoffNs} ns`);
  assert.equal(d.placement, d.handoffNs < SPLIT_THRESHOLD_NS ? "shared-L3" : "split");
});

Deno.test("bench/core_distance.ts names --watch when its value is not a number of seconds", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../bench/core_distance.ts", import.meta.url).pathname,
      "--watch",
      "soon",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 2);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /--watch takes a number of seconds, got "soon"/);
  assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
});
