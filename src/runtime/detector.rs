// SPDX-License-Identifier: MPL-2.0
//! A YOLO detector on one ONNX Runtime session: pre-processing, inference,
//! decoding and NMS, with no GStreamer in sight, so that the element, the
//! benchmark and the tests share one definition of the model's maths.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, TensorRef, ValueType};

use crate::frame::FrameView;
use crate::inference::{
    DecodeParams, Detection, Letterbox, LetterboxSpec, ModelFamily, Preprocessor,
    check_forced_family, decode, detect_family, nms, num_classes_for_input,
    parse_ultralytics_names, preprocess_for,
};

use super::loader;
use super::onnx_model::ModelSummary;

/// Execution providers the plugin knows. CPU always works; the others are
/// used when the loaded ONNX Runtime build has them, else the detector falls
/// back to CPU with a warning naming what is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    #[default]
    Cpu,
    Cuda,
    TensorRt,
    OpenVino,
    Xnnpack,
    CoreMl,
    Qnn,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Cpu => "CPUExecutionProvider",
            Provider::Cuda => "CUDAExecutionProvider",
            Provider::TensorRt => "TensorrtExecutionProvider",
            Provider::OpenVino => "OpenVINOExecutionProvider",
            Provider::Xnnpack => "XnnpackExecutionProvider",
            Provider::CoreMl => "CoreMLExecutionProvider",
            Provider::Qnn => "QNNExecutionProvider",
        }
    }

    /// Whether the loaded ONNX Runtime build was compiled with this provider.
    fn is_available(self) -> bool {
        use ort::ep::{self, ExecutionProvider};
        let r = match self {
            Provider::Cpu => Ok(true),
            Provider::Cuda => ep::CUDA::is_available(),
            Provider::TensorRt => ep::TensorRT::is_available(),
            Provider::OpenVino => ep::OpenVINO::is_available(),
            Provider::Xnnpack => ep::XNNPACK::is_available(),
            Provider::CoreMl => ep::CoreML::is_available(),
            Provider::Qnn => ep::QNN::is_available(),
        };
        r.unwrap_or(false)
    }

    fn dispatch(self, threads: usize) -> Option<ort::ep::ExecutionProviderDispatch> {
        use ort::ep;
        Some(match self {
            Provider::Cpu => return None,
            Provider::Cuda => ep::CUDA::default().build(),
            Provider::TensorRt => ep::TensorRT::default().build(),
            Provider::OpenVino => ep::OpenVINO::default().build(),
            Provider::Xnnpack => ep::XNNPACK::default()
                .with_intra_op_num_threads(std::num::NonZeroUsize::new(threads.max(1))?)
                .build(),
            Provider::CoreMl => ep::CoreML::default().build(),
            Provider::Qnn => ep::QNN::default().build(),
        })
    }
}

/// What the detector is asked to load.
#[derive(Debug, Clone)]
pub struct DetectorConfig {
    pub model: PathBuf,
    /// Intra-op threads; 0 lets ONNX Runtime decide.
    pub threads: usize,
    pub provider: Provider,
    /// `None`: decide from the output shape and the model metadata.
    pub family: Option<ModelFamily>,
}

/// Why a model could not be loaded. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    Runtime(String),
    ModelMissing(String),
    ModelInvalid(String),
    UnsupportedInput(String),
    UnsupportedOutput(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Runtime(s)
            | LoadError::ModelMissing(s)
            | LoadError::ModelInvalid(s)
            | LoadError::UnsupportedInput(s)
            | LoadError::UnsupportedOutput(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for LoadError {}

/// Post-processing parameters, read per frame so they can change live.
#[derive(Debug, Clone)]
pub struct PostParams {
    pub class_thresholds: Vec<f32>,
    pub default_threshold: f32,
    pub keep_classes: Option<Vec<bool>>,
    pub iou_threshold: f32,
    pub agnostic: bool,
    pub max_detections: usize,
}

/// Time spent in each step of one frame, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    pub preprocess_ms: f64,
    pub inference_ms: f64,
    pub postprocess_ms: f64,
}

impl Timings {
    pub fn total_ms(&self) -> f64 {
        self.preprocess_ms + self.inference_ms + self.postprocess_ms
    }
}

pub struct Detector {
    session: Session,
    family: ModelFamily,
    family_reason: String,
    spec: LetterboxSpec,
    preprocessor: Preprocessor,
    input_width: usize,
    input_height: usize,
    /// The input's batch dimension: `None` when dynamic.
    batch: Option<usize>,
    output_shape: Vec<i64>,
    input: Vec<f32>,
    labels: Option<Vec<String>>,
    num_classes: usize,
    precision: &'static str,
    provider_used: Provider,
    warnings: Vec<String>,
    runtime_path: PathBuf,
    runtime_version: String,
}

fn tensor_info(vt: &ValueType) -> Option<(TensorElementType, Vec<i64>)> {
    match vt {
        ValueType::Tensor { ty, shape, .. } => Some((*ty, shape.iter().copied().collect())),
        _ => None,
    }
}

/// The model's precision in words, for the log: read from the model's graph
/// (operator types and stored tensor types, see [`ModelSummary::precision`]).
fn model_precision(bytes: &[u8]) -> &'static str {
    ModelSummary::from_bytes(bytes).map_or("unknown", |s| s.precision())
}

