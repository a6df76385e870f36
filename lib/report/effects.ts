/**
 * Axis effects that compare like with like.
 *
 * - One-at-a-time (`oat`) design: an axis's levels are compared with the
 *   other two axes held at the baseline, so each level is one configuration
 *   and its numbers are the mean and t-interval over that configuration's
 *   seeds.
 * - Full factorial (`grid`): the main effect of a level is its marginal mean
 *   over the other axes' levels. For each seed that finished in every cell,
 *   the marginal mean over the cells with the level is taken; the mean and
 *   t-interval are over those per-seed marginal means. Two-way interactions
 *   (each pair of axes, averaged over the third) are reported when the grid
 *   is full and at least two seeds finished in every cell: per seed the cell
 *   means m_ij and the interaction contrasts m_ij − m_i· − m_·j + m_··, each
 *   with its t-interval over seeds.
 * - Anything else, or a grid with missing cells: the level's mean over the
 *   configurations that have it (cell means averaged), titled as such, with
 *   the missing cells listed.
 *
 * Axes run at a single level have nothing to compare and get no table.
 *
 * @module
 */

import { meanCi } from "../metrics/mod.ts";
import { listModels, resolveModelName } from "../models/registry.ts";
import type { RunAxes } from "./record.ts";

/** The study's three axes, in report order. */
export const AXES: readonly (keyof RunAxes)[] = ["augment", "schedule", "backbone"];

/** Levels of each axis. */
export interface AxisLevels {
  /** Augmentation levels. */
  augment: string[];
  /** LR-schedule levels. */
  schedule: string[];
  /** Backbone levels. */
  backbone: string[];
}

/** Mean, sample std and Student-t interval of one metric. */
export interface MetricStats {
  /** Number of values. */
  n: number;
  /** Mean. */
  mean: number;
  /** Sample standard deviation (n − 1); `null` with a single value. */
  std: number | null;
  /** Lower end of the t-interval of the mean; `null` with a single value. */
  lower: number | null;
  /** Upper end of the t-interval of the mean; `null` with a single value. */
  upper: number | null;
}

/** How an axis's levels are compared. */
export type Comparison = "baseline" | "main-effect" | "pooled";

/** One level of one axis in an {@linkcode AxisEffect}. */
export interface AxisLevelSummary {
  /** Axis name. */
  axis: keyof RunAxes;
  /** Level of the axis. */
  level: string;
  /** Runs (configuration × seed) that enter the estimate. */
  nRuns: number;
  /** Configurations that enter the estimate. */
  nConfigs: number;
  /**
   * Test AUC: `baseline` — over the seeds of the one configuration;
   * `main-effect` — over per-seed marginal means; `pooled` — over the
   * configurations' means. `null` when the level has no result.
   */
  testAuc: MetricStats | null;
  /** Configurations that enter the estimate. */
  configIds: string[];
  /** Highest mean test AUC among them; `null` if none succeeded. */
  bestConfigId: string | null;
  /**
   * `baseline` comparison only: this level's test AUC minus the baseline's,
   * paired by seed over the seeds both finished, with its t-interval; `null`
   * for the baseline itself, other comparisons, or no shared seed.
   */
  vsBaseline: MetricStats | null;
}

/** The comparison of one axis's levels. */
export interface AxisEffect {
  /** Axis name. */
  axis: keyof RunAxes;
  /** Which comparison is shown. */
  comparison: Comparison;
  /** Title saying which comparison is shown, e.g. `levels of augment with schedule=cosine, backbone=resnet18 held at the baseline`. */
  title: string;
  /** Levels of the other axes held fixed (`baseline` comparison), else `null`. */
  held: Partial<RunAxes> | null;
  /** The levels, in study order. */
  levels: AxisLevelSummary[];
  /** Missing cells or levels, described (`augment=heavy, schedule=cosine, backbone=resnet18`). */
  missing: string[];
  /** What else the reader should know (seeds left out, configurations off the lines). */
  notes: string[];
}

/** The two-way interaction of two axes in a full grid, averaged over the third. */
export interface InteractionSummary {
  /** The two axes: rows, columns. */
  axes: [keyof RunAxes, keyof RunAxes];
  /** The axis averaged over. */
  over: keyof RunAxes;
  /** Row levels. */
  rowLevels: string[];
  /** Column levels. */
  colLevels: string[];
  /** Cell means m_ij (over the third axis), t-interval across seeds. */
  cells: MetricStats[][];
  /** Interaction contrasts m_ij − m_i· − m_·j + m_··, t-interval across seeds. */
  contrasts: MetricStats[][];
  /** Seeds the statistics are over. */
  seeds: number[];
  /** Title, e.g. `augment × schedule, averaged over backbone`. */
  title: string;
}

