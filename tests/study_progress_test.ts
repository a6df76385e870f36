import assert from "node:assert/strict";
import type { EpochRecord } from "../lib/metrics/history.ts";
import { createProgressPrinter, formatDuration } from "../lib/study/progress.ts";
import { defaultStudy, planRuns } from "../lib/study/spec.ts";

/** Three runs (ResNet-18, then EfficientNet-B0 and ViT-Tiny), 10 epochs each. */
function threeRuns() {
  const spec = defaultStudy({
    design: "oat",
    seeds: [0],
    axes: {
      augment: ["basic"],
      schedule: ["cosine"],
      backbone: ["resnet18", "efficientnet_b0", "vit_tiny_patch16_224"],
    },
    fixed: { epochs: 10, minEpochs: 1 },
  });
  const runs = planRuns(spec);
  assert.equal(runs.length, 3);
  return runs;
}

function epoch(n: number, seconds: number): EpochRecord {
  return {
    epoch: n,
    lr: 1e-3,
    trainLoss: 0.5,
    trainAccuracy: 0.7,
    trainAuc: 0.8,
    valLoss: 0.6,
    valAccuracy: 0.7,
    valAuc: 0.75,
    seconds,
  };
}

/** A printer whose lines are collected; runs without a measured epoch are planned at `planned` s. */
function printer(planned: (run: ReturnType<typeof threeRuns>[number]) => number) {
  const lines: string[] = [];
  const progress = createProgressPrinter({
    tty: false,
    write: (text) => lines.push(text),
    estimateSeconds: planned,
  });
  const studyLeft = () => {
    const match = lines.at(-1)!.match(/\| study ≤ (\S+) left\n$/);
    assert.ok(match, lines.at(-1));
    return match[1];
  };
  return { progress, lines, studyLeft };
}

Deno.test("alone: the study ETA is this run's remainder plus every run still to claim", () => {
  const [first, ...next] = threeRuns();
  const { progress, lines, studyLeft } = printer(() => 100);
  progress.runStart!({ run: first, index: 0, total: 3, next });
  progress.epochEnd!({ run: first, record: epoch(1, 10), epochs: 10 });
  assert.match(lines.at(-1)!, /\| run \S+ \(≤ 1m30s left\) \|/); // 9 epochs of 10 s
  assert.equal(studyLeft(), "4m50s"); // 90 s + 2 × 100 s
});

Deno.test("beside other workers: their runs' remainders and the queue shared evenly", () => {
  const [resnet, effnet, vit] = threeRuns();
  const { progress, studyLeft } = printer((run) => run === vit ? 300 : 600);
  // The other worker took the ResNet-18 run (600 s planned) just now; the
  // ViT run is still to claim. This worker trains EfficientNet-B0 (10 s epochs).
  let others = [{ run: resnet, startedAt: Date.now() }];
  progress.runStart!({ run: effnet, index: 0, total: 2, next: [vit], others });
  progress.epochEnd!({ run: effnet, record: epoch(1, 10), epochs: 10 });
  // Not 90 s + 300 s (as if alone), nor its share (90 + 600 + 300) / 2: the
  // other run alone has ≈ 600 s left.
  assert.equal(studyLeft(), "10m00s");
  // Its run claimed 8 minutes ago: 120 s left, so the shared total decides.
  others = [{ run: resnet, startedAt: Date.now() - 480_000 }];
  progress.epochEnd!({ run: effnet, record: epoch(2, 10), epochs: 10, others });
  assert.equal(studyLeft(), "4m10s"); // (80 + 120 + 300) / 2 = 250 s
  // Nobody else training any more: this run's remainder and the whole queue.
  progress.epochEnd!({ run: effnet, record: epoch(3, 10), epochs: 10, others: [] });
  assert.equal(studyLeft(), "6m10s"); // 70 + 300
});

Deno.test("an epoch's own lists replace runStart's; epochs without them keep the last", () => {
  const [first, ...next] = threeRuns();
  const { progress, studyLeft } = printer(() => 100);
  progress.runStart!({ run: first, index: 0, total: 3, next });
  progress.epochEnd!({ run: first, record: epoch(1, 10), epochs: 10 });
  assert.equal(studyLeft(), "4m50s"); // 90 + 200
  // Another worker has claimed one of the two meanwhile.
  const others = [{ run: next[0], startedAt: Date.now() }];
  progress.epochEnd!({ run: first, record: epoch(2, 10), epochs: 10, next: next.slice(1), others });
  assert.equal(studyLeft(), "2m20s"); // (80 + 100 + 100) / 2
  progress.epochEnd!({ run: first, record: epoch(3, 10), epochs: 10 });
  assert.equal(studyLeft(), "2m15s"); // (70 + ≈100 + 100) / 2
});

Deno.test("a run still to claim is counted at its backbone's measured epochs", () => {
  const [resnet, effnet] = threeRuns();
  const { progress, studyLeft } = printer(() => 1000);
  progress.runStart!({ run: resnet, index: 0, total: 2, next: [] });
  progress.epochEnd!({ run: resnet, record: epoch(1, 20), epochs: 10 });
  // The ResNet-18 run comes again later (say, another seed): one measured
  // epoch of 20 s prices it at 10 × 20 s, not at the plan's 1000 s.
  progress.runStart!({ run: effnet, index: 1, total: 3, next: [resnet] });
  progress.epochEnd!({ run: effnet, record: epoch(1, 6), epochs: 10 });
  assert.equal(studyLeft(), "4m14s"); // 9 × 6 + 200
});

Deno.test("formatDuration writes hours, minutes and seconds, and ? for nothing known", () => {
  assert.equal(formatDuration(42.4), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(NaN), "?");
  assert.equal(formatDuration(-1), "?");
});
