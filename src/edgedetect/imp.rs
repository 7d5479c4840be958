// SPDX-License-Identifier: MPL-2.0

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;

use super::{ModelFormat, Provider};
use crate::inference::ModelFamily;
use crate::inference::labels::{self, class_id, read_labels};
use crate::meta;
use crate::runtime::{self, Detector, DetectorConfig, LoadError, PostParams};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "edgedetect",
        gst::DebugColorFlags::empty(),
        Some("Edge AI YOLO object detector"),
    )
});

const DEFAULT_CONF_THRESHOLD: f64 = 0.25;
const DEFAULT_IOU_THRESHOLD: f64 = 0.45;
const DEFAULT_MAX_DETECTIONS: u32 = 300;
const DEFAULT_INTERVAL: u32 = 1;
const DEFAULT_THREADS: u32 = 0;

#[derive(Debug, Clone)]
struct Settings {
    model: String,
    labels: String,
    model_format: ModelFormat,
    conf_threshold: f64,
    class_thresholds: String,
    iou_threshold: f64,
    max_detections: u32,
    classes: String,
    agnostic_nms: bool,
    interval: u32,
    threads: u32,
    provider: Provider,
    meta_output: meta::MetaOutput,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: String::new(),
            labels: String::new(),
            model_format: ModelFormat::Auto,
            conf_threshold: DEFAULT_CONF_THRESHOLD,
            class_thresholds: String::new(),
            iou_threshold: DEFAULT_IOU_THRESHOLD,
            max_detections: DEFAULT_MAX_DETECTIONS,
            classes: String::new(),
            agnostic_nms: false,
            interval: DEFAULT_INTERVAL,
            threads: DEFAULT_THREADS,
            provider: Provider::Cpu,
            meta_output: meta::MetaOutput::default(),
        }
    }
}

/// `class-thresholds` and `classes` turned into per-class-id tables, cached
/// until one of the strings or the threshold changes.
struct Filters {
    key: (String, String, u64),
    post: PostParams,
}

struct State {
    detector: Detector,
    labels: Vec<String>,
    info: Option<gst_video::VideoInfo>,
    frames_seen: u64,
    filters: Option<Filters>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    frames_inferred: u64,
    frames_skipped: u64,
    total_latency_ms: f64,
    last_latency_ms: f64,
}

#[derive(Default)]
pub struct EdgeDetect {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    stats: Mutex<Stats>,
}

fn family_of(format: ModelFormat) -> Option<ModelFamily> {
    match format {
        ModelFormat::Auto => None,
        ModelFormat::Yolox => Some(ModelFamily::Yolox),
        ModelFormat::Yolov5 => Some(ModelFamily::Yolov5),
        ModelFormat::Yolov8 => Some(ModelFamily::Yolov8),
        ModelFormat::End2End => Some(ModelFamily::End2End),
    }
}

fn provider_of(p: Provider) -> runtime::Provider {
    match p {
        Provider::Cpu => runtime::Provider::Cpu,
        Provider::Cuda => runtime::Provider::Cuda,
        Provider::TensorRt => runtime::Provider::TensorRt,
        Provider::OpenVino => runtime::Provider::OpenVino,
        Provider::Xnnpack => runtime::Provider::Xnnpack,
        Provider::CoreMl => runtime::Provider::CoreMl,
        Provider::Qnn => runtime::Provider::Qnn,
    }
}

/// Builds the per-class tables from the property strings. Unknown labels and
/// bad numbers are reported in the returned warnings and ignored.
fn build_filters(settings: &Settings, labels: &[String]) -> (PostParams, Vec<String>) {
    let mut warnings = Vec::new();
    let default = settings.conf_threshold as f32;
    let mut class_thresholds = vec![default; labels.len()];
    for item in settings
        .class_thresholds
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let parsed = item.rsplit_once(':').and_then(|(name, v)| {
            Some((
                class_id(labels, name.trim())?,
                v.trim().parse::<f32>().ok()?,
            ))
        });
        match parsed {
            Some((id, v)) if (0.0..=1.0).contains(&v) => class_thresholds[id] = v,
            _ => warnings.push(format!(
                "class-thresholds: ignoring `{item}`: expected LABEL:VALUE with a known label and 0 <= VALUE <= 1"
            )),
        }
    }
    let keep_classes = labels::keep_classes(&settings.classes, labels, &mut warnings);
    (
        PostParams {
            class_thresholds,
            default_threshold: default,
            keep_classes,
            iou_threshold: settings.iou_threshold as f32,
            agnostic: settings.agnostic_nms,
            max_detections: settings.max_detections as usize,
        },
        warnings,
    )
}

