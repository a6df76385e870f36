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

/** The `study ≤ … left` of the line printed after epoch 1 (10 s) of the first run. */
function studyLeftAfterFirstEpoch(workers?: number): string {
  const [first, ...next] = threeRuns();
  const lines: string[] = [];
  const progress = createProgressPrinter({
    tty: false,
    write: (text) => lines.push(text),
    estimateSeconds: () => 100,
    workers,
  });
  progress.runStart!({ run: first, index: 0, total: 3, next });
  progress.epochEnd!({ run: first, record: epoch(1, 10), epochs: 10 });
  const match = lines.at(-1)!.match(/run \S+ \(≤ (\S+) left\) \| study ≤ (\S+) left\n$/);
  assert.ok(match, lines.at(-1));
  assert.equal(match[1], "1m30s"); // 9 epochs of 10 s left in this run
  return match[2];
}

Deno.test("one process: the study ETA is this run's remainder plus every run still to claim", () => {
  // 90 s + 2 × 100 s (the plan's estimate for backbones without a measured epoch)
  assert.equal(studyLeftAfterFirstEpoch(), "4m50s");
  assert.equal(studyLeftAfterFirstEpoch(1), "4m50s");
});

Deno.test("--workers: the runs still to claim are divided among the workers", () => {
  // 90 s + 2 × 100 s / 2: the other worker trains one of them meanwhile.
  assert.equal(studyLeftAfterFirstEpoch(2), "3m10s");
  assert.equal(studyLeftAfterFirstEpoch(4), "2m20s");
});

Deno.test("the study ETA counts a run left to claim at its backbone's measured epochs", () => {
  const runs = threeRuns();
  const lines: string[] = [];
  const progress = createProgressPrinter({
    tty: false,
    write: (text) => lines.push(text),
    estimateSeconds: () => 1000,
    workers: 2,
  });
  // The ResNet-18 run is the second here: one measured ResNet-18 epoch (20 s)
  // prices it at 10 × 20 s, not at the plan's 1000 s.
  const resnet = runs[0];
  progress.runStart!({ run: resnet, index: 0, total: 2, next: [] });
  progress.epochEnd!({ run: resnet, record: epoch(1, 20), epochs: 10 });
  progress.runStart!({ run: runs[1], index: 1, total: 3, next: [resnet] });
  progress.epochEnd!({ run: runs[1], record: epoch(1, 6), epochs: 10 });
  // 9 × 6 s + 200 s / 2 = 154 s
  assert.match(lines.at(-1)!, /\| study ≤ 2m34s left\n$/);
});

Deno.test("an epoch's own list of the runs still to train replaces runStart's", () => {
  const [first, ...next] = threeRuns();
  const lines: string[] = [];
  const progress = createProgressPrinter({
    tty: false,
    write: (text) => lines.push(text),
    estimateSeconds: () => 100,
    workers: 2,
  });
  progress.runStart!({ run: first, index: 0, total: 3, next });
  progress.epochEnd!({ run: first, record: epoch(1, 10), epochs: 10 });
  assert.match(lines.at(-1)!, /\| study ≤ 3m10s left\n$/); // 90 s + 200 s / 2
  // The other worker has claimed one of the two meanwhile.
  progress.epochEnd!({ run: first, record: epoch(2, 10), epochs: 10, next: next.slice(1) });
  assert.match(lines.at(-1)!, /\| study ≤ 2m10s left\n$/); // 80 s + 100 s / 2
  // Later epochs without a list keep the last one.
  progress.epochEnd!({ run: first, record: epoch(3, 10), epochs: 10 });
  assert.match(lines.at(-1)!, /\| study ≤ 2m00s left\n$/); // 70 s + 100 s / 2
});

Deno.test("formatDuration writes hours, minutes and seconds, and ? for nothing known", () => {
  assert.equal(formatDuration(42.4), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(NaN), "?");
  assert.equal(formatDuration(-1), "?");
});
