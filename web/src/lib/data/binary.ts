// Raw little-endian bodies (coordinates, values, category codes) to typed arrays. On the
// little-endian machines browsers run on these are zero-copy views; a big-endian host gets a copy.

import type { CodeType } from './types';

export class DecodeError extends Error {}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const BYTES: Record<CodeType, number> = { uint8: 1, uint16: 2, uint32: 4 };

function checkLength(buf: ArrayBuffer, bytesPerItem: number, expectedItems: number | undefined, what: string) {
  if (buf.byteLength % bytesPerItem !== 0)
    throw new DecodeError(`${what}: ${buf.byteLength} bytes is not a multiple of ${bytesPerItem}`);
  const n = buf.byteLength / bytesPerItem;
  if (expectedItems !== undefined && n !== expectedItems)
    throw new DecodeError(`${what}: expected ${expectedItems} values, got ${n}`);
}

/** A little-endian float32 body as a Float32Array, checking the count when given. */
export function decodeFloat32(buf: ArrayBuffer, expectedItems?: number, what = 'float32 body'): Float32Array {
  checkLength(buf, 4, expectedItems, what);
  if (LITTLE_ENDIAN) return new Float32Array(buf);
  const view = new DataView(buf);
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** A little-endian code body as the typed array its code type names. */
export function decodeCodes(buf: ArrayBuffer, type: CodeType, expectedItems?: number): Uint8Array | Uint16Array | Uint32Array {
  const size = BYTES[type];
  if (!size) throw new DecodeError(`unknown code type ${String(type)}`);
  checkLength(buf, size, expectedItems, `${type} codes`);
  if (type === 'uint8') return new Uint8Array(buf);
  if (LITTLE_ENDIAN) return type === 'uint16' ? new Uint16Array(buf) : new Uint32Array(buf);
  const view = new DataView(buf);
  const n = buf.byteLength / size;
  if (type === 'uint16') {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, true);
    return out;
  }
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** Counts how often each code occurs (for legends over a subset, and to check the server's counts). */
export function countCodes(codes: ArrayLike<number>, nCategories: number): number[] {
  const counts = new Array<number>(nCategories).fill(0);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c < nCategories) counts[c]++;
  }
  return counts;
}

/** A little-endian uint32 body of row ids (query matches, subset rows), checking the count when given. */
export function decodeRowIds(buf: ArrayBuffer, expectedItems?: number, what = 'row ids'): Uint32Array {
  checkLength(buf, 4, expectedItems, what);
  return decodeCodes(buf, 'uint32') as Uint32Array;
}
