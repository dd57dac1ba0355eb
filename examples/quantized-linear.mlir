// A 4-bit group-quantized linear layer, quantized and run by hfq's
// reference lowering. See README.md ("Lower and run an hfq module").
//
//   hfq-opt examples/quantized-linear.mlir --hfq-lower-to-llvm |
//     mlir-runner -e main -entry-point-result=void \
//       -shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so

!q4 = !hfq.qtensor<2x64xf32, #hfq.affine<bits = 4, granularity = group, group_size = 32, zero_point = integer>>

func.func private @printMemrefF32(tensor<*xf32>)

func.func @main() {
  // W[r][c] = (c - 32) / 64 for row 0 and (32 - c) / 128 for row 1.
  %w = tensor.generate {
  ^bb0(%r: index, %c: index):
    %ci = arith.index_cast %c : index to i32
    %cf = arith.sitofp %ci : i32 to f32
    %c32 = arith.constant 32.0 : f32
    %d0 = arith.subf %cf, %c32 : f32
    %d1 = arith.subf %c32, %cf : f32
    %s0 = arith.constant 64.0 : f32
    %s1 = arith.constant 128.0 : f32
    %v0 = arith.divf %d0, %s0 : f32
    %v1 = arith.divf %d1, %s1 : f32
    %r0 = arith.constant 0 : index
    %is0 = arith.cmpi eq, %r, %r0 : index
    %v = arith.select %is0, %v0, %v1 : f32
    tensor.yield %v : f32
  } : tensor<2x64xf32>
  %x = arith.constant dense<1.0> : tensor<1x64xf32>
  %q = hfq.quantize %w : tensor<2x64xf32> -> !q4
  %y = hfq.linear %x, %q : tensor<1x64xf32>, !q4 -> tensor<1x2xf32>
  %yf = hfq.linear %x, %w : tensor<1x64xf32>, tensor<2x64xf32> -> tensor<1x2xf32>
  %u = tensor.cast %y : tensor<1x2xf32> to tensor<*xf32>
  %uf = tensor.cast %yf : tensor<1x2xf32> to tensor<*xf32>
  // The quantized sums first, then the float ones.
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  call @printMemrefF32(%uf) : (tensor<*xf32>) -> ()
  return
}
