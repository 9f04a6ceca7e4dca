/**
 * Canonical JSON: the exact bytes a manifest signature covers. Signer and verifier must build
 * the same string from the same value, in any runtime, so the rule is small and strict:
 * object keys sorted by UTF-16 code units (the default JS sort) at every depth, no whitespace,
 * arrays in their order, strings and numbers exactly as JSON.stringify writes them.
 * Anything JSON cannot carry faithfully (undefined, functions, bigint, NaN, Infinity, class
 * instances such as Date or Map, cycles) is refused instead of silently dropped or rewritten,
 * because a dropped field would be a field the signature does not cover.
 */
import { BasisError } from "./errors.ts";

function refuse(path: string, what: string): never {
  throw new BasisError("canonical_json_unsupported", `Cannot canonicalise ${path}: ${what}.`);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function write(value: unknown, path: string, open: Set<object>): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) refuse(path, "a non-finite number");
      return JSON.stringify(value);
    case "object":
      break;
    default:
      refuse(path, `a value of type ${typeof value}`);
  }
  if (value === null) return "null";
  if (open.has(value)) refuse(path, "a circular reference");
  open.add(value);
  let out: string;
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let index = 0; index < value.length; index++) {
      items.push(write(value[index], `${path}[${index}]`, open));
    }
    out = `[${items.join(",")}]`;
  } else {
    if (!isPlainObject(value)) refuse(path, "an object that is not plain JSON");
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${write(record[key], `${path}.${key}`, open)}`);
    out = `{${members.join(",")}}`;
  }
  open.delete(value);
  return out;
}

/** The canonical JSON text of a JSON value; throws `canonical_json_unsupported` otherwise. */
export function canonicalJson(value: unknown): string {
  return write(value, "value", new Set());
}

/**
 * The message a manifest's signature covers: the canonical JSON of the manifest with the
 * `signature` member left out (present or not, signed or unsigned give the same message).
 */
export function canonicalOfferMessage(manifest: Readonly<Record<string, unknown>>): string {
  const { signature: _signature, ...unsigned } = manifest;
  return canonicalJson(unsigned);
}
