// SPDX-License-Identifier: MPL-2.0
//! Plane geometry of the zones: signed distance to a segment, where a
//! movement crosses a segment, polygon membership and distance to a
//! polygon's boundary. Written here (a few lines each) rather than taken
//! from a geometry crate because the counting rules need exact, documented
//! behaviour at the edge cases (end points, points on an edge), which the
//! unit tests below pin down by hand-computed values.

/// A point in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
}

fn sub(a: Point, b: Point) -> Point {
    Point::new(a.x - b.x, a.y - b.y)
}

fn cross(a: Point, b: Point) -> f64 {
    a.x * b.y - a.y * b.x
}

fn dot(a: Point, b: Point) -> f64 {
    a.x * b.x + a.y * b.y
}

/// Which side of a directed segment a point lies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Left of `a → b` in image coordinates (y down): for a segment drawn
    /// left to right, the side above it.
    Left,
    /// Right of `a → b`: for a segment drawn left to right, below it.
    Right,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
}

/// A segment from `a` to `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub a: Point,
    pub b: Point,
}

impl Segment {
    pub const fn new(a: Point, b: Point) -> Self {
        Segment { a, b }
    }

    pub fn length(&self) -> f64 {
        let d = sub(self.b, self.a);
        dot(d, d).sqrt()
    }

    /// Signed distance of `p` to the infinite line through the segment:
    /// negative on [`Side::Left`], positive on [`Side::Right`] (image
    /// coordinates, y down), 0 on the line.
    pub fn signed_distance(&self, p: Point) -> f64 {
        let d = sub(self.b, self.a);
        let len = self.length();
        if len == 0.0 {
            return 0.0;
        }
        // In image coordinates (y down) a positive cross product means the
        // point is clockwise from the direction, i.e. on the right.
        cross(d, sub(p, self.a)) / len
    }

    /// The side of `p` when it is at least `margin` from the line, `None`
    /// inside the band of half-width `margin` (hysteresis).
    pub fn side(&self, p: Point, margin: f64) -> Option<Side> {
        let s = self.signed_distance(p);
        if s > margin || (margin == 0.0 && s > 0.0) {
            Some(Side::Right)
        } else if s < -margin || (margin == 0.0 && s < 0.0) {
            Some(Side::Left)
        } else {
            None
        }
    }

    /// Where the movement `from → to` meets the segment's line, as the
    /// parameter along the segment (0 at `a`, 1 at `b`), or `None` when the
    /// movement is parallel to the line or does not reach it. The caller
    /// checks `0 <= u <= 1` (end points included).
    pub fn crossing_parameter(&self, from: Point, to: Point) -> Option<f64> {
        let r = sub(to, from);
        let s = sub(self.b, self.a);
        let denom = cross(r, s);
        if denom == 0.0 {
            return None;
        }
        let q = sub(self.a, from);
        let t = cross(q, s) / denom; // along the movement
        let u = cross(q, r) / denom; // along the segment
        if (0.0..=1.0).contains(&t) {
            Some(u)
        } else {
            None
        }
    }

    /// Whether the movement `from → to` meets the segment itself (end
    /// points included).
    pub fn crossed_by(&self, from: Point, to: Point) -> bool {
        const EPS: f64 = 1e-9;
        self.crossing_parameter(from, to)
            .is_some_and(|u| (-EPS..=1.0 + EPS).contains(&u))
    }

    /// Distance from `p` to the segment (not the infinite line).
    pub fn distance(&self, p: Point) -> f64 {
        let d = sub(self.b, self.a);
        let l2 = dot(d, d);
        let t = if l2 == 0.0 {
            0.0
        } else {
            (dot(sub(p, self.a), d) / l2).clamp(0.0, 1.0)
        };
        let c = Point::new(self.a.x + t * d.x, self.a.y + t * d.y);
        let e = sub(p, c);
        dot(e, e).sqrt()
    }
}

/// A simple polygon (convex or concave, not self-intersecting).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub points: Vec<Point>,
    /// Bounding box: x1, y1, x2, y2 (a quick rejection before the exact test).
    bounds: [f64; 4],
}

impl Polygon {
    pub fn new(points: Vec<Point>) -> Self {
        let mut bounds = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for p in &points {
            bounds[0] = bounds[0].min(p.x);
            bounds[1] = bounds[1].min(p.y);
            bounds[2] = bounds[2].max(p.x);
            bounds[3] = bounds[3].max(p.y);
        }
        Polygon { points, bounds }
    }

