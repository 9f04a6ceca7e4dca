/**
 * GGUF, llama.cpp's model file format (version 3), read and written in plain TypeScript:
 * a header, typed key/value metadata, tensor descriptions, then tensor data aligned to
 * `general.alignment` (32 by default). Enough of it to copy a vocabulary out of one of
 * llama.cpp's vocab-only files and write a small model around it.
 * Layout: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** The metadata value types, numbered as in the format. */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufTypeId = (typeof GgufType)[keyof typeof GgufType];

/** ggml tensor element types this module writes (others are read as opaque numbers). */
export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue =
  | { type: Exclude<GgufTypeId, 9>; value: GgufScalar }
  | { type: 9; itemType: Exclude<GgufTypeId, 9>; items: GgufScalar[] };

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (row length). */
  dims: number[];
  ggmlType: number;
  /** Byte offset of the data from the start of the data section. */
  offset: bigint;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
}

export class GgufFormatError extends Error {
  override readonly name = "GgufFormatError";
}

/** Reads the header, metadata and tensor descriptions (not the tensor data). */
export function readGguf(bytes: Uint8Array): GgufFile {
  const reader = new Reader(bytes);
  const magic = reader.u32();
  if (magic !== GGUF_MAGIC) throw new GgufFormatError("not a GGUF file (bad magic)");
  const version = reader.u32();
  if (version !== 2 && version !== 3) throw new GgufFormatError(`unsupported GGUF version ${version}`);
  const tensorCount = Number(reader.u64());
  const kvCount = Number(reader.u64());
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = reader.string();
    const type = reader.u32() as GgufTypeId;
    if (type === GgufType.ARRAY) {
      const itemType = reader.u32() as Exclude<GgufTypeId, 9>;
      const count = Number(reader.u64());
      const items: GgufScalar[] = new Array(count);
      for (let j = 0; j < count; j++) items[j] = reader.scalar(itemType);
      metadata.set(key, { type, itemType, items });
    } else {
      metadata.set(key, { type, value: reader.scalar(type) } as GgufValue);
    }
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = reader.string();
    const nDims = reader.u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(Number(reader.u64()));
    tensors.push({ name, dims, ggmlType: reader.u32(), offset: reader.u64() });
  }
  return { version, metadata, tensors };
}

export interface GgufTensorToWrite {
  name: string;
  dims: number[];
  data: Float32Array;
  /** Stored as F32 (default) or rounded to IEEE half precision (F16). */
  type?: "f32" | "f16";
}

/** Writes a GGUF v3 file with F32 or F16 tensors, each aligned to `general.alignment` (or 32). */
export function writeGguf(metadata: Map<string, GgufValue>, tensors: GgufTensorToWrite[]): Uint8Array {
  const alignValue = metadata.get("general.alignment");
  const alignment = alignValue && alignValue.type !== GgufType.ARRAY ? Number(alignValue.value) : GGUF_DEFAULT_ALIGNMENT;
  const writer = new Writer();
  writer.u32(GGUF_MAGIC);
  writer.u32(GGUF_VERSION);
  writer.u64(BigInt(tensors.length));
  writer.u64(BigInt(metadata.size));
  for (const [key, entry] of metadata) {
    writer.string(key);
    writer.u32(entry.type);
    if (entry.type === GgufType.ARRAY) {
      writer.u32(entry.itemType);
      writer.u64(BigInt(entry.items.length));
      for (const item of entry.items) writer.scalar(entry.itemType, item);
    } else {
      writer.scalar(entry.type, entry.value);
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  const payloads: Uint8Array[] = [];
  for (const tensor of tensors) {
    const elements = tensor.dims.reduce((a, b) => a * b, 1);
    if (elements !== tensor.data.length) {
      throw new GgufFormatError(`tensor ${tensor.name}: dims hold ${elements} values, data has ${tensor.data.length}`);
    }
    const half = tensor.type === "f16";
    const payload = half ? new Uint8Array(toHalfFloats(tensor.data).buffer) : new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    writer.string(tensor.name);
    writer.u32(tensor.dims.length);
    for (const dim of tensor.dims) writer.u64(BigInt(dim));
    writer.u32(half ? GGML_TYPE_F16 : GGML_TYPE_F32);
    writer.u64(BigInt(offset));
    offsets.push(offset);
    payloads.push(payload);
    offset = alignUp(offset + payload.byteLength, alignment);
  }
  writer.padTo(alignment);
  const dataStart = writer.length;
  const out = new Uint8Array(dataStart + offset);
  out.set(writer.bytes(), 0);
  payloads.forEach((payload, i) => out.set(payload, dataStart + (offsets[i] as number)));
  return out;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of `value`, rounded to nearest even (as numpy and ggml round). */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const bits = f32Bits[0] as number;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  let shift = 13;
  let half: number;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    shift = 14 - e;
    half = mantissa >>> shift;
  } else {
    half = (e << 10) | (mantissa >>> 13);
  }
  const rest = mantissa & ((1 << shift) - 1);
  const midpoint = 1 << (shift - 1);
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > midpoint || (rest === midpoint && (half & 1) === 1)) half++;
  return sign | half;
}

