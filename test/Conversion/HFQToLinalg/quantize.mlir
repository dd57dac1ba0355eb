// RUN: hfq-opt %s --convert-hfq-to-linalg | FileCheck %s

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>

// CHECK-LABEL: func.func @rtn_group
// CHECK-SAME: (%[[W:.*]]: tensor<4x64xf32>) -> (tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x2xi32>)
func.func @rtn_group(%w: tensor<4x64xf32>) -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>> {
  // Group range, seeded with 0 so that it includes zero.
  // CHECK: %[[RANGE:.*]]:2 = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[GROUP]]], iterator_types = ["parallel", "reduction"]}
  // CHECK-SAME: ins(%[[W]] : tensor<4x64xf32>)
  // CHECK: arith.minimumf
  // CHECK: arith.maximumf
  // Scale = (hi - lo) / 15, zero = round(-lo / scale).
  // CHECK: %[[P:.*]]:2 = linalg.generic
  // CHECK: arith.subf
  // CHECK: arith.divf %{{.*}}, %cst
  // CHECK: math.roundeven
  // CHECK: arith.fptosi
  // Codes = clamp(round(w / s) + z, 0, 15).
  // CHECK: %[[CODES:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[GROUP]], #[[ID]]]
  // CHECK: math.roundeven
  // CHECK: arith.maximumf
  // CHECK: arith.minimumf
  // CHECK: arith.fptoui
  // Packing: a loop over the codes overlapping each container.
  // CHECK: %[[PACKED:.*]] = linalg.generic
  // CHECK: scf.for
  // CHECK: tensor.extract %[[CODES]]
  // CHECK: arith.ori
  // CHECK: -> tensor<4x32xi8>
  // CHECK: return %[[PACKED]], %[[P]]#0, %[[P]]#1
  %q = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
  return %q : !hfq.qtensor<4x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>
}

// CHECK-LABEL: func.func @nf4
// CHECK-SAME: -> (tensor<2x32xi8>, tensor<1xf32>)
func.func @nf4(%w: tensor<2x64xf32>) -> !hfq.qtensor<2x64xf32, #hfq.codebook<kind = nf4, block_size = 128>> {
  // absmax over blocks of the flattened tensor.
  // CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[FLAT:.*]]], iterator_types = ["reduction", "reduction"]}
  // CHECK: math.absf
  // Nearest table entry.
  // CHECK: scf.for
  // CHECK: arith.cmpf olt
  %q = hfq.quantize %w : tensor<2x64xf32> -> !hfq.qtensor<2x64xf32, #hfq.codebook<kind = nf4, block_size = 128>>
  return %q : !hfq.qtensor<2x64xf32, #hfq.codebook<kind = nf4, block_size = 128>>
}
