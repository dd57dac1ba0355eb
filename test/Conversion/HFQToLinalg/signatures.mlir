// RUN: hfq-opt %s --convert-hfq-to-linalg | FileCheck %s

// Quantized values crossing function boundaries become their parts.

!q = !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>

// CHECK-LABEL: func.func @callee
// CHECK-SAME: (%[[C:.*]]: tensor<4x32xi8>, %[[S:.*]]: tensor<4x2xf32>, %[[Z:.*]]: tensor<4x2xi32>)
// CHECK-SAME: -> (tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32>)
func.func @callee(%q: !q) -> !q {
  // CHECK: return %[[C]], %[[S]], %[[Z]]
  return %q : !q
}

// CHECK-LABEL: func.func @caller
// CHECK-SAME: (%[[C:.*]]: tensor<4x32xi8>, %[[S:.*]]: tensor<4x2xf32>, %[[Z:.*]]: tensor<4x2xi32>)
func.func @caller(%c: tensor<4x32xi8>, %s: tensor<4x2xf32>, %z: tensor<4x2xi32>) -> tensor<4x2xf32> {
  // CHECK-NOT: hfq.
  // CHECK: %[[R:.*]]:3 = call @callee(%[[C]], %[[S]], %[[Z]])
  %q = hfq.assemble %c, %s, %z : tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32> -> !q
  %r = call @callee(%q) : (!q) -> !q
  %parts:3 = hfq.disassemble %r : !q -> tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32>
  // CHECK: return %[[R]]#1
  return %parts#1 : tensor<4x2xf32>
}
