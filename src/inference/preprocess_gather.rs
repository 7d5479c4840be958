//! Horizontal pass with table-driven byte-permute gathers: AVX-512 VBMI
//! (`vpermt2b`) or AVX2 (`vpshufb`, planes) on x86-64, NEON (`tbl`) on
//! aarch64.
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
//! | AVX2 | 8 | 16 bytes | `vpshufb` (`0x80` zeroes), `vpmaddwd` |
//! | NEON (aarch64) | 8 | 64 bytes | `tbl` of 4 registers, `umull`/`umlal` |
//!
//! Why `std::arch` and not the portable `multiversion` kernels: a table
//! driven byte permute is not something the compiler derives from scalar
//! code, and no well-kept portable SIMD crate exposes `vpermt2b` / `tbl`
//! with a run-time table. AVX-512 VBMI is on Intel Ice Lake and later and
//! AMD Zen 4 and later; AVX2's 16-byte window fits eight samples of a plane
//! (downscaling by up to about 2) but never eight packed pixels, so on
//! AVX2-only CPUs packed RGB and NV12's chroma keep the portable kernels.
//! On other targets, and where a block does not fit its window
//! (downscaling packed RGB by more than about 2.5, planes by more than
//! about 4 on NEON and 8 with VBMI), the plan keeps no table and the
//! portable kernels run. The NEON kernel is tested under qemu only: its
//! speed is unmeasured on Arm hardware.

use super::Tap;

/// Which kernel a table is laid out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// AVX-512 F+BW+VBMI: 16 samples a block, 128-byte window, `vpermt2b`.
    Vbmi,
    /// AVX2: 8 samples a block, 16-byte window, `vpshufb` (planes only in
    /// practice: 8 packed pixels never fit 16 bytes).
    Avx2,
    /// aarch64 NEON: 8 samples a block, 64-byte window, `tbl`.
    Neon,
}

impl Kind {
    /// Kernels in order of preference for this target.
    pub(super) const PREFERENCE: &[Kind] = if cfg!(target_arch = "aarch64") {
        &[Kind::Neon]
    } else {
        &[Kind::Vbmi, Kind::Avx2]
    };

    /// Output samples per block.
    fn lanes(self) -> usize {
        match self {
            Kind::Vbmi => 16,
            Kind::Avx2 | Kind::Neon => 8,
        }
    }

    /// Bytes of source row one block may read.
    fn window(self) -> usize {
        match self {
            Kind::Vbmi => 128,
            Kind::Avx2 => 16,
            Kind::Neon => 64,
        }
    }

    /// Index bytes per block and channel: VBMI / AVX2, byte `4j` = window
    /// index of `s0` of sample `j`, byte `4j + 2` = that of `s1` (odd
    /// bytes zeroed by the mask / `0x80`); NEON, byte `j` = `s0` of sample
    /// `j`, byte `8 + j` = its `s1`.
    fn idx_len(self) -> usize {
        match self {
            Kind::Vbmi => 64,
            Kind::Avx2 => 32,
            Kind::Neon => 16,
        }
    }

    /// Whether this CPU runs the kernel (std caches the CPUID answer).
    pub(super) fn supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kind::Vbmi => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vbmi")
            }
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "aarch64")]
            Kind::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }
}

/// Whether this CPU has any of the gather kernels.
#[cfg(test)]
pub(super) fn cpu_supported() -> bool {
    Kind::PREFERENCE.iter().any(|k| k.supported())
}

/// Gather table of one axis of a plan for one set of channel offsets.
#[derive(Debug, Clone)]
pub(super) struct GatherTable {
    kind: Kind,
    /// Number of output samples per channel.
    n: usize,
    /// Number of channel offsets (1 to 3).
    channels: usize,
    /// Rows must hold at least this many bytes.
    row_len: usize,
    /// Per block: offset of its window in the row.
    base: Vec<usize>,
    /// Per block, `lanes` words: VBMI / AVX2 `w0 | w1 << 16` per sample;
    /// NEON the eight `w0` then the eight `w1` as u16.
    weights: Vec<u32>,
    /// Per block and channel, `idx_len` window indices.
    idx: Vec<u8>,
}