impl EdgeDetect {
    /// Runs the detector on one readable frame and returns objects in frame pixels.
    fn detect(
        state: &mut State,
        buf: &gst::BufferRef,
        info: &gst_video::VideoInfo,
        post: &PostParams,
    ) -> Result<(Vec<meta::Object>, f64), String> {
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, info)
            .map_err(|e| format!("cannot map the video frame: {e}"))?;
        let view = crate::video::frame_view(&frame)?;
        let (dets, timings) = state.detector.detect(&view, post)?;
        let objects = dets
            .iter()
            .map(|d| {
                let label = state
                    .labels
                    .get(d.class_id)
                    .cloned()
                    .unwrap_or_else(|| format!("class{}", d.class_id));
                meta::Object::new(
                    &label,
                    d.class_id as i32,
                    f64::from(d.score),
                    [
                        f64::from(d.x1),
                        f64::from(d.y1),
                        f64::from(d.x2),
                        f64::from(d.y2),
                    ],
                )
            })
            .collect();
        Ok((objects, timings.total_ms()))
    }
}

#[glib::object_subclass]
impl ObjectSubclass for EdgeDetect {
    const NAME: &'static str = "GstEdgeAIDetect";
    type Type = super::EdgeDetect;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for EdgeDetect {
    fn constructed(&self) {
        self.parent_constructed();
        // GStreamer names instances after the GType (GstEdgeAIDetect, chosen
        // so as not to clash with OpenCV's GstEdgeDetect): keep the element's
        // own name in default instance names, `edgedetect0`, `edgedetect1`...
        let obj = self.obj();
        let name = obj.name();
        if let Some(n) = name.strip_prefix("edgeaidetect")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            obj.set_property("name", format!("edgedetect{n}"));
        }
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("model")
                    .nick("Model")
                    .blurb("Path to the YOLO model (.onnx)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("labels")
                    .nick("Labels")
                    .blurb("Labels file, one class name per line (default: names in the model's metadata, else class<N>)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("model-format", ModelFormat::Auto)
                    .nick("Model format")
                    .blurb("Output layout and pre-processing of the model family")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("conf-threshold")
                    .nick("Confidence threshold")
                    .blurb("Minimum confidence of a detection")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_CONF_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("class-thresholds")
                    .nick("Per-class thresholds")
                    .blurb("Per-class confidence thresholds overriding conf-threshold, e.g. person:0.4,car:0.6")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("iou-threshold")
                    .nick("IoU threshold")
                    .blurb("Non-maximum suppression IoU threshold")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_IOU_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("max-detections")
                    .nick("Maximum detections")
                    .blurb("Maximum number of objects per frame after NMS")
                    .minimum(1)
                    .maximum(100_000)
                    .default_value(DEFAULT_MAX_DETECTIONS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("classes")
                    .nick("Classes")
                    .blurb("Keep only these labels (comma-separated names or ids); empty keeps all")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("agnostic-nms")
                    .nick("Class-agnostic NMS")
                    .blurb("Suppress overlapping boxes across classes")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb("Run inference on every Nth frame (1 = every frame); other frames are marked not inferred")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(DEFAULT_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("threads")
                    .nick("Threads")
                    .blurb("ONNX Runtime intra-op threads (0 = ONNX Runtime's default, one per physical core)")
                    .maximum(256)
                    .default_value(DEFAULT_THREADS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("provider", Provider::Cpu)
                    .nick("Execution provider")
                    .blurb("Where ONNX Runtime runs the model; falls back to CPU with a warning when unavailable")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("frames-inferred")
                    .nick("Frames inferred")
                    .blurb("Frames the model ran on since the element started")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("frames-skipped")
                    .nick("Frames skipped")
                    .blurb("Frames passed without inference (interval or skip-inference marker)")
                    .read_only()
                    .build(),
                glib::ParamSpecDouble::builder("mean-latency")
                    .nick("Mean latency")
                    .blurb("Mean pre-processing + inference + post-processing time per inferred frame, ms")
                    .minimum(0.0)
                    .read_only()
                    .build(),
                glib::ParamSpecDouble::builder("last-latency")
                    .nick("Last latency")
                    .blurb("Latency of the last inferred frame, ms")
                    .minimum(0.0)
                    .read_only()
                    .build(),
            ]
            .into_iter()
            .chain(meta::meta_output_properties())
            .collect()
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        match pspec.name() {
            "model" => {
                s.model = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "labels" => {
                s.labels = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "model-format" => s.model_format = value.get().unwrap_or_default(),
            "conf-threshold" => s.conf_threshold = value.get().unwrap_or(DEFAULT_CONF_THRESHOLD),
            "class-thresholds" => {
                s.class_thresholds = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "iou-threshold" => s.iou_threshold = value.get().unwrap_or(DEFAULT_IOU_THRESHOLD),
            "max-detections" => s.max_detections = value.get().unwrap_or(DEFAULT_MAX_DETECTIONS),
            "classes" => {
                s.classes = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            }
            "agnostic-nms" => s.agnostic_nms = value.get().unwrap_or(false),
            "interval" => s.interval = value.get().unwrap_or(DEFAULT_INTERVAL),
            "threads" => s.threads = value.get().unwrap_or(DEFAULT_THREADS),
            "provider" => s.provider = value.get().unwrap_or_default(),
            meta::META_OUTPUT_PROPERTY => s.meta_output = value.get().unwrap_or_default(),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let stats = *self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let opt = |v: &str| {
            if v.is_empty() {
                None
            } else {
                Some(v.to_string())
            }
        };
        match pspec.name() {
            "model" => opt(&s.model).to_value(),
            "labels" => opt(&s.labels).to_value(),
            "model-format" => s.model_format.to_value(),
            "conf-threshold" => s.conf_threshold.to_value(),
            "class-thresholds" => opt(&s.class_thresholds).to_value(),
            "iou-threshold" => s.iou_threshold.to_value(),
            "max-detections" => s.max_detections.to_value(),
            "classes" => opt(&s.classes).to_value(),
            "agnostic-nms" => s.agnostic_nms.to_value(),
            "interval" => s.interval.to_value(),
            "threads" => s.threads.to_value(),
            "provider" => s.provider.to_value(),
            meta::META_OUTPUT_PROPERTY => s.meta_output.to_value(),
            "frames-inferred" => stats.frames_inferred.to_value(),
            "frames-skipped" => stats.frames_skipped.to_value(),
            "mean-latency" => {
                let n = stats.frames_inferred.max(1) as f64;
                (stats.total_latency_ms / n).to_value()
            }
            "last-latency" => stats.last_latency_ms.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for EdgeDetect {}

impl ElementImpl for EdgeDetect {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Edge AI object detector",
                "Filter/Analyzer/Video",
                "Detects objects with a YOLO-family ONNX model (YOLOX, YOLOv5, YOLOv8/11, YOLOv10/26) \
                 and attaches them as region-of-interest metadata",
                "gst-plugin-edgeai developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            crate::video::filter_pad_templates(&crate::video::supported_video_caps())
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for EdgeDetect {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let cfg = DetectorConfig {
            model: PathBuf::from(&settings.model),
            threads: settings.threads as usize,
            provider: provider_of(settings.provider),
            family: family_of(settings.model_format),
        };
        let detector = Detector::load(&cfg).map_err(|e| match e {
            LoadError::Runtime(m) => gst::error_msg!(gst::LibraryError::Init, ("{}", m)),
            LoadError::ModelMissing(m) => gst::error_msg!(gst::ResourceError::NotFound, ("{}", m)),
            other => gst::error_msg!(gst::LibraryError::Settings, ("{}", other)),
        })?;
        let (rt_path, rt_version) = detector.runtime();
        gst::info!(
            CAT,
            imp = self,
            "ONNX Runtime {} from {}; model {}: {:?} ({}), input {:?}, output {:?}, precision {}, provider {}",
            rt_version,
            rt_path.display(),
            settings.model,
            detector.family(),
            detector.family_reason(),
            detector.input_size(),
            detector.output_shape(),
            detector.precision(),
            detector.provider().name()
        );
        for w in detector.warnings() {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }
        let file = (!settings.labels.is_empty())
            .then(|| read_labels(&settings.labels))
            .transpose()
            .map_err(|m| gst::error_msg!(gst::ResourceError::NotFound, ("{}", m)))?;
        let (labels, source) =
            labels::resolve(file, detector.model_labels(), detector.num_classes());
        if source == labels::LabelSource::AssumedCoco {
            gst::info!(
                CAT,
                imp = self,
                "assumption: the model has 80 classes and no names, so it is a COCO model: using the COCO names shipped with the plugin (set `labels` if it is not)"
            );
        }
        if !settings.labels.is_empty() && labels.len() != detector.num_classes() {
            gst::warning!(
                CAT,
                imp = self,
                "labels file has {} names but the model has {} classes",
                labels.len(),
                detector.num_classes()
            );
        }
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(State {
            detector,
            labels,
            info: None,
            frames_seen: 0,
            filters: None,
        });
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = Stats::default();
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "cannot parse caps {incaps}"))?;
        gst::debug!(CAT, imp = self, "caps {incaps}");
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let state = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps before start"))?;
        state.info = Some(info);
        Ok(())
    }

    fn propose_allocation(
        &self,
        decide_query: Option<&gst::query::Allocation>,
        query: &mut gst::query::Allocation,
    ) -> Result<(), gst::LoggableError> {
        query.add_allocation_meta::<gst_video::VideoMeta>(None);
        self.parent_propose_allocation(decide_query, query)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self
            .settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let frame_info = meta::frame_info(buf);

        let mut warnings = Vec::new();
        let outcome = {
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let Some(state) = guard.as_mut() else {
                drop(guard);
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("buffer before start"));
                return Err(gst::FlowError::NotNegotiated);
            };
            let Some(info) = state.info.clone() else {
                drop(guard);
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("buffer before caps"));
                return Err(gst::FlowError::NotNegotiated);
            };
            let due = state.frames_seen % u64::from(settings.interval.max(1)) == 0;
            state.frames_seen += 1;
            if !due || frame_info.skip_inference {
                None
            } else {
                let key = (
                    settings.class_thresholds.clone(),
                    settings.classes.clone(),
                    settings.conf_threshold.to_bits()
                        ^ settings.iou_threshold.to_bits().rotate_left(1)
                        ^ u64::from(settings.max_detections).rotate_left(7)
                        ^ u64::from(settings.agnostic_nms),
                );
                if state.filters.as_ref().is_none_or(|f| f.key != key) {
                    let (post, w) = build_filters(&settings, &state.labels);
                    warnings = w;
                    state.filters = Some(Filters { key, post });
                }
                let post = state.filters.as_ref().map(|f| f.post.clone());
                post.map(|post| Self::detect(state, buf, &info, &post).map(|r| (r, info)))
            }
        };
        for w in warnings {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }

        match outcome {
            None => {
                if let Err(e) = meta::update_frame_info(buf, |f| f.inferred = Some(false)) {
                    gst::warning!(CAT, imp = self, "cannot add frame meta: {e}");
                }
                self.stats
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .frames_skipped += 1;
            }
            Some(Ok(((objects, latency_ms), info))) => {
                gst::trace!(
                    CAT,
                    imp = self,
                    "{} objects in {latency_ms:.2} ms",
                    objects.len()
                );
                for obj in &objects {
                    meta::add_object_to(
                        buf,
                        obj,
                        info.width(),
                        info.height(),
                        settings.meta_output,
                    );
                }
                if let Err(e) = meta::update_frame_info(buf, |f| {
                    f.inferred = Some(true);
                    f.inference_latency_ms = Some(latency_ms);
                }) {
                    gst::warning!(CAT, imp = self, "cannot add frame meta: {e}");
                }
                let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
                stats.frames_inferred += 1;
                stats.total_latency_ms += latency_ms;
                stats.last_latency_ms = latency_ms;
            }
            Some(Err(e)) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Failed,
                    ("detection failed: {}", e)
                );
                return Err(gst::FlowError::Error);
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["person", "bicycle", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn class_thresholds_and_classes_parse() {
        let s = Settings {
            conf_threshold: 0.3,
            class_thresholds: "person:0.4, 2:0.6".into(),
            classes: "person,car".into(),
            ..Default::default()
        };
        let (post, warnings) = build_filters(&s, &labels());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(post.class_thresholds, vec![0.4, 0.3, 0.6]);
        assert_eq!(post.keep_classes, Some(vec![true, false, true]));
    }

    #[test]
    fn bad_entries_warn_and_are_ignored() {
        let s = Settings {
            conf_threshold: 0.3,
            class_thresholds: "dog:0.4,person:2,car".into(),
            classes: "person,unicorn".into(),
            ..Default::default()
        };
        let (post, warnings) = build_filters(&s, &labels());
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert_eq!(post.class_thresholds, vec![0.3, 0.3, 0.3]);
        assert_eq!(post.keep_classes, Some(vec![true, false, false]));
    }
}
