/**
 * The `cpu` backend: onnxruntime-node's native CPU execution provider, the
 * fast path without a GPU (about 6–7× the wasm backend and on par with
 * PyTorch per conv layer, as measured by `deno task bench:compare`; see the
 * README's "Backends"). The package is imported on first use, so
 * users who never pick this backend never download it.
 *
 * @module
 */

import { Graph } from "../onnx/graph.ts";
import {
  type Backend,
  type BackendSession,
  hostMemoryTensors,
  type SessionOptions,
} from "./backend.ts";
import { lowerConvsToNchwc, NCHWC_DOMAIN } from "./nchwc.ts";

/** Options of {@linkcode createCpuBackend}. */
export interface CpuBackendOptions {
  /** Intra-op threads (default: all logical cores). */
  threads?: number;
  /**
   * Run convolutions whose weights are program inputs on onnxruntime's
   * blocked NCHWc kernels (see `nchwc.ts`; default true where the CPU has
   * them). `MEDTUNE_NCHWC=0` in the environment turns it off.
   */
  nchwc?: boolean;
}

// deno-lint-ignore no-explicit-any
type OrtModule = any;

let allocatorTuned = false;

/**
 * Keep freed memory in glibc's heap instead of returning it to the OS.
 *
 * Each run hands every output (all updated parameters and optimizer moments)
 * to JavaScript in a fresh buffer, freed later by the garbage collector.
 * glibc serves such multi-megabyte blocks with `mmap` and unmaps them on
 * `free`, so every step page-faults hundreds of MB of fresh pages: measured
 * here, that doubled a ResNet-18 train step (880 → 428 ms). Raising the mmap
 * and trim thresholds (`mallopt`) lets the next step reuse the same pages.
 * A no-op where libc is not glibc or FFI is not permitted.
 */
export function tuneAllocator(): boolean {
  if (allocatorTuned || Deno.build.os !== "linux") return allocatorTuned;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      mallopt: { parameters: ["i32", "i32"], result: "i32" },
    });
    const M_TRIM_THRESHOLD = -1;
    const M_TOP_PAD = -2;
    const M_MMAP_THRESHOLD = -3;
    const ok = libc.symbols.mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) === 1 &&
      libc.symbols.mallopt(M_TRIM_THRESHOLD, 512 * 1024 * 1024) === 1 &&
      libc.symbols.mallopt(M_TOP_PAD, 64 * 1024 * 1024) === 1;
    allocatorTuned = ok;
  } catch {
    // Not glibc, or no --allow-ffi: keep the defaults.
  }
  return allocatorTuned;
}

/**
 * The CPU's NCHWc block size as onnxruntime reports it: the channel count
 * its ReorderInput pads 4 channels up to (8 on AVX2, 16 on AVX-512); 0 where
 * the kernels are missing.
 */
async function nchwcBlockSize(ort: OrtModule): Promise<number> {
  try {
    const g = new Graph({ name: "nchwc_probe" });
    const x = g.input("x", "float32", [1, 4, 1, 1]);
    const blocked = g.addNode(
      "ReorderInput",
      [x],
      [{ dtype: "float32", shape: [1, 4, 1, 1] }],
      {},
      NCHWC_DOMAIN,
    )[0];
    g.output("shape", g.addNode("Shape", [blocked], [{ dtype: "int64", shape: [4] }])[0]);
    const session = await ort.InferenceSession.create(g.toModel(), { executionProviders: ["cpu"] });
    const out = await session.run({
      x: new ort.Tensor("float32", new Float32Array(4), [1, 4, 1, 1]),
    });
    await session.release();
    return Number((out.shape.data as BigInt64Array)[1]);
  } catch {
    return 0;
  }
}

/** The NCHWc block size the cpu backend lowers convolutions with (0: not lowered). */
export async function cpuNchwcBlockSize(): Promise<number> {
  const ort = await import("onnxruntime-node");
  return await nchwcBlockSize(ort.default ?? ort);
}

/**
 * onnxruntime graph transformers that cannot change a medtune program, left
 * out of its session setup: each still walks every node (30-110 ms a pass on
 * EfficientNet-B0's 12,000-node training step, several passes). They match
 * quantized (QDQ, integer, n-bit) and float16 graphs, the attention and
 * layer-norm patterns of exported language models, and free-dimension
 * overrides, none of which medtune's float32 programs hold. Measured on the
 * three backbones' train, eval and frozen programs (ORT's verbose log): none
 * of them modified a graph; EfficientNet-B0's train step compiles in 2.6 s
 * instead of 3.5 s.
 */
