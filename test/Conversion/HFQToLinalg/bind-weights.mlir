// RUN: hfq-opt %s --hfq-bind-weights | FileCheck %s

// Each global becomes one memref.global per stored tensor: an external one
// tagged with its parameter (the part's key for a quantized global), or an
// aligned initializer for inline data; loads read them in place.

// CHECK: memref.global "public" constant @__hfq_w.w.weight : memref<2x4xf16> {hfq.param = #hfq.param<"model", "w.weight">}
// CHECK: memref.global "public" constant @__hfq_w.q.weight.codes : memref<2x4xi8> {hfq.param = #hfq.param<"model", "q.weight.codes">}
// CHECK: memref.global "public" constant @__hfq_w.q.weight.scales : memref<2x1xf32> {hfq.param = #hfq.param<"model", "q.weight.scales">}
// CHECK: memref.global "private" constant @__hfq_w.i.weight.codes : memref<2x4xi8> = dense<1> {alignment = 64 : i64}
// CHECK: memref.global "private" constant @__hfq_w.i.weight.scales : memref<2x1xf32> = dense<2.500000e-01> {alignment = 64 : i64}
// CHECK-NOT: hfq.global
// CHECK-LABEL: func.func @f
// CHECK: %[[W:.*]] = memref.get_global @__hfq_w.w.weight : memref<2x4xf16>
// CHECK: %[[WT:.*]] = bufferization.to_tensor %[[W]] restrict : memref<2x4xf16> to tensor<2x4xf16>
// CHECK: %[[C:.*]] = memref.get_global @__hfq_w.q.weight.codes
// CHECK: %[[CT:.*]] = bufferization.to_tensor %[[C]] restrict
// CHECK: %[[S:.*]] = memref.get_global @__hfq_w.q.weight.scales
// CHECK: %[[ST:.*]] = bufferization.to_tensor %[[S]] restrict
// CHECK: %[[Q:.*]] = hfq.assemble %[[CT]], %[[ST]] : tensor<2x4xi8>, tensor<2x1xf32>
// CHECK: %[[I:.*]] = hfq.assemble
// CHECK: return %[[WT]], %[[Q]], %[[I]]
hfq.global @w.weight : tensor<2x4xf16> = #hfq.param<"model", "w.weight">
hfq.global @q.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = #hfq.param<"model", "q.weight">
hfq.global @i.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>> = [dense<1> : tensor<2x4xi8>, dense<0.25> : tensor<2x1xf32>]
func.func @f() -> (tensor<2x4xf16>, !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>, !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>) {
  %w = hfq.load @w.weight : tensor<2x4xf16>
  %q = hfq.load @q.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>
  %i = hfq.load @i.weight : !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>
  return %w, %q, %i : tensor<2x4xf16>, !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>, !hfq.qtensor<2x4xf32, #hfq.affine<bits = 8, granularity = channel, zero_point = symmetric>>
}
