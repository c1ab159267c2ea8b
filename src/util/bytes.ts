/**
 * Zero-copy byte helpers. Node's Buffer has fast latin1/utf8 slicing methods that skip the
 * argument checks of toString(); they are public at runtime but missing from @types/node.
 */
declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    utf8Slice(start: number, end: number): string;
  }
}

/** A shared empty buffer (never write into it). */
export const EMPTY = Buffer.alloc(0);

/** Concatenate two buffers (used only when a line or frame straddles two reads). */
export function concat2(a: Buffer, b: Buffer, bStart: number): Buffer {
  const out = Buffer.allocUnsafe(a.length + b.length - bStart);
  a.copy(out, 0);
  b.copy(out, a.length, bStart);
  return out;
}
