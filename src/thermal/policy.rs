//! Temperature → (level, inference factor) policy with hysteresis.
//!
//! # Levels and factor
//!
//! With `w = warning_temp`, `c = critical_temp`, `m = min_factor`,
//! `h = hysteresis`:
//!
//! | level      | factor                                                        |
//! |------------|---------------------------------------------------------------|
//! | `Normal`   | `1.0`                                                         |
//! | `Warning`  | `ramp(t) = 1 - (1 - m) * (clamp(t, w, c) - w) / (c - w)`      |
//! | `Critical` | `0.0`                                                         |
//!
//! So in `Warning` the factor falls linearly from `1.0` at `w` towards `m`
//! just below `c` (with the defaults 75/85/0.2: 80 °C → 0.6, 84.9 °C → 0.208).
//! Inside the warning hysteresis band `[w - h, w)` the clamp holds the factor
//! at `1.0`, i.e. the factor is a *continuous* function of the temperature
//! while the level stays `Warning`. In `Critical` the factor is held at `0.0`,
//! including inside the critical hysteresis band `[c - h, c)`.
//!
//! # Level transitions (hysteresis)
//!
//! * **Up** transitions happen as soon as a reading reaches a threshold:
//!   `t >= c` → `Critical`; `t >= w` → at least `Warning`.
//! * **Down** transitions happen only when a reading falls *strictly below*
//!   the threshold of the level being left minus the hysteresis:
//!   `Critical` is left when `t < c - h`, `Warning` is left when `t < w - h`.
//!   Both steps are applied in one update, so a reading of 60 °C while
//!   `Critical` (defaults) goes straight to `Normal`.
//!
//! Consequently, once a level has been entered, sensor noise of amplitude
//! `±h/2` (peak-to-peak `h`) around its threshold can never leave it: the
//! lowest such reading, `threshold - h/2`, is still `>= threshold - h`.
//! Entering a level is immediate (we would rather shed load one reading
//! early than let the SoC throttle).
//!
//! # Non-finite readings
//!
//! A NaN reading is ignored (state unchanged); the sensor layer never
//! produces one, and a bogus value must not reset the hysteresis state.

/// Thermal level reported by [`Policy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Below the warning threshold: full rate.
    #[default]
    Normal,
    /// Between warning and critical: inference rate scaled down.
    Warning,
    /// At or above critical: inference stopped.
    Critical,
}

impl Level {
    /// Lower-case name, as used in messages and properties.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "normal",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the policy assumes when the sensor cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Fail open: behave as if cool (`Normal`, factor 1.0). Keeps the
    /// pipeline useful; relies on the SoC's own throttling as a safety net.
    #[default]
    Open,
    /// Fail closed: behave as if critical (`Critical`, factor 0.0).
    Closed,
}

impl FailMode {
    /// `"open"` / `"closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::Open => "open",
            FailMode::Closed => "closed",
        }
    }

    /// Parses `"open"` / `"closed"` (ASCII case-insensitive, surrounding
    /// whitespace ignored).
    pub fn parse(s: &str) -> Result<FailMode, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("open") {
            Ok(FailMode::Open)
        } else if s.eq_ignore_ascii_case("closed") {
            Ok(FailMode::Closed)
        } else {
            Err(format!(
                "unknown sensor fail mode {s:?}: expected \"open\" or \"closed\""
            ))
        }
    }
}

/// Thresholds of the policy, in °C.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolicyConfig {
    /// Temperature at which shedding starts (factor 1.0 here). Default 75.
    pub warning_temp: f64,
    /// Temperature at which inference stops (factor 0.0). Default 85.
    pub critical_temp: f64,
    /// Factor reached just below `critical_temp`. Default 0.2.
    pub min_factor: f64,
    /// Hysteresis in °C applied when going down a level. Default 2.
    pub hysteresis: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            warning_temp: 75.0,
            critical_temp: 85.0,
            min_factor: 0.2,
            hysteresis: 2.0,
        }
    }
}

