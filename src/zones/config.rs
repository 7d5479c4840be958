// SPDX-License-Identifier: MPL-2.0
//! Zone configuration: a TOML or JSON file, or the compact one-line form of
//! the `zones` property, parsed and validated into [`Zone`]s. Every error
//! names the zone and the problem.
//!
//! File (TOML; JSON has the same keys, `{"units": ..., "zones": [...]}`):
//!
//! ```toml
//! units = "fraction"     # or "pixels"; default fraction (of the frame width / height)
//! min-distance = 0.02    # hysteresis; default 0.02 (fraction of the frame's shorter side) or pixels
//!
//! [[zones]]
//! name = "door"
//! type = "line"
//! points = [[0.1, 0.6], [0.9, 0.6]]
//! in = "right"           # the side of points[0] -> points[1] that is `in` (right: below a line drawn left to right)
//! labels = ["person"]    # default: every label
//! anchor = "bottom-center"   # or "center"
//!
//! [[zones]]
//! name = "queue"
//! type = "polygon"
//! points = [[0.2, 0.2], [0.5, 0.2], [0.5, 0.8], [0.2, 0.8]]
//! anchor = "bottom-center"   # or "center", or "box" (the whole box inside)
//! max-occupancy = 5      # `overcrowded` at 5 inside, `cleared` below; 0 = never
//! loiter-seconds = 30    # `loitering` after 30 s inside; 0 = never
//! ```
//!
//! Compact form: zones separated by `;`, each `NAME=KIND:X1,Y1,X2,Y2,...`
//! followed by optional `:key=value` options (`in`, `labels` separated by
//! `|`, `anchor`, `min-distance`, `max-occupancy`, `loiter-seconds`); a
//! leading `units=pixels;` switches to pixels. Example:
//! `door=line:0.1,0.6,0.9,0.6:in=left;queue=polygon:0.2,0.2,0.5,0.2,0.5,0.8,0.2,0.8:max-occupancy=3`.

use serde::Deserialize;

use super::geometry::{Point, Polygon, Segment, Side};

/// Default hysteresis: 2 % of the frame's shorter side.
pub const DEFAULT_MIN_DISTANCE_FRACTION: f64 = 0.02;

/// The point of an object's box that is tested against a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    /// Middle of the box's bottom edge: the feet of a person, the wheels of a car.
    #[default]
    BottomCenter,
    Center,
    /// Polygons only: the whole box is inside.
    #[serde(rename = "box")]
    WholeBox,
}

impl Anchor {
    fn parse(s: &str) -> Option<Anchor> {
        match s {
            "bottom-center" | "bottom-centre" => Some(Anchor::BottomCenter),
            "center" | "centre" => Some(Anchor::Center),
            "box" => Some(Anchor::WholeBox),
            _ => None,
        }
    }

    /// The reference point of `bbox` (x1, y1, x2, y2). For [`Anchor::WholeBox`]
    /// the centre (membership tests all four corners).
    pub fn point(self, bbox: [f64; 4]) -> Point {
        let cx = (bbox[0] + bbox[2]) / 2.0;
        match self {
            Anchor::BottomCenter => Point::new(cx, bbox[3]),
            Anchor::Center | Anchor::WholeBox => Point::new(cx, (bbox[1] + bbox[3]) / 2.0),
        }
    }
}

/// Coordinates of a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Units {
    /// Fractions of the frame width (x) and height (y): zones stay where they
    /// are when the resolution changes.
    #[default]
    Fraction,
    Pixels,
}

/// What a zone is.
#[derive(Debug, Clone, PartialEq)]
pub enum ZoneKind {
    /// A directed line: crossings from `in_side.other()` to `in_side` are `in`.
    Line { a: Point, b: Point, in_side: Side },
    Polygon {
        points: Vec<Point>,
        /// `overcrowded` when occupancy reaches this (0: never).
        max_occupancy: u32,
        /// `loitering` after this long inside, nanoseconds (0: never).
        loiter_ns: u64,
    },
}

/// One validated zone, in the configuration's units.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    pub kind: ZoneKind,
    /// Labels counted; empty: every label.
    pub labels: Vec<String>,
    pub anchor: Anchor,
    /// Hysteresis, in the configuration's units (fraction of the shorter side or pixels).
    pub min_distance: f64,
}

impl Zone {
    pub fn is_line(&self) -> bool {
        matches!(self.kind, ZoneKind::Line { .. })
    }