export const IDLE_TRANSFORMERS: readonly string[] = [
  "DoubleQDQPairsRemover",
  "QDQPropagationTransformer",
  "QDQS8ToU8Transformer",
  "QDQSelectorActionTransformer",
  "QDQFinalCleanupTransformer",
  "WeightBiasQuantization",
  "WhereDummyDq",
  "MatMulIntegerToFloatFusion",
  "DynamicQuantizeMatMulFusion",
  "MatMulNBitsFusion",
  "NhwcTransformer",
  "FuseFp16InitializerToFp32NodeTransformer",
  "AttentionFusion",
  "EmbedLayerNormFusion",
  "GroupQueryAttentionFusion",
  "GroupQueryAttentionPreNormFusion",
  "SkipLayerNormFusion",
  "BiasSkipLayerNormFusion",
  "SimplifiedLayerNormFusion",
  "BiasSoftmaxFusion",
  "BiasDropoutFusion",
  "SliceConcatToSpaceToDepthFusion",
  "GatherToSliceFusion",
  "FreeDimensionOverrideTransformer",
];

/** The onnxruntime log level `MEDTUNE_ORT_LOG` asks for (0-4), if any. */
function ortLogLevel(): 0 | 1 | 2 | 3 | 4 | undefined {
  const level = Number(Deno.env.get("MEDTUNE_ORT_LOG") ?? NaN);
  return [0, 1, 2, 3, 4].includes(level) ? level as 0 | 1 | 2 | 3 | 4 : undefined;
}

/** Create the `cpu` backend (loads onnxruntime-node). */
export async function createCpuBackend(options: CpuBackendOptions = {}): Promise<Backend> {
  let ort: OrtModule;
  try {
    ort = await import("onnxruntime-node");
  } catch (err) {
    throw new Error(
      `cpu backend: could not load onnxruntime-node (${(err as Error).message}). ` +
        `It needs --allow-read, --allow-env and --allow-ffi; or choose --backend wasm.`,
    );
  }
  ort = ort.default ?? ort;
  tuneAllocator();
  const threads = options.threads ?? navigator.hardwareConcurrency ?? 1;
  const version = ort.env?.versions?.node ?? ort.env?.versions?.common ?? "?";
  const nchwcWanted = (options.nchwc ?? true) && Deno.env.get("MEDTUNE_NCHWC") !== "0";
  const block = nchwcWanted ? await nchwcBlockSize(ort) : 0;
  return {
    name: "cpu",
    description: `cpu (onnxruntime-node ${version}, ${threads} threads${
      block > 1 ? `, NCHWc block ${block}` : ""
    })`,
    lower: block > 1 ? (graph) => lowerConvsToNchwc(graph, { blockSize: block }).graph : undefined,
    async createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<BackendSession> {
      let session;
      try {
        session = await ort.InferenceSession.create(model, {
          executionProviders: ["cpu"],
          graphOptimizationLevel: "all",
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: "sequential",
          extra: {
            // Flush denormals to zero, as training frameworks do: Adam's second
            // moments of tiny gradients underflow into them (no speed effect
            // measured on our x86 machines; a guard for CPUs where it matters).
            session: { set_denormal_as_zero: "1" },
            optimization: { disable_specified_optimizers: IDLE_TRANSFORMERS.join(";") },
          },
          // MEDTUNE_ORT_LOG=0..4 sets onnxruntime's log level (0 verbose, 1 info:
          // each graph transformer it applies, on stderr).
          ...(ortLogLevel() === undefined ? {} : { logSeverityLevel: ortLogLevel() }),
          // MEDTUNE_ORT_PROFILE=prefix writes onnxruntime's per-node profile (JSON).
          ...(Deno.env.get("MEDTUNE_ORT_PROFILE")
            ? { enableProfiling: true, profileFilePrefix: Deno.env.get("MEDTUNE_ORT_PROFILE") }
            : {}),
        });
      } catch (err) {
        throw new Error(
          `cpu backend: onnxruntime-node refused the ${opts.label ?? "program"}: ${
            (err as Error).message
          }`,
        );
      }
      // Every output, fetched by onnxruntime (null) unless preallocated.
      const fetchAll: Record<string, null> = {};
      for (const name of session.outputNames as string[]) fetchAll[name] = null;
      return {
        run: (feeds, outputs) =>
          outputs && Object.keys(outputs).length
            ? session.run(feeds, { ...fetchAll, ...outputs })
            : session.run(feeds),
        release: () => session.release(),
      };
    },
    ...hostMemoryTensors(ort.Tensor, "cpu"),
    destroy: () => Promise.resolve(),
  };
}