/// The model's custom metadata (`metadata_props`) and producer name.
fn model_metadata(session: &Session) -> Vec<(String, String)> {
    let mut metadata = Vec::new();
    if let Ok(md) = session.metadata() {
        for key in md.custom_keys().unwrap_or_default() {
            if let Some(v) = md.custom(&key) {
                metadata.push((key, v));
            }
        }
        if let Some(p) = md.producer() {
            metadata.push(("producer".into(), p));
        }
    }
    metadata
}

/// Ultralytics' `imgsz` metadata, `[640, 640]` (height, width).
fn parse_imgsz(v: &str) -> Option<(usize, usize)> {
    let nums: Vec<usize> = v
        .trim_matches(|c| c == '[' || c == ']' || c == ' ')
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    match nums[..] {
        [h, w] if h > 0 && w > 0 => Some((h, w)),
        [s] if s > 0 => Some((s, s)),
        _ => None,
    }
}

impl Detector {
    pub fn load(cfg: &DetectorConfig) -> Result<Detector, LoadError> {
        let rt = loader::runtime().map_err(LoadError::Runtime)?;
        let path: &Path = &cfg.model;
        if cfg.model.as_os_str().is_empty() {
            return Err(LoadError::ModelMissing(
                "no model set: set the `model` property to a YOLO .onnx file".into(),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| {
            LoadError::ModelMissing(format!(
                "cannot read model file {}: {e}; check the `model` property",
                path.display()
            ))
        })?;

        let mut warnings: Vec<String> = rt.warning.iter().cloned().collect();
        let mut builder = Session::builder(&rt.environment)
            .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
            .and_then(|b| Ok(b.with_intra_threads(cfg.threads)?))
            .and_then(|b| Ok(b.with_inter_threads(1)?))
            .map_err(|e| {
                LoadError::Runtime(format!("cannot configure an ONNX Runtime session: {e}"))
            })?;

        let mut provider_used = Provider::Cpu;
        if cfg.provider != Provider::Cpu {
            if !cfg.provider.is_available() {
                warnings.push(format!(
                    "provider {} is not in the loaded ONNX Runtime ({} {}): using CPU. \
                     Install an ONNX Runtime build with that provider and point ORT_DYLIB_PATH at it.",
                    cfg.provider.name(),
                    rt.path.display(),
                    rt.version,
                ));
            } else if let Some(ep) = cfg.provider.dispatch(cfg.threads) {
                match builder.with_execution_providers([ep.error_on_failure()]) {
                    Ok(b) => {
                        builder = b;
                        provider_used = cfg.provider;
                    }
                    Err(e) => {
                        warnings.push(format!(
                            "provider {} failed to register ({e}): using CPU",
                            cfg.provider.name()
                        ));
                        builder = e.recover();
                    }
                }
            }
        }

        let session = builder.commit_from_memory(&bytes).map_err(|e| {
            LoadError::ModelInvalid(format!(
                "ONNX Runtime cannot load {} as a model: {e}; is it an .onnx file?",
                path.display()
            ))
        })?;

        // Input: one float tensor [1, 3, H, W].
        let Some(input) = session.inputs().first() else {
            return Err(LoadError::UnsupportedInput(format!(
                "{} has no input",
                path.display()
            )));
        };
        let (in_ty, in_shape) = tensor_info(input.dtype()).ok_or_else(|| {
            LoadError::UnsupportedInput(format!(
                "{}: input `{}` is not a tensor",
                path.display(),
                input.name()
            ))
        })?;
        if session.inputs().len() != 1
            || in_shape.len() != 4
            || (in_shape[1] != 3 && in_shape[1] != -1)
        {
            return Err(LoadError::UnsupportedInput(format!(
                "{} has no image input: expected one input shaped [1,3,H,W], found {}",
                path.display(),
                session
                    .inputs()
                    .iter()
                    .map(|i| format!("`{}` {:?}", i.name(), tensor_info(i.dtype()).map(|t| t.1)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if in_ty != TensorElementType::Float32 {
            return Err(LoadError::UnsupportedInput(format!(
                "{}: input `{}` is {in_ty:?}; edgedetect feeds float32 (FP16 and INT8 models with float32 \
                 inputs and outputs, as ONNX Runtime's quantiser and `keep_io_types` conversions write, work)",
                path.display(),
                input.name()
            )));
        }
        let metadata = model_metadata(&session);
        // Dynamic spatial sizes: the size the exporter recorded (Ultralytics'
        // `imgsz`), else Ultralytics' default export size, 640x640.
        let dynamic = !(in_shape[2] > 0 && in_shape[3] > 0);
        let (input_height, input_width) = if dynamic {
            let (h, w) = metadata
                .iter()
                .find(|(k, _)| k == "imgsz")
                .and_then(|(_, v)| parse_imgsz(v))
                .unwrap_or((640, 640));
            warnings.push(format!(
                "{}: input size is dynamic ({in_shape:?}): feeding {w}x{h}",
                path.display()
            ));
            (h, w)
        } else {
            (in_shape[2] as usize, in_shape[3] as usize)
        };
        if input_width % 32 != 0 || input_height % 32 != 0 {
            return Err(LoadError::UnsupportedInput(format!(
                "{}: input {input_width}x{input_height} is not a multiple of 32, which YOLO models need",
                path.display()
            )));
        }

        let Some(output) = session.outputs().first() else {
            return Err(LoadError::UnsupportedOutput(format!(
                "{} has no output",
                path.display()
            )));
        };
        let (out_ty, output_shape) = tensor_info(output.dtype()).ok_or_else(|| {
            LoadError::UnsupportedOutput(format!(
                "{}: output `{}` is not a tensor",
                path.display(),
                output.name()
            ))
        })?;
        if out_ty != TensorElementType::Float32 {
            return Err(LoadError::UnsupportedOutput(format!(
                "{}: output `{}` is {out_ty:?}; edgedetect reads float32 outputs",
                path.display(),
                output.name()
            )));
        }

        let (family, family_reason) = match cfg.family {
            Some(f) => (
                f,
                check_forced_family(f, &output_shape, input_width, input_height, &metadata)
                    .map_err(|e| LoadError::UnsupportedOutput(format!("{}: {e}", path.display())))?,
            ),
            None => detect_family(&output_shape, input_width, input_height, &metadata).map_err(|e| {
                let note = if dynamic {
                    format!(" (the model's input size is dynamic and no `imgsz` metadata says which to use: fed {input_width}x{input_height})")
                } else {
                    String::new()
                };
                LoadError::UnsupportedOutput(format!(
                    "{}: {e}{note}. Set model-format if the layout is one of the supported ones.",
                    path.display()
                ))
            })?,
        };
        let static_shape: Vec<usize> = output_shape.iter().map(|&d| d.max(1) as usize).collect();
        let num_classes =
            num_classes_for_input(family, &static_shape, input_width, input_height).unwrap_or(0);
        let labels = metadata
            .iter()
            .find(|(k, _)| k == "names")
            .and_then(|(_, v)| parse_ultralytics_names(v));
        let precision = model_precision(&bytes);

        Ok(Detector {
            session,
            family,
            family_reason,
            spec: preprocess_for(family, input_width, input_height),
            preprocessor: Preprocessor::new(),
            input_width,
            input_height,
            batch: (in_shape[0] > 0).then_some(in_shape[0] as usize),
            output_shape,
            input: vec![0.0; 3 * input_width * input_height],
            labels,
            num_classes,
            precision,
            provider_used,
            warnings,
            runtime_path: rt.path.clone(),
            runtime_version: rt.version.clone(),
        })
    }

    pub fn family(&self) -> ModelFamily {
        self.family
    }
    /// Why the family was chosen, for the log.
    pub fn family_reason(&self) -> &str {
        &self.family_reason
    }
    pub fn input_size(&self) -> (usize, usize) {
        (self.input_width, self.input_height)
    }
    /// The model's batch dimension: `None` when dynamic (any number of
    /// frames per call), else the fixed number (1 for most exports).
    pub fn batch(&self) -> Option<usize> {
        self.batch
    }
    pub fn output_shape(&self) -> &[i64] {
        &self.output_shape
    }
    /// Class names stored in the model (Ultralytics `names` metadata).
    pub fn model_labels(&self) -> Option<&[String]> {
        self.labels.as_deref()
    }
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }
    pub fn precision(&self) -> &'static str {
        self.precision
    }
    pub fn provider(&self) -> Provider {
        self.provider_used
    }
    /// Warnings raised while loading (provider fallback, dynamic input).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    pub fn runtime(&self) -> (&Path, &str) {
        (&self.runtime_path, &self.runtime_version)
    }

    /// Pre-processes `frame` into the input tensor; returns the letterbox mapping.
    pub fn preprocess(&mut self, frame: &FrameView) -> Result<Letterbox, String> {
        self.preprocessor
            .run(frame, &self.spec, &mut self.input)
            .map_err(|e| e.to_string())
    }

    /// The input tensor as [`Detector::preprocess`] left it: NCHW, `3 x H x W`
    /// float32 values (for tools that need the exact tensor the plugin feeds,
    /// such as calibration for quantisation).
    pub fn input_tensor(&self) -> &[f32] {
        &self.input
    }

    /// Runs the model on the current input tensor and nothing else (for the
    /// inference-only benchmark).
    pub fn run_model_only(&mut self) -> Result<(), String> {
        self.run_model_batch(1)
    }

    /// Runs the model on `n` copies of the current input tensor in one call
    /// (the model's fixed batch, if it has one) and nothing else: for
    /// measuring what batching gains, and for warm-ups.
    pub fn run_model_batch(&mut self, n: usize) -> Result<(), String> {
        let n = self.batch.unwrap_or(n.max(1));
        let shape = [n, 3, self.input_height, self.input_width];
        let stacked;
        let data: &[f32] = if n == 1 {
            &self.input
        } else {
            stacked = self.input.repeat(n);
            &stacked
        };
        let tensor = TensorRef::from_array_view((shape, data))
            .map_err(|e| format!("cannot wrap the input tensor: {e}"))?;
        self.session
            .run(ort::inputs![tensor])
            .map(|_| ())
            .map_err(|e| format!("inference failed: {e}"))
    }

    /// Runs the model on the current input tensor and decodes the output into
    /// candidates in network-input pixels (before NMS).
    pub fn run(&mut self, post: &PostParams) -> Result<Vec<Detection>, String> {
        let input = std::mem::take(&mut self.input);
        let r = self.infer_batch(&[input.as_slice()], &[post]);
        self.input = input;
        r.map(|mut v| v.pop().unwrap_or_default())
    }

    /// What pre-processing needs, apart from the model: a frame is turned
    /// into an input tensor on any thread without holding the detector (live
    /// mode pre-processes the next frame while the current one is inferred).
    pub fn input_prep(&self) -> InputPrep {
        InputPrep::new(self.spec)
    }

    /// Runs the model once on `inputs.len()` pre-processed frames (each a
    /// `3 x H x W` tensor from [`InputPrep::prepare`]) stacked along the batch
    /// dimension, and decodes each frame's output with its own `posts` entry
    /// into candidates in network-input pixels (before NMS). One frame needs
    /// no copy; several are copied into one tensor. A model with a fixed batch
    /// of N takes up to N frames, padded with zeros to N.
    pub fn infer_batch(
        &mut self,
        inputs: &[&[f32]],
        posts: &[&PostParams],
    ) -> Result<Vec<Vec<Detection>>, String> {
        let n = inputs.len();
        let per = 3 * self.input_height * self.input_width;
        if n == 0 || posts.len() != n || inputs.iter().any(|i| i.len() != per) {
            return Err(format!(
                "internal: {n} inputs of {per} values with {} post-processing settings expected",
                posts.len()
            ));
        }
        // A model with a fixed batch of N takes fewer frames padded with
        // zeros (their outputs are ignored), never more.
        let run_n = match self.batch {
            Some(b) if b < n => {
                return Err(format!(
                    "the model takes batches of exactly {b} frames, not {n}; \
                     export it with a dynamic batch dimension to batch \
                     (tools/make_batch_model.py)"
                ));
            }
            Some(b) => b,
            None => n,
        };
        let stacked;
        let data: &[f32] = if run_n == 1 {
            inputs[0]
        } else {
            let mut v = Vec::with_capacity(run_n * per);
            for i in inputs {
                v.extend_from_slice(i);
            }
            v.resize(run_n * per, 0.0);
            stacked = v;
            &stacked
        };
        let shape = [run_n, 3, self.input_height, self.input_width];
        let tensor = TensorRef::from_array_view((shape, data))
            .map_err(|e| format!("cannot wrap the input tensor: {e}"))?;
        let outputs = self
            .session
            .run(ort::inputs![tensor])
            .map_err(|e| format!("inference failed: {e}"))?;
        let (shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| format!("cannot read the model output: {e}"))?;
        let mut shape: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        if shape.first() != Some(&run_n) || data.len() % run_n != 0 {
            return Err(format!(
                "the model answered a batch of {run_n} frames with an output shaped {shape:?}"
            ));
        }
        shape[0] = 1;
        let chunk = data.len() / run_n;
        posts
            .iter()
            .enumerate()
            .map(|(i, post)| {
                let params = DecodeParams {
                    input_width: self.input_width,
                    input_height: self.input_height,
                    class_thresholds: &post.class_thresholds,
                    default_threshold: post.default_threshold,
                    keep_classes: post.keep_classes.as_deref(),
                };
                decode(
                    self.family,
                    &data[i * chunk..(i + 1) * chunk],
                    &shape,
                    &params,
                )
                .map_err(|e| e.to_string())
            })
            .collect()
    }

    /// The whole frame: pre-processing, inference, decoding, NMS, and boxes
    /// mapped back to frame pixels and clipped to the frame.
    pub fn detect(
        &mut self,
        frame: &FrameView,
        post: &PostParams,
    ) -> Result<(Vec<Detection>, Timings), String> {
        let t0 = Instant::now();
        let lb = self.preprocess(frame)?;
        let t1 = Instant::now();
        let candidates = self.run(post)?;
        let t2 = Instant::now();
        let dets = self.postprocess(candidates, &lb, frame.width, frame.height, post);
        let t3 = Instant::now();
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1000.0;
        Ok((
            dets,
            Timings {
                preprocess_ms: ms(t0, t1),
                // Decoding happens inside `run`; it is a small part of it.
                inference_ms: ms(t1, t2),
                postprocess_ms: ms(t2, t3),
            },
        ))
    }

    /// NMS (skipped for NMS-free end-to-end models) and mapping to frame pixels.
    pub fn postprocess(
        &self,
        candidates: Vec<Detection>,
        lb: &Letterbox,
        frame_width: usize,
        frame_height: usize,
        post: &PostParams,
    ) -> Vec<Detection> {
        finish(self.family, candidates, lb, frame_width, frame_height, post)
    }
}

/// NMS (skipped for NMS-free end-to-end models) and mapping from
/// network-input to frame pixels, clipped to the frame; needs no model.
pub fn finish(
    family: ModelFamily,
    candidates: Vec<Detection>,
    lb: &Letterbox,
    frame_width: usize,
    frame_height: usize,
    post: &PostParams,
) -> Vec<Detection> {
    let mut dets = if family == ModelFamily::End2End {
        let mut d = candidates;
        d.sort_by(|a, b| b.score.total_cmp(&a.score));
        d.truncate(post.max_detections);
        d
    } else {
        nms(
            candidates,
            post.iou_threshold,
            post.agnostic,
            post.max_detections,
        )
    };
    let (fw, fh) = (frame_width as f32, frame_height as f32);
    for d in &mut dets {
        let (x1, y1) = lb.to_frame(d.x1, d.y1);
        let (x2, y2) = lb.to_frame(d.x2, d.y2);
        d.x1 = x1.clamp(0.0, fw);
        d.y1 = y1.clamp(0.0, fh);
        d.x2 = x2.clamp(0.0, fw);
        d.y2 = y2.clamp(0.0, fh);
    }
    dets.retain(|d| d.x2 > d.x1 && d.y2 > d.y1);
    dets
}

/// Pre-processing without the model ([`Detector::input_prep`]): owns its
/// resampling caches, so each stream keeps one.
#[derive(Debug, Clone)]
pub struct InputPrep {
    spec: LetterboxSpec,
    preprocessor: Preprocessor,
    /// Tensors of dropped [`Input`]s, reused by the next `prepare`.
    spare: TensorPool,
}

/// Input tensors handed back when their [`Input`] is dropped (on whichever
/// thread ran the model), so that live mode does not allocate and zero a
/// fresh 2 MiB tensor for every frame it sends (`vec![0.0; n]` is a calloc:
/// a memset of the whole tensor per frame, and its cache misses).
#[derive(Debug, Clone, Default)]
struct TensorPool(Arc<Mutex<Vec<Vec<f32>>>>);

impl TensorPool {
    /// Tensors kept at most: one being inferred, one waiting, one being
    /// prepared; more only while a batch or a shared model holds them.
    const KEEP: usize = 3;

    fn take(&self, len: usize) -> Vec<f32> {
        let spare = self.0.lock().ok().and_then(|mut p| p.pop());
        match spare {
            // Every value is written by the pre-processing (the letterbox
            // padding included): a recycled tensor needs no clearing.
            Some(mut v) => {
                v.resize(len, 0.0);
                v
            }
            None => vec![0.0; len],
        }
    }

    fn give(&self, v: Vec<f32>) {
        if let Ok(mut p) = self.0.lock()
            && p.len() < Self::KEEP
        {
            p.push(v);
        }
    }
}

/// One frame pre-processed for the model.
#[derive(Debug, Clone)]
pub struct Input {
    /// NCHW `3 x H x W` float32 values.
    pub tensor: Vec<f32>,
    pub letterbox: Letterbox,
    pub frame_width: usize,
    pub frame_height: usize,
    pub preprocess_ms: f64,
    /// Where the tensor goes back when the input is dropped.
    pool: Option<TensorPool>,
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give(std::mem::take(&mut self.tensor));
        }
    }
}

impl InputPrep {
    pub fn new(spec: LetterboxSpec) -> InputPrep {
        InputPrep {
            spec,
            preprocessor: Preprocessor::new(),
            spare: TensorPool::default(),
        }
    }

    /// The same tensor [`Detector::preprocess`] makes of `frame`.
    pub fn prepare(&mut self, frame: &FrameView) -> Result<Input, String> {
        let t0 = Instant::now();
        let mut tensor = self.spare.take(self.spec.tensor_len());
        let letterbox = match self.preprocessor.run(frame, &self.spec, &mut tensor) {
            Ok(lb) => lb,
            Err(e) => {
                self.spare.give(tensor);
                return Err(e.to_string());
            }
        };
        Ok(Input {
            tensor,
            letterbox,
            frame_width: frame.width,
            frame_height: frame.height,
            preprocess_ms: t0.elapsed().as_secs_f64() * 1000.0,
            pool: Some(self.spare.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{PixelLayout, Plane, YuvConversion};

    fn bgr(w: usize, h: usize, seed: u8) -> Vec<u8> {
        (0..w * h * 3)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn view(data: &[u8], w: usize, h: usize) -> FrameView<'_> {
        FrameView {
            yuv: YuvConversion::default(),
            layout: PixelLayout::Bgr,
            width: w,
            height: h,
            planes: vec![Plane {
                data,
                stride: w * 3,
            }],
        }
    }

    /// A tensor handed back by a dropped `Input` is reused, and what the
    /// next frame makes of it equals a fresh tensor, whatever it held: a
    /// tall frame (padding right) after a wide one (padding below), so the
    /// stale values lie where the new frame has padding.
    #[test]
    fn recycled_tensors_are_reused_and_fully_rewritten() {
        let spec = LetterboxSpec::yolox(64, 64);
        let mut prep = InputPrep::new(spec);
        let wide = bgr(96, 40, 7);
        let tall = bgr(30, 80, 99);
        let first = prep.prepare(&view(&wide, 96, 40)).expect("wide");
        let ptr = first.tensor.as_ptr();
        drop(first);
        let second = prep.prepare(&view(&tall, 30, 80)).expect("tall");
        assert_eq!(
            second.tensor.as_ptr(),
            ptr,
            "the dropped tensor was not reused"
        );
        let fresh = InputPrep::new(spec)
            .prepare(&view(&tall, 30, 80))
            .expect("fresh");
        assert_eq!(second.tensor.len(), fresh.tensor.len());
        let same = second
            .tensor
            .iter()
            .zip(&fresh.tensor)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "a recycled tensor kept values of the previous frame");
        // The pool keeps a bounded number of tensors.
        let inputs: Vec<Input> = (0..6)
            .map(|_| prep.prepare(&view(&tall, 30, 80)).expect("tall"))
            .collect();
        drop(inputs);
        assert_eq!(
            prep.spare.0.lock().map(|p| p.len()).unwrap_or(0),
            TensorPool::KEEP
        );
    }
}
