//! Horizontal pass with table-driven byte-permute gathers: AVX-512 VBMI
//! (`vpermt2b`) on x86-64, NEON (`tbl`) on aarch64.
//!
//! The portable kernels of `preprocess.rs` spend most of their time on the
//! gather (the two source bytes of each output sample, one scalar load per
//! sample). Here a per-geometry table, built once with the plan, gives for
//! each block of output samples the offset of a window of the source row
//! and, per channel, the byte indices of each sample's `(s0, s1)` pair in
//! that window; one permute gathers a channel's pairs, the 11-bit weights
//! `(w0, w1)` are applied in 32-bit lanes and `>> 4` gives OpenCV's
//! horizontal value: the same integer arithmetic as the scalar reference,
//! so the result is identical (tested, on aarch64 under qemu by
//! `scripts/test-aarch64.sh`). One table serves every layout: packed RGB (3
//! or 4 bytes a pixel, 3 channels from one window), a plane (1 channel) and
//! NV12's interleaved chroma (2 channels).
//!
//! | ISA | samples a block | window | permute |
//! |---|---|---|---|
//! | AVX-512 F+BW+VBMI | 16 | 128 bytes | `vpermt2b`, odd bytes zeroed, `vpmaddwd` |
//! | NEON (aarch64) | 8 | 64 bytes | `tbl` of 4 registers, `umull`/`umlal` |
//!
//! Why `std::arch` and not the portable `multiversion` kernels: a table
//! driven byte permute is not something the compiler derives from scalar
//! code, and no well-kept portable SIMD crate exposes `vpermt2b` / `tbl`
//! with a run-time table. AVX-512 VBMI is on Intel Ice Lake and later and
//! AMD Zen 4 and later; on other x86-64 CPUs, on other targets, and where a
//! block does not fit its window (downscaling packed RGB by more than about
//! 2.5, planes by more than about 4 on NEON and 8 with VBMI), the plan
//! keeps no table and the portable kernels run. The NEON kernel is tested
//! under qemu only: its speed is unmeasured on Arm hardware.

use super::Tap;

/// Output samples per block.
#[cfg(not(target_arch = "aarch64"))]
const LANES: usize = 16;
#[cfg(target_arch = "aarch64")]
const LANES: usize = 8;
/// Bytes of source row one block may read.
#[cfg(not(target_arch = "aarch64"))]
const WINDOW: usize = 128;
#[cfg(target_arch = "aarch64")]
const WINDOW: usize = 64;
/// Index bytes per block and channel: AVX-512, byte `4j` = window index of
/// `s0` of sample `j`, byte `4j + 2` = that of `s1` (odd bytes unused);
/// NEON, byte `j` = `s0` of sample `j`, byte `8 + j` = its `s1`.
#[cfg(not(target_arch = "aarch64"))]
const IDX: usize = 4 * LANES;
#[cfg(target_arch = "aarch64")]
const IDX: usize = 2 * LANES;

/// Gather table of one axis of a plan for one set of channel offsets.
#[derive(Debug, Clone, Default)]
pub(super) struct GatherTable {
    /// Number of output samples per channel.
    n: usize,
    /// Number of channel offsets (1 to 3).
    channels: usize,
    /// Rows must hold at least this many bytes.
    row_len: usize,
    /// Per block: offset of its window in the row.
    base: Vec<usize>,
    /// Per block: weights, AVX-512 `w0 | w1 << 16` per sample; NEON the
    /// eight `w0` then the eight `w1`.
    weights: Vec<[u32; LANES]>,
    /// Per block and channel: window indices (see `IDX`).
    idx: Vec<[u8; IDX]>,
}

