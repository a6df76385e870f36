/**
 * File-system helpers shared by every layer: durable atomic writes, so that a
 * crash, a kill or a power loss never leaves a half-written file where a
 * finished one is expected, and exclusive creation for claims and locks.
 *
 * @module
 */

/** The folder part of `path` (`.` when it has none). */
export function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
}

/**
 * Flush a folder's entries (a created, renamed or removed file) to disk.
 * File systems that cannot fsync a folder (some network mounts) are skipped
 * silently: there the rename itself is all the durability on offer.
 */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    // EINVAL / EISDIR / EPERM: folder fsync unsupported here.
  } finally {
    handle?.close();
  }
}

/** Write all of `bytes` to an open file (a `write` call may write fewer). */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? new TextEncoder().encode(data) : data;
}

/**
 * Write `data` to `path` atomically and durably: the bytes go to a temporary
 * file in the same folder, which is fsynced, renamed over `path` (a rename is
 * atomic on POSIX file systems), and the folder is fsynced so the rename
 * survives a power loss. Parent folders are created when missing.
 */
export async function atomicWriteFile(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirOf(path);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      await writeAll(file, toBytes(data));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * Create `path` with `data` only if it does not exist yet (`O_CREAT|O_EXCL`,
 * atomic even between processes). Returns false when the file already
 * exists. The content is fsynced, and the folder too.
 */
export async function createExclusive(path: string, data: Uint8Array | string): Promise<boolean> {
  const dir = dirOf(path);
  await Deno.mkdir(dir, { recursive: true });
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
  try {
    await writeAll(file, toBytes(data));
    await file.sync();
  } finally {
    file.close();
  }
  await fsyncDir(dir);
  return true;
}

/**
 * Append one line to `path` with a single `write` in append mode (`O_APPEND`),
 * then fsync it. A trailing newline is added when missing. This does not look
 * at the file's tail: study results go through `appendRecord`
 * (`lib/study/results_log.ts`), which does.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  const dir = dirOf(path);
  await Deno.mkdir(dir, { recursive: true });
  const text = line.endsWith("\n") ? line : line + "\n";
  const created = !(await exists(path));
  const file = await Deno.open(path, { append: true, create: true });
  try {
    await writeAll(file, new TextEncoder().encode(text));
    await file.sync();
  } finally {
    file.close();
  }
  if (created) await fsyncDir(dir);
}

/** Options of {@linkcode exists}. */
export interface ExistsOptions {
  /** Follow a symbolic link and report whether its target exists (default false: the link itself). */
  followLinks?: boolean;
}

/** Whether `path` exists (file or folder). */
export async function exists(path: string, options: ExistsOptions = {}): Promise<boolean> {
  try {
    await (options.followLinks ? Deno.stat(path) : Deno.lstat(path));
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