impl GatherTable {
    /// The table for taps `xs` over rows of `row_len` bytes, reading the
    /// bytes at `tap index + off` for each `off` in `offs`, for the first
    /// of `kinds` (normally [`Kind::PREFERENCE`]) the CPU has whose window
    /// every block fits; `None` if none.
    pub(super) fn among(
        kinds: &[Kind],
        xs: &[Tap],
        offs: &[usize],
        row_len: usize,
    ) -> Option<Self> {
        kinds
            .iter()
            .filter(|k| k.supported())
            .find_map(|&k| Self::with_kind(k, xs, offs, row_len))
    }

    /// The table for one kernel (whether or not the CPU has it).
    pub(super) fn with_kind(
        kind: Kind,
        xs: &[Tap],
        offs: &[usize],
        row_len: usize,
    ) -> Option<Self> {
        let (lanes, window, idx_len) = (kind.lanes(), kind.window(), kind.idx_len());
        if offs.is_empty() || offs.len() > 3 || row_len < window {
            return None;
        }
        let blocks = xs.len().div_ceil(lanes);
        let mut t = GatherTable {
            kind,
            n: xs.len(),
            channels: offs.len(),
            row_len,
            base: Vec::with_capacity(blocks),
            weights: Vec::with_capacity(blocks * lanes),
            idx: Vec::with_capacity(blocks * offs.len() * idx_len),
        };
        let max_off = *offs.iter().max()?;
        for block in xs.chunks(lanes) {
            let lo = block.iter().map(|t| t.i0.min(t.i1)).min()? as usize;
            let hi = block.iter().map(|t| t.i0.max(t.i1)).max()? as usize + max_off;
            // Keep the window inside the row (the last blocks of a row).
            let base = lo.min(row_len - window);
            if hi >= row_len || hi - base >= window {
                return None;
            }
            let mut w = vec![0u32; lanes];
            for (j, tap) in block.iter().enumerate() {
                if kind == Kind::Neon {
                    // Eight u16 `w0`, then eight u16 `w1` (little-endian).
                    let half = |v: u32| (v & 0xffff) << (16 * (j % 2));
                    w[j / 2] |= half(tap.w0);
                    w[lanes / 2 + j / 2] |= half(tap.w1);
                } else {
                    w[j] = tap.w0 | (tap.w1 << 16);
                }
            }
            t.weights.extend_from_slice(&w);
            for &off in offs {
                let zero = if kind == Kind::Avx2 { 0x80 } else { 0 };
                let mut idx = vec![zero; idx_len];
                for (j, tap) in block.iter().enumerate() {
                    let (a, b) = (tap.i0 as usize + off - base, tap.i1 as usize + off - base);
                    if kind == Kind::Neon {
                        (idx[j], idx[lanes + j]) = (a as u8, b as u8);
                    } else {
                        (idx[4 * j], idx[4 * j + 2]) = (a as u8, b as u8);
                    }
                }
                t.idx.extend_from_slice(&idx);
            }
            t.base.push(base);
        }
        Some(t)
    }

    /// The kernel the table is for.
    #[cfg(test)]
    pub(super) fn kind(&self) -> Kind {
        self.kind
    }

    /// Resamples `src` (a row at least `row_len` long) into `dst`, one run
    /// of `n` values per channel; returns `false` (and writes nothing) when
    /// the row or `dst` is too short or the CPU lacks the kernel, for the
    /// caller's fallback.
    pub(super) fn run(&self, src: &[u8], dst: &mut [u16]) -> bool {
        if src.len() < self.row_len || dst.len() < self.channels * self.n {
            return false;
        }
        if !self.kind.supported() {
            return false;
        }
        // SAFETY (all three): the CPU has the kernel's instructions
        // (checked just above).
        #[allow(unused_unsafe)]
        match self.kind {
            #[cfg(target_arch = "x86_64")]
            Kind::Vbmi => unsafe { hpass_vbmi(self, src, dst) },
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => unsafe { hpass_avx2(self, src, dst) },
            #[cfg(target_arch = "aarch64")]
            Kind::Neon => unsafe { hpass_neon(self, src, dst) },
            #[allow(unreachable_patterns)]
            _ => return false,
        }
        true
    }

