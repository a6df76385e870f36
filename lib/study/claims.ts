/**
 * Claims: many workers share one study folder (one machine, or several over
 * NFS) without a scheduler. Before a worker trains a run it creates
 * `OUT/claims/<run id>.json` exclusively (`O_CREAT|O_EXCL`), holding its
 * host, pid and start time; while the run trains it touches the file (its
 * modification time is the heartbeat, every 30 s by default). A claim whose
 * worker died — a dead pid on this host, or no heartbeat for
 * `staleSeconds` (default 5 minutes) — is taken over: renamed aside
 * atomically, then claimed afresh, and the run resumes from its checkpoint.
 * A worker that finds its claim gone or replaced stops that run, so no run is
 * trained by two workers at once. The same mechanism, with a short
 * staleness and no heartbeat, locks the results file while a record is
 * appended ({@linkcode withFileLock}).
 *
 * @module
 */

import { createExclusive, dirOf, exists, fsyncDir } from "../util/fs.ts";

/** Who holds a claim or lock: the content of the claim file. */
export interface ClaimOwner {
  /** Host name of the worker (`Deno.hostname()`). */
  host: string;
  /** Process id of the worker on that host. */
  pid: number;
  /** Start time of that process (`/proc/<pid>/stat` field 22), to detect a reused pid. */
  procStart?: string;
  /** Unique token of this claim. */
  token: string;
  /** ISO time the claim was made. */
  startedAt: string;
  /** The run claimed (absent for locks). */
  runId?: string;
}

/** A claim file read back, with its heartbeat. */
export interface ClaimState {
  /** The owner recorded in the file. */
  owner: ClaimOwner;
  /** Last heartbeat: the file's modification time. */
  heartbeatAt: Date;
}

/** Options of {@linkcode claimRun}. */
export interface ClaimOptions {
  /** A claim without a heartbeat for this long is taken over (default 300). */
  staleSeconds?: number;
  /** Heartbeat interval while a run trains (default 30). */
  heartbeatSeconds?: number;
  /** Log lines (takeovers, lost claims). */
  log?: (line: string) => void;
}

/** Default staleness of a run claim, in seconds. */
export const DEFAULT_CLAIM_STALE_SECONDS = 300;
/** Default heartbeat interval of a run claim, in seconds. */
export const DEFAULT_HEARTBEAT_SECONDS = 30;

/** Thrown when a worker finds that its claim on a run was taken over. */
export class ClaimLostError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "ClaimLostError";
  }
}

/** An unparsable claim file (its writer died mid-write) is stale after this long. */
const UNREADABLE_STALE_SECONDS = 10;

let hostName: string | undefined;
/** This machine's host name. */
export function thisHost(): string {
  hostName ??= Deno.hostname();
  return hostName;
}

/** `/proc/<pid>/stat` state and start time, or undefined when no such process (or no /proc). */
async function procStat(pid: number): Promise<{ state: string; start: string } | null | undefined> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0], start: fields[19] };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      return (await exists("/proc/self/stat")) ? null : undefined;
    }
    return undefined;
  }
}

/**
 * Whether process `pid` on this host is alive (and, given `procStart`, is
 * still the same process). Uses `/proc/<pid>/stat` where there is one (a
 * zombie counts as dead), else a harmless `SIGCONT` probe.
 */
export async function pidAlive(pid: number, procStart?: string): Promise<boolean> {
  const stat = await procStat(pid);
  if (stat === null) return false;
  if (stat) return stat.state !== "Z" && (!procStart || stat.start === procStart);
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (err) {
    return !(err instanceof Deno.errors.NotFound) && !/ESRCH|No such process/.test(String(err));
  }
}

let ownStart: string | undefined | null = null;
async function ownProcStart(): Promise<string | undefined> {
  if (ownStart === null) ownStart = (await procStat(Deno.pid))?.start;
  return ownStart;
}

