/**
 * Download progress for the command line: a redrawn bar on a terminal
 * (bytes, rate, ETA), plain lines otherwise (every 10% or 5 s), so logs of
 * batch jobs stay readable.
 *
 * @module
 */

/** Options of {@linkcode createDownloadProgress}. */
export interface DownloadProgressOptions {
  /** What is downloaded, e.g. the file name. */
  label: string;
  /** Redraw one line (default: stdout is a terminal). */
  tty?: boolean;
  /** Where to write (default: stdout). */
  write?: (text: string) => void;
  /** Clock in milliseconds (default `performance.now`); tests pass their own. */
  now?: () => number;
  /** Seconds between plain lines when the total is unknown or progress is slow (default 5). */
  intervalSeconds?: number;
}

/** A progress sink: `update` for each chunk, `done` once at the end. */
export interface DownloadProgress {
  /** Bytes received so far and the total (0 when unknown). */
  update(received: number, total: number): void;
  /** Finish the line (a newline on a terminal, a final line otherwise). */
  done(): void;
}

/** Format a byte count as `512 B`, `3.4 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.ceil(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** A progress printer for one download. */
export function createDownloadProgress(options: DownloadProgressOptions): DownloadProgress {
  const encoder = new TextEncoder();
  const tty = options.tty ?? Deno.stdout.isTerminal();
  const write = options.write ?? ((t: string) => Deno.stdout.writeSync(encoder.encode(t)));
  const now = options.now ?? (() => performance.now());
  const interval = (options.intervalSeconds ?? 5) * 1000;
  const start = now();
  let lastLine = -Infinity;
  let lastTenth = -1;
  let lastReceived = 0;
  let lastTotal = 0;

  const line = (received: number, total: number) => {
    const seconds = Math.max((now() - start) / 1000, 1e-3);
    const rate = received / seconds;
    const size = total
      ? `${formatBytes(received)} / ${formatBytes(total)}`
      : `${formatBytes(received)}`;
    const pct = total ? `${String(Math.floor((received / total) * 100)).padStart(3)}% ` : "";
    const eta = total ? `, ETA ${formatEta((total - received) / rate)}` : "";
    const bar = total && tty
      ? `[${"#".repeat(Math.floor((received / total) * 20)).padEnd(20)}] `
      : "";
    return `downloading ${options.label} ${bar}${pct}${size} at ${formatBytes(rate)}/s${eta}`;
  };

  return {
    update(received, total) {
      lastReceived = received;
      lastTotal = total;
      const t = now();
      if (tty) {
        if (t - lastLine >= 100 || (total && received >= total)) {
          write(`\r\x1b[K${line(received, total)}`);
          lastLine = t;
        }
        return;
      }
      const tenth = total ? Math.floor((received / total) * 10) : -1;
      if ((total && tenth > lastTenth) || t - lastLine >= interval) {
        write(`${line(received, total)}\n`);
        lastLine = t;
        if (tenth > lastTenth) lastTenth = tenth;
      }
    },
    done() {
      if (tty) write(`\r\x1b[K${line(lastReceived, lastTotal)}\n`);
      else if (lastTotal === 0 || lastTenth < 10) write(`${line(lastReceived, lastTotal)}\n`);
    },
  };
}
