//! Constant-velocity Kalman filter on `[cx, cy, aspect, h]` boxes.
//!
//! The state is the 8-vector `[cx, cy, a, h, vcx, vcy, va, vh]` where
//! `(cx, cy)` is the box centre, `a = w / h` the aspect ratio and `h` the
//! height, all in pixels (aspect unitless), velocities in units per frame.
//! One [`KalmanFilter::predict`] call advances the state by exactly one frame.
//!
//! Noise model: the process and measurement noise standard deviations scale
//! with the box height, with the weights used by DeepSORT and ByteTrack
//! (`std_weight_position = 1/20`, `std_weight_velocity = 1/160`). The aspect
//! ratio gets fixed small deviations (`1e-2` position / `1e-5` velocity for
//! the process, `1e-1` for the measurement).
//!
//! The transition matrix is `F = [[I, I], [0, I]]` and the observation matrix
//! `H = [I, 0]` (4x4 blocks). Both are applied block-wise instead of with full
//! 8x8 products: `F P Fᵀ` becomes a few 4x4 additions and `H P Hᵀ` a 4x4
//! slice, which keeps a predict + update around a hundred nanoseconds.

use nalgebra::{SMatrix, SVector};

/// 8x8 state covariance.
pub type Cov8 = SMatrix<f64, 8, 8>;
/// 8-dimensional state mean.
pub type Vec8 = SVector<f64, 8>;
/// 4x4 measurement-space covariance.
pub type Cov4 = SMatrix<f64, 4, 4>;
/// 4-dimensional measurement `[cx, cy, a, h]`.
pub type Vec4 = SVector<f64, 4>;

/// Standard deviation weight of positions relative to the box height.
pub const STD_WEIGHT_POSITION: f64 = 1.0 / 20.0;
/// Standard deviation weight of velocities relative to the box height.
pub const STD_WEIGHT_VELOCITY: f64 = 1.0 / 160.0;

/// Mean and covariance of one tracked box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KalmanState {
    /// `[cx, cy, a, h, vcx, vcy, va, vh]`.
    pub mean: Vec8,
    /// State covariance.
    pub cov: Cov8,
}

impl KalmanState {
    /// Current box estimate as `[cx, cy, a, h]`.
    pub fn xyah(&self) -> [f64; 4] {
        [self.mean[0], self.mean[1], self.mean[2], self.mean[3]]
    }

    /// Centre velocity `(vcx, vcy)` in pixels per frame.
    pub fn velocity(&self) -> (f64, f64) {
        (self.mean[4], self.mean[5])
    }

    /// True when the mean and the covariance diagonal are finite (an
    /// overflow or NaN anywhere in the filter reaches them within a step).
    pub fn is_finite(&self) -> bool {
        self.mean.iter().all(|v| v.is_finite()) && (0..8).all(|i| self.cov[(i, i)].is_finite())
    }

    /// Change of image scale: x coordinates are multiplied by `sx`, y
    /// coordinates by `sy` (e.g. after a change of resolution). With
    /// `D = diag(sx, sy, sx/sy, sy, sx, sy, sx/sy, sy)` the state becomes
    /// `x ← D x`, `P ← D P D` (the aspect ratio `w/h` scales by `sx/sy`).
    /// Scales that are not finite and positive leave the state unchanged.
    pub fn rescale(&mut self, sx: f64, sy: f64) {
        if !(sx.is_finite() && sy.is_finite() && sx > 0.0 && sy > 0.0) {
            return;
        }
        let a = sx / sy;
        let d = [sx, sy, a, sy, sx, sy, a, sy];
        for i in 0..8 {
            self.mean[i] *= d[i];
            for j in 0..8 {
                self.cov[(i, j)] *= d[i] * d[j];
            }
        }
    }
}

/// Why a measurement update was rejected (the state is left unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateError {
    /// The measurement had a non-finite component.
    NonFiniteMeasurement,
    /// The innovation covariance was not positive definite (degenerate box
    /// height or a corrupted state).
    SingularInnovation,
}

/// The filter parameters (noise weights). Stateless otherwise: the per-track
/// state lives in [`KalmanState`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KalmanFilter {
    /// Position noise weight (relative to the box height).
    pub std_weight_position: f64,
    /// Velocity noise weight (relative to the box height).
    pub std_weight_velocity: f64,
}

impl Default for KalmanFilter {
    fn default() -> Self {
        Self {
            std_weight_position: STD_WEIGHT_POSITION,
            std_weight_velocity: STD_WEIGHT_VELOCITY,
        }
    }
}