/** A fresh owner record for this process. */
export async function newOwner(runId?: string): Promise<ClaimOwner> {
  return {
    host: thisHost(),
    pid: Deno.pid,
    procStart: await ownProcStart(),
    token: crypto.randomUUID(),
    startedAt: new Date().toISOString(),
    ...(runId ? { runId } : {}),
  };
}

/**
 * Read a claim file; undefined when it does not exist. A file that does not
 * parse (its writer died between creating and writing it) reads as an owner
 * with an empty token, stale after a few seconds.
 */
export async function readClaim(path: string): Promise<ClaimState | undefined> {
  let text: string, info: Deno.FileInfo;
  try {
    [text, info] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const heartbeatAt = info.mtime ?? new Date(0);
  try {
    const owner = JSON.parse(text) as ClaimOwner;
    if (typeof owner?.token === "string" && owner.token) return { owner, heartbeatAt };
  } catch {
    // unreadable: below
  }
  return { owner: { host: "?", pid: 0, token: "", startedAt: "" }, heartbeatAt };
}

/** Why a claim is stale (its worker is gone), or undefined while it looks alive. */
export async function staleReason(
  state: ClaimState,
  staleSeconds: number,
): Promise<string | undefined> {
  const age = (Date.now() - state.heartbeatAt.getTime()) / 1000;
  const who = `${state.owner.host}:${state.owner.pid}`;
  if (!state.owner.token && age > UNREADABLE_STALE_SECONDS) {
    return `the claim file is unreadable and ${Math.round(age)} s old`;
  }
  if (age > staleSeconds) {
    return `no heartbeat from ${who} for ${Math.round(age)} s (stale after ${staleSeconds} s)`;
  }
  if (state.owner.host === thisHost() && state.owner.pid !== Deno.pid) {
    if (!(await pidAlive(state.owner.pid, state.owner.procStart))) {
      return `process ${who} is no longer running`;
    }
  }
  return undefined;
}

/** Options of {@linkcode acquire}. */
export interface AcquireOptions {
  /** A claim without a heartbeat for this many seconds is taken over. */
  staleSeconds: number;
  /** Says when a stale claim is taken over. */
  log?: (line: string) => void;
}

/**
 * Create the claim file `path` for `owner`, taking over a stale one. Returns
 * true when `owner` holds it afterwards, false when a live worker does.
 */
export async function acquire(
  path: string,
  owner: ClaimOwner,
  options: AcquireOptions,
): Promise<boolean> {
  const data = JSON.stringify(owner) + "\n";
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(path, data)) return true;
    const state = await readClaim(path);
    if (!state) continue; // just removed: try to create it again

    const reason = await staleReason(state, options.staleSeconds);
    if (!reason) return false;
    // Move the stale claim aside atomically: of several workers doing this at
    // once, exactly one moves any given file.
    const aside = `${path}.stale-${owner.token}`;
    try {
      await Deno.rename(path, aside);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
    const moved = await readClaim(aside);
    if (moved && moved.owner.token !== state.owner.token) {
      // Another worker took it over between our look and our rename: put its
      // fresh claim back (a hard link never replaces an existing file).
      await Deno.link(aside, path).catch(() => {});
      await Deno.remove(aside).catch(() => {});
      return false;
    }
    await Deno.remove(aside).catch(() => {});
    await fsyncDir(dirOf(path));
    options.log?.(`taking over ${path}: ${reason}`);
  }
  return createExclusive(path, data);
}

