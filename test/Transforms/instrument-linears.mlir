// RUN: hfq-opt %s --hfq-instrument-linears | FileCheck %s

// q and k read the same input: one recorder call (id 0) before the first of
// them, listing both names; o reads q's output (id 1). Names come from the
// weight globals, recorders are declared once per feature count.
// CHECK: module attributes {hfq.calibration_inputs = {{\[}}["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj"], ["model.layers.0.self_attn.o_proj"]]}
// CHECK-DAG: func.func private @hfq_calibration_record_4(i64, memref<?x4xf32>) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @hfq_calibration_record_8(i64, memref<?x8xf32>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[X:.*]]: tensor<?x8xf32>
// CHECK: %[[ID0:.*]] = arith.constant 0 : i64
// CHECK: %[[B0:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<?x8xf32> to memref<?x8xf32>
// CHECK: call @hfq_calibration_record_8(%[[ID0]], %[[B0]])
// CHECK: %[[Q:.*]] = hfq.linear %[[X]]
// CHECK-NOT: call @hfq_calibration_record
// CHECK: hfq.linear %[[X]]
// CHECK: %[[ID1:.*]] = arith.constant 1 : i64
// CHECK: %[[B1:.*]] = bufferization.to_buffer %[[Q]] read_only
// CHECK: call @hfq_calibration_record_4(%[[ID1]], %[[B1]])
// CHECK: hfq.linear %[[Q]]
hfq.global @model.layers.0.self_attn.q_proj.weight : tensor<4x8xf32> = dense<0.5> : tensor<4x8xf32>
hfq.global @model.layers.0.self_attn.k_proj.weight : tensor<2x8xf32> = dense<0.25> : tensor<2x8xf32>
hfq.global @model.layers.0.self_attn.o_proj.weight : tensor<8x4xf32> = dense<0.125> : tensor<8x4xf32>
func.func @f(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %wq = hfq.load @model.layers.0.self_attn.q_proj.weight : tensor<4x8xf32>
  %q = hfq.linear %x, %wq : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
  %wk = hfq.load @model.layers.0.self_attn.k_proj.weight : tensor<2x8xf32>
  %k = hfq.linear %x, %wk : tensor<?x8xf32>, tensor<2x8xf32> -> tensor<?x2xf32>
  %wo = hfq.load @model.layers.0.self_attn.o_proj.weight : tensor<8x4xf32>
  %o = hfq.linear %q, %wo : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x8xf32>
  return %o : tensor<?x8xf32>
}

