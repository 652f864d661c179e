//! SHA-512 of two equal-length messages at once, one per 64-bit lane of a
//! wasm SIMD vector. Merkle leaves are independent blocks, so pairing them
//! roughly doubles the rounds per instruction; wasm has no SHA instructions
//! and the scalar rounds are what limits a digest's speed.
//! Only built for wasm32 with simd128; other targets hash one at a time.

use core::arch::wasm32::{
    i64x2_shl, i64x2_shuffle, i8x16, i8x16_swizzle, u64x2, u64x2_add, u64x2_extract_lane, u64x2_shr, v128,
    v128_and, v128_andnot, v128_load, v128_or, v128_xor,
};

const K: [u64; 80] = [
    0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc, 0x3956c25bf348b538,
    0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118, 0xd807aa98a3030242, 0x12835b0145706fbe,
    0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2, 0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235,
    0xc19bf174cf692694, 0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
    0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5, 0x983e5152ee66dfab,
    0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4, 0xc6e00bf33da88fc2, 0xd5a79147930aa725,
    0x06ca6351e003826f, 0x142929670a0e6e70, 0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df, 0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
    0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30, 0xd192e819d6ef5218,
    0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8, 0x19a4c116b8d2d0c8, 0x1e376c085141ab53,
    0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8, 0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3, 0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
    0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b, 0xca273eceea26619c,
    0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178, 0x06f067aa72176fba, 0x0a637dc5a2c898a6,
    0x113f9804bef90dae, 0x1b710b35131c471b, 0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c, 0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
];

/// K splatted to both lanes, so a round loads it with one instruction.
const KV: [v128; 80] = {
    let mut kv = [u64x2(0, 0); 80];
    let mut t = 0;
    while t < 80 {
        kv[t] = u64x2(K[t], K[t]);
        t += 1;
    }
    kv
};

const IV: [u64; 8] = [
    0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
    0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
];

#[inline(always)]
fn rotr<const R: u32, const L: u32>(x: v128) -> v128 {
    v128_or(u64x2_shr(x, R), i64x2_shl(x, L))
}

#[inline(always)]
fn big_sigma0(x: v128) -> v128 {
    v128_xor(v128_xor(rotr::<28, 36>(x), rotr::<34, 30>(x)), rotr::<39, 25>(x))
}

#[inline(always)]
fn big_sigma1(x: v128) -> v128 {
    v128_xor(v128_xor(rotr::<14, 50>(x), rotr::<18, 46>(x)), rotr::<41, 23>(x))
}

/// Rotating by a whole byte is one shuffle instead of two shifts and an or.
#[inline(always)]
fn rotr8(x: v128) -> v128 {
    i8x16_swizzle(x, i8x16(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8))
}

#[inline(always)]
fn small_sigma0(x: v128) -> v128 {
    v128_xor(v128_xor(rotr::<1, 63>(x), rotr8(x)), u64x2_shr(x, 7))
}

#[inline(always)]
fn small_sigma1(x: v128) -> v128 {
    v128_xor(v128_xor(rotr::<19, 45>(x), rotr::<61, 3>(x)), u64x2_shr(x, 6))
}

/// Big-endian words 2i and 2i+1 of a 128-byte chunk.
#[inline(always)]
fn words(chunk: &[u8; 128], i: usize) -> v128 {
    let bytes = &chunk[i * 16..i * 16 + 16];
    // SAFETY: `bytes` is 16 readable bytes; v128_load has no alignment
    // requirement.
    let v = unsafe { v128_load(bytes.as_ptr().cast::<v128>()) };
    i8x16_swizzle(v, i8x16(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8))
}

#[inline(always)]
fn ch(e: v128, f: v128, g: v128) -> v128 {
    v128_xor(v128_and(e, f), v128_andnot(g, e))
}


/// One 128-byte chunk of each message into the paired state.
#[inline(always)]
fn compress(state: &mut [v128; 8], a: &[u8; 128], b: &[u8; 128]) {
    let mut w = [u64x2(0, 0); 16];
    for i in 0..8 {
        let (wa, wb) = (words(a, i), words(b, i));
        w[2 * i] = i64x2_shuffle::<0, 2>(wa, wb);
        w[2 * i + 1] = i64x2_shuffle::<1, 3>(wa, wb);
    }
    let [mut va, mut vb, mut vc, mut vd, mut ve, mut vf, mut vg, mut vh] = *state;
    // Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)), and this round's b ^ c is the
    // previous round's a ^ b: one operation less per round.
    let mut bc = v128_xor(vb, vc);
    for t in 0..80 {
        if t >= 16 {
            w[t % 16] = u64x2_add(
                u64x2_add(small_sigma1(w[(t + 14) % 16]), w[(t + 9) % 16]),
                u64x2_add(small_sigma0(w[(t + 1) % 16]), w[t % 16]),
            );
        }
        let t1 = u64x2_add(
            u64x2_add(vh, big_sigma1(ve)),
            u64x2_add(ch(ve, vf, vg), u64x2_add(KV[t], w[t % 16])),
        );
        let ab = v128_xor(va, vb);
        let t2 = u64x2_add(big_sigma0(va), v128_xor(vb, v128_and(ab, bc)));
        bc = ab;
        vh = vg;
        vg = vf;
        vf = ve;
        ve = u64x2_add(vd, t1);
        vd = vc;
        vc = vb;
        vb = va;
        va = u64x2_add(t1, t2);
    }
    for (s, v) in state.iter_mut().zip([va, vb, vc, vd, ve, vf, vg, vh]) {
        *s = u64x2_add(*s, v);
    }
}

/// SHA-512 of `a` and `b`, which must be the same length and a multiple of
/// 128 bytes (fs-verity blocks always are).
pub fn sha512_x2(a: &[u8], b: &[u8], out_a: &mut [u8], out_b: &mut [u8]) {
    debug_assert!(a.len() == b.len() && a.len().is_multiple_of(128));
    let mut state = IV.map(|h| u64x2(h, h));
    for (ca, cb) in a.chunks_exact(128).zip(b.chunks_exact(128)) {
        compress(&mut state, ca.try_into().expect("chunk of 128"), cb.try_into().expect("chunk of 128"));
    }
    let mut pad = [0u8; 128];
    pad[0] = 0x80;
    pad[112..].copy_from_slice(&((a.len() as u128) * 8).to_be_bytes());
    compress(&mut state, &pad, &pad);
    for (i, s) in state.iter().enumerate() {
        out_a[i * 8..i * 8 + 8].copy_from_slice(&u64x2_extract_lane::<0>(*s).to_be_bytes());
        out_b[i * 8..i * 8 + 8].copy_from_slice(&u64x2_extract_lane::<1>(*s).to_be_bytes());
    }
}
