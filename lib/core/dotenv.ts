/**
 * A dotenv reader: `KEY=value`, `export KEY=value`, `# comments`, single or double quotes
 * (double quotes understand \n, \" and \\). Shell expansion is deliberately not supported.
 */
import { BasisError } from "./errors.ts";

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)?$/;

export function parseDotenv(text: string, source = ".env"): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = LINE.exec(raw);
    if (!match) {
      throw new BasisError("env_file_syntax", `${source}:${index + 1} is not KEY=value.`, {
        exitCode: 2,
        hint: "Fix or remove that line; comments start with #.",
      });
    }
    const key = match[1] as string;
    out[key] = readValue((match[2] ?? "").trim(), source, index + 1);
  });
  return out;
}

function readValue(value: string, source: string, line: number): string {
  const quote = value[0];
  if (quote === '"' || quote === "'") {
    const end = value.indexOf(quote, 1);
    let close = end;
    if (quote === '"') {
      close = -1;
      for (let i = 1; i < value.length; i++) {
        if (value[i] === "\\") i++;
        else if (value[i] === '"') {
          close = i;
          break;
        }
      }
    }
    if (close < 0) {
      throw new BasisError("env_file_syntax", `${source}:${line} has an unclosed quote.`, { exitCode: 2 });
    }
    const inner = value.slice(1, close);
    return quote === "'" ? inner : inner.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  const hash = value.search(/\s#/);
  return (hash >= 0 ? value.slice(0, hash) : value).trim();
}

/** Quote a value for writing so that parseDotenv reads it back unchanged. */
export function formatDotenvValue(value: string): string {
  if (value === "" || /^[A-Za-z0-9_./:@,+=-]+$/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
