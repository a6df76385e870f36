/**
 * Downloads as `deno task ablate` does them, against a local HTTP server on
 * 127.0.0.1 that serves a small synthetic MedMNIST-format `.npz`: success
 * (md5-checked, written atomically, loadable), md5 mismatch, server error,
 * `--offline`, and the progress display on and off a terminal.
 */

import assert from "node:assert/strict";
import { encodeNpz } from "../lib/data/npz.ts";
import { DownloadError, loadMedMNIST, md5Hex } from "../lib/data/medmnist.ts";
import { CliError, ensureDataset, parseCliArgs } from "../lib/study/cli.ts";
import { createDownloadProgress } from "../lib/study/download_progress.ts";

/** Await `fn`'s rejection with an error of class `cls`, and return the error. */
async function rejects<E extends Error>(
  fn: () => Promise<unknown>,
  cls: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err}`);
    return err;
  }
  throw new assert.AssertionError({ message: `expected a ${cls.name}, nothing was thrown` });
}

/** A tiny RetinaMNIST-shaped archive (3-channel 28 px, 5 classes). */
function syntheticRetina(): Uint8Array {
  const arrays: Record<string, { dtype: "u1"; shape: number[]; data: Uint8Array }> = {};
  for (const [split, n] of [["train", 6], ["val", 3], ["test", 3]] as const) {
    const images = new Uint8Array(n * 28 * 28 * 3).map((_, i) => (i * 7) & 255);
    arrays[`${split}_images`] = { dtype: "u1", shape: [n, 28, 28, 3], data: images };
    const labels = new Uint8Array(n).map((_, i) => i % 5);
    arrays[`${split}_labels`] = { dtype: "u1", shape: [n, 1], data: labels };
  }
  return encodeNpz(arrays, { compress: false }); // ~28 KB: several chunks
}

interface Server {
  baseUrl: string;
  hits: string[];
  close(): Promise<void>;
}

/** Serve `body` at /retinamnist.npz (in 4 KiB chunks), or fail with `status`. */
function serve(body: Uint8Array, status = 200): Server {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    hits.push(new URL(req.url).pathname);
    if (status !== 200) return new Response("broken", { status });
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let o = 0; o < body.length; o += 4096) c.enqueue(body.slice(o, o + 4096));
        c.close();
      },
    });
    return new Response(stream, { headers: { "content-length": String(body.length) } });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/files`,
    hits,
    close: () => server.shutdown(),
  };
}

