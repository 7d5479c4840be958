//! Model family detection from the output shape and ONNX metadata, and
//! Ultralytics metadata parsing.

use super::decode::{ModelFamily, grid_count};
use super::preprocess::LetterboxSpec;

/// Largest `K` of a `[1, K, 6]` output read as end-to-end detections.
pub const MAX_END2END_DETECTIONS: usize = 1000;

fn meta<'a>(metadata: &'a [(String, String)], key: &str) -> Option<&'a str> {
    metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
}

/// Whether the metadata looks like an Ultralytics export (YOLOv5 writes
/// `stride` + `names`; YOLOv8 and later also `author`, `task`, `imgsz`...).
pub fn is_ultralytics(metadata: &[(String, String)]) -> bool {
    let mentions =
        |key| meta(metadata, key).is_some_and(|v| v.to_ascii_lowercase().contains("ultralytics"));
    mentions("author")
        || mentions("description")
        || (meta(metadata, "names").is_some() && meta(metadata, "stride").is_some())
}

fn is_true(v: Option<&str>) -> bool {
    v.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// Decide the family from the first output's shape, the input size, and model metadata (key/value pairs from the ONNX model's metadata_props, e.g. Ultralytics writes "stride", "names", "task", "imgsz", "author"="Ultralytics").
///
/// With `G` = [`grid_count`] of the input size and the shape `[1, A, B]`
/// (batch may be 1 or dynamic; dimensions `<= 0` are dynamic):
///
/// 1. `B == 6`, `A <= 1000`, and `A` is not `G` or `3G` (or metadata
///    `end2end` is true): [`ModelFamily::End2End`].
/// 2. `B == G`, `A >= 5`: [`ModelFamily::Yolov8`], channels-first `[1, 4+C, N]`.
/// 3. `A == G`: `[1, N, 5+C]` YOLOX or transposed YOLOv8 `[1, N, 4+C]`. Decided
///    by, in order: `B == 5` (only YOLOv8 fits); the class count in `names`
///    metadata; Ultralytics metadata (YOLOv8); `B - 4 == 80` (COCO, YOLOv8);
///    otherwise YOLOX (its native export; transposed YOLOv8 exports are rare).
/// 4. `A == 3G`, `B >= 6`: [`ModelFamily::Yolov5`].
/// 5. Dynamic dims: `[1, ?, 6]` is end-to-end, `[1, 4+C, ?]` is YOLOv8; other
///    dynamic shapes are an error (pass the shape of an actual output).
///
/// Metadata `task` other than `detect` is an error.
pub fn detect_family(
    output_shape: &[i64],
    input_width: usize,
    input_height: usize,
    metadata: &[(String, String)],
) -> Result<(ModelFamily, String /*human reason for the log*/), String /*error with shapes*/> {
    let g = grid_count(input_width, input_height);
    let supported = || {
        format!(
            "supported for a {input_width}x{input_height} input: YOLOX [1, {g}, 5+C], \
             YOLOv5 [1, {}, 5+C], YOLOv8/YOLO11 [1, 4+C, {g}] or [1, {g}, 4+C], \
             end-to-end YOLOv10/YOLO26 [1, K<=1000, 6]",
            3 * g
        )
    };
    if let Some(task) = meta(metadata, "task")
        && task != "detect"
    {
        return Err(format!(
            "model task '{task}' is not supported (only 'detect'); output shape {output_shape:?}"
        ));
    }
    let dim = |d: i64| usize::try_from(d).ok().filter(|&d| d > 0);
    let (a, b) = match *output_shape {
        [n, a, b] if n == 1 || n <= 0 => (dim(a), dim(b)),
        [a, b] => (dim(a), dim(b)),
        _ => {
            return Err(format!(
                "unsupported output shape {output_shape:?} (expected rank 3 with batch 1); {}",
                supported()
            ));
        }
    };
    let ultra = is_ultralytics(metadata);
    let e2e_meta = is_true(meta(metadata, "end2end"));
    let names_len = meta(metadata, "names")
        .and_then(parse_ultralytics_names)
        .map(|n| n.len())
        .filter(|&n| n > 0);
    let tip = if ultra { " (Ultralytics metadata)" } else { "" };

    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (None, Some(6)) => {
            return Ok((
                ModelFamily::End2End,
                format!(
                    "output {output_shape:?} is [1, K, 6] with dynamic K: end-to-end boxes{tip}"
                ),
            ));
        }
        (Some(a), None) if a >= 5 => {
            return Ok((
                ModelFamily::Yolov8,
                format!(
                    "output {output_shape:?} is [1, 4+C, N] with dynamic N: YOLOv8-style, {} classes{tip}",
                    a - 4
                ),
            ));
        }
        _ => {
            return Err(format!(
                "output shape {output_shape:?} has dynamic dimensions that cannot be resolved; \
                 pass the shape of an actual output. {}",
                supported()
            ));
        }
    };

    if b == 6 && (1..=MAX_END2END_DETECTIONS).contains(&a) && (e2e_meta || (a != g && a != 3 * g)) {
        return Ok((
            ModelFamily::End2End,
            format!(
                "output {output_shape:?} is [1, K={a}, 6]: end-to-end boxes (x1,y1,x2,y2,score,class){tip}"
            ),
        ));
    }
    if g > 0 && b == g && a >= 5 {
        return Ok((
            ModelFamily::Yolov8,
            format!(
                "output {output_shape:?} is [1, 4+C, {g}] (channels first, {g} grid cells at \
                 {input_width}x{input_height}): YOLOv8/YOLO11, {} classes{tip}",
                a - 4
            ),
        ));
    }
    if g > 0 && a == g && b >= 5 {
        let as_v8 = |why: &str| {
            Ok((
                ModelFamily::Yolov8,
                format!(
                    "output {output_shape:?} is [1, {g}, 4+C] ({g} grid cells at \
                     {input_width}x{input_height}): transposed YOLOv8/YOLO11, {} classes ({why})",
                    b - 4
                ),
            ))
        };
        let as_yolox = |why: &str| {
            Ok((
                ModelFamily::Yolox,
                format!(
                    "output {output_shape:?} is [1, {g}, 5+C] ({g} grid cells at \
                     {input_width}x{input_height}): YOLOX, {} classes ({why})",
                    b - 5
                ),
            ))
        };
        if b == 5 {
            return as_v8("too narrow for objectness");
        }
        if let Some(n) = names_len {
            if b == n + 4 {
                return as_v8("matches the class count in 'names'");
            }
            if b == n + 5 {
                return as_yolox("matches the class count in 'names'");
            }
        }
        if ultra {
            return as_v8("Ultralytics metadata");
        }
        if b == 84 {
            return as_v8("80 COCO classes without objectness");
        }
        return as_yolox(if b == 85 {
            "80 COCO classes with objectness"
        } else {
            "default for one row per grid cell"
        });
    }
    if g > 0 && a == 3 * g && b >= 6 {
        return Ok((
            ModelFamily::Yolov5,
            format!(
                "output {output_shape:?} is [1, 3x{g}, 5+C] (3 anchors x {g} grid cells at \
                 {input_width}x{input_height}): YOLOv5, {} classes{tip}",
                b - 5
            ),
        ));
    }
    Err(format!(
        "unsupported output shape {output_shape:?} for a {input_width}x{input_height} input; {}",
        supported()
    ))
}