impl KalmanFilter {
    /// Start a track from an unassociated measurement `[cx, cy, a, h]`:
    /// zero velocity, diagonal covariance with standard deviations
    /// `[2·wp·h, 2·wp·h, 1e-2, 2·wp·h, 10·wv·h, 10·wv·h, 1e-5, 10·wv·h]`.
    pub fn initiate(&self, z: [f64; 4]) -> KalmanState {
        let h = z[3];
        let wp = self.std_weight_position;
        let wv = self.std_weight_velocity;
        let std = [
            2.0 * wp * h,
            2.0 * wp * h,
            1e-2,
            2.0 * wp * h,
            10.0 * wv * h,
            10.0 * wv * h,
            1e-5,
            10.0 * wv * h,
        ];
        let mut mean = Vec8::zeros();
        for (i, v) in z.iter().enumerate() {
            mean[i] = *v;
        }
        let mut cov = Cov8::zeros();
        for (i, s) in std.iter().enumerate() {
            cov[(i, i)] = s * s;
        }
        KalmanState { mean, cov }
    }

    /// Advance one frame: `x ← F x`, `P ← F P Fᵀ + Q` where `Q` is diagonal
    /// with standard deviations `[wp·h, wp·h, 1e-2, wp·h, wv·h, wv·h, 1e-5,
    /// wv·h]` (`h` = height before the step).
    pub fn predict(&self, s: &mut KalmanState) {
        let h = s.mean[3];
        let wp = self.std_weight_position;
        let wv = self.std_weight_velocity;
        let q = [wp * h, wp * h, 1e-2, wp * h, wv * h, wv * h, 1e-5, wv * h];
        for i in 0..4 {
            s.mean[i] += s.mean[i + 4];
        }
        // P = [[A, B], [C, D]]  =>  F P Fᵀ = [[A+B+C+D, B+D], [C+D, D]].
        let p = s.cov;
        let a = p.fixed_view::<4, 4>(0, 0);
        let b = p.fixed_view::<4, 4>(0, 4);
        let c = p.fixed_view::<4, 4>(4, 0);
        let d = p.fixed_view::<4, 4>(4, 4);
        let bd = b + d;
        let cd = c + d;
        let abcd = a + c + bd;
        s.cov.fixed_view_mut::<4, 4>(0, 0).copy_from(&abcd);
        s.cov.fixed_view_mut::<4, 4>(0, 4).copy_from(&bd);
        s.cov.fixed_view_mut::<4, 4>(4, 0).copy_from(&cd);
        for (i, qi) in q.iter().enumerate() {
            s.cov[(i, i)] += qi * qi;
        }
    }

    /// Measurement-space distribution of the state: `(H x, H P Hᵀ + R)` with
    /// `R` diagonal, standard deviations `[wp·h, wp·h, 1e-1, wp·h]`.
    pub fn project(&self, s: &KalmanState) -> (Vec4, Cov4) {
        let h = s.mean[3];
        let wp = self.std_weight_position;
        let r = [wp * h, wp * h, 1e-1, wp * h];
        let mean = Vec4::new(s.mean[0], s.mean[1], s.mean[2], s.mean[3]);
        let mut cov: Cov4 = s.cov.fixed_view::<4, 4>(0, 0).into_owned();
        for (i, ri) in r.iter().enumerate() {
            cov[(i, i)] += ri * ri;
        }
        (mean, cov)
    }