/** The design the axis effects were computed for. */
export type DesignKind = "oat" | "grid" | "unplanned";

/** Input of {@linkcode analyzeAxisEffects}: one configuration and its seeds' test AUCs. */
export interface EffectInput {
  /** Configuration id. */
  configId: string;
  /** Axis levels. */
  axes: RunAxes;
  /** Test AUC of each successful seed. */
  aucBySeed: Map<number, number>;
}

/** Options of {@linkcode analyzeAxisEffects}. */
export interface AxisEffectOptions {
  /** The study's design; inferred from the configurations when absent. */
  design?: "oat" | "grid";
  /** The `oat` baseline; inferred when absent. */
  baseline?: RunAxes;
  /** The planned levels of each axis (default: the levels seen in the configurations). */
  axisLevels?: Partial<AxisLevels>;
  /** Coverage of the t-intervals. Default 0.95. */
  confidence?: number;
}

/** What {@linkcode analyzeAxisEffects} found. */
export interface AxisEffectsResult {
  /** The design the comparisons follow. */
  design: DesignKind;
  /** The baseline of an `oat` design, else `null`. */
  baseline: RunAxes | null;
  /** One comparison per axis with more than one level. */
  effects: AxisEffect[];
  /** Axes with a single level (nothing to compare), at that level. */
  fixedAxes: Partial<RunAxes>;
  /** Two-way interactions (full grids with ≥ 2 complete seeds). */
  interactions: InteractionSummary[];
}

const KNOWN_ORDER: Record<"augment" | "schedule", string[]> = {
  augment: ["none", "basic", "heavy"],
  schedule: ["constant", "cosine", "warmup_cosine"],
};

/**
 * Position of a level in its axis's study order, `-1` when unknown:
 * backbones in registry order, an alias (`vit_tiny`, in records written
 * before the study used canonical names only) at its model's position.
 */
function levelIndex(axis: keyof RunAxes, level: string): number {
  if (axis !== "backbone") return KNOWN_ORDER[axis].indexOf(level);
  const name = resolveModelName(level);
  return name ? listModels().indexOf(name) : -1;
}

/** Whether `level` is a registry alias rather than a canonical model name. */
function isAlias(level: string): boolean {
  const name = resolveModelName(level);
  return name !== undefined && name !== level;
}

/**
 * Sort key of a level within its axis: the study's order first (a backbone
 * alias right after its canonical name), others alphabetically.
 */
