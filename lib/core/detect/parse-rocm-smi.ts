/**
 * Reads `rocm-smi --showproductname --json` and `rocm-smi --showmeminfo vram --json`. Key case
 * differs between ROCm releases ("Card Series" / "Card series"), some builds print warnings
 * around the JSON, and memory may be given in bytes or MiB, so every lookup is forgiving.
 */
import { parseJsonSafely } from "./parse-json-safely.ts";
import type { CommandOutput, GpuInfo, GpuProbe } from "./host-facts.ts";

export const ROCM_SMI_PRODUCT_ARGS = ["--showproductname", "--json"] as const;
export const ROCM_SMI_MEMORY_ARGS = ["--showmeminfo", "vram", "--json"] as const;

const MIB = 1024 * 1024;
type Card = Record<string, unknown>;

export function readRocmSmi(product: CommandOutput, memory: CommandOutput): GpuProbe {
  if (product.notFound) return { gpus: [], reason: "rocm-smi is not installed" };
  if (product.timedOut) return { gpus: [], reason: "rocm-smi did not answer in time" };
  if (product.code !== 0) return { gpus: [], reason: `rocm-smi failed (exit code ${product.code ?? "none"})` };
  const cards = readCards(product.stdout);
  if (cards === undefined) return { gpus: [], reason: "rocm-smi printed no JSON" };
  const memoryCards = memory.code === 0 ? (readCards(memory.stdout) ?? {}) : {};
  const gpus = parseRocmSmiCards(cards, memoryCards);
  return gpus.length > 0 ? { gpus } : { gpus: [], reason: "rocm-smi lists no GPU" };
}

/** Cards are the `cardN` keys, in number order; the `system` entry and others are skipped. */
export function parseRocmSmiCards(product: Record<string, Card>, memory: Record<string, Card>): GpuInfo[] {
  return Object.keys(product)
    .filter((key) => /^card\d+$/i.test(key))
    .sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)))
    .map((key) => {
      const card = product[key] ?? {};
      const mem = memory[key] ?? {};
      const total = readMib(mem, "total memory");
      const used = readMib(mem, "total used memory");
      return {
        vendor: "amd",
        name: lookup(card, "card series") ?? lookup(card, "device name") ?? lookup(card, "card model") ?? "AMD GPU",
        memory_total_mib: total,
        memory_free_mib: total !== null && used !== null ? Math.max(0, total - used) : null,
        driver: lookup(card, "driver version") ?? null,
        uuid: lookup(card, "unique id") ?? null,
        utilization_pct: null,
      } satisfies GpuInfo;
    });
}

/** The JSON object in the output, skipping warning lines some builds print around it. */
function readCards(stdout: string): Record<string, Card> | undefined {
  const end = stdout.lastIndexOf("}");
  const lines = stdout.slice(0, end + 1).split("\n");
  for (let first = 0; first < lines.length; first++) {
    if (!(lines[first] as string).trimStart().startsWith("{")) continue;
    const value = parseJsonSafely(lines.slice(first).join("\n"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const cards: Record<string, Card> = {};
    for (const [key, card] of Object.entries(value)) {
      if (typeof card === "object" && card !== null && !Array.isArray(card)) cards[key] = card as Card;
    }
    return cards;
  }
  return undefined;
}

function lookup(card: Card, wanted: string): string | undefined {
  for (const [key, value] of Object.entries(card)) {
    if (key.toLowerCase() !== wanted) continue;
    const text = String(value).trim();
    if (text !== "" && text.toUpperCase() !== "N/A") return text;
  }
  return undefined;
}

/** Finds e.g. "VRAM Total Memory (B)" or "vram Total Memory (MiB)" and converts to MiB. */
function readMib(card: Card, wanted: string): number | null {
  for (const [key, value] of Object.entries(card)) {
    const match = /^vram (.+?) \((b|mib)\)$/i.exec(key.trim());
    if (!match || (match[1] as string).toLowerCase() !== wanted) continue;
    const amount = Number(String(value).trim());
    if (!Number.isFinite(amount)) return null;
    return (match[2] as string).toLowerCase() === "b" ? Math.floor(amount / MIB) : Math.floor(amount);
  }
  return null;
}
