/**
 * A seeded generator (a 32-bit LCG), for test and bench data that must be
 * the same every run, so a failing random case can be reproduced.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