export function compareLevels(axis: keyof RunAxes, a: string, b: string): number {
  const ia = levelIndex(axis, a);
  const ib = levelIndex(axis, b);
  if (ia >= 0 || ib >= 0) {
    if (ia < 0) return 1;
    if (ib < 0) return -1;
    if (ia !== ib) return ia - ib;
    return axis === "backbone" ? Number(isAlias(a)) - Number(isAlias(b)) : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Mean ± std and t-interval of `values`; `null` when empty. */
export function metricStats(values: number[], confidence: number): MetricStats | null {
  if (values.length === 0) return null;
  const m = meanCi(values, { confidence });
  return { n: m.n, mean: m.mean, std: m.std, lower: m.lower, upper: m.upper };
}

function avg(values: number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** `augment=basic, schedule=cosine, backbone=resnet18` (the given axes only). */
export function describeAxes(
  axes: Partial<RunAxes>,
  only: readonly (keyof RunAxes)[] = AXES,
): string {
  return only.filter((a) => axes[a] !== undefined).map((a) => `${a}=${axes[a]}`).join(", ");
}

const key = (a: RunAxes) => `${a.augment}\u0000${a.schedule}\u0000${a.backbone}`;

function product(levels: AxisLevels): RunAxes[] {
  const out: RunAxes[] = [];
  for (const augment of levels.augment) {
    for (const schedule of levels.schedule) {
      for (const backbone of levels.backbone) out.push({ augment, schedule, backbone });
    }
  }
  return out;
}

function meanOf(c: EffectInput): number | null {
  return c.aucBySeed.size ? avg([...c.aucBySeed.values()]) : null;
}

function bestOf(configs: EffectInput[]): string | null {
  let best: EffectInput | null = null;
  let bestMean = -Infinity;
  for (const c of configs) {
    const m = meanOf(c);
    if (m !== null && m > bestMean) [best, bestMean] = [c, m];
  }
  return best?.configId ?? null;
}

/** The `oat` baseline: the configuration every other one differs from in exactly one axis. */
function inferBaseline(configs: EffectInput[]): RunAxes | null {
  for (const c of configs) {
    const ok = configs.every((o) =>
      o === c || AXES.filter((a) => o.axes[a] !== c.axes[a]).length === 1
    );
    if (ok) return { ...c.axes };
  }
  return null;
}

/** The configurations of a study as the comparisons see them. */
interface Layout {
  /** The configurations, in input order. */
  list: EffectInput[];
  /** Every axis's levels, in study order. */
  levels: AxisLevels;
  /** Configurations by their axes (`key`). */
  byKey: Map<string, EffectInput>;
  /** Coverage of the t-intervals. */
  confidence: number;
}

/** Each axis's levels: the planned ones, then any others seen, in study order. */
function levelsOf(list: EffectInput[], planned: Partial<AxisLevels> = {}): AxisLevels {
  const levels = {} as AxisLevels;
  for (const axis of AXES) {
    const plan = planned[axis];
    const seen = [...new Set(list.map((c) => c.axes[axis]))];
    const all = plan ? [...plan, ...seen.filter((l) => !plan.includes(l))] : seen;
    levels[axis] = all.sort((a, b) => compareLevels(axis, a, b));
  }
  return levels;
}

/** The design to follow: as given (an `oat` without a baseline is `unplanned`), else inferred. */
function chooseDesign(
  layout: Layout,
  full: boolean,
  options: AxisEffectOptions,
): { design: DesignKind; baseline: RunAxes | null } {
  if (options.design === "oat") {
    const baseline = options.baseline ?? inferBaseline(layout.list);
    return { design: baseline ? "oat" : "unplanned", baseline };
  }
  if (options.design === "grid") return { design: "grid", baseline: null };
  if (full && layout.list.length === product(layout.levels).length) {
    return { design: "grid", baseline: null };
  }
  const baseline = options.baseline ?? inferBaseline(layout.list);
  return { design: baseline ? "oat" : "unplanned", baseline };
}

/**
 * Compare each axis's levels as the design allows (see the module
 * documentation): held at the baseline (`oat`), main effects and two-way
 * interactions (`grid`), or pooled, titled as such, when the configurations
 * form neither design.
 */
export function analyzeAxisEffects(
  configs: readonly EffectInput[],
  options: AxisEffectOptions = {},
): AxisEffectsResult {
  const list = [...configs];
  const levels = levelsOf(list, options.axisLevels);
  const layout: Layout = {
    list,
    levels,
    byKey: new Map(list.map((c) => [key(c.axes), c])),
    confidence: options.confidence ?? 0.95,
  };
  const fixedAxes: Partial<RunAxes> = Object.fromEntries(
    AXES.filter((a) => levels[a].length === 1).map((a) => [a, levels[a][0]]),
  );
  const full = product(levels).every((a) => layout.byKey.has(key(a)));
  const { design, baseline } = chooseDesign(layout, full, options);

  let result: Omit<AxisEffectsResult, "fixedAxes">;
  if (design === "oat") {
    result = { design, baseline, effects: oatEffects(layout, baseline!), interactions: [] };
  } else if (design === "grid" && full) result = gridEffects(layout);
  else {
    result = {
      design,
      baseline: null,
      effects: pooledEffects(layout, design === "grid"),
      interactions: [],
    };
  }
  const compared = result.effects.filter((e) => levels[e.axis].length > 1);
  return { ...result, effects: compared, fixedAxes };
}

/** One-at-a-time: each axis's levels with the other two axes held at the baseline `b`. */
function oatEffects(layout: Layout, b: RunAxes): AxisEffect[] {
  const onLine = new Set<string>();
  const effects = AXES.map((axis) => oatAxisEffect(layout, b, axis, onLine));
  const off = layout.list.filter((c) => !onLine.has(c.configId)).length;
  if (off > 0) {
    for (const e of effects) {
      e.notes.push(
        `${off} configuration${off === 1 ? " is" : "s are"} off the one-at-a-time lines ` +
          "through the baseline and not part of this comparison.",
      );
    }
  }
  return effects;
}

/** One axis of a one-at-a-time design; adds the configurations on its line to `onLine`. */
function oatAxisEffect(
  layout: Layout,
  b: RunAxes,
  axis: keyof RunAxes,
  onLine: Set<string>,
): AxisEffect {
  const { byKey, confidence } = layout;
  const others = AXES.filter((a) => a !== axis);
  const held: Partial<RunAxes> = Object.fromEntries(others.map((a) => [a, b[a]]));
  const missing: string[] = [];
  const rows: AxisLevelSummary[] = [];
  const base = byKey.get(key(b));
  for (const level of layout.levels[axis]) {
    const axes = { ...b, [axis]: level };
    const c = byKey.get(key(axes));
    if (c) onLine.add(c.configId);
    if (!c || c.aucBySeed.size === 0) {
      missing.push(describeAxes(axes) + (c ? " (no successful run)" : ""));
    }
    const aucs = c ? [...c.aucBySeed.values()] : [];
    const diffs = c && base && c !== base
      ? [...c.aucBySeed].filter(([seed]) => base.aucBySeed.has(seed)).map(([seed, v]) =>
        v - base.aucBySeed.get(seed)!
      )
      : [];
    rows.push({
      axis,
      level,
      nRuns: aucs.length,
      nConfigs: c ? 1 : 0,
      testAuc: metricStats(aucs, confidence),
      configIds: c ? [c.configId] : [],
      bestConfigId: c && aucs.length ? c.configId : null,
      vsBaseline: metricStats(diffs, confidence),
    });
  }
  return {
    axis,
    comparison: "baseline",
    title: `levels of ${axis} with ${describeAxes(held, others)} held at the baseline`,
    held,
    levels: rows,
    missing,
    notes: [],
  };
}

/**
 * Full grid: main effects over per-seed marginal means (seeds that finished
 * in every cell) and two-way interactions; pooled, as an incomplete grid,
 * when a cell has no successful run.
 */
function gridEffects(layout: Layout): Omit<AxisEffectsResult, "fixedAxes"> {
  const cells = product(layout.levels).map((a) => layout.byKey.get(key(a))!);
  const empty = cells.filter((c) => c.aucBySeed.size === 0);
  if (empty.length > 0) {
    return {
      design: "grid",
      baseline: null,
      effects: pooledEffects(layout, true),
      interactions: [],
    };
  }
  const allSeeds = [...new Set(cells.flatMap((c) => [...c.aucBySeed.keys()]))].sort((a, b) =>
    a - b
  );
  const seeds = allSeeds.filter((s) => cells.every((c) => c.aucBySeed.has(s)));
  const dropped = allSeeds.filter((s) => !seeds.includes(s));
  const seedNote = dropped.length > 0
    ? [
      `seed${dropped.length === 1 ? "" : "s"} ${dropped.join(", ")} left out: not finished ` +
      "in every cell of the grid.",
    ]
    : [];
  const effects = AXES.map((axis) => mainEffect(layout, cells, seeds, seedNote, axis));
  const interactions = seeds.length >= 2 ? gridInteractions(layout, cells, seeds) : [];
  return { design: "grid", baseline: null, effects, interactions };
}

/** The main effect of one axis of a full grid, over the `seeds` that finished in every cell. */
function mainEffect(
  layout: Layout,
  cells: EffectInput[],
  seeds: number[],
  seedNote: string[],
  axis: keyof RunAxes,
): AxisEffect {
  const { levels } = layout;
  const others = AXES.filter((a) => a !== axis);
  const over = others.map((a) =>
    `${a} (${levels[a].length} level${levels[a].length === 1 ? "" : "s"})`
  ).join(" × ");
  const rows = levels[axis].map((level) => mainEffectLevel(layout, cells, seeds, axis, level));
  return {
    axis,
    comparison: "main-effect",
    title: `main effect of ${axis}, marginalized over ${over}` +
      (seeds.length > 0 ? ` and ${seeds.length} seed${seeds.length === 1 ? "" : "s"}` : ""),
    held: null,
    levels: rows,
    missing: [],
    notes: seeds.length > 0 ? [...seedNote] : [
      ...seedNote,
      "No seed finished in every cell: each level shows the mean of its cells' means, " +
      "without an interval.",
    ],
  };
}

/** One level of a main effect: per-seed marginal means, or the mean of cell means without seeds. */
function mainEffectLevel(
  layout: Layout,
  cells: EffectInput[],
  seeds: number[],
  axis: keyof RunAxes,
  level: string,
): AxisLevelSummary {
  const at = cells.filter((c) => c.axes[axis] === level);
  let testAuc: MetricStats | null;
  if (seeds.length > 0) {
    testAuc = metricStats(
      seeds.map((s) => avg(at.map((c) => c.aucBySeed.get(s)!))),
      layout.confidence,
    );
  } else {
    // No seed finished everywhere: the mean of cell means, without an interval.
    const m = avg(at.map((c) => meanOf(c)!));
    testAuc = { n: 0, mean: m, std: null, lower: null, upper: null };
  }
  return {
    axis,
    level,
    nRuns: seeds.length > 0
      ? at.length * seeds.length
      : at.reduce((s, c) => s + c.aucBySeed.size, 0),
    nConfigs: at.length,
    testAuc,
    configIds: at.map((c) => c.configId),
    bestConfigId: bestOf(at),
    vsBaseline: null,
  };
}

/** The two-way interactions of every pair of axes with at least two levels each. */
function gridInteractions(
  layout: Layout,
  cells: EffectInput[],
  seeds: number[],
): InteractionSummary[] {
  const interactions: InteractionSummary[] = [];
  for (let i = 0; i < AXES.length; i++) {
    for (let j = i + 1; j < AXES.length; j++) {
      const [ra, ca] = [AXES[i], AXES[j]];
      if (layout.levels[ra].length < 2 || layout.levels[ca].length < 2) continue;
      interactions.push(interaction(layout, cells, seeds, ra, ca));
    }
  }
  return interactions;
}

/** The interaction of axes `ra` (rows) and `ca` (columns), averaged over the third axis. */
function interaction(
  layout: Layout,
  cells: EffectInput[],
  seeds: number[],
  ra: keyof RunAxes,
  ca: keyof RunAxes,
): InteractionSummary {
  const over = AXES.find((a) => a !== ra && a !== ca)!;
  const R = layout.levels[ra];
  const C = layout.levels[ca];
  // m[s][r][c]: mean over the third axis of seed s's AUC in cell (r, c).
  const m = seeds.map((s) =>
    R.map((rl) =>
      C.map((cl) =>
        avg(
          cells.filter((c) => c.axes[ra] === rl && c.axes[ca] === cl).map((c) =>
            c.aucBySeed.get(s)!
          ),
        )
      )
    )
  );
  const gamma = m.map((t) => {
    const rowMean = t.map((row) => avg(row));
    const colMean = C.map((_, c) => avg(t.map((row) => row[c])));
    const grand = avg(rowMean);
    return t.map((row, r) => row.map((v, c) => v - rowMean[r] - colMean[c] + grand));
  });
  const statsOf = (x: number[][][]) =>
    R.map((_, r) => C.map((_, c) => metricStats(x.map((t) => t[r][c]), layout.confidence)!));
  return {
    axes: [ra, ca],
    over,
    rowLevels: R,
    colLevels: C,
    cells: statsOf(m),
    contrasts: statsOf(gamma),
    seeds,
    title: `${ra} × ${ca}, averaged over ${over}`,
  };
}

/**
 * Neither design (or an incomplete grid): each level's mean over the
 * configurations that have it, titled as such, with the missing cells of an
 * incomplete grid listed.
 */
function pooledEffects(layout: Layout, incompleteGrid: boolean): AxisEffect[] {
  const { levels, byKey, list, confidence } = layout;
  const missing = incompleteGrid
    ? product(levels).filter((a) => {
      const c = byKey.get(key(a));
      return !c || c.aucBySeed.size === 0;
    }).map((a) => describeAxes(a))
    : [];
  return AXES.map((axis): AxisEffect => {
    const rows = levels[axis].map((level): AxisLevelSummary => {
      const at = list.filter((c) => c.axes[axis] === level && c.aucBySeed.size > 0);
      return {
        axis,
        level,
        nRuns: at.reduce((s, c) => s + c.aucBySeed.size, 0),
        nConfigs: at.length,
        testAuc: metricStats(at.map((c) => meanOf(c)!), confidence),
        configIds: at.map((c) => c.configId),
        bestConfigId: bestOf(at),
        vsBaseline: null,
      };
    });
    return {
      axis,
      comparison: "pooled",
      title: incompleteGrid
        ? `levels of ${axis}: mean over the configurations that have the level ` +
          `(incomplete grid, ${missing.length} cell${
            missing.length === 1 ? "" : "s"
          } missing; not a main effect)`
        : `levels of ${axis}: mean over the configurations that have the level ` +
          "(they differ in the other axes too; not a controlled comparison)",
      held: null,
      levels: rows,
      missing,
      notes: [
        "Each level shows the mean and spread of its configurations' mean test AUCs " +
        "(n = configurations).",
      ],
    };
  });
}
