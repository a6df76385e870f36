/**
 * `deno task ablate`: every flag and every flag error through the parser,
 * the plan-time checks (paths, seeds, image sizes), error translation, and a
 * few real runs of the command (exit codes, stderr, --verbose, --plan, a tiny
 * RetinaMNIST study end to end).
 */

import assert from "node:assert/strict";
import { ChecksumError, DownloadError } from "../lib/data/medmnist.ts";
import { createModel, initWeights, modelSpec } from "../lib/models/mod.ts";
import { encodeSafetensors, type TensorInput } from "../lib/weights/safetensors.ts";
import {
  checkCliPaths,
  CliError,
  cliHelp,
  type CliOptions,
  describeError,
  parseCliArgs,
  runCli,
  studyFromOptions,
} from "../lib/study/cli.ts";
import { scheduleForRun } from "../lib/study/runner.ts";
import { planRuns } from "../lib/study/spec.ts";
import { lrAt, warmupCosine } from "../lib/train/schedules.ts";
import { DATA_DIR } from "./data_fixtures.ts";

const REPO = new URL("..", import.meta.url);

/** A ResNet-18 safetensors file with the study's shapes (2 classes, 28 px): fresh weights. */
function resnet18File(): Uint8Array {
  const model = createModel("resnet18", { numClasses: 2, imageSize: 28 });
  const spec = modelSpec(model);
  const values = initWeights(model, { seed: 1, spec });
  const tensors = new Map<string, TensorInput>();
  for (const t of [...spec.params, ...spec.buffers]) {
    tensors.set(t.name, { dtype: "F32", shape: t.shape, data: values.get(t.name)! });
  }
  return encodeSafetensors(tensors);
}