/// The `model-format` nick of a family, for messages.
fn nick(family: ModelFamily) -> &'static str {
    match family {
        ModelFamily::Yolox => "yolox",
        ModelFamily::Yolov5 => "yolov5",
        ModelFamily::Yolov8 => "yolov8",
        ModelFamily::End2End => "yolo-end2end",
    }
}

/// Checks a family forced with `model-format` against the model's first
/// output, so that a wrong choice fails when the model loads instead of
/// giving no objects (or an error at the first frame). Returns the reason
/// for the log, or an error naming the shape found and the shapes expected.
///
/// With `G` = [`grid_count`] of the input size, the forced family must fit:
/// YOLOX `[1, G, 5+C]`; YOLOv5 `[1, 3G, 5+C]`; YOLOv8 `[1, 4+C, G]` or
/// `[1, G, 4+C]`; end-to-end `[1, K<=1000, 6]` (dynamic dimensions fit
/// anything). `[1, G, 85]` is YOLOX's 80 COCO classes with objectness: read
/// as YOLOv8 it would be 81 classes without, which no COCO model has, so it is
/// refused unless the model's `names` say 81 classes.
pub fn check_forced_family(
    family: ModelFamily,
    output_shape: &[i64],
    input_width: usize,
    input_height: usize,
    metadata: &[(String, String)],
) -> Result<String, String> {
    let g = grid_count(input_width, input_height);
    let expected = match family {
        ModelFamily::Yolox => format!("YOLOX [1, {g}, 5+C]"),
        ModelFamily::Yolov5 => format!("YOLOv5 [1, {}, 5+C]", 3 * g),
        ModelFamily::Yolov8 => format!("YOLOv8/YOLO11 [1, 4+C, {g}] or [1, {g}, 4+C]"),
        ModelFamily::End2End => format!("end-to-end [1, K<={MAX_END2END_DETECTIONS}, 6]"),
    };
    let dim = |d: i64| usize::try_from(d).ok().filter(|&d| d > 0);
    let dims = match *output_shape {
        [n, a, b] if n == 1 || n <= 0 => Some((dim(a), dim(b))),
        _ => None,
    };
    // `None` is a dynamic dimension: it fits.
    let is = |d: Option<usize>, want: usize| d.is_none_or(|d| d == want);
    let fits = match (family, dims) {
        (_, None) => false,
        (ModelFamily::Yolox, Some((a, b))) => is(a, g) && b.is_none_or(|b| b >= 6),
        (ModelFamily::Yolov5, Some((a, b))) => is(a, 3 * g) && b.is_none_or(|b| b >= 6),
        (ModelFamily::Yolov8, Some((a, b))) => {
            (is(b, g) && a.is_none_or(|a| a >= 5)) || (is(a, g) && b.is_none_or(|b| b >= 5))
        }
        (ModelFamily::End2End, Some((a, b))) => {
            is(b, 6) && a.is_none_or(|a| a <= MAX_END2END_DETECTIONS)
        }
    };
    let found = match detect_family(output_shape, input_width, input_height, metadata) {
        Ok((f, why)) => format!("; it reads as {}: {why}", nick(f)),
        Err(_) => String::new(),
    };
    let refuse = |why: String| {
        Err(format!(
            "model-format={} does not fit the model: output shape {output_shape:?} for a \
             {input_width}x{input_height} input, expected {expected}{why}{found}. Leave \
             model-format=auto or set the model's family",
            nick(family)
        ))
    };
    if !fits {
        return refuse(String::new());
    }
    if family == ModelFamily::Yolov8
        && dims == Some((Some(g), Some(85)))
        && meta(metadata, "names")
            .and_then(parse_ultralytics_names)
            .is_none_or(|n| n.len() != 81)
    {
        return refuse(
            " (85 columns are 80 COCO classes with objectness, YOLOX's layout, not 81 classes)"
                .into(),
        );
    }
    Ok(format!(
        "set by the model-format property; output {output_shape:?} fits {expected}"
    ))
}

