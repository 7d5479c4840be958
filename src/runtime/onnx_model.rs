// SPDX-License-Identifier: MPL-2.0
//! What an ONNX file says about its own precision: the operator types of its
//! nodes and the element types of its stored tensors, read from the model's
//! protobuf without ONNX Runtime.
//!
//! ONNX Runtime's API shows a session's inputs and outputs, not its graph, so
//! an FP16 model converted with `keep_io_types` (float32 inputs and outputs,
//! float16 weights) looks like an FP32 one from there. The messages below are
//! the few fields of `onnx.proto` this needs, declared for `prost`; every
//! other field (weights' bytes included) is skipped by the decoder, unread.
//! Field numbers are from onnx/onnx.proto (stable since IR version 3).

use std::collections::BTreeMap;

use prost::Message;

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "25")]
    functions: Vec<FunctionProto>,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "15")]
    sparse_initializer: Vec<SparseTensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct FunctionProto {
    #[prost(message, repeated, tag = "7")]
    node: Vec<NodeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct AttributeProto {
    #[prost(message, optional, tag = "5")]
    t: Option<TensorProto>,
    #[prost(message, optional, boxed, tag = "6")]
    g: Option<Box<GraphProto>>,
    #[prost(message, repeated, tag = "10")]
    tensors: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    graphs: Vec<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int32, tag = "2")]
    data_type: i32,
}

#[derive(Clone, PartialEq, Message)]
struct SparseTensorProto {
    #[prost(message, optional, tag = "1")]
    values: Option<TensorProto>,
}

/// `TensorProto.DataType` values used here.
pub mod data_type {
    pub const FLOAT: i32 = 1;
    pub const UINT8: i32 = 2;
    pub const INT8: i32 = 3;
    pub const UINT16: i32 = 4;
    pub const INT16: i32 = 5;
    pub const FLOAT16: i32 = 10;
    pub const BFLOAT16: i32 = 16;
    pub const UINT4: i32 = 21;
    pub const INT4: i32 = 22;
}

/// Operator and stored-tensor counts of a model, subgraphs and local
/// functions included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelSummary {
    /// Nodes per operator type.
    pub op_types: BTreeMap<String, usize>,
    /// Stored tensors (initializers and `Constant` values) per element type.
    pub tensor_types: BTreeMap<i32, usize>,
}

impl ModelSummary {
    /// Reads the summary from the bytes of an `.onnx` file; `None` when the
    /// bytes are not a protobuf `ModelProto`.
    pub fn from_bytes(bytes: &[u8]) -> Option<ModelSummary> {
        let model = ModelProto::decode(bytes).ok()?;
        let mut s = ModelSummary::default();
        if let Some(g) = &model.graph {
            s.graph(g);
        }
        for f in &model.functions {
            f.node.iter().for_each(|n| s.node(n));
        }
        Some(s)
    }

    fn graph(&mut self, g: &GraphProto) {
        g.node.iter().for_each(|n| self.node(n));
        g.initializer.iter().for_each(|t| self.tensor(t));
        for sp in &g.sparse_initializer {
            if let Some(t) = &sp.values {
                self.tensor(t);
            }
        }
    }

    fn node(&mut self, n: &NodeProto) {
        *self.op_types.entry(n.op_type.clone()).or_default() += 1;
        for a in &n.attribute {
            a.t.iter().chain(&a.tensors).for_each(|t| self.tensor(t));
            a.g.iter()
                .map(|g| &**g)
                .chain(&a.graphs)
                .for_each(|g| self.graph(g));
        }
    }

    fn tensor(&mut self, t: &TensorProto) {
        *self.tensor_types.entry(t.data_type).or_default() += 1;
    }

    pub fn ops(&self, op: &str) -> usize {
        self.op_types.get(op).copied().unwrap_or(0)
    }

    pub fn tensors(&self, ty: i32) -> usize {
        self.tensor_types.get(&ty).copied().unwrap_or(0)
    }

