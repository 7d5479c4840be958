// SPDX-License-Identifier: MPL-2.0
//! Class names: the `labels` file, the model's own names, or, for an
//! 80-class model without names, the COCO names shipped with the plugin; and
//! the `classes` filter built from them.

/// The 80 COCO class names in the order every COCO-trained YOLO uses
/// (YOLOX, YOLOv5, YOLOv8 and most exports), one per line, index = class id:
/// `assets/coco.names`, the usual `coco.names` file.
pub const COCO_NAMES: &str = include_str!("../../assets/coco.names");

/// Number of classes of a COCO model.
pub const COCO_CLASSES: usize = 80;

/// Where the labels in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelSource {
    /// The `labels` property's file.
    File,
    /// The model's metadata (Ultralytics `names`).
    Model,
    /// The model has 80 classes and no names: assumed to be a COCO model.
    AssumedCoco,
    /// Neither: `class0`, `class1`...
    Numbered,
}

/// The COCO names, index = class id.
pub fn coco_names() -> Vec<String> {
    COCO_NAMES.lines().map(|l| l.trim().to_string()).collect()
}

/// Reads a labels file: one name per line, blank lines at the end ignored.
pub fn read_labels(path: &str) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read labels file {path}: {e}; check the `labels` property"))?;
    let mut labels: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while labels.last().is_some_and(|l| l.is_empty()) {
        labels.pop();
    }
    Ok(labels)
}

/// The labels for a model with `num_classes` classes: the file's names if
/// given, else the model's, else the COCO names when the model has exactly
/// 80 classes (in practice a COCO model: YOLOX and most YOLO exports carry no
/// names), else none. Missing entries (a short file) become `class<N>`; the
/// result has at least `num_classes` entries.
pub fn resolve(
    file: Option<Vec<String>>,
    model: Option<&[String]>,
    num_classes: usize,
) -> (Vec<String>, LabelSource) {
    let (names, source) = match (file, model) {
        (Some(f), _) => (f, LabelSource::File),
        (None, Some(m)) => (m.to_vec(), LabelSource::Model),
        (None, None) if num_classes == COCO_CLASSES => (coco_names(), LabelSource::AssumedCoco),
        (None, None) => (Vec::new(), LabelSource::Numbered),
    };
    let n = num_classes.max(names.len());
    let labels = (0..n)
        .map(|i| names.get(i).cloned().unwrap_or_else(|| format!("class{i}")))
        .collect();
    (labels, source)
}

/// Finds a class id by label, or by number (`0`, `17`).
pub fn class_id(labels: &[String], name: &str) -> Option<usize> {
    labels
        .iter()
        .position(|l| l == name)
        .or_else(|| name.parse::<usize>().ok().filter(|&i| i < labels.len()))
}

/// The `classes` property (comma-separated names or ids) as a per-class
/// keep table; `None` keeps every class. Unknown names are ignored, with a
/// warning each, as the warning says: when no name is known, the filter
/// keeps every class rather than none.
pub fn keep_classes(
    spec: &str,
    labels: &[String],
    warnings: &mut Vec<String>,
) -> Option<Vec<bool>> {
    let names: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return None;
    }
    let mut keep = vec![false; labels.len()];
    let mut known = 0;
    for name in &names {
        match class_id(labels, name) {
            Some(id) => {
                keep[id] = true;
                known += 1;
            }
            None => warnings.push(format!(
                "classes: ignoring unknown label `{name}` (the model's labels are {}; set `labels` to the model's names file)",
                preview(labels)
            )),
        }
    }
    if known == 0 {
        warnings.push(format!(
            "classes: no known label in `{spec}`: keeping every class"
        ));
        return None;
    }
    Some(keep)
}

/// The first few labels, for messages.
fn preview(labels: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = labels
        .iter()
        .take(SHOWN)
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if labels.len() > SHOWN {
        s.push_str(&format!(" ... ({} in all)", labels.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn coco_names_are_the_80_in_class_id_order() {
        let n = coco_names();
        assert_eq!(n.len(), 80);
        // Spot checks against the COCO class ids YOLO models use.
        assert_eq!(n[0], "person");
        assert_eq!(n[2], "car");
        assert_eq!(n[16], "dog");
        assert_eq!(n[39], "bottle");
        assert_eq!(n[79], "toothbrush");
        assert!(n.iter().all(|l| !l.is_empty()));
    }

    #[test]
    fn an_80_class_model_without_names_gets_coco() {
        let (labels, src) = resolve(None, None, 80);
        assert_eq!(src, LabelSource::AssumedCoco);
        assert_eq!(labels[0], "person");
        // Not for other class counts.
        let (labels, src) = resolve(None, None, 3);
        assert_eq!(src, LabelSource::Numbered);
        assert_eq!(labels, v(&["class0", "class1", "class2"]));
        // The file and the model's names come first.
        let (labels, src) = resolve(Some(v(&["a", "b"])), Some(&v(&["x", "y"])), 80);
        assert_eq!(src, LabelSource::File);
        assert_eq!(
            (labels.len(), labels[1].as_str(), labels[2].as_str()),
            (80, "b", "class2")
        );
        let (labels, src) = resolve(None, Some(&v(&["x", "y"])), 2);
        assert_eq!((src, labels), (LabelSource::Model, v(&["x", "y"])));
    }

    #[test]
    fn classes_person_keeps_only_person_with_coco_names() {
        let (labels, _) = resolve(None, None, 80);
        let mut w = Vec::new();
        let keep = keep_classes("person", &labels, &mut w).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(keep.iter().filter(|&&k| k).count(), 1);
        assert!(keep[0]);
        // By id, with spaces.
        let keep = keep_classes(" 0 , car", &labels, &mut w).unwrap();
        assert_eq!(keep.iter().positions(), vec![0, 2]);
    }

    #[test]
    fn unknown_labels_are_ignored_not_dropping_everything() {
        let labels = v(&["class0", "class1", "class2"]);
        let mut w = Vec::new();
        // Nothing known: keep all (None), with the two warnings.
        assert_eq!(keep_classes("person", &labels, &mut w), None);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("ignoring unknown label `person`"), "{w:?}");
        assert!(w[1].contains("keeping every class"), "{w:?}");
        // One known, one not: the known one is kept, the other ignored.
        let mut w = Vec::new();
        let keep = keep_classes("unicorn,class1", &labels, &mut w).unwrap();
        assert_eq!(keep, vec![false, true, false]);
        assert_eq!(w.len(), 1);
        // Empty: no filter, no warning.
        let mut w = Vec::new();
        assert_eq!(keep_classes(" , ", &labels, &mut w), None);
        assert!(w.is_empty());
    }

    trait Positions {
        fn positions(self) -> Vec<usize>;
    }
    impl<'a, I: Iterator<Item = &'a bool>> Positions for I {
        fn positions(self) -> Vec<usize> {
            self.enumerate()
                .filter(|(_, k)| **k)
                .map(|(i, _)| i)
                .collect()
        }
    }
}
