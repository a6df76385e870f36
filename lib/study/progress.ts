/**
 * Study progress with ETAs: one updating status line on a terminal, plain
 * lines otherwise (logs, CI, batch schedulers).
 *
 * @module
 */

import type { InFlightRun, StudyProgress } from "./runner.ts";
import type { PlannedRun } from "./spec.ts";

/** Options of {@linkcode createProgressPrinter}. */
export interface ProgressPrinterOptions {
  /** Whether to redraw one status line (default: stderr is a terminal). */
  tty?: boolean;
  /** Where to write (default: stderr). */
  write?: (text: string) => void;
  /** Expected seconds of a run whose backbone has no measured epoch yet (from the plan). */
  estimateSeconds?: (run: PlannedRun) => number;
}

/** Format seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** Progress callbacks that print run and study ETAs. */
export function createProgressPrinter(options: ProgressPrinterOptions = {}): StudyProgress {
  const tty = options.tty ?? Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const write = options.write ?? ((text: string) => Deno.stderr.writeSync(encoder.encode(text)));
  const estimate = options.estimateSeconds ?? (() => NaN);
  // Measured seconds per epoch, by backbone, to refine the ETAs as runs finish.
  const epochSeconds = new Map<string, number[]>();
  let runStarted = 0;
  let next: PlannedRun[] = [];
  let others: InFlightRun[] = [];

  const perEpoch = (backbone: string) => {
    const xs = epochSeconds.get(backbone);
    return xs && xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  };
  const runEta = (run: PlannedRun) => {
    const e = perEpoch(run.axes.backbone);
    return Number.isFinite(e) ? e * run.config.fixed.epochs : estimate(run);
  };

  return {
    runStart({ run, index, total, next: after, others: training }) {
      next = after;
      others = training ?? [];
      runStarted = performance.now();
      const line =
        `[${index + 1}/${total}] ${run.id} (${run.axes.backbone}, ${run.axes.augment}, ` +
        `${run.axes.schedule}, seed ${run.seed})`;
      write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
    },
    epochEnd({ run, record, epochs, next: now, others: training }) {
      if (now) next = now;
      if (training) others = training;
      const list = epochSeconds.get(run.axes.backbone) ?? [];
      list.push(record.seconds);
      epochSeconds.set(run.axes.backbone, list);
      const elapsed = (performance.now() - runStarted) / 1000;
      const runLeft = perEpoch(run.axes.backbone) * (epochs - record.epoch);
      // The other workers' runs at their full budgets less the time since
      // they were claimed; the runs still to claim shared by all, evenly.
      const theirs = others.map((o) =>
        Math.max(0, runEta(o.run) - (Date.now() - o.startedAt) / 1000)
      );
      const total = theirs.reduce((sum, s) => sum + s, runLeft) +
        next.reduce((sum, r) => sum + runEta(r), 0);
      const studyLeft = Math.max(runLeft, ...theirs, total / (1 + theirs.length));
      const auc = record.valAuc === null ? "n/a" : record.valAuc.toFixed(3);
      const line = `  epoch ${record.epoch}/${epochs} loss ${record.trainLoss.toFixed(3)} ` +
        `val AUC ${auc} | run ${formatDuration(elapsed)} (≤ ${formatDuration(runLeft)} left) | ` +
        `study ≤ ${formatDuration(studyLeft)} left`;
      write(tty ? `\r\x1b[K${line}` : `${line}\n`);
    },
    runEnd({ record, index, total }) {
      const test = record.test?.auc;
      const line = record.status === "ok"
        ? `  done in ${formatDuration(record.seconds)}: best epoch ${record.bestEpoch}, val AUC ${
          record.val?.auc?.toFixed(3) ?? "n/a"
        }, test AUC ${test?.toFixed(3) ?? "n/a"} (${index + 1}/${total})`
        : `  FAILED after ${formatDuration(record.seconds)}: ${record.error}`;
      write(tty ? `\r\x1b[K${line}\n` : `${line}\n`);
    },
  };
}