/// Preprocessing the family expects.
pub fn preprocess_for(family: ModelFamily, w: usize, h: usize) -> LetterboxSpec {
    match family {
        ModelFamily::Yolox => LetterboxSpec::yolox(w, h),
        _ => LetterboxSpec::ultralytics(w, h),
    }
}

/// Largest class id accepted by [`parse_ultralytics_names`].
const MAX_CLASS_ID: usize = 100_000;

/// Parses Ultralytics "names" metadata: a Python dict literal like "{0: 'person', 1: 'bicycle', ...}" (may contain quotes inside with double quotes) into a `Vec<String>` indexed by id.
///
/// Also accepts quoted keys (`{"0": "person"}`, JSON style) and a list
/// literal (`['person', 'bicycle']`). Python string escapes are decoded. Ids
/// missing from a dict get their number as name. Returns `None` on malformed
/// input, negative ids or ids above 100000.
pub fn parse_ultralytics_names(s: &str) -> Option<Vec<String>> {
    let mut p = Parser {
        chars: s.trim().chars().collect(),
        pos: 0,
    };
    let names = match p.next()? {
        '[' => p.list()?,
        '{' => p.dict()?,
        _ => return None,
    };
    p.skip_ws();
    (p.pos == p.chars.len()).then_some(names)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// After a value: `,` (then maybe the closing bracket) or the closing
    /// bracket. Returns true when the container ended.
    fn separator(&mut self, close: char) -> Option<bool> {
        self.skip_ws();
        match self.next()? {
            ',' => {
                self.skip_ws();
                if self.peek() == Some(close) {
                    self.pos += 1;
                    Some(true)
                } else {
                    Some(false)
                }
            }
            c if c == close => Some(true),
            _ => None,
        }
    }

    fn list(&mut self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        self.skip_ws();
        if self.peek() == Some(']') {
            self.pos += 1;
            return Some(out);
        }
        loop {
            self.skip_ws();
            out.push(self.string()?);
            if out.len() > MAX_CLASS_ID || self.separator(']')? {
                break;
            }
        }
        (out.len() <= MAX_CLASS_ID).then_some(out)
    }

    fn dict(&mut self) -> Option<Vec<String>> {
        let mut entries: Vec<(usize, String)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some('}') {
            self.pos += 1;
            return Some(Vec::new());
        }
        loop {
            self.skip_ws();
            let key = match self.peek()? {
                '\'' | '"' => self.string()?.trim().parse::<usize>().ok()?,
                _ => self.integer()?,
            };
            if key > MAX_CLASS_ID {
                return None;
            }
            self.skip_ws();
            if self.next()? != ':' {
                return None;
            }
            self.skip_ws();
            entries.push((key, self.string()?));
            if self.separator('}')? {
                break;
            }
        }
        let len = entries.iter().map(|(k, _)| k + 1).max().unwrap_or(0);
        let mut names: Vec<Option<String>> = vec![None; len];
        for (k, v) in entries {
            // Later keys win, as in a Python dict literal.
            names[k] = Some(v);
        }
        Some(
            names
                .into_iter()
                .enumerate()
                .map(|(i, n)| n.unwrap_or_else(|| i.to_string()))
                .collect(),
        )
    }

    fn integer(&mut self) -> Option<usize> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return None;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    /// A Python string literal in single or double quotes.
    fn string(&mut self) -> Option<String> {
        let quote = self.next()?;
        if quote != '\'' && quote != '"' {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.next()? {
                c if c == quote => return Some(out),
                '\\' => {
                    let e = self.next()?;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' | '\'' | '"' => out.push(e),
                        'x' => out.push(self.hex(2)?),
                        'u' => out.push(self.hex(4)?),
                        'U' => out.push(self.hex(8)?),
                        other => {
                            // Python keeps unknown escapes verbatim.
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex(&mut self, digits: usize) -> Option<char> {
        let mut v = 0u32;
        for _ in 0..digits {
            v = v.checked_mul(16)? + self.next()?.to_digit(16)?;
        }
        char::from_u32(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn family(shape: &[i64], w: usize, h: usize, m: &[(String, String)]) -> ModelFamily {
        match detect_family(shape, w, h, m) {
            Ok((f, reason)) => {
                assert!(!reason.is_empty());
                f
            }
            Err(e) => panic!("{shape:?}: {e}"),
        }
    }

    fn ultralytics_meta() -> Vec<(String, String)> {
        meta(&[
            ("author", "Ultralytics"),
            ("task", "detect"),
            ("stride", "32"),
            ("imgsz", "[640, 640]"),
            ("names", "{0: 'person', 1: 'bicycle', 2: 'car'}"),
        ])
    }

    #[test]
    fn families_from_shapes() {
        let none = meta(&[]);
        assert_eq!(family(&[1, 3549, 85], 416, 416, &none), ModelFamily::Yolox);
        assert_eq!(
            family(&[1, 10647, 85], 416, 416, &none),
            ModelFamily::Yolov5
        );
        assert_eq!(family(&[1, 84, 8400], 640, 640, &none), ModelFamily::Yolov8);
        assert_eq!(family(&[1, 8400, 84], 640, 640, &none), ModelFamily::Yolov8);
        assert_eq!(family(&[1, 300, 6], 640, 640, &none), ModelFamily::End2End);
        assert_eq!(family(&[1, 100, 6], 416, 416, &none), ModelFamily::End2End);
        assert_eq!(
            family(&[1, 25200, 85], 640, 640, &none),
            ModelFamily::Yolov5
        );
        // Non-square input: 640x384 has 5040 cells.
        assert_eq!(family(&[1, 84, 5040], 640, 384, &none), ModelFamily::Yolov8);
        // Dynamic batch.
        assert_eq!(family(&[-1, 3549, 85], 416, 416, &none), ModelFamily::Yolox);
        // Dynamic anchors.
        assert_eq!(family(&[1, 84, -1], 640, 640, &none), ModelFamily::Yolov8);
        assert_eq!(family(&[1, -1, 6], 640, 640, &none), ModelFamily::End2End);
    }

    #[test]
    fn ambiguous_cases_use_metadata() {
        let none = meta(&[]);
        // [1, 3549, 85] at 416: YOLOX 80 classes or transposed YOLOv8 81.
        assert_eq!(family(&[1, 3549, 85], 416, 416, &none), ModelFamily::Yolox);
        assert_eq!(
            family(&[1, 3549, 85], 416, 416, &ultralytics_meta()),
            ModelFamily::Yolov8
        );
        // Class count in `names` decides: 3 classes -> 7 = 4 + 3 is YOLOv8,
        // 8 = 5 + 3 is YOLOX-like.
        let names = meta(&[("names", "{0: 'a', 1: 'b', 2: 'c'}")]);
        assert_eq!(family(&[1, 3549, 7], 416, 416, &names), ModelFamily::Yolov8);
        assert_eq!(family(&[1, 3549, 8], 416, 416, &names), ModelFamily::Yolox);
        // Without hints, other widths default to YOLOX.
        assert_eq!(family(&[1, 3549, 8], 416, 416, &none), ModelFamily::Yolox);
        // Width 5 cannot have objectness + a class.
        assert_eq!(family(&[1, 3549, 5], 416, 416, &none), ModelFamily::Yolov8);
        // [1, G, 6] with a small grid: YOLOX with 1 class unless metadata
        // says end-to-end. 160x160 has 525 cells.
        assert_eq!(family(&[1, 525, 6], 160, 160, &none), ModelFamily::Yolox);
        let e2e = meta(&[("end2end", "True")]);
        assert_eq!(family(&[1, 525, 6], 160, 160, &e2e), ModelFamily::End2End);
        assert!(is_ultralytics(&ultralytics_meta()));
        assert!(is_ultralytics(&meta(&[
            ("names", "{0: 'a'}"),
            ("stride", "32")
        ])));
        assert!(!is_ultralytics(&none));
    }

    #[test]
    fn unsupported_shapes_are_errors() {
        let none = meta(&[]);
        let e = detect_family(&[1, 10, 10], 416, 416, &none).unwrap_err();
        assert!(
            e.contains("[1, 10, 10]") && e.contains("YOLOX [1, 3549, 5+C]"),
            "{e}"
        );
        assert!(
            e.contains("[1, 4+C, 3549]") && e.contains("YOLOv5 [1, 10647, 5+C]"),
            "{e}"
        );
        let e = detect_family(&[1, 3, 416, 416], 416, 416, &none).unwrap_err();
        assert!(e.contains("[1, 3, 416, 416]"), "{e}");
        let e = detect_family(&[2, 3549, 85], 416, 416, &none).unwrap_err();
        assert!(e.contains("[2, 3549, 85]"), "{e}");
        let e = detect_family(&[1, -1, 85], 416, 416, &none).unwrap_err();
        assert!(e.contains("dynamic"), "{e}");
        // 1001 rows of 6 is not end-to-end.
        assert!(detect_family(&[1, 1001, 6], 416, 416, &none).is_err());
        let seg = meta(&[("author", "Ultralytics"), ("task", "segment")]);
        let e = detect_family(&[1, 116, 8400], 640, 640, &seg).unwrap_err();
        assert!(e.contains("segment"), "{e}");
        // Degenerate input size.
        assert!(detect_family(&[1, 84, 8400], 0, 0, &none).is_err());
    }

    #[test]
    fn forced_family_must_fit_the_output() {
        let none = vec![];
        let yolox = [1, 3549, 85];
        // YOLOX-nano at 416x416: only yolox fits.
        assert!(check_forced_family(ModelFamily::Yolox, &yolox, 416, 416, &none).is_ok());
        for f in [
            ModelFamily::Yolov5,
            ModelFamily::Yolov8,
            ModelFamily::End2End,
        ] {
            let e = check_forced_family(f, &yolox, 416, 416, &none).unwrap_err();
            assert!(e.contains("[1, 3549, 85]"), "{e}");
            assert!(e.contains("reads as yolox"), "{e}");
            assert!(e.contains(&format!("model-format={}", nick(f))), "{e}");
        }
        let e = check_forced_family(ModelFamily::Yolov5, &yolox, 416, 416, &none).unwrap_err();
        assert!(e.contains("expected YOLOv5 [1, 10647, 5+C]"), "{e}");
        let e = check_forced_family(ModelFamily::End2End, &yolox, 416, 416, &none).unwrap_err();
        assert!(e.contains("expected end-to-end [1, K<=1000, 6]"), "{e}");
        // YOLOv8 both ways, YOLOv5, end-to-end, with the right shapes.
        assert!(check_forced_family(ModelFamily::Yolov8, &[1, 84, 8400], 640, 640, &none).is_ok());
        assert!(check_forced_family(ModelFamily::Yolov8, &[1, 8400, 84], 640, 640, &none).is_ok());
        assert!(check_forced_family(ModelFamily::Yolov5, &[1, 25200, 85], 640, 640, &none).is_ok());
        assert!(check_forced_family(ModelFamily::End2End, &[1, 300, 6], 640, 640, &none).is_ok());
        // A transposed YOLOv8 with 81 named classes may be forced.
        let names: String = format!(
            "{{{}}}",
            (0..81)
                .map(|i| format!("{i}: 'c{i}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let m = vec![("names".to_string(), names)];
        assert!(check_forced_family(ModelFamily::Yolov8, &yolox, 416, 416, &m).is_ok());
        // Dynamic dimensions fit; a rank-4 output never does.
        assert!(check_forced_family(ModelFamily::Yolov5, &[1, -1, 85], 416, 416, &none).is_ok());
        assert!(
            check_forced_family(ModelFamily::Yolox, &[1, 3, 416, 416], 416, 416, &none).is_err()
        );
        // YOLOX on a YOLOv5 output: wrong row count.
        assert!(check_forced_family(ModelFamily::Yolox, &[1, 25200, 85], 640, 640, &none).is_err());
    }

    #[test]
    fn preprocess_per_family() {
        assert_eq!(
            preprocess_for(ModelFamily::Yolox, 416, 416),
            LetterboxSpec::yolox(416, 416)
        );
        for f in [
            ModelFamily::Yolov5,
            ModelFamily::Yolov8,
            ModelFamily::End2End,
        ] {
            assert_eq!(
                preprocess_for(f, 640, 480),
                LetterboxSpec::ultralytics(640, 480)
            );
        }
    }

    #[test]
    fn parses_names() {
        assert_eq!(
            parse_ultralytics_names("{0: 'person', 1: 'bicycle', 2: 'traffic light'}"),
            Some(vec![
                "person".into(),
                "bicycle".into(),
                "traffic light".into()
            ])
        );
        // Python repr switches to double quotes around a single quote.
        assert_eq!(
            parse_ultralytics_names(
                r#"{0: "man's bag", 1: 'say "hi"', 2: 'it\'s', 3: 'back\\slash'}"#
            ),
            Some(vec![
                "man's bag".into(),
                "say \"hi\"".into(),
                "it's".into(),
                "back\\slash".into()
            ])
        );
        // JSON-style keys, whitespace, trailing comma, unicode escape.
        assert_eq!(
            parse_ultralytics_names("  {\"1\": \"b\",\n \"0\": \"caf\\u00e9\", }  "),
            Some(vec!["café".into(), "b".into()])
        );
        // Gaps are filled with the id.
        assert_eq!(
            parse_ultralytics_names("{0: 'a', 2: 'c'}"),
            Some(vec!["a".into(), "1".into(), "c".into()])
        );
        assert_eq!(
            parse_ultralytics_names("['x', \"y\"]"),
            Some(vec!["x".into(), "y".into()])
        );
        assert_eq!(parse_ultralytics_names("{}"), Some(vec![]));
        assert_eq!(parse_ultralytics_names("[]"), Some(vec![]));
        for bad in [
            "",
            "person",
            "{0: 'a'",
            "{0 'a'}",
            "{-1: 'a'}",
            "{0: 'a'} x",
            "{0: a}",
            "{999999999: 'a'}",
            "{0: 'unterminated}",
            "['a' 'b']",
        ] {
            assert_eq!(parse_ultralytics_names(bad), None, "{bad:?}");
        }
        // Full COCO names as written by Ultralytics parse to 80 entries.
        let coco: String = format!(
            "{{{}}}",
            (0..80)
                .map(|i| format!("{i}: 'class {i}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let names = parse_ultralytics_names(&coco).expect("coco");
        assert_eq!(names.len(), 80);
        assert_eq!(names[79], "class 79");
    }
}