async function withCache<T>(fn: (cache: string) => Promise<T>): Promise<T> {
  const cache = await Deno.makeTempDir({ prefix: "medtune_dl_cli_" });
  try {
    return await fn(cache);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
}

Deno.test("download: a missing file is fetched from the mirror, md5-checked, and loads", async () => {
  const body = syntheticRetina();
  const server = serve(body);
  const lines: string[] = [];
  try {
    await withCache(async (cache) => {
      const opts = parseCliArgs(["--dataset", "retinamnist", "--data", cache]);
      const path = await ensureDataset(opts, {
        out: (l) => lines.push(l),
        tty: false,
        download: { baseUrl: server.baseUrl, md5: md5Hex(body) },
      });
      assert.deepEqual(path, `${cache}/retinamnist.npz`);
      assert.deepEqual(server.hits, ["/files/retinamnist.npz"]);
      assert.deepEqual(await Deno.readFile(path), body);
      // Only the file itself is left: no temporary file from the atomic write.
      assert.deepEqual([...Deno.readDirSync(cache)].map((e) => e.name), ["retinamnist.npz"]);
      const ds = await loadMedMNIST("retinamnist", {
        root: cache,
        md5: md5Hex(body),
        cache: false,
      });
      assert.deepEqual([ds.n, ds.channels, ds.numClasses], [6, 3, 5]);
      // A second call finds the file and does not download again.
      await ensureDataset(opts, {
        out: (l) => lines.push(l),
        download: { baseUrl: server.baseUrl },
      });
      assert.deepEqual(server.hits.length, 1);
    });
  } finally {
    await server.close();
  }
  // Plain progress lines (not a terminal): a percentage per tenth, ending at 100%.
  const progress = lines.filter((l) => l.startsWith("downloading retinamnist.npz"));
  assert.ok(progress.length >= 3 && progress.length <= 12, `${progress.length} progress lines`);
  assert.match(progress.at(-1)!, /100% .*B \/ .*B at .*\/s, ETA 0s\n$/);
  assert.ok(lines.every((l) => !l.includes("\r") && l.endsWith("\n")), "whole lines");
});

Deno.test("download: an md5 mismatch keeps nothing and names the URL and the target", async () => {
  const body = syntheticRetina();
  const server = serve(body);
  try {
    await withCache(async (cache) => {
      const opts = parseCliArgs(["--dataset", "retinamnist", "--data", cache]);
      const err = await rejects(
        () => ensureDataset(opts, { out: () => {}, download: { baseUrl: server.baseUrl } }),
        DownloadError,
      );
      assert.match(err.reason, /MD5 mismatch: got [0-9a-f]{32}, expected bd4c0672/);
      assert.deepEqual(err.url, `${server.baseUrl}/retinamnist.npz`);
      assert.deepEqual(err.target, `${cache}/retinamnist.npz`);
      assert.deepEqual([...Deno.readDirSync(cache)], []);
    });
  } finally {
    await server.close();
  }
});

Deno.test("download: a server error is a DownloadError with the HTTP status", async () => {
  const server = serve(new Uint8Array(0), 503);
  try {
    await withCache(async (cache) => {
      const opts = parseCliArgs(["--dataset", "breastmnist", "--data", cache]);
      const err = await rejects(
        () => ensureDataset(opts, { out: () => {}, download: { baseUrl: server.baseUrl } }),
        DownloadError,
      );
      assert.match(err.reason, /^HTTP 503/);
      assert.deepEqual([...Deno.readDirSync(cache)], []);
    });
  } finally {
    await server.close();
  }
});

Deno.test("download: --offline never touches the network and says where the file goes", async () => {
  const server = serve(syntheticRetina());
  try {
    await withCache(async (cache) => {
      const opts = parseCliArgs(["--dataset", "retinamnist", "--data", cache, "--offline"]);
      const err = await rejects(
        () => ensureDataset(opts, { out: () => {}, download: { baseUrl: server.baseUrl } }),
        CliError,
      );
      assert.deepEqual(err.exitCode, 1);
      assert.match(err.message, /--offline/);
      assert.ok(err.message.includes(`put it at ${cache}/retinamnist.npz`), err.message);
      assert.ok(err.message.includes(`${server.baseUrl}/retinamnist.npz`), err.message);
      assert.ok(!err.message.includes("\n"), "one line");
      assert.deepEqual(server.hits, []);
    });
  } finally {
    await server.close();
  }
});

Deno.test("download progress: a redrawn bar with bytes, rate and ETA on a terminal", () => {
  let t = 0;
  let text = "";
  const p = createDownloadProgress({
    label: "x.npz",
    tty: true,
    write: (s) => text += s,
    now: () => t,
  });
  for (let i = 1; i <= 4; i++) {
    t = i * 1000;
    p.update(i * 1024 * 1024, 4 * 1024 * 1024);
  }
  p.done();
  const frames = text.split("\r\x1b[K").filter(Boolean);
  assert.deepEqual(frames.length, 5);
  assert.deepEqual(
    frames[0],
    "downloading x.npz [#####               ]  25% 1.0 MiB / 4.0 MiB at 1.0 MiB/s, ETA 3s",
  );
  assert.ok(frames[4].endsWith("100% 4.0 MiB / 4.0 MiB at 1.0 MiB/s, ETA 0s\n"), frames[4]);
});

Deno.test("download progress: off a terminal, a line per tenth or every 5 s when the size is unknown", () => {
  let t = 0;
  const lines: string[] = [];
  const p = createDownloadProgress({
    label: "x.npz",
    tty: false,
    write: (s) => lines.push(s),
    now: () => t,
  });
  for (let i = 1; i <= 100; i++) {
    t = i * 100;
    p.update(i * 1000, 100_000);
  }
  p.done();
  assert.deepEqual(lines.length, 11); // 1%, then each tenth up to 100%
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r")));
  const unknown: string[] = [];
  t = 0;
  const q = createDownloadProgress({
    label: "y",
    tty: false,
    write: (s) => unknown.push(s),
    now: () => t,
  });
  for (let i = 1; i <= 120; i++) {
    t = i * 100; // 12 s in all
    q.update(i * 10, 0);
  }
  q.done();
  assert.deepEqual(unknown.length, 4); // at 0.1 s, 5.1 s, 10.1 s, and the final line
  assert.match(unknown[3], /^downloading y 1\.2 KiB at \d+ B\/s\n$/);
});

Deno.test("download: deno task ablate prints plain progress lines, then one line for a bad file, exit 1", async () => {
  const body = syntheticRetina(); // not the official bytes: the md5 check must refuse it
  const server = serve(body);
  try {
    await withCache(async (cache) => {
      const env: Record<string, string> = {
        MEDTUNE_CACHE_DIR: `${cache}/cache`,
        MEDTUNE_DOWNLOAD_BASE_URL: server.baseUrl,
      };
      const cmd = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "examples/ablation.ts",
          "--dataset",
          "retinamnist",
          "--out",
          `${cache}/out`,
        ],
        cwd: new URL("..", import.meta.url),
        env,
        clearEnv: false,
        stdout: "piped",
        stderr: "piped",
      });
      const saved = Deno.env.get("MEDTUNE_DATA_DIR");
      Deno.env.delete("MEDTUNE_DATA_DIR"); // the child inherits the environment
      let result: Deno.CommandOutput;
      try {
        result = await cmd.output();
      } finally {
        if (saved !== undefined) Deno.env.set("MEDTUNE_DATA_DIR", saved);
      }
      const stdout = new TextDecoder().decode(result.stdout);
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 1, stderr);
      const progress = stdout.split("\n").filter((l) =>
        l.startsWith("downloading retinamnist.npz")
      );
      assert.ok(progress.length >= 3, stdout);
      assert.ok(!stdout.includes("\r"), "no redraws off a terminal");
      const errLines = stderr.trim().split("\n");
      assert.equal(errLines.length, 1, stderr);
      assert.match(
        errLines[0],
        /^medtune: could not download http:\/\/127\.0\.0\.1:\d+\/files\/retinamnist\.npz: MD5 mismatch/,
      );
      assert.ok(errLines[0].includes(`put it at ${cache}/cache/retinamnist.npz`), errLines[0]);
      assert.ok(!stderr.includes("    at "), "no stack trace");
      assert.throws(() => Deno.statSync(`${cache}/cache/retinamnist.npz`), Deno.errors.NotFound);
    });
  } finally {
    await server.close();
  }
});