    /// Blocks with their window, weights and per-channel indices (one
    /// `idx_len` run each), and the output range `k0..k0 + m` of each.
    fn blocks<'a>(
        &'a self,
        src: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], &'a [u32], &'a [u8], usize, usize)> {
        let (lanes, window) = (self.kind.lanes(), self.kind.window());
        let per_block = self.channels * self.kind.idx_len();
        let blocks = self.base.iter().zip(self.weights.chunks_exact(lanes));
        blocks
            .zip(self.idx.chunks_exact(per_block))
            .enumerate()
            .map_while(move |(b, ((&base, w), idx))| {
                let k0 = b * lanes;
                let m = lanes.min(self.n - k0);
                Some((src.get(base..base + window)?, w, idx, k0, m))
            })
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
fn hpass_vbmi(t: &GatherTable, src: &[u8], dst: &mut [u16]) {
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
        for (c, ix) in idx.chunks_exact(64).enumerate() {
            // SAFETY: `ix` holds 64 bytes.
            let ix = unsafe { _mm512_loadu_si512(ix.as_ptr().cast()) };
            let pairs = _mm512_maskz_permutex2var_epi8(EVEN, lo, ix, hi);
            // s0 * w0 + s1 * w1 <= 255 * 2048: no overflow, `>> 4` as the
            // scalar code, and the 16-bit narrowing keeps the value.
            let sum = _mm512_srli_epi32::<4>(_mm512_madd_epi16(pairs, w));
            let v = _mm512_cvtepi32_epi16(sum);
            let out = &mut dst[c * n + k0..c * n + k0 + m];
            if m == 16 {
                // SAFETY: `out` holds 16 u16 (32 bytes).
                unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
            } else {
                let mut tmp = [0u16; 16];
                // SAFETY: `tmp` holds 32 bytes.
                unsafe { _mm256_storeu_si256(tmp.as_mut_ptr().cast(), v) };
                out.copy_from_slice(&tmp[..m]);
            }
        }
    }
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
fn hpass_neon(t: &GatherTable, src: &[u8], dst: &mut [u16]) {
    use std::arch::aarch64::*;
    let n = t.n;
    for (win, w, idx, k0, m) in t.blocks(src) {
        // SAFETY: `win` holds 64 bytes, `w` 32 (unaligned loads).
        let (table, w0, w1) = unsafe {
            let w = w.as_ptr().cast::<u16>();
            (vld1q_u8_x4(win.as_ptr()), vld1q_u16(w), vld1q_u16(w.add(8)))
        };
        for (c, ix) in idx.chunks_exact(16).enumerate() {
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
            if m == 8 {
                // SAFETY: `out` holds 8 u16 (16 bytes).
                unsafe { vst1q_u16(out.as_mut_ptr(), v) };
            } else {
                let mut tmp = [0u16; 8];
                // SAFETY: `tmp` holds 16 bytes.
                unsafe { vst1q_u16(tmp.as_mut_ptr(), v) };
                out.copy_from_slice(&tmp[..m]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn hpass_avx2(t: &GatherTable, src: &[u8], dst: &mut [u16]) {
    use std::arch::x86_64::*;
    let n = t.n;
    for (win, wp, idx, k0, m) in t.blocks(src) {
        // SAFETY: `win` holds 16 bytes, `wp` 32 (unaligned loads). The
        // window goes to both 128-bit lanes: `vpshufb` permutes within a
        // lane; lane 0 makes samples 0-3, lane 1 samples 4-7.
        let (x, w) = unsafe {
            (
                _mm256_broadcastsi128_si256(_mm_loadu_si128(win.as_ptr().cast())),
                _mm256_loadu_si256(wp.as_ptr().cast()),
            )
        };
        for (c, ix) in idx.chunks_exact(32).enumerate() {
            // SAFETY: `ix` holds 32 bytes.
            let ix = unsafe { _mm256_loadu_si256(ix.as_ptr().cast()) };
            // Index bytes 0x80 give 0: each 16-bit lane holds one byte.
            let pairs = _mm256_shuffle_epi8(x, ix);
            let sum = _mm256_srli_epi32::<4>(_mm256_madd_epi16(pairs, w));
            // At most 32640: the signed 16-bit packing keeps it. Lanes
            // [0-3, 0-3 | 4-7, 4-7] -> quadwords 0 and 2 = samples 0-7.
            let p = _mm256_packs_epi32(sum, sum);
            let v = _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b00_00_10_00>(p));
            let out = &mut dst[c * n + k0..c * n + k0 + m];
            if m == 8 {
                // SAFETY: `out` holds 8 u16 (16 bytes).
                unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) };
            } else {
                let mut tmp = [0u16; 8];
                // SAFETY: `tmp` holds 16 bytes.
                unsafe { _mm_storeu_si128(tmp.as_mut_ptr().cast(), v) };
                out.copy_from_slice(&tmp[..m]);
            }
        }
    }
}