impl PolicyConfig {
    /// Checks that all values are finite, `warning_temp < critical_temp`,
    /// `0 <= min_factor <= 1` and `hysteresis >= 0`.
    pub fn validate(&self) -> Result<(), String> {
        let fields = [
            ("warning-temp", self.warning_temp),
            ("critical-temp", self.critical_temp),
            ("min-factor", self.min_factor),
            ("hysteresis", self.hysteresis),
        ];
        for (name, value) in fields {
            if !value.is_finite() {
                return Err(format!("{name} must be a finite number, got {value}"));
            }
        }
        if self.warning_temp >= self.critical_temp {
            return Err(format!(
                "warning-temp ({} °C) must be lower than critical-temp ({} °C)",
                self.warning_temp, self.critical_temp
            ));
        }
        if !(0.0..=1.0).contains(&self.min_factor) {
            return Err(format!(
                "min-factor must be between 0 and 1, got {}",
                self.min_factor
            ));
        }
        if self.hysteresis < 0.0 {
            return Err(format!(
                "hysteresis must be >= 0 °C, got {}",
                self.hysteresis
            ));
        }
        Ok(())
    }

    /// The warning-level factor for `temp_c` (see the module docs).
    ///
    /// Robust against an unvalidated config: an empty or inverted ramp acts
    /// as a step, `min_factor` is clamped to `0..=1`, and the result is
    /// always in `0..=1`.
    fn ramp(&self, temp_c: f64) -> f64 {
        let min = if self.min_factor.is_nan() {
            0.0
        } else {
            self.min_factor.clamp(0.0, 1.0)
        };
        let span = self.critical_temp - self.warning_temp;
        if !(span.is_finite() && span > 0.0) {
            return if temp_c > self.warning_temp { min } else { 1.0 };
        }
        let frac = ((temp_c - self.warning_temp) / span).clamp(0.0, 1.0);
        let factor = 1.0 - (1.0 - min) * frac;
        if factor.is_nan() {
            1.0
        } else {
            factor.clamp(0.0, 1.0)
        }
    }

    /// The hysteresis, with anything negative or NaN treated as 0.
    fn hyst(&self) -> f64 {
        if self.hysteresis > 0.0 {
            self.hysteresis
        } else {
            0.0
        }
    }
}

/// Stateful thermal policy (the state is the current level, needed for
/// hysteresis). See the module docs for the exact rules.
#[derive(Debug, Clone)]
pub struct Policy {
    cfg: PolicyConfig,
    level: Level,
    factor: f64,
    /// Last reading fed to [`Policy::update`], cleared on sensor failure.
    last_temp: Option<f64>,
}