    /// Correct the state with a measurement `[cx, cy, a, h]`.
    ///
    /// Standard Kalman correction: `K = P Hᵀ S⁻¹`, `x ← x + K (z − H x)`,
    /// `P ← P − K S Kᵀ` (computed as `P − K (P Hᵀ)ᵀ`, then symmetrised).
    /// On error the state is left untouched.
    pub fn update(&self, s: &mut KalmanState, z: [f64; 4]) -> Result<(), UpdateError> {
        if !z.iter().all(|v| v.is_finite()) {
            return Err(UpdateError::NonFiniteMeasurement);
        }
        let (proj_mean, proj_cov) = self.project(s);
        // S is symmetric positive definite for any sane state (a covariance
        // block plus a positive diagonal). The explicit 4x4 inverse (nalgebra
        // unrolls it) is several times faster than a Cholesky solve with 8
        // right-hand sides and accurate enough for these well-conditioned
        // matrices; the diagonal check rejects a corrupted state.
        if !(0..4).all(|i| proj_cov[(i, i)] > 0.0 && proj_cov[(i, i)].is_finite()) {
            return Err(UpdateError::SingularInnovation);
        }
        let s_inv = proj_cov
            .try_inverse()
            .ok_or(UpdateError::SingularInnovation)?;
        // P Hᵀ is the first four columns of P (8x4); K = P Hᵀ S⁻¹.
        let pht: SMatrix<f64, 8, 4> = s.cov.fixed_view::<8, 4>(0, 0).into_owned();
        let k = pht * s_inv;
        let innovation = Vec4::new(z[0], z[1], z[2], z[3]) - proj_mean;
        let new_mean = s.mean + k * innovation;
        let mut new_cov = s.cov - k * pht.transpose();
        new_cov = (new_cov + new_cov.transpose()) * 0.5;
        let candidate = KalmanState {
            mean: new_mean,
            cov: new_cov,
        };
        if !candidate.is_finite() {
            return Err(UpdateError::SingularInnovation);
        }
        *s = candidate;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn initiate_covariance_from_std_weights() {
        let kf = KalmanFilter::default();
        let s = kf.initiate([100.0, 50.0, 0.5, 100.0]);
        assert_eq!(
            s.mean.as_slice(),
            &[100.0, 50.0, 0.5, 100.0, 0.0, 0.0, 0.0, 0.0]
        );
        // 2 * h / 20 = 10 -> 100; 10 * h / 160 = 6.25 -> 39.0625.
        let expect = [100.0, 100.0, 1e-4, 100.0, 39.0625, 39.0625, 1e-10, 39.0625];
        for (i, want) in expect.iter().enumerate() {
            for j in 0..8 {
                let e = if i == j { *want } else { 0.0 };
                assert!(
                    close(s.cov[(i, j)], e, 1e-12),
                    "({i},{j}) {}",
                    s.cov[(i, j)]
                );
            }
        }
    }

    #[test]
    fn one_predict_step() {
        let kf = KalmanFilter::default();
        let mut s = kf.initiate([100.0, 50.0, 0.5, 100.0]);
        s.mean[4] = 3.0;
        s.mean[5] = -2.0;
        s.mean[7] = 1.0;
        kf.predict(&mut s);
        assert!(close(s.mean[0], 103.0, 1e-12));
        assert!(close(s.mean[1], 48.0, 1e-12));
        assert!(close(s.mean[2], 0.5, 1e-12));
        assert!(close(s.mean[3], 101.0, 1e-12));
        assert!(close(s.mean[4], 3.0, 1e-12));
        // Q uses the height before the step (100): pos std 5 -> 25,
        // vel std 0.625 -> 0.390625.
        // P_xx = 100 + 39.0625 + 25; P_xv = 39.0625; P_vv = 39.0625 + 0.390625.
        assert!(close(s.cov[(0, 0)], 164.0625, 1e-9));
        assert!(close(s.cov[(0, 4)], 39.0625, 1e-9));
        assert!(close(s.cov[(4, 0)], 39.0625, 1e-9));
        assert!(close(s.cov[(4, 4)], 39.453125, 1e-9));
        assert!(close(s.cov[(3, 3)], 164.0625, 1e-9));
        // aspect: 1e-4 + 1e-10 + 1e-4
        assert!(close(s.cov[(2, 2)], 2e-4 + 1e-10, 1e-15));
        // no cross terms between different coordinates
        assert!(close(s.cov[(0, 1)], 0.0, 1e-12));
        assert!(close(s.cov[(0, 5)], 0.0, 1e-12));
    }

    #[test]
    fn predict_then_update_matches_hand_computation() {
        let kf = KalmanFilter::default();
        let mut s = kf.initiate([100.0, 50.0, 0.5, 100.0]);
        kf.predict(&mut s);
        // Measurement 10 px to the right; other coordinates unchanged.
        kf.update(&mut s, [110.0, 50.0, 0.5, 100.0]).unwrap();
        // S_xx = 164.0625 + 25 (R: (h/20)^2) = 189.0625
        // K_x = 164.0625 / 189.0625, K_vx = 39.0625 / 189.0625
        let sxx = 189.0625;
        assert!(close(s.mean[0], 100.0 + 10.0 * 164.0625 / sxx, 1e-9));
        assert!(close(s.mean[4], 10.0 * 39.0625 / sxx, 1e-9));
        assert!(close(s.mean[1], 50.0, 1e-9));
        assert!(close(s.mean[5], 0.0, 1e-9));
        // P_xx' = P_xx - P_xx^2 / S = P_xx * R / S
        assert!(close(s.cov[(0, 0)], 164.0625 * 25.0 / sxx, 1e-9));
        // P_xv' = P_xv - P_xx P_xv / S
        assert!(close(s.cov[(0, 4)], 39.0625 * 25.0 / sxx, 1e-9));
        // P_vv' = P_vv - P_xv^2 / S
        assert!(close(
            s.cov[(4, 4)],
            39.453125 - 39.0625 * 39.0625 / sxx,
            1e-9
        ));
    }

    #[test]
    fn project_adds_measurement_noise() {
        let kf = KalmanFilter::default();
        let s = kf.initiate([0.0, 0.0, 1.0, 40.0]);
        let (m, c) = kf.project(&s);
        assert_eq!(m, Vec4::new(0.0, 0.0, 1.0, 40.0));
        // (2*40/20)^2 + (40/20)^2 = 16 + 4
        assert!(close(c[(0, 0)], 20.0, 1e-12));
        assert!(close(c[(2, 2)], 1e-4 + 1e-2, 1e-12));
    }

    #[test]
    fn constant_velocity_is_learned() {
        let kf = KalmanFilter::default();
        let mut s = kf.initiate([0.0, 0.0, 0.5, 100.0]);
        for t in 1..60 {
            kf.predict(&mut s);
            kf.update(&mut s, [4.0 * t as f64, -2.0 * t as f64, 0.5, 100.0])
                .unwrap();
        }
        assert!(close(s.mean[4], 4.0, 0.05), "{}", s.mean[4]);
        assert!(close(s.mean[5], -2.0, 0.05), "{}", s.mean[5]);
    }

    #[test]
    fn rescale_scales_mean_and_covariance() {
        let kf = KalmanFilter::default();
        let mut s = kf.initiate([100.0, 50.0, 0.5, 100.0]);
        s.mean[4] = 3.0;
        s.mean[5] = -2.0;
        kf.predict(&mut s);
        let before = s;
        // Twice as wide, 1.5 times as high.
        s.rescale(2.0, 1.5);
        // cx 103 -> 206, cy 48 -> 72, a 0.5 -> 0.5 * 2 / 1.5, h 100 -> 150.
        assert!(close(s.mean[0], 206.0, 1e-12));
        assert!(close(s.mean[1], 72.0, 1e-12));
        assert!(close(s.mean[2], 0.5 * 2.0 / 1.5, 1e-12));
        assert!(close(s.mean[3], 150.0, 1e-12));
        assert!(close(s.mean[4], 6.0, 1e-12));
        assert!(close(s.mean[5], -3.0, 1e-12));
        // P_xx 164.0625 * 4, P_xv 39.0625 * 4, P_yy 164.0625 * 2.25.
        assert!(close(s.cov[(0, 0)], 656.25, 1e-9));
        assert!(close(s.cov[(0, 4)], 156.25, 1e-9));
        assert!(close(s.cov[(4, 0)], 156.25, 1e-9));
        assert!(close(s.cov[(1, 1)], 369.140625, 1e-9));
        assert!(close(s.cov[(3, 7)], 39.0625 * 2.25, 1e-9));
        // The box in pixels: width a*h = 0.5*100*2 = 100 -> 2 * 50.
        assert!(close(
            s.mean[2] * s.mean[3],
            2.0 * before.mean[2] * before.mean[3],
            1e-9
        ));
        // Bad scales are ignored.
        let keep = s;
        s.rescale(f64::NAN, 1.0);
        s.rescale(0.0, 1.0);
        s.rescale(1.0, -2.0);
        assert_eq!(s, keep);
    }

    #[test]
    fn bad_measurements_are_rejected() {
        let kf = KalmanFilter::default();
        let mut s = kf.initiate([10.0, 10.0, 1.0, 20.0]);
        let before = s;
        assert_eq!(
            kf.update(&mut s, [f64::NAN, 0.0, 1.0, 1.0]),
            Err(UpdateError::NonFiniteMeasurement)
        );
        assert_eq!(s, before);
        // Zero height state: the position noise vanishes; S must still be
        // handled without panicking.
        let mut z = kf.initiate([10.0, 10.0, 1.0, 0.0]);
        let _ = kf.update(&mut z, [10.0, 10.0, 1.0, 0.0]);
    }
}