    pub fn counts_label(&self, label: &str) -> bool {
        self.labels.is_empty() || self.labels.iter().any(|l| l == label)
    }
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneConfig {
    pub units: Units,
    pub zones: Vec<Zone>,
}

/// A zone resolved to pixels for one frame size.
#[derive(Debug, Clone)]
pub enum Shape {
    Line { segment: Segment, in_side: Side },
    Polygon(Polygon),
}

impl ZoneConfig {
    /// The zones' shapes and hysteresis distances in pixels for a `width` x `height` frame.
    pub fn resolve(&self, width: u32, height: u32) -> Vec<(Shape, f64)> {
        let (sx, sy, sd) = match self.units {
            Units::Fraction => (
                f64::from(width),
                f64::from(height),
                f64::from(width.min(height)),
            ),
            Units::Pixels => (1.0, 1.0, 1.0),
        };
        let map = |p: &Point| Point::new(p.x * sx, p.y * sy);
        self.zones
            .iter()
            .map(|z| {
                let shape = match &z.kind {
                    ZoneKind::Line { a, b, in_side } => Shape::Line {
                        segment: Segment::new(map(a), map(b)),
                        in_side: *in_side,
                    },
                    ZoneKind::Polygon { points, .. } => {
                        Shape::Polygon(Polygon::new(points.iter().map(map).collect()))
                    }
                };
                (shape, z.min_distance * sd)
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default)]
    units: Units,
    min_distance: Option<f64>,
    #[serde(default, alias = "zone")]
    zones: Vec<RawZone>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawZone {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    points: Vec<[f64; 2]>,
    #[serde(rename = "in")]
    in_side: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    anchor: Option<String>,
    min_distance: Option<f64>,
    max_occupancy: Option<u32>,
    loiter_seconds: Option<f64>,
}

/// Parses a configuration file's text: JSON when it starts with `{`, TOML otherwise.
pub fn parse_file_text(text: &str) -> Result<ZoneConfig, String> {
    let raw: RawConfig = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("invalid JSON zone configuration: {e}"))?
    } else {
        toml::from_str(text).map_err(|e| format!("invalid TOML zone configuration: {e}"))?
    };
    validate(raw)
}

/// Parses the compact form of the `zones` property (see the module docs).
pub fn parse_compact(text: &str) -> Result<ZoneConfig, String> {
    let mut raw = RawConfig {
        units: Units::Fraction,
        min_distance: None,
        zones: Vec::new(),
    };
    for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, rest) = item
            .split_once('=')
            .ok_or_else(|| format!("zone `{item}`: expected NAME=KIND:X1,Y1,..."))?;
        let name = name.trim();
        if name == "units" {
            raw.units = match rest.trim() {
                "pixels" => Units::Pixels,
                "fraction" => Units::Fraction,
                other => return Err(format!("units `{other}`: expected fraction or pixels")),
            };
            continue;
        }
        if name == "min-distance" {
            raw.min_distance = Some(parse_num(name, rest)?);
            continue;
        }
        let mut parts = rest.split(':');
        let kind = parts.next().unwrap_or("").trim().to_string();
        let coords = parts
            .next()
            .ok_or_else(|| format!("zone `{name}`: no coordinates (expected {kind}:X1,Y1,...)"))?;
        let nums = coords
            .split(',')
            .map(|c| parse_num(name, c))
            .collect::<Result<Vec<f64>, String>>()?;
        if nums.len() % 2 != 0 {
            return Err(format!(
                "zone `{name}`: {} coordinates, expected x,y pairs",
                nums.len()
            ));
        }
        let mut z = RawZone {
            name: name.to_string(),
            kind,
            points: nums.chunks(2).map(|c| [c[0], c[1]]).collect(),
            ..Default::default()
        };
        for opt in parts {
            let (k, v) = opt
                .split_once('=')
                .ok_or_else(|| format!("zone `{name}`: option `{opt}` is not key=value"))?;
            let v = v.trim();
            match k.trim() {
                "in" => z.in_side = Some(v.to_string()),
                "labels" => z.labels = v.split('|').map(|s| s.trim().to_string()).collect(),
                "anchor" => z.anchor = Some(v.to_string()),
                "min-distance" => z.min_distance = Some(parse_num(name, v)?),
                "max-occupancy" => {
                    z.max_occupancy = Some(v.parse().map_err(|_| {
                        format!("zone `{name}`: max-occupancy `{v}` is not a whole number")
                    })?)
                }
                "loiter-seconds" => z.loiter_seconds = Some(parse_num(name, v)?),
                other => {
                    return Err(format!(
                        "zone `{name}`: unknown option `{other}` (in, labels, anchor, min-distance, max-occupancy, loiter-seconds)"
                    ));
                }
            }
        }
        raw.zones.push(z);
    }
    validate(raw)
}

fn parse_num(zone: &str, s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("zone `{zone}`: `{}` is not a number", s.trim()))
}

