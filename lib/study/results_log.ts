/**
 * The study's results log, `results.jsonl`: one JSON run record per line.
 *
 * Appending is safe whatever state the file's tail is in: while holding the
 * file's lock (`results.jsonl.lock`, so concurrent workers append one at a
 * time), a complete last record without its final newline gets one first,
 * and a torn last line (a crash mid-append) is moved aside to
 * `results.jsonl.torn-<time>` — never glued to. Records are fsynced.
 *
 * Reading tolerates only a torn last line (with a warning); any other line
 * that is not a run record is an error naming the file and line. Readers
 * keep one record per run id ({@linkcode dedupeRecords}) and say when they
 * drop duplicates.
 *
 * @module
 */

import { atomicWriteFile, dirOf, fsyncDir, writeAll } from "../util/fs.ts";
import { withFileLock } from "./claims.ts";
import { crashNow, faultNumber } from "./fault.ts";
import type { RunRecord } from "../report/record.ts";

/** Logger of warnings and notices. */
export type LogFn = (line: string) => void;

/** Whether `value` looks like a run record (an object with an id and a status). */
export function isRunRecord(value: unknown): value is RunRecord {
  const r = value as RunRecord;
  return typeof r === "object" && r !== null && typeof r.id === "string" && r.id !== "" &&
    (r.status === "ok" || r.status === "failed");
}

function parseRecord(line: string): RunRecord | undefined {
  try {
    const value = JSON.parse(line);
    return isRunRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A results file split into its records, plus a torn last line if there is one. */
interface ParsedLog {
  records: RunRecord[];
  /** The unfinished last line (no final newline, not a run record). */
  torn?: string;
}

function parseLog(path: string, text: string): ParsedLog {
  const lines = text.split("\n");
  const records: RunRecord[] = [];
  let torn: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line.trim()) continue;
    const record = parseRecord(line);
    if (record) {
      records.push(record);
      continue;
    }
    if (i === lines.length - 1) {
      // The last line without a final newline: a write cut short.
      torn = line;
      continue;
    }
    throw new Error(
      `${path}:${i + 1}: not a JSON run record (${describe(line)}); ` +
        `fix that line or delete it (the run is then trained again on the next run), then rerun`,
    );
  }
  return { records, torn };
}

function describe(line: string): string {
  try {
    JSON.parse(line);
    return "valid JSON, but without an id and status";
  } catch (err) {
    return `invalid JSON: ${(err as Error).message}`;
  }
}

/** Options of {@linkcode readResults}. */
export interface ReadResultsOptions {
  /** Warnings: a torn last line ignored, duplicates dropped. */
  log?: LogFn;
  /** Keep every line's record, duplicates included (default false: one per run id). */
  keepDuplicates?: boolean;
}

/**
 * Read a results file (missing: no records). A torn last line is ignored
 * with a warning; any other bad line is an error naming `file:line`.
 * Records are deduplicated by run id ({@linkcode dedupeRecords}).
 */
export async function readResults(
  path: string,
  options: ReadResultsOptions = {},
): Promise<RunRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  const { records, torn } = parseLog(path, text);
  if (torn !== undefined) {
    options.log?.(
      `${path}: ignoring an unfinished last line (${torn.length} bytes, an interrupted write); ` +
        `the next append moves it to ${path}.torn-<time>`,
    );
  }
  return options.keepDuplicates
    ? records
    : dedupeRecords(records, { log: options.log, source: path });
}

/** Options of {@linkcode dedupeRecords}. */
export interface DedupeOptions {
  /** Says how many duplicates were dropped. */
  log?: LogFn;
  /** Where the records came from (named in the log line). */
  source?: string;
}

/**
 * One record per run id, in order of first appearance: an `ok` record is
 * preferred over a failed one, else the latest (the later line, or the later
 * `finishedAt`). Says via `log` how many duplicates were dropped.
 */
export function dedupeRecords(
  records: readonly RunRecord[],
  options: DedupeOptions = {},
): RunRecord[] {
  const byId = new Map<string, RunRecord>();
  let dropped = 0;
  for (const r of records) {
    const prev = byId.get(r.id);
    if (!prev) {
      byId.set(r.id, r);
      continue;
    }
    dropped++;
    if (preferred(r, prev)) byId.set(r.id, r);
  }
  if (dropped) {
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    const runs = [...counts.values()].filter((n) => n > 1).length;
    options.log?.(
      `${options.source ?? "results"}: dropped ${dropped} duplicate record(s) of ${runs} run(s); ` +
        `kept one per run id (ok over failed, else the latest)`,
    );
  }
  return [...byId.values()];
}

/** Whether `a` should replace `b` (same run id); `a` came later. */
function preferred(a: RunRecord, b: RunRecord): boolean {
  if (a.status !== b.status) return a.status === "ok";
  return (a.finishedAt ?? "") >= (b.finishedAt ?? "");
}

/** Time stamp usable in a file name: `2026-11-30T06-30-00-123Z`. */
export function fileTimestamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, "-");
}

/** Options of {@linkcode appendRecord}. */
export interface AppendRecordOptions {
  /** Warnings (a torn line moved aside). */
  log?: LogFn;
}

/**
 * Append `record` as one line of the results file `path`, fixing the tail
 * first: a complete last record without a final newline gets one; a torn
 * last line is moved to `path.torn-<time>` (the file is rewritten without it,
 * atomically) with a warning. Holds `path.lock` meanwhile; fsyncs the file.
 */
export async function appendRecord(
  path: string,
  record: RunRecord,
  options: AppendRecordOptions = {},
): Promise<void> {
  const line = JSON.stringify(record);
  if (line.includes("\n")) {
    throw new Error(`appendRecord: record ${record.id} serialized with a newline`);
  }
  await Deno.mkdir(dirOf(path), { recursive: true });
  await withFileLock(`${path}.lock`, async () => {
    let prefix = "";
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (text && !text.endsWith("\n")) {
      const cut = text.lastIndexOf("\n") + 1;
      const last = text.slice(cut);
      if (parseRecord(last)) {
        prefix = "\n";
      } else {
        const aside = `${path}.torn-${fileTimestamp()}`;
        await atomicWriteFile(aside, last);
        await atomicWriteFile(path, text.slice(0, cut));
        options.log?.(
          `${path}: its last line was unfinished (${last.length} bytes, an interrupted write); ` +
            `moved it to ${aside}`,
        );
      }
    }
    const created = !text;
    const bytes = new TextEncoder().encode(prefix + line + "\n");
    const file = await Deno.open(path, { append: true, create: true });
    try {
      const cutAt = faultNumber("append", "after-bytes");
      if (cutAt !== undefined) {
        await writeAll(file, bytes.subarray(0, Math.min(cutAt, bytes.length)));
        await file.sync();
        crashNow(`append (after ${cutAt} bytes)`);
      }
      await writeAll(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    if (created) await fsyncDir(dirOf(path));
  }, { log: options.log });
}