/** Remove the claim file `path` if `owner` still holds it. */
export async function releaseClaimFile(path: string, owner: ClaimOwner): Promise<void> {
  const state = await readClaim(path);
  if (state?.owner.token !== owner.token) return;
  await Deno.remove(path).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/** Path of a run's claim file. */
export function claimPath(outDir: string, runId: string): string {
  return `${outDir}/claims/${runId}.json`;
}

/** A run claimed by this worker; keep it alive with its heartbeat, release it when done. */
export class RunClaim {
  #timer?: ReturnType<typeof setInterval>;
  #lost?: string;

  /** A claim held on `path` by `owner`. */
  constructor(
    /** The claim file. */
    readonly path: string,
    /** This worker, as recorded in the file. */
    readonly owner: ClaimOwner,
    /** Heartbeat interval and log. */
    readonly options: ClaimOptions = {},
  ) {}

  /** Why the claim was lost, if it was (set by the heartbeat or {@linkcode RunClaim.verify}). */
  get lost(): string | undefined {
    return this.#lost;
  }

  /** Start touching the claim file every `heartbeatSeconds`. */
  startHeartbeat(): void {
    const ms = (this.options.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS) * 1000;
    const timer = setInterval(() => this.beat().catch(() => {}), ms);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Touch the claim file now, and check it is still ours. */
  async beat(): Promise<void> {
    if (this.#lost) return;
    const now = new Date();
    try {
      await Deno.utime(this.path, now, now);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) return;
    }
    await this.verify();
  }

  /** Check that the claim file still holds this worker's token; records the loss if not. */
  async verify(): Promise<boolean> {
    if (this.#lost) return false;
    for (let attempt = 0; attempt < 2; attempt++) {
      const state = await readClaim(this.path);
      if (state?.owner.token === this.owner.token) return true;
      if (attempt === 1) break;
      // A concurrent takeover may put a moved claim back within moments.
      await sleep(500);
    }
    const now = await readClaim(this.path);
    this.#lost = now
      ? `${this.path} now belongs to ${now.owner.host}:${now.owner.pid}`
      : `${this.path} was removed`;
    this.options.log?.(`lost the claim on run ${this.owner.runId}: ${this.#lost}`);
    return false;
  }

  /** Throw {@linkcode ClaimLostError} when the claim was lost. */
  throwIfLost(): void {
    if (this.#lost) {
      throw new ClaimLostError(`run ${this.owner.runId} was taken over: ${this.#lost}`);
    }
  }

  /** Stop the heartbeat and remove the claim file (if still ours). */
  async release(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.#lost) await releaseClaimFile(this.path, this.owner);
  }
}

/**
 * Claim run `runId` in `outDir` for this worker. Returns the claim, or
 * undefined when a live worker holds it. A stale claim is taken over.
 */
export async function claimRun(
  outDir: string,
  runId: string,
  options: ClaimOptions = {},
): Promise<RunClaim | undefined> {
  const path = claimPath(outDir, runId);
  const owner = await newOwner(runId);
  const ok = await acquire(path, owner, {
    staleSeconds: options.staleSeconds ?? DEFAULT_CLAIM_STALE_SECONDS,
    log: options.log,
  });
  return ok ? new RunClaim(path, owner, options) : undefined;
}

/** The live claims in `outDir/claims` of the given runs (for "waiting for …" notices). */
export async function liveClaims(
  outDir: string,
  runIds: readonly string[],
  staleSeconds: number,
): Promise<ClaimState[]> {
  const out: ClaimState[] = [];
  for (const id of runIds) {
    const state = await readClaim(claimPath(outDir, id));
    if (state && !(await staleReason(state, staleSeconds))) out.push(state);
  }
  return out;
}

/** Options of {@linkcode withFileLock}. */
export interface FileLockOptions {
  /** A lock older than this many seconds (or whose process died) is taken over (default 60). */
  staleSeconds?: number;
  /** Says when a stale lock is taken over. */
  log?: (line: string) => void;
}

/**
 * Run `fn` holding the lock file `lockPath` (exclusive create; a lock whose
 * process died, or older than `staleSeconds`, default 60, is taken over).
 * Waits while another live process holds it.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const owner = await newOwner();
  const staleSeconds = options.staleSeconds ?? 60;
  let wait = 10;
  while (!(await acquire(lockPath, owner, { staleSeconds, log: options.log }))) {
    await sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 500);
  }
  try {
    return await fn();
  } finally {
    await releaseClaimFile(lockPath, owner);
  }
}

/** Wait `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