function toHalfFloats(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = toHalfBits(data[i] as number);
  return out;
}

export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** A metadata value as a plain JS value (arrays as arrays), for reading. */
export function metadataValue(file: GgufFile, key: string): GgufScalar | GgufScalar[] | undefined {
  const entry = file.metadata.get(key);
  if (!entry) return undefined;
  return entry.type === GgufType.ARRAY ? entry.items : entry.value;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(n: number): number {
    const at = this.#at;
    if (at + n > this.#bytes.length) throw new GgufFormatError(`truncated GGUF file (needed ${n} bytes at ${at})`);
    this.#at += n;
    return at;
  }

  u32(): number {
    return this.#view.getUint32(this.#need(4), true);
  }

  u64(): bigint {
    return this.#view.getBigUint64(this.#need(8), true);
  }

  string(): string {
    const length = Number(this.u64());
    const at = this.#need(length);
    return utf8Decoder.decode(this.#bytes.subarray(at, at + length));
  }

  scalar(type: GgufTypeId): GgufScalar {
    const view = this.#view;
    switch (type) {
      case GgufType.UINT8:
        return view.getUint8(this.#need(1));
      case GgufType.INT8:
        return view.getInt8(this.#need(1));
      case GgufType.UINT16:
        return view.getUint16(this.#need(2), true);
      case GgufType.INT16:
        return view.getInt16(this.#need(2), true);
      case GgufType.UINT32:
        return view.getUint32(this.#need(4), true);
      case GgufType.INT32:
        return view.getInt32(this.#need(4), true);
      case GgufType.FLOAT32:
        return view.getFloat32(this.#need(4), true);
      case GgufType.BOOL:
        return view.getUint8(this.#need(1)) !== 0;
      case GgufType.STRING:
        return this.string();
      case GgufType.UINT64:
        return view.getBigUint64(this.#need(8), true);
      case GgufType.INT64:
        return view.getBigInt64(this.#need(8), true);
      case GgufType.FLOAT64:
        return view.getFloat64(this.#need(8), true);
      default:
        throw new GgufFormatError(`unknown GGUF value type ${type}`);
    }
  }
}

class Writer {
  #buffer = new Uint8Array(1 << 20);
  #view = new DataView(this.#buffer.buffer);
  #at = 0;

  get length(): number {
    return this.#at;
  }

  bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#at);
  }

  #reserve(n: number): number {
    if (this.#at + n > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(this.#buffer.length * 2, this.#at + n));
      grown.set(this.#buffer.subarray(0, this.#at));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    const at = this.#at;
    this.#at += n;
    return at;
  }

  u32(value: number): void {
    this.#view.setUint32(this.#reserve(4), value, true);
  }

  u64(value: bigint): void {
    this.#view.setBigUint64(this.#reserve(8), value, true);
  }

  string(value: string): void {
    const encoded = utf8Encoder.encode(value);
    this.u64(BigInt(encoded.length));
    this.#buffer.set(encoded, this.#reserve(encoded.length));
  }

  padTo(alignment: number): void {
    this.#reserve(alignUp(this.#at, alignment) - this.#at);
  }

  scalar(type: GgufTypeId, value: GgufScalar): void {
    switch (type) {
      case GgufType.UINT8:
        return this.#view.setUint8(this.#reserve(1), Number(value));
      case GgufType.INT8:
        return this.#view.setInt8(this.#reserve(1), Number(value));
      case GgufType.UINT16:
        return this.#view.setUint16(this.#reserve(2), Number(value), true);
      case GgufType.INT16:
        return this.#view.setInt16(this.#reserve(2), Number(value), true);
      case GgufType.UINT32:
        return this.#view.setUint32(this.#reserve(4), Number(value), true);
      case GgufType.INT32:
        return this.#view.setInt32(this.#reserve(4), Number(value), true);
      case GgufType.FLOAT32:
        return this.#view.setFloat32(this.#reserve(4), Number(value), true);
      case GgufType.BOOL:
        return this.#view.setUint8(this.#reserve(1), value ? 1 : 0);
      case GgufType.STRING:
        return this.string(String(value));
      case GgufType.UINT64:
        return this.#view.setBigUint64(this.#reserve(8), BigInt(value), true);
      case GgufType.INT64:
        return this.#view.setBigInt64(this.#reserve(8), BigInt(value), true);
      case GgufType.FLOAT64:
        return this.#view.setFloat64(this.#reserve(8), Number(value), true);
      default:
        throw new GgufFormatError(`unknown GGUF value type ${type}`);
    }
  }
}