    /// The model's precision in words, for the log:
    ///
    /// * `int8 (QOperator)`: quantised operators (`QLinear*`, `*Integer`),
    ///   as ONNX Runtime's quantiser writes with `QuantFormat.QOperator`;
    /// * `int8 (QDQ)`: float operators between `QuantizeLinear` /
    ///   `DequantizeLinear` pairs (`QuantFormat.QDQ`); `int16 (QDQ)` or
    ///   `int4 (QDQ)` when no 8-bit tensor is stored but 16- or 4-bit ones are;
    /// * `fp16` / `bf16`: half-precision weights (with float32 inputs and
    ///   outputs when converted with `keep_io_types`); `mixed fp16/fp32` when
    ///   more float32 tensors than float16 ones are stored (mixed precision);
    /// * `fp32` otherwise.
    pub fn precision(&self) -> &'static str {
        use data_type::*;
        let qoperator = self
            .op_types
            .keys()
            .any(|op| op.starts_with("QLinear") || op.ends_with("Integer"));
        let bits8 = self.tensors(INT8) + self.tensors(UINT8);
        if qoperator {
            return "int8 (QOperator)";
        }
        if self.ops("DequantizeLinear") > 0 {
            return if bits8 == 0 && self.tensors(INT16) + self.tensors(UINT16) > 0 {
                "int16 (QDQ)"
            } else if bits8 == 0 && self.tensors(INT4) + self.tensors(UINT4) > 0 {
                "int4 (QDQ)"
            } else {
                "int8 (QDQ)"
            };
        }
        let (f16, bf16, f32) = (
            self.tensors(FLOAT16),
            self.tensors(BFLOAT16),
            self.tensors(FLOAT),
        );
        if f16 > 0 && f16 >= f32 {
            "fp16"
        } else if bf16 > 0 && bf16 >= f32 {
            "bf16"
        } else if f16 + bf16 > 0 {
            "mixed fp16/fp32"
        } else {
            "fp32"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::data_type::*;
    use super::*;

    fn tensor(ty: i32) -> TensorProto {
        TensorProto { data_type: ty }
    }

    fn node(op: &str) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            attribute: vec![],
        }
    }

    fn model(nodes: &[&str], tensors: &[i32]) -> Vec<u8> {
        ModelProto {
            graph: Some(GraphProto {
                node: nodes.iter().map(|n| node(n)).collect(),
                initializer: tensors.iter().map(|&t| tensor(t)).collect(),
                sparse_initializer: vec![],
            }),
            functions: vec![],
        }
        .encode_to_vec()
    }

    fn precision(nodes: &[&str], tensors: &[i32]) -> &'static str {
        ModelSummary::from_bytes(&model(nodes, tensors))
            .expect("valid model")
            .precision()
    }

    #[test]
    fn names_each_precision() {
        assert_eq!(precision(&["Conv", "Sigmoid"], &[FLOAT, FLOAT]), "fp32");
        // keep_io_types FP16: Casts at the edges, float16 weights.
        assert_eq!(
            precision(&["Cast", "Conv", "Cast"], &[FLOAT16, FLOAT16, FLOAT]),
            "fp16"
        );
        assert_eq!(precision(&["Conv"], &[BFLOAT16, BFLOAT16]), "bf16");
        assert_eq!(
            precision(&["Conv"], &[FLOAT16, FLOAT, FLOAT]),
            "mixed fp16/fp32"
        );
        let qdq = ["QuantizeLinear", "DequantizeLinear", "Conv"];
        assert_eq!(precision(&qdq, &[INT8, FLOAT, INT8]), "int8 (QDQ)");
        assert_eq!(precision(&qdq, &[UINT8, FLOAT]), "int8 (QDQ)");
        assert_eq!(precision(&qdq, &[INT16, FLOAT]), "int16 (QDQ)");
        assert_eq!(precision(&qdq, &[INT4, UINT8]), "int8 (QDQ)");
        assert_eq!(precision(&qdq, &[INT4, FLOAT]), "int4 (QDQ)");
        assert_eq!(
            precision(
                &["QuantizeLinear", "QLinearConv", "DequantizeLinear"],
                &[UINT8]
            ),
            "int8 (QOperator)"
        );
        assert_eq!(
            precision(&["ConvInteger", "Cast"], &[INT8]),
            "int8 (QOperator)"
        );
    }

    #[test]
    fn counts_constants_and_subgraphs() {
        let inner = GraphProto {
            node: vec![node("Relu")],
            initializer: vec![tensor(FLOAT16)],
            sparse_initializer: vec![],
        };
        let mut constant = node("Constant");
        constant.attribute.push(AttributeProto {
            t: Some(tensor(FLOAT16)),
            g: None,
            tensors: vec![],
            graphs: vec![],
        });
        let mut branch = node("If");
        branch.attribute.push(AttributeProto {
            t: None,
            g: Some(Box::new(inner.clone())),
            tensors: vec![],
            graphs: vec![inner],
        });
        let bytes = ModelProto {
            graph: Some(GraphProto {
                node: vec![constant, branch],
                initializer: vec![tensor(FLOAT)],
                sparse_initializer: vec![SparseTensorProto {
                    values: Some(tensor(INT8)),
                }],
            }),
            functions: vec![FunctionProto {
                node: vec![node("Relu")],
            }],
        }
        .encode_to_vec();
        let s = ModelSummary::from_bytes(&bytes).expect("valid");
        assert_eq!(s.ops("Relu"), 3);
        assert_eq!(s.ops("If"), 1);
        assert_eq!(s.ops("Constant"), 1);
        assert_eq!(s.tensors(FLOAT16), 3);
        assert_eq!(s.tensors(FLOAT), 1);
        assert_eq!(s.tensors(INT8), 1);
    }

    #[test]
    fn skips_fields_it_does_not_declare() {
        // A TensorProto with dims (1, packed), data_type (2) and raw_data (9),
        // encoded by hand: only data_type is kept.
        let mut t = vec![0x0a, 0x02, 0x03, 0x04]; // dims [3, 4]
        t.extend([0x10, 0x0a]); // data_type 10
        t.extend([0x4a, 0x04, 1, 2, 3, 4]); // raw_data
        let mut g = vec![0x2a, t.len() as u8];
        g.extend(&t);
        let mut m = vec![0x08, 0x08]; // ir_version 8
        m.extend([0x3a, g.len() as u8]);
        m.extend(&g);
        let s = ModelSummary::from_bytes(&m).expect("valid");
        assert_eq!(s.tensors(FLOAT16), 1);
        assert_eq!(s.precision(), "fp16");
    }

    #[test]
    fn rejects_what_is_not_a_model() {
        assert!(ModelSummary::from_bytes(b"\xff\xff\xff not protobuf").is_none());
    }
}