impl Policy {
    /// A policy starting in `Normal` / 1.0. `cfg` should have passed
    /// [`PolicyConfig::validate`]; an invalid one never panics but gives
    /// unspecified (though bounded, `0..=1`) factors.
    pub fn new(cfg: PolicyConfig) -> Self {
        Policy {
            cfg,
            level: Level::Normal,
            factor: 1.0,
            last_temp: None,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &PolicyConfig {
        &self.cfg
    }

    /// Replaces the configuration. The current level is kept and, if a
    /// reading has been seen since the last sensor failure, that reading is
    /// re-evaluated under the new thresholds (with hysteresis from the
    /// current level), so level and factor reflect the change immediately.
    pub fn set_config(&mut self, cfg: PolicyConfig) {
        self.cfg = cfg;
        if let Some(t) = self.last_temp {
            self.update(t);
        }
    }

    /// Feeds one reading in °C and returns the new `(level, factor)`.
    pub fn update(&mut self, temp_c: f64) -> (Level, f64) {
        if temp_c.is_nan() {
            return (self.level, self.factor);
        }
        self.last_temp = Some(temp_c);
        let cfg = self.cfg;
        let h = cfg.hyst();

        // Raw level from the up-thresholds alone.
        let raw = if temp_c >= cfg.critical_temp {
            Level::Critical
        } else if temp_c >= cfg.warning_temp {
            Level::Warning
        } else {
            Level::Normal
        };

        let mut level = self.level;
        if rank(raw) >= rank(level) {
            level = raw;
        } else {
            // Step down one level at a time, each only past its band.
            if level == Level::Critical && temp_c < cfg.critical_temp - h {
                level = Level::Warning;
            }
            if level == Level::Warning && temp_c < cfg.warning_temp - h {
                level = Level::Normal;
            }
        }

        self.level = level;
        self.factor = match level {
            Level::Normal => 1.0,
            Level::Warning => cfg.ramp(temp_c),
            Level::Critical => 0.0,
        };
        (self.level, self.factor)
    }

    /// Current level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Current factor in `0..=1`.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Applies the fail mode after a failed read: `Open` → `Normal`/1.0,
    /// `Closed` → `Critical`/0.0. The last reading is forgotten; the next
    /// successful reading is evaluated from the fail-mode level with the
    /// usual hysteresis (so after `Closed`, a cool reading steps straight
    /// down to the level it belongs to).
    pub fn sensor_failed(&mut self, mode: FailMode) -> (Level, f64) {
        self.last_temp = None;
        (self.level, self.factor) = match mode {
            FailMode::Open => (Level::Normal, 1.0),
            FailMode::Closed => (Level::Critical, 0.0),
        };
        (self.level, self.factor)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new(PolicyConfig::default())
    }
}

fn rank(level: Level) -> u8 {
    match level {
        Level::Normal => 0,
        Level::Warning => 1,
        Level::Critical => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn fresh() -> Policy {
        Policy::new(PolicyConfig::default())
    }

    #[test]
    fn level_names() {
        assert_eq!(Level::Normal.as_str(), "normal");
        assert_eq!(Level::Warning.as_str(), "warning");
        assert_eq!(Level::Critical.as_str(), "critical");
        assert_eq!(Level::Critical.to_string(), "critical");
    }

    #[test]
    fn fail_mode_parse() {
        assert_eq!(FailMode::parse("open"), Ok(FailMode::Open));
        assert_eq!(FailMode::parse(" Closed "), Ok(FailMode::Closed));
        assert!(FailMode::parse("shut").is_err());
        assert_eq!(FailMode::Closed.as_str(), "closed");
    }

    #[test]
    fn defaults_are_valid() {
        let c = PolicyConfig::default();
        assert_eq!(c.warning_temp, 75.0);
        assert_eq!(c.critical_temp, 85.0);
        assert_eq!(c.min_factor, 0.2);
        assert_eq!(c.hysteresis, 2.0);
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn factor_below_warning() {
        let mut p = fresh();
        assert_eq!(p.update(20.0), (Level::Normal, 1.0));
        assert_eq!(p.update(74.99), (Level::Normal, 1.0));
    }

    #[test]
    fn factor_at_warning_is_one() {
        let mut p = fresh();
        let (l, f) = p.update(75.0);
        assert_eq!(l, Level::Warning);
        assert!(approx(f, 1.0));
    }

    #[test]
    fn factor_at_midpoint() {
        let mut p = fresh();
        let (l, f) = p.update(80.0);
        assert_eq!(l, Level::Warning);
        assert!(approx(f, 0.6), "{f}");
        assert!(approx(p.factor(), 0.6));
        assert_eq!(p.level(), Level::Warning);
    }

    #[test]
    fn factor_just_below_critical() {
        let mut p = fresh();
        let (l, f) = p.update(84.999);
        assert_eq!(l, Level::Warning);
        assert!((f - 0.2).abs() < 1e-3, "{f}");
        assert!(f > 0.2);
    }

    #[test]
    fn factor_at_and_above_critical() {
        let mut p = fresh();
        assert_eq!(p.update(85.0), (Level::Critical, 0.0));
        assert_eq!(p.update(99.0), (Level::Critical, 0.0));
        assert_eq!(p.update(f64::INFINITY), (Level::Critical, 0.0));
    }

    #[test]
    fn factor_is_monotonic_in_warning() {
        let mut p = fresh();
        let mut prev = 1.0;
        let mut t = 75.0;
        while t < 85.0 {
            let (l, f) = p.update(t);
            assert_eq!(l, Level::Warning);
            assert!(f <= prev + 1e-12);
            assert!((0.2..=1.0).contains(&f));
            prev = f;
            t += 0.1;
        }
    }

    #[test]
    fn hysteresis_around_warning() {
        let mut p = fresh();
        assert_eq!(p.update(70.0).0, Level::Normal);
        assert_eq!(p.update(75.0).0, Level::Warning);
        // noise around the warning threshold keeps Warning
        for t in [74.0, 75.5, 73.5, 74.9, 73.0] {
            let (l, f) = p.update(t);
            assert_eq!(l, Level::Warning, "at {t}");
            // factor is continuous: 1.0 inside the band, ramp above
            if t < 75.0 {
                assert_eq!(f, 1.0);
            } else {
                assert!(approx(f, 1.0 - 0.8 * (t - 75.0) / 10.0));
            }
        }
        assert_eq!(p.update(72.9), (Level::Normal, 1.0));
        // and staying normal until the threshold is reached again
        assert_eq!(p.update(74.9).0, Level::Normal);
    }

    #[test]
    fn noise_of_half_hysteresis_never_flips() {
        // ±h/2 around each threshold, after the level has been entered
        let mut p = fresh();
        p.update(75.0);
        for i in 0..200 {
            let t = 75.0 + if i % 2 == 0 { -1.0 } else { 1.0 } * (i % 7) as f64 / 6.0;
            assert_eq!(p.update(t).0, Level::Warning, "at {t}");
        }
        p.update(85.0);
        for i in 0..200 {
            let t = 85.0 + if i % 2 == 0 { -1.0 } else { 1.0 } * (i % 7) as f64 / 6.0;
            let (l, f) = p.update(t);
            assert_eq!(l, Level::Critical, "at {t}");
            assert_eq!(f, 0.0);
        }
    }

    #[test]
    fn hysteresis_around_critical() {
        let mut p = fresh();
        assert_eq!(p.update(86.0).0, Level::Critical);
        assert_eq!(p.update(84.0), (Level::Critical, 0.0));
        assert_eq!(p.update(83.0), (Level::Critical, 0.0)); // not below 83
        let (l, f) = p.update(82.9);
        assert_eq!(l, Level::Warning);
        assert!(approx(f, 1.0 - 0.8 * 0.79), "{f}");
        // back up immediately at the threshold
        assert_eq!(p.update(85.0).0, Level::Critical);
    }

    #[test]
    fn big_drop_goes_straight_to_normal() {
        let mut p = fresh();
        p.update(90.0);
        assert_eq!(p.update(60.0), (Level::Normal, 1.0));
    }

    #[test]
    fn drop_from_critical_into_warning_band() {
        // below critical - h but inside the warning band → Warning with 1.0
        let mut p = fresh();
        p.update(90.0);
        assert_eq!(p.update(74.0), (Level::Warning, 1.0));
        assert_eq!(p.update(72.5), (Level::Normal, 1.0));
    }

    #[test]
    fn jump_from_normal_to_critical() {
        let mut p = fresh();
        assert_eq!(p.update(95.0), (Level::Critical, 0.0));
    }

    #[test]
    fn zero_hysteresis() {
        let mut p = Policy::new(PolicyConfig {
            hysteresis: 0.0,
            ..PolicyConfig::default()
        });
        assert_eq!(p.update(75.0).0, Level::Warning);
        assert_eq!(p.update(75.0).0, Level::Warning);
        assert_eq!(p.update(74.99).0, Level::Normal);
        assert_eq!(p.update(85.0).0, Level::Critical);
        assert_eq!(p.update(84.99).0, Level::Warning);
    }

    #[test]
    fn nan_reading_is_ignored() {
        let mut p = fresh();
        p.update(80.0);
        let (l, f) = p.update(f64::NAN);
        assert_eq!(l, Level::Warning);
        assert!(approx(f, 0.6));
    }

    #[test]
    fn sensor_failure_modes() {
        let mut p = fresh();
        p.update(80.0);
        assert_eq!(p.sensor_failed(FailMode::Open), (Level::Normal, 1.0));
        assert_eq!(p.level(), Level::Normal);
        assert_eq!(p.sensor_failed(FailMode::Closed), (Level::Critical, 0.0));
        assert_eq!(p.factor(), 0.0);
        // recovery from fail-closed with a cool reading
        assert_eq!(p.update(50.0), (Level::Normal, 1.0));
        // recovery from fail-closed with a reading in the critical band
        p.sensor_failed(FailMode::Closed);
        assert_eq!(p.update(84.0), (Level::Critical, 0.0));
    }

    #[test]
    fn set_config_reevaluates_last_reading() {
        let mut p = fresh();
        p.update(80.0);
        p.set_config(PolicyConfig {
            warning_temp: 60.0,
            critical_temp: 80.0,
            ..PolicyConfig::default()
        });
        assert_eq!(p.level(), Level::Critical);
        p.set_config(PolicyConfig {
            warning_temp: 90.0,
            critical_temp: 100.0,
            ..PolicyConfig::default()
        });
        assert_eq!((p.level(), p.factor()), (Level::Normal, 1.0));
        assert_eq!(p.config().warning_temp, 90.0);
    }

    #[test]
    fn set_config_without_reading_keeps_state() {
        let mut p = fresh();
        p.sensor_failed(FailMode::Closed);
        p.set_config(PolicyConfig::default());
        assert_eq!((p.level(), p.factor()), (Level::Critical, 0.0));
    }

    #[test]
    fn validate_errors() {
        let d = PolicyConfig::default();
        let bad = [
            PolicyConfig {
                warning_temp: 85.0,
                ..d
            },
            PolicyConfig {
                warning_temp: 90.0,
                ..d
            },
            PolicyConfig {
                min_factor: -0.1,
                ..d
            },
            PolicyConfig {
                min_factor: 1.1,
                ..d
            },
            PolicyConfig {
                hysteresis: -1.0,
                ..d
            },
            PolicyConfig {
                warning_temp: f64::NAN,
                ..d
            },
            PolicyConfig {
                critical_temp: f64::INFINITY,
                ..d
            },
            PolicyConfig {
                min_factor: f64::NAN,
                ..d
            },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
        let err = PolicyConfig {
            warning_temp: 90.0,
            ..d
        }
        .validate()
        .unwrap_err();
        assert!(err.contains("warning-temp"), "{err}");
        // edges that are fine
        for cfg in [
            PolicyConfig {
                min_factor: 0.0,
                ..d
            },
            PolicyConfig {
                min_factor: 1.0,
                ..d
            },
            PolicyConfig {
                hysteresis: 0.0,
                ..d
            },
        ] {
            assert_eq!(cfg.validate(), Ok(()), "{cfg:?}");
        }
    }

    #[test]
    fn invalid_config_never_panics_and_stays_bounded() {
        let cfgs = [
            PolicyConfig {
                warning_temp: 85.0,
                critical_temp: 85.0,
                ..PolicyConfig::default()
            },
            PolicyConfig {
                warning_temp: 90.0,
                critical_temp: 80.0,
                min_factor: 7.0,
                hysteresis: f64::NAN,
            },
            PolicyConfig {
                warning_temp: f64::NAN,
                critical_temp: f64::NAN,
                min_factor: f64::NAN,
                hysteresis: -3.0,
            },
        ];
        for cfg in cfgs {
            let mut p = Policy::new(cfg);
            for t in [-40.0, 0.0, 79.0, 80.0, 84.0, 85.0, 86.0, 150.0, 20.0] {
                let (_, f) = p.update(t);
                assert!((0.0..=1.0).contains(&f), "{cfg:?} {t} {f}");
            }
        }
    }

    #[test]
    fn min_factor_zero_and_one() {
        let mut p = Policy::new(PolicyConfig {
            min_factor: 0.0,
            ..PolicyConfig::default()
        });
        assert!(approx(p.update(80.0).1, 0.5));
        let mut p = Policy::new(PolicyConfig {
            min_factor: 1.0,
            ..PolicyConfig::default()
        });
        assert!(approx(p.update(84.0).1, 1.0));
        assert_eq!(p.update(85.0).1, 0.0);
    }
}
