import assert from "node:assert/strict";
import { renderAugmentGrid, writeAugmentGrid } from "../lib/augment/grid.ts";
import { syntheticDataset } from "./data_fixtures.ts";

function pngSize(png: Uint8Array): { width: number; height: number } {
  assert.deepEqual(Array.from(png.subarray(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
  const dv = new DataView(png.buffer, png.byteOffset);
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

Deno.test("grid: a PNG with one row per preset and one column per image", async () => {
  const ds = syntheticDataset({ n: 12, size: 16, channels: 3 });
  const png = await renderAugmentGrid(ds, { count: 4, zoom: 2 });
  // 80 px label margin + 4 × (32 + 4) wide; 28 px title + 3 × (32 + 4) tall
  assert.deepEqual(pngSize(png), { width: 80 + 4 * 36, height: 28 + 3 * 36 });
  assert.deepEqual(
    await renderAugmentGrid(ds, { count: 4, zoom: 2 }),
    png,
    "same seed, same picture",
  );
  const dir = await Deno.makeTempDir({ prefix: "medtune_grid_" });
  try {
    await writeAugmentGrid(`${dir}/g.png`, ds, { rows: ["basic"], indices: [0, 1], zoom: 1 });
    assert.deepEqual(pngSize(await Deno.readFile(`${dir}/g.png`)), {
      width: 80 + 2 * 20,
      height: 28 + 20,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assert.rejects(
    () => renderAugmentGrid(ds, { indices: [99] }),
    /index 99 is outside 0\.\.11/,
  );
});
