/**
 * Test-only fault injection. The environment variable `MEDTUNE_FAULT` names a
 * point where the process kills itself with `SIGKILL`, so that tests can crash
 * a study at places too brief to hit from outside:
 *
 * - `append:after-bytes=N` — after writing the first N bytes of a results record;
 * - `finalize:after-report` — after the report is written, before `best/`;
 * - `measure:crash-worker=N` — worker N, before it times its first backbone;
 * - `measure:fail` — every worker's timing of a backbone throws.
 *
 * Never set it outside tests: the process dies on purpose.
 *
 * @module
 */

function faultSpec(): string | undefined {
  try {
    return Deno.env.get("MEDTUNE_FAULT") || undefined;
  } catch {
    return undefined; // no env permission: no faults
  }
}

/**
 * The argument of fault `point` when `MEDTUNE_FAULT` names it (`""` when it
 * has none), else undefined. `MEDTUNE_FAULT=append:after-bytes=40` gives
 * `"after-bytes=40"` for point `append`.
 */
export function faultArg(point: string): string | undefined {
  const spec = faultSpec();
  if (!spec) return undefined;
  const [name, ...rest] = spec.split(":");
  return name === point ? rest.join(":") : undefined;
}

/** The number N of `key=N` in fault `point`'s argument, when set. */
export function faultNumber(point: string, key: string): number | undefined {
  const arg = faultArg(point);
  const m = arg?.match(new RegExp(`(?:^|,)${key}=(\\d+)`));
  return m ? Number(m[1]) : undefined;
}

/** Kill this process with SIGKILL, as a crash or `kill -9` would. */
export function crashNow(point: string): never {
  console.error(`medtune: MEDTUNE_FAULT: crashing at ${point} (test-only fault injection)`);
  Deno.kill(Deno.pid, "SIGKILL");
  throw new Error("unreachable");
}

/** Crash here when `MEDTUNE_FAULT` is exactly `point` (e.g. `finalize:after-report`). */
export function crashPoint(point: string): void {
  if (faultSpec() === point) crashNow(point);
}
