/** The byte pattern of test/vectors: byte i is (31 i + 7) mod 251. */
export function pattern(size: number, offset = 0): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = ((offset + i) * 31 + 7) % 251;
  return buf;
}
