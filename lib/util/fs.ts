/**
 * File-system helpers shared by every layer: atomic writes, so that a crash or
 * a kill never leaves a half-written file where a finished one is expected.
 *
 * @module
 */

/**
 * Write `data` to `path` atomically: the bytes go to a temporary file in the
 * same folder, which is then renamed over `path` (a rename is atomic on POSIX
 * file systems). Parent folders are created when missing.
 */
export async function atomicWriteFile(path: string, data: Uint8Array | string): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash) || "/" : ".";
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Append one line to `path` so that concurrent or interrupted writers never
 * leave a partial line: the line is written with a single `write` call in
 * append mode (O_APPEND), and a trailing newline is added when missing.
 */
export async function appendLine(path: string, line: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(path.slice(0, slash), { recursive: true });
  const text = line.endsWith("\n") ? line : line + "\n";
  const file = await Deno.open(path, { append: true, create: true });
  try {
    const bytes = new TextEncoder().encode(text);
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
  } finally {
    file.close();
  }
}