fn validate(raw: RawConfig) -> Result<ZoneConfig, String> {
    let default_md = raw.min_distance.unwrap_or(match raw.units {
        Units::Fraction => DEFAULT_MIN_DISTANCE_FRACTION,
        Units::Pixels => 8.0,
    });
    let mut zones: Vec<Zone> = Vec::with_capacity(raw.zones.len());
    for z in raw.zones {
        let name = z.name.trim().to_string();
        if name.is_empty() {
            return Err("a zone has an empty name".into());
        }
        if zones.iter().any(|o| o.name == name) {
            return Err(format!("zone `{name}`: the name is used twice"));
        }
        let err = |m: String| format!("zone `{name}`: {m}");
        for p in &z.points {
            if !p[0].is_finite() || !p[1].is_finite() {
                return Err(err("a coordinate is not a finite number".into()));
            }
            if raw.units == Units::Fraction
                && !((0.0..=1.0).contains(&p[0]) && (0.0..=1.0).contains(&p[1]))
            {
                return Err(err(format!(
                    "point ({}, {}) is outside 0..1; coordinates are fractions of the frame unless units is pixels",
                    p[0], p[1]
                )));
            }
        }
        let points: Vec<Point> = z.points.iter().map(|p| Point::new(p[0], p[1])).collect();
        let anchor = match &z.anchor {
            None => Anchor::BottomCenter,
            Some(a) => Anchor::parse(a).ok_or_else(|| {
                err(format!(
                    "anchor `{a}`: expected bottom-center, center or box"
                ))
            })?,
        };
        let min_distance = z.min_distance.unwrap_or(default_md);
        if !(min_distance >= 0.0 && min_distance.is_finite()) {
            return Err(err(format!(
                "min-distance {min_distance} must be 0 or more"
            )));
        }
        let kind = match z.kind.as_str() {
            "line" => {
                if points.len() != 2 {
                    return Err(err(format!(
                        "a line has 2 points, this one has {}",
                        points.len()
                    )));
                }
                if points[0] == points[1] {
                    return Err(err("the line's two points are the same".into()));
                }
                if anchor == Anchor::WholeBox {
                    return Err(err(
                        "anchor `box` is for polygons; a line needs bottom-center or center".into(),
                    ));
                }
                if z.max_occupancy.is_some() || z.loiter_seconds.is_some() {
                    return Err(err(
                        "max-occupancy and loiter-seconds are for polygons".into()
                    ));
                }
                let in_side = match z.in_side.as_deref() {
                    None | Some("right") => Side::Right,
                    Some("left") => Side::Left,
                    Some(o) => {
                        return Err(err(format!(
                            "in `{o}`: expected left or right (of the direction from the first point to the second)"
                        )));
                    }
                };
                ZoneKind::Line {
                    a: points[0],
                    b: points[1],
                    in_side,
                }
            }
            "polygon" => {
                if points.len() < 3 {
                    return Err(err(format!(
                        "a polygon needs at least 3 points, this one has {}",
                        points.len()
                    )));
                }
                if z.in_side.is_some() {
                    return Err(err("`in` is for lines".into()));
                }
                let poly = Polygon::new(points.clone());
                if poly.self_intersects() {
                    return Err(err("the polygon's outline crosses itself".into()));
                }
                if poly.area() <= 0.0 {
                    return Err(err("the polygon has no area".into()));
                }
                let loiter = z.loiter_seconds.unwrap_or(0.0);
                if !(0.0..1e9).contains(&loiter) {
                    return Err(err(format!("loiter-seconds {loiter} must be 0 or more")));
                }
                ZoneKind::Polygon {
                    points,
                    max_occupancy: z.max_occupancy.unwrap_or(0),
                    loiter_ns: (loiter * 1e9).round() as u64,
                }
            }
            other => {
                return Err(err(format!("type `{other}`: expected line or polygon")));
            }
        };
        zones.push(Zone {
            name,
            kind,
            labels: z.labels.into_iter().filter(|l| !l.is_empty()).collect(),
            anchor,
            min_distance,
        });
    }
    Ok(ZoneConfig {
        units: raw.units,
        zones,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_form_of_the_issue() {
        let c = parse_compact(
            "door=line:0.1,0.6,0.9,0.6;queue=polygon:0.2,0.2,0.5,0.2,0.5,0.8,0.2,0.8",
        )
        .unwrap();
        assert_eq!(c.units, Units::Fraction);
        assert_eq!(c.zones.len(), 2);
        assert_eq!(c.zones[0].name, "door");
        assert_eq!(
            c.zones[0].kind,
            ZoneKind::Line {
                a: Point::new(0.1, 0.6),
                b: Point::new(0.9, 0.6),
                in_side: Side::Right
            }
        );
        assert_eq!(c.zones[0].anchor, Anchor::BottomCenter);
        assert_eq!(c.zones[0].min_distance, 0.02);
        assert!(matches!(
            c.zones[1].kind,
            ZoneKind::Polygon { ref points, max_occupancy: 0, loiter_ns: 0 } if points.len() == 4
        ));
        // In pixels at 640x480: the line at y = 288, hysteresis 0.02 * 480 = 9.6 px.
        let r = c.resolve(640, 480);
        match &r[0].0 {
            Shape::Line { segment, .. } => {
                assert_eq!(segment.a, Point::new(64.0, 288.0));
                assert_eq!(segment.b, Point::new(576.0, 288.0));
            }
            _ => panic!("line expected"),
        }
        assert!((r[0].1 - 9.6).abs() < 1e-12);
    }

    #[test]
    fn compact_options_and_pixels() {
        let c = parse_compact(
            "units=pixels; gate=line:10,20,300,20:in=left:labels=person|car:anchor=center:min-distance=4; \
             pen=polygon:0,0,50,0,50,50:max-occupancy=3:loiter-seconds=2.5:anchor=box",
        )
        .unwrap();
        assert_eq!(c.units, Units::Pixels);
        let g = &c.zones[0];
        assert_eq!(g.labels, vec!["person", "car"]);
        assert_eq!(g.anchor, Anchor::Center);
        assert_eq!(g.min_distance, 4.0);
        assert!(matches!(
            g.kind,
            ZoneKind::Line {
                in_side: Side::Left,
                ..
            }
        ));
        assert!(g.counts_label("car") && !g.counts_label("dog"));
        assert!(matches!(
            c.zones[1].kind,
            ZoneKind::Polygon {
                max_occupancy: 3,
                loiter_ns: 2_500_000_000,
                ..
            }
        ));
        assert_eq!(c.zones[1].anchor, Anchor::WholeBox);
    }

    #[test]
    fn toml_and_json_files() {
        let toml = r#"
units = "fraction"
min-distance = 0.05
[[zones]]
name = "door"
type = "line"
points = [[0.1, 0.6], [0.9, 0.6]]
in = "left"
labels = ["person"]
[[zones]]
name = "queue"
type = "polygon"
points = [[0.2, 0.2], [0.5, 0.2], [0.5, 0.8], [0.2, 0.8]]
max-occupancy = 4
loiter-seconds = 30
anchor = "center"
"#;
        let c = parse_file_text(toml).unwrap();
        assert_eq!(c.zones[0].min_distance, 0.05);
        assert_eq!(c.zones[1].anchor, Anchor::Center);
        let json = r#"{"zones": [{"name": "door", "type": "line", "points": [[0.1, 0.6], [0.9, 0.6]], "in": "left", "labels": ["person"], "min-distance": 0.05},
            {"name": "queue", "type": "polygon", "points": [[0.2, 0.2], [0.5, 0.2], [0.5, 0.8], [0.2, 0.8]],
             "max-occupancy": 4, "loiter-seconds": 30, "anchor": "center", "min-distance": 0.05}]}"#;
        assert_eq!(parse_file_text(json).unwrap(), c);
    }

    #[test]
    fn errors_name_the_zone_and_the_problem() {
        let e = |s: &str| parse_compact(s).unwrap_err();
        assert!(e("door=line:0.1,0.6,0.9").contains("zone `door`: 3 coordinates"));
        assert!(e("door=line:0.1,0.6,0.9,0.6,0.5,0.5").contains("a line has 2 points"));
        assert!(e("door=line:0.1,0.6,1.9,0.6").contains("outside 0..1"));
        assert!(e("q=polygon:0,0,1,0").contains("zone `q`: a polygon needs at least 3 points"));
        assert!(e("q=polygon:0,0,1,1,1,0,0,1").contains("crosses itself"));
        assert!(e("q=polygon:0,0,0.5,0.5,1,1").contains("no area"));
        assert!(e("a=line:0,0,1,1;a=line:0,1,1,0").contains("zone `a`: the name is used twice"));
        assert!(e("a=circle:0,0,1,1").contains("type `circle`"));
        assert!(e("a=line:0,0,1,1:anchor=box").contains("anchor `box` is for polygons"));
        assert!(e("a=line:0,0,1,1:in=up").contains("in `up`"));
        assert!(e("a=line:0,0,x,1").contains("`x` is not a number"));
        assert!(e("a=line:0,0,0,0").contains("the same"));
        assert!(e("a=line:0,0,1,1:colour=red").contains("unknown option `colour`"));
        let t = parse_file_text(
            "[[zones]]\nname = \"x\"\ntype = \"line\"\npoints = [[0,0]]\nbogus = 1",
        )
        .unwrap_err();
        assert!(t.contains("invalid TOML") && t.contains("bogus"), "{t}");
    }
}