    fn edges(&self) -> impl Iterator<Item = Segment> + '_ {
        let n = self.points.len();
        (0..n).map(move |i| Segment::new(self.points[i], self.points[(i + 1) % n]))
    }

    /// Distance from `p` to the polygon's boundary.
    pub fn boundary_distance(&self, p: Point) -> f64 {
        self.edges()
            .map(|e| e.distance(p))
            .fold(f64::INFINITY, f64::min)
    }

    /// Distance from `p` to the polygon's bounding box (0 inside it): a
    /// lower bound of the distance to the polygon, for a quick rejection.
    pub fn bounds_distance(&self, p: Point) -> f64 {
        let [x1, y1, x2, y2] = self.bounds;
        let dx = (x1 - p.x).max(p.x - x2).max(0.0);
        let dy = (y1 - p.y).max(p.y - y2).max(0.0);
        (dx * dx + dy * dy).sqrt()
    }

    /// Even-odd rule: a ray to +x crosses the boundary an odd number of
    /// times from inside. Half-open rule on y so a vertex is counted once.
    fn ray_inside(&self, p: Point) -> bool {
        let mut inside = false;
        for e in self.edges() {
            let (a, b) = (e.a, e.b);
            if (a.y > p.y) != (b.y > p.y) {
                let x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
                if p.x < x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Whether `p` is inside; a point on the boundary is inside.
    pub fn contains(&self, p: Point) -> bool {
        self.signed_distance(p) <= 0.0
    }

    /// Signed distance to the boundary: negative inside, positive outside,
    /// 0 on the boundary (within 1e-9).
    pub fn signed_distance(&self, p: Point) -> f64 {
        const EPS: f64 = 1e-9;
        let outside_bounds = self.bounds_distance(p);
        if outside_bounds > EPS {
            // Outside the bounding box: outside, at least this far.
            return self.boundary_distance(p);
        }
        let d = self.boundary_distance(p);
        if d <= EPS {
            0.0
        } else if self.ray_inside(p) {
            -d
        } else {
            d
        }
    }

    /// Signed distance, but only exact when within `limit` of the boundary:
    /// a point farther outside than the bounding box allows gets the box
    /// distance (a lower bound, > `limit`). For the hysteresis tests, which
    /// only compare with `limit`.
    pub fn signed_distance_within(&self, p: Point, limit: f64) -> f64 {
        let b = self.bounds_distance(p);
        if b > limit {
            b
        } else {
            self.signed_distance(p)
        }
    }

    /// Twice the signed area (shoelace); 0 for a degenerate polygon.
    pub fn area(&self) -> f64 {
        let n = self.points.len();
        let mut s = 0.0;
        for i in 0..n {
            s += cross(self.points[i], self.points[(i + 1) % n]);
        }
        (s / 2.0).abs()
    }

    /// Whether two of its edges cross (a self-intersecting outline).
    pub fn self_intersects(&self) -> bool {
        let edges: Vec<Segment> = self.edges().collect();
        let n = edges.len();
        for i in 0..n {
            for j in i + 1..n {
                // Neighbouring edges share an end point.
                if j == i + 1 || (i == 0 && j == n - 1) {
                    continue;
                }
                if segments_intersect(&edges[i], &edges[j]) {
                    return true;
                }
            }
        }
        false
    }
}

fn segments_intersect(p: &Segment, q: &Segment) -> bool {
    let d1 = cross(sub(p.b, p.a), sub(q.a, p.a));
    let d2 = cross(sub(p.b, p.a), sub(q.b, p.a));
    let d3 = cross(sub(q.b, q.a), sub(p.a, q.a));
    let d4 = cross(sub(q.b, q.a), sub(p.b, q.a));
    ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Point {
        Point::new(x, y)
    }

    #[test]
    fn signed_distance_and_side_by_hand() {
        // Horizontal segment drawn left to right at y = 10.
        let s = Segment::new(p(0.0, 10.0), p(100.0, 10.0));
        // Above (y = 4): 6 px on the left; below (y = 13): 3 px on the right.
        assert_eq!(s.signed_distance(p(50.0, 4.0)), -6.0);
        assert_eq!(s.signed_distance(p(50.0, 13.0)), 3.0);
        assert_eq!(s.side(p(50.0, 4.0), 5.0), Some(Side::Left));
        assert_eq!(s.side(p(50.0, 13.0), 5.0), None, "inside the 5 px band");
        assert_eq!(s.side(p(50.0, 16.0), 5.0), Some(Side::Right));
        assert_eq!(s.side(p(50.0, 10.0), 0.0), None, "on the line: no side");
        // Diagonal (0,0)→(3,4), length 5: (4,0) is at |3*0 - 4*4| / 5 = 3.2 on the left? No:
        // cross((3,4),(4,0)) = 3*0 - 4*4 = -16 → -3.2, left of the direction.
        let d = Segment::new(p(0.0, 0.0), p(3.0, 4.0));
        assert!((d.signed_distance(p(4.0, 0.0)) + 3.2).abs() < 1e-12);
    }

    #[test]
    fn crossing_with_direction() {
        let s = Segment::new(p(10.0, 50.0), p(90.0, 50.0));
        // Downwards through x = 30: u = (30 - 10) / 80 = 0.25.
        let u = s.crossing_parameter(p(30.0, 40.0), p(30.0, 60.0)).unwrap();
        assert!((u - 0.25).abs() < 1e-12);
        assert!(s.crossed_by(p(30.0, 40.0), p(30.0, 60.0)));
        assert_eq!(s.side(p(30.0, 40.0), 0.0), Some(Side::Left));
        assert_eq!(s.side(p(30.0, 60.0), 0.0), Some(Side::Right));
        // Diagonal movement (0,30)→(40,70) meets y = 50 at x = 20: u = 0.125.
        let u = s.crossing_parameter(p(0.0, 30.0), p(40.0, 70.0)).unwrap();
        assert!((u - 0.125).abs() < 1e-12);
        // Beyond the extent: passes at x = 95.
        assert!(!s.crossed_by(p(95.0, 40.0), p(95.0, 60.0)));
        // Stops short of the line.
        assert!(!s.crossed_by(p(30.0, 40.0), p(30.0, 49.0)));
        // Parallel.
        assert!(!s.crossed_by(p(0.0, 40.0), p(100.0, 40.0)));
    }

    #[test]
    fn crossing_at_an_end_point_counts() {
        let s = Segment::new(p(10.0, 50.0), p(90.0, 50.0));
        assert!(s.crossed_by(p(10.0, 40.0), p(10.0, 60.0)), "through a");
        assert!(s.crossed_by(p(90.0, 40.0), p(90.0, 60.0)), "through b");
        assert!(
            !s.crossed_by(p(90.5, 40.0), p(90.5, 60.0)),
            "half a pixel past b"
        );
    }

    #[test]
    fn concave_polygon_membership() {
        // A "U": the notch (40..60, 0..60) is outside.
        let u = Polygon::new(vec![
            p(0.0, 0.0),
            p(40.0, 0.0),
            p(40.0, 60.0),
            p(60.0, 60.0),
            p(60.0, 0.0),
            p(100.0, 0.0),
            p(100.0, 100.0),
            p(0.0, 100.0),
        ]);
        assert!(u.contains(p(20.0, 20.0)), "left arm");
        assert!(u.contains(p(80.0, 20.0)), "right arm");
        assert!(!u.contains(p(50.0, 20.0)), "in the notch");
        assert!(u.contains(p(50.0, 80.0)), "below the notch");
        assert!(!u.contains(p(150.0, 50.0)));
        // A ray through the notch's bottom vertex (y = 60) counts edges once.
        assert!(u.contains(p(20.0, 60.0)));
        assert!(!u.contains(p(-5.0, 60.0)));
        // 10000 - 20*60 = 8800.
        assert_eq!(u.area(), 8800.0);
        assert!(!u.self_intersects());
        let bow = Polygon::new(vec![p(0.0, 0.0), p(10.0, 10.0), p(10.0, 0.0), p(0.0, 10.0)]);
        assert!(bow.self_intersects());
    }

    #[test]
    fn point_on_an_edge_is_inside() {
        let sq = Polygon::new(vec![p(0.0, 0.0), p(10.0, 0.0), p(10.0, 10.0), p(0.0, 10.0)]);
        assert!(sq.contains(p(10.0, 5.0)), "right edge");
        assert!(sq.contains(p(5.0, 0.0)), "top edge");
        assert!(sq.contains(p(0.0, 0.0)), "corner");
        assert!(!sq.contains(p(10.0 + 1e-6, 5.0)));
        assert_eq!(sq.boundary_distance(p(5.0, 3.0)), 3.0);
        assert_eq!(sq.signed_distance(p(5.0, 3.0)), -3.0);
        assert_eq!(
            sq.signed_distance(p(13.0, 14.0)),
            5.0,
            "3-4-5 from the corner"
        );
    }
}
