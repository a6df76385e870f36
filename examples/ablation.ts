// The fine-tuning ablation study on a MedMNIST dataset (BreastMNIST by default):
// augmentation × LR schedule × backbone, with the anti-overfitting stack fixed.
// `deno task ablate` runs it; the flags, the plan and the study live in lib/study/.
//
//   deno task ablate                          # the default study for this machine (plan first)
//   deno task ablate --help                   # every flag, grouped, with examples
//   deno task ablate --dataset pneumoniamnist # another MedMNIST 2D dataset (downloaded if missing)
//   deno task ablate --shard 2/4              # one part of four (Slurm arrays, Kubernetes jobs)
//   deno task ablate --merge                  # combine the shards' results, then write the report

import { runCli } from "../lib/study/cli.ts";

if (import.meta.main) {
  // 0: done; 1: a run or the command failed; 2: a bad flag (the message says which).
  Deno.exitCode = await runCli(Deno.args);
}
