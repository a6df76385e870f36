/**
 * Backend selection: `auto` picks a real (hardware) WebGPU adapter when there
 * is one, else the native `cpu` backend, else `wasm`, and says which.
 *
 * Probing WebGPU is kept silent: on Linux a machine with no GPU device node
 * (`/dev/dri/renderD*`, `/dev/nvidia*`) is not probed at all, and before a
 * probe an unset `XDG_RUNTIME_DIR` is pointed at a private temporary folder,
 * so the graphics stack prints no "XDG_RUNTIME_DIR is invalid" message.
 *
 * @module
 */

import type { Backend, BackendChoice } from "./backend.ts";
import { createCpuBackend } from "./cpu.ts";
import { createWasmBackend, createWebGpuBackend, requestAdapter, summarizeAdapter } from "./web.ts";

/** Options of {@linkcode createBackend}. */
export interface CreateBackendOptions {
  /** Print the choice made by `auto` (default true). */
  verbose?: boolean;
  /** Where the choice is printed (default: stderr with a `medtune:` prefix). */
  log?: (line: string) => void;
  /** Threads for the cpu backend. */
  threads?: number;
}

/** Create a backend by name; `auto` chooses webgpu (hardware only), then cpu, then wasm. */
export async function createBackend(
  choice: BackendChoice = "auto",
  options: CreateBackendOptions = {},
): Promise<Backend> {
  switch (choice) {
    case "cpu":
      return await createCpuBackend({ threads: options.threads });
    case "wasm":
      return await createWasmBackend();
    case "webgpu":
      await prepareGpuProbe();
      return await createWebGpuBackend();
    case "auto":
      break;
    default:
      throw new Error(
        `unknown backend "${choice}": choose one of auto, webgpu, cpu, wasm`,
      );
  }
  const log = (msg: string) => {
    if (options.verbose ?? true) (options.log ?? ((l) => console.error(`medtune: ${l}`)))(msg);
  };
  if (await mayHaveGpu()) {
    await prepareGpuProbe();
    const adapter = await requestAdapter();
    if (adapter) {
      const summary = summarizeAdapter(adapter);
      if (!summary.software) {
        const backend = await createWebGpuBackend({ adapter });
        log(`backend auto -> ${backend.description}`);
        return backend;
      }
      log(`skipping software WebGPU adapter (${summary.text})`);
    }
  } else {
    log("no GPU device node (/dev/dri/renderD*, /dev/nvidia*): not probing WebGPU");
  }
  try {
    const backend = await createCpuBackend({ threads: options.threads });
    log(`backend auto -> ${backend.description}`);
    return backend;
  } catch (err) {
    log(`cpu backend unavailable (${(err as Error).message})`);
  }
  const backend = await createWasmBackend();
  log(`backend auto -> ${backend.description}`);
  return backend;
}

/**
 * Whether a hardware GPU may be present. On Linux, only when a DRM render
 * node or an NVIDIA device node exists (software adapters need neither and
 * are skipped by `auto` anyway); elsewhere, always (probe to find out).
 */
export async function mayHaveGpu(): Promise<boolean> {
  if (Deno.build.os !== "linux") return true;
  for (const [dir, prefix] of [["/dev/dri", "renderD"], ["/dev", "nvidia"]]) {
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.startsWith(prefix)) return true;
      }
    } catch {
      // folder missing or unreadable: no such device here
    }
  }
  return false;
}

/**
 * Point an unset `XDG_RUNTIME_DIR` at a private folder before a WebGPU probe:
 * `$TMPDIR/medtune-xdg-<uid>` (created 0700, reused while it is ours and
 * private), else a fresh temporary folder.
 */
async function prepareGpuProbe(): Promise<void> {
  if (Deno.build.os !== "linux") return;
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    const uid = Deno.uid();
    const dir = `${Deno.env.get("TMPDIR") || "/tmp"}/medtune-xdg-${uid}`;
    await Deno.mkdir(dir, { mode: 0o700 }).catch((err) => {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    });
    const st = await Deno.lstat(dir);
    const usable = st.isDirectory && st.uid === uid && ((st.mode ?? 0) & 0o777) === 0o700;
    Deno.env.set(
      "XDG_RUNTIME_DIR",
      usable ? dir : await Deno.makeTempDir({ prefix: "medtune-xdg-" }),
    );
  } catch {
    // without env or write permission the probe may print Mesa's notice; nothing else changes
  }
}
