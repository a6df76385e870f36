/**
 * Helpers for the study tests that drive the CLI (`examples/ablation.ts`) in
 * child processes: a tiny study's flags, running and spawning the CLI, and the
 * parts of run records that must not depend on how a study was interrupted.
 *
 * @module
 */

import type { RunRecord } from "../lib/report/record.ts";
import { DATA_DIR } from "./data_fixtures.ts";

/** The CLI entry point. */
export const CLI: string = new URL("../examples/ablation.ts", import.meta.url).pathname;

/** What {@linkcode tinyArgs} changes in the tiny study. */
export interface TinyOptions {
  /** `--augment` levels (default `none`). */
  augment?: string;
  /** `--epochs` (default 1). */
  epochs?: number;
  /** `--max-steps` (default 2). */
  maxSteps?: number;
  /** `--image-size` (default 28). */
  imageSize?: number;
}

/** A tiny study: 28 px, batch 8, 2 steps per epoch, cpu, ResNet-18, constant LR, one seed. */
export function tinyArgs(out: string, options: TinyOptions = {}): string[] {
  return [
    "--data",
    DATA_DIR,
    "--backend",
    "cpu",
    "--image-size",
    String(options.imageSize ?? 28),
    "--batch-size",
    "8",
    "--epochs",
    String(options.epochs ?? 1),
    "--max-steps",
    String(options.maxSteps ?? 2),
    "--seeds",
    "1",
    "--schedule",
    "constant",
    "--backbone",
    "resnet18",
    "--baseline",
    "none/constant/resnet18",
    "--augment",
    options.augment ?? "none",
    "--out",
    out,
  ];
}

/** What a CLI process printed and how it ended. */
export interface CliResult {
  /** Exit status. */
  code: number;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr. */
  stderr: string;
  /** stdout and stderr together (for messages that may go to either). */
  all: string;
}

function command(args: string[], env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Run the CLI to the end. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return decode(await command(args, env).output());
}

/** Start the CLI; `done` resolves with its output when it exits. */
export function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): { child: Deno.ChildProcess; done: Promise<CliResult> } {
  const child = command(args, env).spawn();
  return { child, done: child.output().then(decode) };
}

function decode(out: Deno.CommandOutput): CliResult {
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout);
  const stderr = dec.decode(out.stderr);
  return { code: out.code, stdout, stderr, all: stdout + stderr };
}

/** Wait until `check` holds (polling), or throw after `seconds`. */
export async function waitFor(
  check: () => Promise<boolean>,
  seconds: number,
  what: string,
): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

/** Whether a file exists. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The parts of a record that an interruption must not change: metrics,
 * scores, epochs and the learning curves without wall times.
 */
export function outcomeOf(r: RunRecord): unknown {
  return {
    id: r.id,
    status: r.status,
    epochsRun: r.epochsRun,
    bestEpoch: r.bestEpoch,
    train: r.train,
    val: r.val,
    test: r.test,
    testScores: r.testScores,
    history: r.history.map((h) => {
      const { seconds: _s, ...rest } = h as unknown as Record<string, unknown>;
      return rest;
    }),
  };
}

/** `results.csv` without its wall-time columns (`seconds_*`). */
export async function csvWithoutTimes(path: string): Promise<string> {
  const rows = (await Deno.readTextFile(path)).trim().split("\n").map((l) => l.split(","));
  const keep = rows[0].map((name, i) => (/seconds|minutes|time/i.test(name) ? -1 : i))
    .filter((i) => i >= 0);
  return rows.map((row) => keep.map((i) => row[i]).join(",")).join("\n");
}
