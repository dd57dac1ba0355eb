// RUN: hfq-opt %s --convert-hfq-to-linalg | FileCheck %s

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>

// CHECK-LABEL: func.func @float_weight_bias
// CHECK-SAME: (%[[XV:.*]]: tensor<2x5x8xf32>, %[[WV:.*]]: tensor<3x8xf32>, %[[B:.*]]: tensor<3xf32>)
func.func @float_weight_bias(%x: tensor<2x5x8xf32>, %w: tensor<3x8xf32>, %b: tensor<3xf32>) -> tensor<2x5x3xf32> {
  // CHECK: %[[X2:.*]] = tensor.collapse_shape %[[XV]] {{\[\[}}0, 1], [2]] : tensor<2x5x8xf32> into tensor<10x8xf32>
  // CHECK: %[[INIT:.*]] = linalg.fill
  // CHECK: %[[MM:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
  // CHECK-SAME: ins(%[[X2]], %[[WV]] : tensor<10x8xf32>, tensor<3x8xf32>) outs(%[[INIT]] : tensor<10x3xf32>)
  // CHECK: %[[BIASED:.*]] = linalg.generic {{{.*}}#[[COL]]{{.*}}} ins(%[[B]] : tensor<3xf32>) outs(%[[MM]] : tensor<10x3xf32>)
  // CHECK: tensor.expand_shape %[[BIASED]] {{\[\[}}0, 1], [2]] output_shape [2, 5, 3]
  %y = hfq.linear %x, %w, %b : tensor<2x5x8xf32>, tensor<3x8xf32>, tensor<3xf32> -> tensor<2x5x3xf32>
  return %y : tensor<2x5x3xf32>
}

// CHECK-LABEL: func.func @quantized_weight_vector
func.func @quantized_weight_vector(%x: tensor<64xf32>, %q: !hfq.qtensor<4x64xf32, #hfq.codebook<kind = fp4>>) -> tensor<4xf32> {
  // The weight is dequantized, then multiplied; a vector input is viewed as one row.
  // CHECK: %[[DEQ:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4x64xf32>)
  // CHECK: arith.mulf
  // CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [1, 64]
  // CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]]{{.*}} ins(%{{.*}}, %[[DEQ]] : tensor<1x64xf32>, tensor<4x64xf32>)
  // CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x4xf32> into tensor<4xf32>
  %y = hfq.linear %x, %q : tensor<64xf32>, !hfq.qtensor<4x64xf32, #hfq.codebook<kind = fp4>> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
