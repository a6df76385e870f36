// A real distributed engine: a single-node Slurm cluster on localhost (munged,
// slurmctld, slurmd from Debian's slurm-wlm and munge, started here with a
// generated slurm.conf) runs the README's sbatch recipe — a tiny sharded study
// as a job array — then --merge; the merged run ids and metrics must equal
// those of the same study run in one process. Needs root and the packages
// (.ci/run installs them); skipped with a message otherwise.

import assert from "node:assert/strict";
import { readResults } from "../lib/study/results_log.ts";
import { cli, outcomeOf, tinyArgs, waitFor } from "./_study_cli.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DAEMONS = ["munged", "slurmctld", "slurmd", "sbatch", "sinfo", "scancel"];

function which(name: string): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), "/usr/sbin", "/usr/bin", "/sbin"];
  for (const dir of dirs) {
    try {
      if (dir && Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

const missing = DAEMONS.filter((n) => !which(n));
const skipReason = Deno.uid() !== 0
  ? "needs root (it starts munged, slurmctld and slurmd)"
  : missing.length
  ? `${missing.join(", ")} not installed (apt-get install slurm-wlm munge; .ci/run does)`
  : undefined;
if (skipReason) console.warn(`study_slurm_test: skipped: ${skipReason}`);

/** A free TCP port on localhost. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The sbatch script of README's "Spreading a study over machines" section. */
async function readmeSbatchScript(): Promise<string> {
  const readme = await Deno.readTextFile(`${REPO}/README.md`);
  const m = readme.match(/```sh\n(#!\/bin\/bash\n#SBATCH[^`]*?)```/);
  assert.ok(m, "README.md has no ```sh block starting with #!/bin/bash and #SBATCH lines");
  return m[1];
}

function replaceOnce(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `the README's Slurm recipe no longer has "${from}"`);
  return text.replace(from, to);
}

class Cluster {
  readonly children: { name: string; child: Deno.ChildProcess }[] = [];
  readonly env: Record<string, string>;

  constructor(readonly dir: string) {
    this.env = { SLURM_CONF: `${dir}/slurm.conf` };
  }

  start(name: string, args: string[]): void {
    const child = new Deno.Command(which(name)!, {
      args,
      env: this.env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.children.push({ name, child });
  }

  async run(name: string, args: string[], env: Record<string, string> = {}): Promise<string> {
    const out = await new Deno.Command(which(name)!, {
      args,
      env: { ...this.env, ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`${name} ${args.join(" ")} failed (${out.code}): ${text}`);
    return text;
  }

  /** Stop every daemon started here (SIGTERM, then SIGKILL after 10 s) and reap it. */
  async stop(): Promise<void> {
    for (const { child } of this.children.reverse()) {
      try {
        child.kill("SIGTERM");
      } catch {
        continue; // already gone
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, 10_000);
      await child.status;
      clearTimeout(timer);
    }
  }

  async logs(): Promise<string> {
    const parts: string[] = [];
    for (const f of ["slurmctld.log", "slurmd.log", "munged.log"]) {
      const text = await Deno.readTextFile(`${this.dir}/${f}`).catch(() => "");
      parts.push(`--- ${f}\n${text.split("\n").slice(-15).join("\n")}`);
    }
    return parts.join("\n");
  }
}

Deno.test({
  name: "a sharded study as a Slurm job array, merged, equals the same study in one process",
  ignore: skipReason !== undefined,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "medtune-slurm-" });
    await Deno.chmod(dir, 0o711); // munged wants its socket folder traversable
    const cluster = new Cluster(dir);
    const out = `${dir}/study`;
    const ref = `${dir}/reference`;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    try {
      // munge: a fresh key from /dev/urandom.
      const key = new Uint8Array(1024);
      crypto.getRandomValues(key);
      await Deno.writeFile(`${dir}/munge.key`, key, { mode: 0o400 });
      for (const sub of ["state", "spool"]) await Deno.mkdir(`${dir}/${sub}`);
      const conf = [
        "ClusterName=medtune",
        "SlurmctldHost=localhost",
        "SlurmUser=root",
        "SlurmdUser=root",
        `SlurmctldPort=${freePort()}`,
        `SlurmdPort=${freePort()}`,
        "AuthType=auth/munge",
        `AuthInfo=socket=${dir}/munge.sock`,
        "CredType=cred/munge",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "MpiDefault=none",
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmdPidFile=${dir}/slurmd.pid`,
        `SlurmctldLogFile=${dir}/slurmctld.log`,
        `SlurmdLogFile=${dir}/slurmd.log`,
        "ReturnToService=2",
        "JobCompType=jobcomp/none",
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN",
        "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
      ];
      await Deno.writeTextFile(`${dir}/slurm.conf`, conf.join("\n") + "\n");
      cluster.start("munged", [
        "-F",
        "-f",
        `--key-file=${dir}/munge.key`,
        `--socket=${dir}/munge.sock`,
        `--pid-file=${dir}/munged.pid`,
        `--log-file=${dir}/munged.log`,
        `--seed-file=${dir}/munged.seed`,
      ]);
      await waitFor(
        async () => {
          try {
            return (await Deno.stat(`${dir}/munge.sock`)).isSocket ?? true;
          } catch {
            return false;
          }
        },
        30,
        "munged's socket",
      );
      cluster.start("slurmctld", ["-D", "-f", `${dir}/slurm.conf`]);
      cluster.start("slurmd", ["-D", "-f", `${dir}/slurm.conf`, "-N", "localhost"]);
      await waitFor(
        async () => {
          const state = await cluster.run("sinfo", ["-h", "-o", "%t"]).catch(() => "");
          return /idle/.test(state);
        },
        60,
        "the Slurm node to be idle",
      ).catch(async (err) => {
        throw new Error(`${err.message}\n${await cluster.logs()}`);
      });

      // The README's job script, for a 2-way array and a tiny study.
      const study = tinyArgs(out, { augment: "none,basic" });
      const flags = study.filter((_, i) => !(study[i] === "--out" || study[i - 1] === "--out"));
      let script = await readmeSbatchScript();
      script = replaceOnce(script, "--array=1-4", "--array=1-2");
      script = replaceOnce(script, "--cpus-per-task=2", "--cpus-per-task=1"); // both at once on 2 CPUs
      script = replaceOnce(script, "/shared/study", out);
      script = replaceOnce(
        script,
        "--shard ${SLURM_ARRAY_TASK_ID}/4",
        `--shard \${SLURM_ARRAY_TASK_ID}/2 ${flags.map((f) => `'${f}'`).join(" ")}`,
      );
      script = script.replace(/^#SBATCH --output=(\S+)/m, `#SBATCH --output=${dir}/$1`);
      await Deno.writeTextFile(`${dir}/study.sbatch`, script);

      const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
      const jobEnv = {
        PATH: `${denoDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      };
      // A hung job must not hang the test: cancel everything after 15 minutes.
      watchdog = setTimeout(
        () => cluster.run("scancel", ["--user=root"]).catch(() => ""),
        900_000,
      );
      const submitted = cluster.run(
        "sbatch",
        ["--wait", `--chdir=${REPO}`, `${dir}/study.sbatch`],
        jobEnv,
      );
      // Meanwhile, the same study in one process (the reference).
      const single = await cli(tinyArgs(ref, { augment: "none,basic" }));
      assert.equal(single.code, 0, single.all);
      const sbatchOut = await submitted.catch(async (err) => {
        const logs: string[] = [];
        for (const e of Deno.readDirSync(dir)) {
          if (e.name.endsWith(".log") && e.name.startsWith("study-")) {
            logs.push(`--- ${e.name}\n${Deno.readTextFileSync(`${dir}/${e.name}`).slice(-3000)}`);
          }
        }
        throw new Error(`${err.message}\n${logs.join("\n")}\n${await cluster.logs()}`);
      });
      assert.match(sbatchOut, /Submitted batch job \d+/);
      for (const shard of [1, 2]) {
        const recs = await readResults(`${out}/results.shard-${shard}-of-2.jsonl`);
        assert.equal(recs.length, 1, `shard ${shard}/2 recorded ${recs.length} runs`);
      }

      const merged = await cli([...tinyArgs(out, { augment: "none,basic" }), "--merge"]);
      assert.equal(merged.code, 0, merged.all);
      assert.match(merged.all, /merged 2 shard file\(s\)/);
      const a = (await readResults(`${out}/results.jsonl`)).sort((x, y) =>
        x.id.localeCompare(y.id)
      );
      const b = (await readResults(`${ref}/results.jsonl`)).sort((x, y) =>
        x.id.localeCompare(y.id)
      );
      assert.deepEqual(a.map((r) => r.id), b.map((r) => r.id));
      assert.equal(a.length, 2);
      assert.deepEqual(a.map(outcomeOf), b.map(outcomeOf));
      assert.ok((await Deno.stat(`${out}/report.html`)).isFile);
    } finally {
      clearTimeout(watchdog);
      await cluster.run("scancel", ["--user=root"]).catch(() => "");
      await cluster.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