impl GatherTable {
    /// The table for taps `xs` over rows of `row_len` bytes, reading the
    /// bytes at `tap index + off` for each `off` in `offs`; `None` where the
    /// CPU lacks the instructions or a block does not fit its window.
    pub(super) fn new(xs: &[Tap], offs: &[usize], row_len: usize) -> Option<Self> {
        if !cpu_supported() || offs.is_empty() || offs.len() > 3 || row_len < WINDOW {
            return None;
        }
        let blocks = xs.len().div_ceil(LANES);
        let mut t = GatherTable {
            n: xs.len(),
            channels: offs.len(),
            row_len,
            base: Vec::with_capacity(blocks),
            weights: Vec::with_capacity(blocks),
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
            let mut w = [0u32; LANES];
            for (j, tap) in block.iter().enumerate() {
                if cfg!(target_arch = "aarch64") {
                    // Eight u16 `w0`, then eight u16 `w1` (little-endian).
                    let half = |k: usize, v: u32| (v & 0xffff) << (16 * (k % 2));
                    w[j / 2] |= half(j, tap.w0);
                    w[LANES / 2 + j / 2] |= half(j, tap.w1);
                } else {
                    w[j] = tap.w0 | (tap.w1 << 16);
                }
            }
            for &off in offs {
                let mut idx = [0u8; IDX];
                for (j, tap) in block.iter().enumerate() {
                    let (a, b) = (tap.i0 as usize + off - base, tap.i1 as usize + off - base);
                    if cfg!(target_arch = "aarch64") {
                        (idx[j], idx[LANES + j]) = (a as u8, b as u8);
                    } else {
                        (idx[4 * j], idx[4 * j + 2]) = (a as u8, b as u8);
                    }
                }
                t.idx.push(idx);
            }
            t.base.push(base);
            t.weights.push(w);
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
        // SAFETY: a table exists only where the CPU has the kernel's
        // instructions (`cpu_supported` in `new`).
        #[allow(unused_unsafe)]
        unsafe {
            hpass(self, src, dst)
        };
        true
    }

    /// Blocks with their window, weights and per-channel indices, and the
    /// output range `k0..k0 + m` of each.
    fn blocks<'a>(
        &'a self,
        src: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], &'a [u32; LANES], &'a [[u8; IDX]], usize, usize)> {
        let blocks = self.base.iter().zip(&self.weights);
        blocks
            .zip(self.idx.chunks_exact(self.channels))
            .enumerate()
            .map_while(move |(b, ((&base, w), idx))| {
                let k0 = b * LANES;
                let m = LANES.min(self.n - k0);
                Some((src.get(base..base + WINDOW)?, w, idx, k0, m))
            })
    }
}

/// Whether this CPU runs the kernel (std caches the CPUID answer).
pub(super) fn cpu_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vbmi")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("neon")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    false
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn hpass(t: &GatherTable, src: &[u8], dst: &mut [u16]) {
    use std::arch::x86_64::*;
    // Keeps the even bytes: each 16-bit lane holds one source byte.
    const EVEN: __mmask64 = 0x5555_5555_5555_5555;
    let n = t.n;
    for (win, wp, idx, k0, m) in t.blocks(src) {
        // SAFETY: `win` holds 128 bytes, `wp` 64 (unaligned loads).
        let (lo, hi, w) = unsafe {
            (
                _mm512_loadu_si512(win.as_ptr().cast()),
                _mm512_loadu_si512(win.as_ptr().add(64).cast()),
                _mm512_loadu_si512(wp.as_ptr().cast()),
            )
        };
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

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
fn hpass(t: &GatherTable, src: &[u8], dst: &mut [u16]) {
    use std::arch::aarch64::*;
    let n = t.n;
    for (win, w, idx, k0, m) in t.blocks(src) {
        // SAFETY: `win` holds 64 bytes, `w` 32 (unaligned loads).
        let (table, w0, w1) = unsafe {
            let w = w.as_ptr().cast::<u16>();
            (
                vld1q_u8_x4(win.as_ptr()),
                vld1q_u16(w),
                vld1q_u16(w.add(LANES)),
            )
        };
        for (c, ix) in idx.iter().enumerate() {
            // SAFETY: `ix` holds 16 bytes.
            let ix = unsafe { vld1q_u8(ix.as_ptr()) };
            // s0 of the eight samples in the low half, s1 in the high half.
            let pairs = vqtbl4q_u8(table, ix);
            let s0 = vmovl_u8(vget_low_u8(pairs));
            let s1 = vmovl_high_u8(pairs);
            let lo = vmlal_u16(
                vmull_u16(vget_low_u16(s0), vget_low_u16(w0)),
                vget_low_u16(s1),
                vget_low_u16(w1),
            );
            let hi = vmlal_high_u16(vmull_high_u16(s0, w0), s1, w1);
            // At most 255 * 2048 >> 4 = 32640: the narrowing keeps it.
            let v = vcombine_u16(vshrn_n_u32::<4>(lo), vshrn_n_u32::<4>(hi));
            let out = &mut dst[c * n + k0..c * n + k0 + m];
            if m == LANES {
                // SAFETY: `out` holds 8 u16 (16 bytes).
                unsafe { vst1q_u16(out.as_mut_ptr(), v) };
            } else {
                let mut tmp = [0u16; LANES];
                // SAFETY: `tmp` holds 16 bytes.
                unsafe { vst1q_u16(tmp.as_mut_ptr(), v) };
                out.copy_from_slice(&tmp[..m]);
            }
        }
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn hpass(_: &GatherTable, _: &[u8], _: &mut [u16]) {}
