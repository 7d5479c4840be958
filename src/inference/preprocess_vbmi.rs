//! Horizontal pass with byte-permute gathers (x86-64 AVX-512 VBMI).
//!
//! The portable kernels of `preprocess.rs` spend most of their time on the
//! gather (the two source bytes of each output sample, one scalar load per
//! sample). Here a per-geometry table, built once with the plan, gives for
//! each block of 16 output samples the offset of a 128-byte window of the
//! source row and, per channel, 64 byte indices into that window; one
//! `vpermt2b` then gathers the 16 `(s0, s1)` byte pairs of a channel
//! straight into 16-bit lanes (odd bytes zeroed by the mask), `vpmaddwd`
//! applies the 11-bit weights `(w0, w1)` and `>> 4` gives OpenCV's
//! horizontal value: the same integer arithmetic as the scalar reference,
//! so the result is identical (tested). One table serves every layout:
//! packed RGB (3 or 4 bytes a pixel, 3 channels from one window), a plane
//! (1 channel) and NV12's interleaved chroma (2 channels).
//!
//! Why `std::arch` and not the portable `multiversion` kernels: a table
//! driven byte permute is not something the compiler derives from scalar
//! code, and no well-kept portable SIMD crate exposes `vpermt2b`. AVX-512
//! VBMI is on Intel Ice Lake and later and AMD Zen 4 and later; on other
//! CPUs (and where a block does not fit its window, e.g. downscaling by
//! more than about 2.6 on packed RGB) the plan keeps no table and the
//! portable kernels run.

use super::Tap;

/// Output samples per block (16 32-bit lanes of a 512-bit register).
const LANES: usize = 16;
/// Bytes of source row one block may read (two 512-bit registers).
const WINDOW: usize = 128;

/// Gather table of one axis of a plan for one set of channel offsets.
#[derive(Debug, Clone, Default)]
pub(super) struct GatherTable {
    /// Number of output samples per channel.
    n: usize,
    /// Byte offsets of the channels within a sample (at most 3).
    channels: usize,
    /// Rows must hold at least this many bytes.
    row_len: usize,
    /// Per block: offset of its window in the row.
    base: Vec<usize>,
    /// Per block: 16 weights `w0 | w1 << 16`.
    wp: Vec<[u32; LANES]>,
    /// Per block and channel: byte `4j` = window index of `s0` of output
    /// `j`, byte `4j + 2` = that of `s1` (odd bytes unused).
    idx: Vec<[u8; 64]>,
}

impl GatherTable {
    /// The table for taps `xs` over rows of `row_len` bytes, reading the
    /// bytes at `tap index + off` for each `off` in `offs`; `None` where the
    /// CPU lacks AVX-512 VBMI or a block does not fit a 128-byte window.
    pub(super) fn new(xs: &[Tap], offs: &[usize], row_len: usize) -> Option<Self> {
        if !cpu_has_vbmi() || offs.is_empty() || offs.len() > 3 || row_len < WINDOW {
            return None;
        }
        let blocks = xs.len().div_ceil(LANES);
        let mut t = GatherTable {
            n: xs.len(),
            channels: offs.len(),
            row_len,
            base: Vec::with_capacity(blocks),
            wp: Vec::with_capacity(blocks),
            idx: Vec::with_capacity(blocks * offs.len()),
        };
        let max_off = *offs.iter().max()?;
        for block in xs.chunks(LANES) {
            let lo = block.iter().map(|t| t.i0.min(t.i1)).min()? as usize;
            let hi = block.iter().map(|t| t.i0.max(t.i1)).max()? as usize + max_off;
            // Keep the window inside the row (the last blocks of a row).
            let base = lo.min(row_len - WINDOW);
            if hi >= row_len || hi - base >= WINDOW {
                return None;
            }
            let mut wp = [0u32; LANES];
            for (w, tap) in wp.iter_mut().zip(block) {
                *w = tap.w0 | (tap.w1 << 16);
            }
            for &off in offs {
                let mut idx = [0u8; 64];
                for (j, tap) in block.iter().enumerate() {
                    idx[4 * j] = (tap.i0 as usize + off - base) as u8;
                    idx[4 * j + 2] = (tap.i1 as usize + off - base) as u8;
                }
                t.idx.push(idx);
            }
            t.base.push(base);
            t.wp.push(wp);
        }
        Some(t)
    }

    /// Resamples `src` (a row at least `row_len` long) into `dst`, one run
    /// of `n` values per channel; returns `false` (and writes nothing) when
    /// the row or `dst` is too short, for the caller's fallback.
    pub(super) fn run(&self, src: &[u8], dst: &mut [u16]) -> bool {
        if src.len() < self.row_len || dst.len() < self.channels * self.n {
            return false;
        }
        // SAFETY: the table exists only where the CPU has AVX-512 F, BW and
        // VBMI (`cpu_has_vbmi` in `new`).
        #[allow(unused_unsafe)]
        unsafe {
            hpass(self, src, dst)
        };
        true
    }
}

/// Whether this CPU runs the kernel (std caches the CPUID answer).
fn cpu_has_vbmi() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn hpass(t: &GatherTable, src: &[u8], dst: &mut [u16]) {
    use std::arch::x86_64::*;
    // Keeps the even bytes: each 16-bit lane holds one source byte.
    const EVEN: __mmask64 = 0x5555_5555_5555_5555;
    let n = t.n;
    let blocks = t.base.iter().zip(&t.wp).zip(t.idx.chunks_exact(t.channels));
    for (b, ((&base, wp), idx)) in blocks.enumerate() {
        let Some(win) = src.get(base..base + WINDOW) else {
            return;
        };
        // SAFETY: `win` holds 128 bytes; `wp` 64 bytes (unaligned loads).
        let (lo, hi, w) = unsafe {
            (
                _mm512_loadu_si512(win.as_ptr().cast()),
                _mm512_loadu_si512(win.as_ptr().add(64).cast()),
                _mm512_loadu_si512(wp.as_ptr().cast()),
            )
        };
        let k0 = b * LANES;
        let m = LANES.min(n - k0);
        for (c, ix) in idx.iter().enumerate() {
            // SAFETY: `ix` holds 64 bytes.
            let ix = unsafe { _mm512_loadu_si512(ix.as_ptr().cast()) };
            let pairs = _mm512_maskz_permutex2var_epi8(EVEN, lo, ix, hi);
            // s0 * w0 + s1 * w1 <= 255 * 2048: no overflow, `>> 4` as the
            // scalar code, and the 16-bit narrowing keeps the value.
            let sum = _mm512_srli_epi32::<4>(_mm512_madd_epi16(pairs, w));
            let v = _mm512_cvtepi32_epi16(sum);
            let out = &mut dst[c * n + k0..c * n + k0 + m];
            if m == LANES {
                // SAFETY: `out` holds 16 u16 (32 bytes).
                unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
            } else {
                let mut tmp = [0u16; LANES];
                // SAFETY: `tmp` holds 32 bytes.
                unsafe { _mm256_storeu_si256(tmp.as_mut_ptr().cast(), v) };
                out.copy_from_slice(&tmp[..m]);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn hpass(_: &GatherTable, _: &[u8], _: &mut [u16]) {}