function usageError(args: string[], pattern: RegExp): void {
  assert.throws(() => parseCliArgs(args), (err: unknown) => {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, 2);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("cli: defaults without flags", () => {
  const o = parseCliArgs([]);
  assert.deepEqual(
    o,
    {
      dataset: "breastmnist",
      data: undefined,
      offline: false,
      out: "runs/breastmnist-ablation",
      backend: "auto",
      threads: undefined,
      workers: "auto",
      design: undefined,
      baseline: undefined,
      axes: { augment: undefined, schedule: undefined, backbone: undefined },
      epochs: undefined,
      imageSize: undefined,
      batchSize: 32,
      lr: 1e-3,
      patience: 8,
      minEpochs: 20,
      seeds: undefined,
      pretrained: {},
      maxSteps: undefined,
      limitImages: undefined,
      shard: undefined,
      merge: false,
      reportOnly: false,
      plan: false,
      resume: true,
      retryFailed: false,
      verbose: Deno.env.get("MEDTUNE_DEBUG") === "1",
      help: false,
    } satisfies CliOptions,
  );
});

Deno.test("cli: every flag lands in its option", () => {
  const cases: [string[], Partial<CliOptions>][] = [
    [["--dataset", "PneumoniaMNIST"], {
      dataset: "pneumoniamnist",
      out: "runs/pneumoniamnist-ablation",
    }],
    [["--data", "/d/"], { data: "/d" }],
    [["--offline"], { offline: true }],
    [["--download"], { offline: false }],
    [["--out", "x/y/"], { out: "x/y" }],
    [["--backend", "wasm"], { backend: "wasm" }],
    [["--threads", "3"], { threads: 3 }],
    [["--workers", "3"], { workers: 3 }],
    [["--workers", "auto"], { workers: "auto" }],
    [["--design", "grid"], { design: "grid" }],
    [["--baseline", "none/constant/efficientnet_b0"], {
      baseline: { augment: "none", schedule: "constant", backbone: "efficientnet_b0" },
    }],
    [["--augment", "none, heavy"], {
      axes: { augment: ["none", "heavy"], schedule: undefined, backbone: undefined },
    }],
    [["--schedule", "cosine"], {
      axes: { augment: undefined, schedule: ["cosine"], backbone: undefined },
    }],
    // Aliases are resolved once, here: inside, every backbone has its canonical name.
    [["--backbone", "vit_tiny,resnet18"], {
      axes: {
        augment: undefined,
        schedule: undefined,
        backbone: ["vit_tiny_patch16_224", "resnet18"],
      },
    }],
    [["--baseline", "none/cosine/vit_tiny"], {
      baseline: { augment: "none", schedule: "cosine", backbone: "vit_tiny_patch16_224" },
    }],
    [["--epochs", "5"], { epochs: 5 }],
    [["--image-size", "64"], { imageSize: 64 }],
    [["--batch-size", "8"], { batchSize: 8 }],
    [["--lr", "3e-4"], { lr: 3e-4 }],
    [["--patience", "2"], { patience: 2 }],
    [["--min-epochs", "0"], { minEpochs: 0 }],
    [["--seeds", "3"], { seeds: [0, 1, 2] }],
    [["--seeds", "7,2"], { seeds: [7, 2] }],
    [["--pretrained", "resnet18=a.safetensors", "--pretrained", "vit_tiny=b=c"], {
      pretrained: { resnet18: "a.safetensors", vit_tiny_patch16_224: "b=c" },
    }],
    [["--max-steps", "2"], { maxSteps: 2 }],
    [["--limit-images", "32"], { limitImages: 32 }],
    [["--shard", "2/4"], { shard: { index: 2, count: 4 } }],
    [["--merge"], { merge: true }],
    [["--report-only"], { reportOnly: true }],
    [["--plan"], { plan: true }],
    [["--no-resume"], { resume: false }],
    [["--retry-failed"], { retryFailed: true }],
    [["--verbose"], { verbose: true }],
    [["--help"], { help: true }],
    [["-h"], { help: true }],
  ];
  for (const [args, expected] of cases) {
    const o = parseCliArgs(args) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(o[key], value, `${args.join(" ")} → ${key}`);
    }
  }
});

Deno.test("cli: every flag error names the flag, the value and the fix (exit 2)", () => {
  const cases: [string[], RegExp][] = [
    [["--epoch", "3"], /^unknown flag --epoch; did you mean --epochs\?$/],
    [["--no-plans"], /^unknown flag --no-plans; did you mean --plan\?$/],
    [["extra"], /^unexpected argument extra: the command takes only flags$/],
    [
      ["--out"],
      /^--out needs a value \(--out VALUE; a value starting with "-" is written --out=-VALUE\)$/,
    ],
    [["--lr", "-1"], /^--lr needs a value/],
    [["--plan=yes"], /^--plan takes no value$/],
    [
      ["--dataset", "mnist"],
      /--dataset: unknown dataset "mnist"; choose one of pathmnist, chestmnist/,
    ],
    [["--download", "--offline"], /--download and --offline exclude each other/],
    [["--backend", "gpu"], /--backend must be one of auto, cpu, wasm, webgpu, got "gpu"/],
    [["--threads", "0"], /--threads must be a whole number >= 1, got "0"/],
    [["--workers", "0"], /--workers must be a whole number >= 1 or auto, got "0"/],
    [["--workers", "two"], /--workers must be a whole number >= 1 or auto, got "two"/],
    [
      ["--workers", "2", "--backend", "webgpu"],
      /--workers 2 runs worker processes on the cpu backend only, not --backend webgpu; drop --workers or use --backend cpu/,
    ],
    [["--design", "full"], /--design must be one of oat, grid, got "full"/],
    [["--baseline", "basic/cosine"], /--baseline must look like augment\/schedule\/backbone/],
    [["--baseline", "basic/cosine/resnet50"], /--baseline: unknown level "resnet50"/],
    [["--augment", "light"], /--augment: unknown level "light"; choose from none, basic, heavy/],
    [["--augment", ","], /--augment needs at least one of none, basic, heavy/],
    [["--schedule", "step"], /--schedule: unknown level "step"/],
    [["--backbone", "resnet18,resnet18"], /--backbone lists "resnet18" twice/],
    [["--epochs", "1.5"], /--epochs must be a whole number >= 1, got "1.5"/],
    [["--image-size=-28"], /--image-size must be a whole number >= 1/],
    [["--batch-size", ""], /--batch-size must be a whole number >= 1, got ""/],
    [["--lr", "0"], /--lr must be a finite number > 0/],
    [["--lr=-1e-3"], /--lr must be a finite number > 0/],
    [["--lr", "Infinity"], /--lr must be a finite number > 0/],
    [["--lr", "1e400"], /--lr must be a finite number > 0/],
    [["--lr", "abc"], /--lr must be a finite number > 0 \(e.g. 1e-3\), got "abc"$/],
    [["--patience", "0"], /--patience must be a whole number >= 1/],
    [["--min-epochs=-1"], /--min-epochs must be a whole number >= 0/],
    [["--seeds", "0"], /--seeds must be a whole number >= 1/],
    [["--seeds", "0,0"], /--seeds 0,0 repeats seed 0; give distinct seeds/],
    [["--seeds", "1,-2"], /--seeds: "-2" is not a seed/],
    [["--pretrained", "resnet18"], /--pretrained must look like BACKBONE=PATH/],
    [["--pretrained", "resnet50=x"], /--pretrained must look like BACKBONE=PATH/],
    [["--max-steps", "0"], /--max-steps must be a whole number >= 1/],
    [["--limit-images", "0"], /--limit-images must be a whole number >= 1, got "0"/],
    [["--limit-images", "many"], /--limit-images must be a whole number >= 1, got "many"/],
    [
      ["--backbone", "vit_tiny,vit_tiny_patch16_224"],
      /--backbone names vit_tiny_patch16_224 twice/,
    ],
    [["--shard", "3/2"], /--shard must look like i\/n with 1 <= i <= n/],
    [["--merge", "--report-only"], /--merge and --report-only exclude each other/],
    [["--merge", "--shard", "1/2"], /--merge and --shard exclude each other/],
    [["--no-resume", "--retry-failed"], /--no-resume and --retry-failed exclude each other/],
    [["--no-resume", "--report-only"], /--no-resume and --merge\/--report-only/],
    [
      ["--baseline", "basic/cosine/resnet18", "--schedule", "constant"],
      /--baseline schedule "cosine" is not among --schedule constant; add it there or change --baseline/,
    ],
  ];
  for (const [args, pattern] of cases) usageError(args, pattern);
});

Deno.test("cli: the study follows the flags and the backend's defaults", () => {
  const cpu = studyFromOptions(parseCliArgs([]), "cpu");
  assert.deepEqual(
    [cpu.fixed.imageSize, cpu.fixed.epochs, cpu.seeds, cpu.fixed.dataset, cpu.name],
    [28, 30, [0], "breastmnist", "BreastMNIST fine-tuning ablation"],
  );
  const gpu = studyFromOptions(parseCliArgs([]), "webgpu");
  assert.deepEqual([gpu.fixed.imageSize, gpu.fixed.epochs, gpu.seeds], [224, 60, [0, 1, 2]]);
  const o = parseCliArgs([
    "--dataset",
    "retinamnist",
    "--design",
    "grid",
    "--seeds",
    "4,5",
    "--epochs",
    "3",
    "--max-steps",
    "2",
    "--lr",
    "2e-3",
    "--backbone",
    "resnet18",
  ]);
  const spec = studyFromOptions(o, "cpu");
  assert.equal(spec.fixed.dataset, "retinamnist");
  assert.equal(spec.name, "RetinaMNIST fine-tuning ablation");
  assert.deepEqual(spec.seeds, [4, 5]);
  assert.deepEqual([spec.fixed.epochs, spec.fixed.maxStepsPerEpoch, spec.fixed.lr], [3, 2, 2e-3]);
  assert.deepEqual(spec.axes.backbone, ["resnet18"]);
  assert.equal(spec.design, "grid");
  // Every MedMNIST 2D dataset passes through to the study (multi-label ChestMNIST included).
  const chest = studyFromOptions(parseCliArgs(["--dataset", "chestmnist"]), "cpu");
  assert.deepEqual([chest.fixed.dataset, chest.name], [
    "chestmnist",
    "ChestMNIST fine-tuning ablation",
  ]);
  // An axis narrowed without the default baseline's level takes its first level as baseline.
  const narrowed = studyFromOptions(
    parseCliArgs(["--augment", "heavy,none", "--schedule", "cosine"]),
    "cpu",
  );
  assert.deepEqual(narrowed.baseline, {
    augment: "heavy",
    schedule: "cosine",
    backbone: "resnet18",
  });
});

Deno.test("cli: a one-epoch smoke study can run warmup_cosine (warmup shorter than the budget)", () => {
  for (const steps of [1, 2, 5]) {
    const spec = studyFromOptions(
      parseCliArgs(["--epochs", "1", "--max-steps", String(steps), "--schedule", "warmup_cosine"]),
      "cpu",
    );
    const schedule = scheduleForRun(planRuns(spec)[0]);
    const ctx = { stepsPerEpoch: steps, totalSteps: steps, baseLr: 1e-3 };
    const lrs = Array.from({ length: steps }, (_, step) => lrAt(schedule, { ...ctx, step }));
    assert.ok(lrs.every((lr) => Number.isFinite(lr) && lr >= 0 && lr <= 1e-3), String(lrs));
  }
  // Longer budgets keep the study's warmup: min(5, epochs / 3) whole epochs, at least 1.
  const two = studyFromOptions(
    parseCliArgs(["--epochs", "2", "--schedule", "warmup_cosine"]),
    "cpu",
  );
  assert.deepEqual(scheduleForRun(planRuns(two)[0]), warmupCosine({ warmupEpochs: 1 }));
  const thirty = studyFromOptions(parseCliArgs(["--schedule", "warmup_cosine"]), "cpu");
  assert.deepEqual(scheduleForRun(planRuns(thirty)[0]), warmupCosine({ warmupEpochs: 5 }));
});

Deno.test("cli: an image size a planned backbone cannot take fails at plan time", () => {
  for (const size of ["13", "30", "72"]) {
    assert.throws(
      () => studyFromOptions(parseCliArgs(["--image-size", size]), "cpu"),
      (err: unknown) => {
        assert.ok(err instanceof CliError && err.exitCode === 2);
        assert.match(
          err.message,
          new RegExp(
            `^--image-size ${size}: vit_tiny_patch16_224: imageSize ${size} is not a multiple of patchSize (4|16); pick another size .* or leave vit_tiny_patch16_224 out of --backbone$`,
          ),
        );
        return true;
      },
    );
  }
  // Without the ViT the same size is fine; ViT takes multiples of 4 below 64 px and 16 above.
  // (The alias names the same backbone and the same rule.)
  assert.throws(
    () => studyFromOptions(parseCliArgs(["--image-size", "30", "--backbone", "vit_tiny"]), "cpu"),
    /leave vit_tiny_patch16_224 out of --backbone/,
  );
  studyFromOptions(parseCliArgs(["--image-size", "13", "--backbone", "resnet18"]), "cpu");
  studyFromOptions(parseCliArgs(["--image-size", "32"]), "cpu");
  studyFromOptions(parseCliArgs(["--image-size", "64"]), "cpu");
});

Deno.test("cli: paths are checked before anything starts (exit 2)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune_cli_" });
  const file = `${dir}/a-file`;
  await Deno.writeTextFile(file, "x");
  const bad = async (args: string[], pattern: RegExp) => {
    const err = await checkCliPaths(parseCliArgs(args)).then(() => undefined, (e) => e);
    assert.ok(err instanceof CliError, `${args.join(" ")}: ${err}`);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, pattern);
  };
  try {
    await bad(
      ["--data", `${dir}/none`],
      /^--data .*\/none: no such folder; give the folder that holds breastmnist\.npz, or leave --data out/,
    );
    await bad(["--data", file], /--data .*: is a file, not a folder/);
    await bad(["--out", file], /^--out .*a-file: .*a-file is a file, not a folder/);
    await bad(["--out", `${file}/sub`], /is a file, not a folder/);
    await bad(
      ["--out", "/proc/medtune-test/out"],
      /^--out \/proc\/medtune-test\/out: cannot write in \/proc; choose a writable folder$/,
    );
    await bad(
      ["--merge", "--out", `${dir}/none`],
      /^--merge: no study folder .*\/none; pass --out DIR/,
    );
    await bad(["--report-only", "--out", `${dir}/none`], /^--report-only: no study folder/);
    await bad(
      ["--pretrained", `resnet18=${dir}/missing.safetensors`],
      /^--pretrained resnet18=.*missing\.safetensors: no such file; give the path of a timm \.safetensors file$/,
    );
    await bad(["--pretrained", `resnet18=${dir}`], /is not a file/);
    // Good paths pass, and checking creates nothing.
    await checkCliPaths(
      parseCliArgs([
        "--data",
        DATA_DIR,
        "--out",
        `${dir}/new/out`,
        "--pretrained",
        `resnet18=${file}`,
      ]),
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a-file"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: library errors are told in the command's terms", () => {
  const dl = describeError(new DownloadError("HTTP 404 Not Found", "https://z/x.npz", "/c/x.npz"));
  assert.equal(dl.exitCode, 1);
  assert.equal(
    dl.message,
    "could not download https://z/x.npz: HTTP 404 Not Found. Check the network and run again, or download it by hand and put it at /c/x.npz (or pass --data DIR with the file)",
  );
  const md5 = describeError(
    new ChecksumError("MD5 mismatch", {
      path: "/d/x.npz",
      expected: "aa",
      actual: "bb",
      url: "https://z/x.npz",
    }),
  );
  assert.equal(md5.exitCode, 1);
  assert.match(
    md5.message,
    /^\/d\/x\.npz is damaged or another version \(md5 bb, expected aa\); delete it and run again/,
  );
  assert.ok(!/\{ (root|download)/.test(dl.message + md5.message), "no API options in CLI messages");
  const other = describeError(new Error("disk full"));
  assert.deepEqual(other, { message: "disk full (--verbose shows where)", exitCode: 1 });
  assert.deepEqual(describeError(new CliError("x", { exitCode: 1 })), {
    message: "x",
    exitCode: 1,
  });
});

Deno.test("cli: --help groups the flags and ends with three examples", async () => {
  const out: string[] = [];
  assert.equal(await runCli(["--help"], { out: (t) => out.push(t), err: () => assert.fail() }), 0);
  const text = out.join("");
  assert.equal(text, cliHelp().endsWith("\n") ? cliHelp() : cliHelp() + "\n");
  const groups = ["Data", "Design", "Training budget", "Outputs", "Distribution", "Examples"];
  let at = -1;
  for (const g of groups) {
    const i = text.indexOf(`\n${g}\n`);
    assert.ok(i > at, `group ${g} in order`);
    at = i;
  }
  const examples = text.slice(at).trim().split("\n").slice(1);
  assert.deepEqual(examples.map((l) => l.trim()), [
    "deno task ablate",
    "deno task ablate --design grid --seeds 3 --out runs/breast-grid",
    "deno task ablate --dataset pneumoniamnist --epochs 10",
  ]);
  for (
    const flag of [
      "--dataset",
      "--data",
      "--offline",
      "--verbose",
      "--no-resume",
      "--shard",
      "--merge",
      "--limit-images",
    ]
  ) {
    assert.ok(text.includes(`  ${flag}`), flag);
  }
});

Deno.test("cli: a usage error is two lines on stderr, a stack only with --verbose", async () => {
  const err: string[] = [];
  const code = await runCli(["--seeds", "0,0"], {
    out: () => assert.fail(),
    err: (t) => err.push(t),
  });
  assert.equal(code, 2);
  assert.deepEqual(err, [
    "medtune: --seeds 0,0 repeats seed 0; give distinct seeds (e.g. --seeds 0,1,2 or --seeds 3)\n",
    "usage: deno task ablate [flags]; deno task ablate --help lists them\n",
  ]);
  const verbose: string[] = [];
  assert.equal(await runCli(["--seeds", "0,0", "--verbose"], { err: (t) => verbose.push(t) }), 2);
  assert.equal(verbose.length, 3);
  assert.match(verbose[2], /^CliError: --seeds 0,0 repeats seed 0.*\n\s+at /s);
});

/** Run `deno task ablate` as a user would (deno run on the example), with a clean data setup. */
async function ablate(args: string[], env: Record<string, string> = {}) {
  const cache = await Deno.makeTempDir({ prefix: "medtune_cli_cache_" });
  const saved = Deno.env.get("MEDTUNE_DATA_DIR");
  Deno.env.delete("MEDTUNE_DATA_DIR"); // the child inherits the environment
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "examples/ablation.ts", ...args],
      cwd: REPO,
      env: { MEDTUNE_CACHE_DIR: cache, ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
      cache,
    };
  } finally {
    if (saved !== undefined) Deno.env.set("MEDTUNE_DATA_DIR", saved);
    await Deno.remove(cache, { recursive: true });
  }
}

Deno.test("cli run: a usage error exits 2 with no stack trace", async () => {
  const r = await ablate(["--image-size", "13"]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^medtune: --image-size 13: vit_tiny_patch16_224/);
  assert.ok(!r.stderr.includes("    at "), r.stderr);
});

Deno.test("cli run: missing data with --offline exits 1 with one line saying where to put the file", async () => {
  const r = await ablate(["--offline"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(
    lines[0].startsWith(
      `medtune: breastmnist.npz not found (looked in ${r.cache}) and --offline forbids downloading: download https://zenodo.org/records/10519652/files/breastmnist.npz?download=1 (md5 750601b1f35ba3300ea97c75c52ff8f6) and put it at ${r.cache}/breastmnist.npz`,
    ),
    lines[0],
  );
  // --verbose (or MEDTUNE_DEBUG=1) adds the stack trace.
  for (
    const [args, env] of [[["--offline", "--verbose"], {}], [["--offline"], {
      MEDTUNE_DEBUG: "1",
    }]] as const
  ) {
    const v = await ablate([...args], env);
    assert.equal(v.code, 1);
    assert.match(
      v.stderr,
      /^medtune: breastmnist\.npz not found.*\nCliError: .*\n\s+at ensureDataset/s,
    );
  }
});

Deno.test("cli run: --plan prints the plan on stdout and nothing on stderr", async () => {
  const out = await Deno.makeTempDir({ prefix: "medtune_cli_plan_" });
  try {
    // One backbone keeps the plan's warm-up measurement short.
    const r = await ablate([
      "--plan",
      "--dataset",
      "pneumoniamnist",
      "--seeds",
      "2",
      "--backbone",
      "resnet18",
      "--out",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^medtune ablation: PneumoniaMNIST fine-tuning ablation$/m);
    assert.match(
      r.stdout,
      /dataset {6}pneumoniamnist \(binary, 2 classes; 4708\/524\/624 images\)/,
    );
    assert.match(r.stdout, /design {7}oat \(5 configurations × 2 seed\(s\) = 10 runs\)/);
    assert.deepEqual([...Deno.readDirSync(out)], [], "--plan writes nothing");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

const TINY_STUDIES: [string, RegExp][] = [
  ["retinamnist", /ordinal grades, trained as 5-class classification; 1080\/120\/400 images/],
  ["pneumoniamnist", /binary, 2 classes; 4708\/524\/624 images/],
];

for (const [dataset, taskLine] of TINY_STUDIES) {
  Deno.test(`cli run: a tiny ${dataset} study end to end, quiet on stderr`, async () => {
    const out = await Deno.makeTempDir({ prefix: `medtune_cli_${dataset}_` });
    try {
      const r = await ablate([
        "--data",
        DATA_DIR,
        "--dataset",
        dataset,
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--batch-size",
        "8",
        "--backbone",
        "resnet18",
        "--augment",
        "basic",
        "--schedule",
        "cosine",
        "--out",
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, taskLine);
      assert.match(r.stdout, /ran 1 run\(s\), 0 already recorded\n/);
      assert.match(
        r.stdout,
        /wrote .*report\.html, results\.md, results\.csv, charts\/ and best\/ \(\d+ files\)\n$/,
      );
      const lines = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n");
      const records = lines.map((l) => JSON.parse(l));
      assert.equal(records.length, 1);
      assert.equal(records[0].status, "ok");
      assert.equal(records[0].config.fixed.dataset, dataset);
      for (const f of ["report.html", "results.md", "results.csv", "best/model.safetensors"]) {
        assert.ok(Deno.statSync(`${out}/${f}`).size > 0, f);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  });
}

Deno.test("cli run: a failed run exits 1 naming --retry-failed; --no-resume moves the study aside", async () => {
  const dir = await Deno.makeTempDir({ prefix: "medtune_cli_fail_" });
  try {
    // A weights file that exists (so the flag check passes) but is not safetensors: the run fails fast.
    await Deno.writeTextFile(`${dir}/bad.safetensors`, "junk");
    const args = [
      "--data",
      DATA_DIR,
      "--backend",
      "cpu",
      "--backbone",
      "resnet18",
      "--augment",
      "none",
      "--schedule",
      "constant",
      "--epochs",
      "1",
      "--max-steps",
      "1",
      "--pretrained",
      `resnet18=${dir}/bad.safetensors`,
      "--out",
      `${dir}/out`,
    ];
    const r = await ablate(args);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      `medtune: 1 run(s) failed (reasons in ${dir}/out/results.jsonl); rerun the same command with --retry-failed to run them again\n`,
    );
    assert.match(r.stdout, /FAILED after .*not a safetensors file/);
    assert.match(r.stdout, /charts\/ \(no best\/: see the line above\)/);
    assert.ok(!r.stdout.includes("and best/"));
    const first = await Deno.readTextFile(`${dir}/out/results.jsonl`);
    // --no-resume destroys nothing: the old results move into previous-<time>/, the run runs again.
    const again = await ablate([...args, "--no-resume"]);
    assert.equal(again.code, 1, again.stderr);
    const moved = [...Deno.readDirSync(`${dir}/out`)].filter((e) => e.name.startsWith("previous-"));
    assert.equal(moved.length, 1, again.stdout);
    assert.equal(await Deno.readTextFile(`${dir}/out/${moved[0].name}/results.jsonl`), first);
    assert.equal(
      (await Deno.readTextFile(`${dir}/out/results.jsonl`)).trim().split("\n").length,
      1,
    );
    // --report-only rewrites the report from the records; flags of another study are refused.
    const report = await ablate([...args, "--report-only"]);
    assert.equal(report.code, 1, report.stderr);
    assert.match(report.stderr, /^medtune: 1 run\(s\) failed/);
    assert.match(report.stdout, /wrote .*report\.html/);
    const other = await ablate([...args, "--report-only", "--schedule", "cosine"]);
    assert.equal(other.code, 2);
    assert.match(
      other.stderr,
      /^medtune: --report-only: the 1 run\(s\) in .* belong to another study; pass the flags that study ran with/,
    );
    // The cause fixed (a good file at the same path, so the same run id), a plain rerun counts
    // the failure as done; --retry-failed runs it again, and the study ends ok.
    const id = JSON.parse(first.trim()).id;
    await Deno.writeFile(`${dir}/bad.safetensors`, resnet18File());
    const plain = await ablate(args);
    assert.equal(plain.code, 1, plain.stderr);
    assert.match(plain.stdout, /ran 0 run\(s\), 1 already recorded/);
    const retry = await ablate([...args, "--retry-failed"]);
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(retry.stderr, "");
    assert.match(retry.stdout, /ran 1 run\(s\), 0 already recorded/);
    const lines = (await Deno.readTextFile(`${dir}/out/results.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((r) => [r.id, r.status]), [[id, "failed"], [id, "ok"]]);
    assert.match(retry.stdout, /charts\/ and best\/ \(\d+ files\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: --limit-images must keep every class and a full batch (exit 2)", () => {
  const refused = (args: string[], pattern: RegExp) =>
    assert.throws(() => studyFromOptions(parseCliArgs(args), "cpu"), (err: unknown) => {
      assert.ok(err instanceof CliError && err.exitCode === 2, String(err));
      assert.match(err.message, pattern);
      return true;
    });
  refused(
    ["--limit-images", "4", "--dataset", "retinamnist", "--batch-size", "2"],
    /^--limit-images 4: retinamnist has 5 classes; give at least 5 so the subset keeps each of them$/,
  );
  refused(
    ["--limit-images", "4", "--batch-size", "8"],
    /^--limit-images 4 is below --batch-size 8: training needs a full batch; give --limit-images >= 8 or a smaller --batch-size$/,
  );
  const spec = studyFromOptions(parseCliArgs(["--limit-images", "8", "--batch-size", "8"]), "cpu");
  assert.equal(spec.fixed.limitImages, 8);
});
