// RUN: hfq-opt %s --hfq-lower-to-llvm | FileCheck %s
// RUN: hfq-opt %s --pass-pipeline='builtin.module(hfq-lower-to-llvm{reference=true})' | FileCheck %s

// A quantized linear lowers all the way to the LLVM dialect.

// CHECK-NOT: hfq.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK: llvm.func @main
// CHECK: llvm.intr.roundeven
// CHECK: llvm.func @dequant
func.func @main(%x: tensor<?x64xf32>, %w: tensor<4x64xf32>) -> tensor<?x4xf32> {
  %q = hfq.quantize %w : tensor<4x64xf32> -> !hfq.qtensor<4x64xf32, #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer, storage_bits = 32>>
  %y = hfq.linear %x, %q : tensor<?x64xf32>, !hfq.qtensor<4x64xf32, #hfq.affine<bits = 3, granularity = group, group_size = 32, zero_point = integer, storage_bits = 32>> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

func.func @dequant(%q: !hfq.qtensor<4x64xf16, #hfq.codebook<kind = nf4, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>>) -> tensor<4x64xf16> {
  %w = hfq.dequantize %q : !hfq.qtensor<4x64xf16, #hfq.codebook<kind = nf4, absmax_encoding = #hfq.codebook<kind = dynamic8, block_size = 256, offset = true>>> -> tensor<4x64xf16>
  return %w : tensor<4x64xf16>
}

// RUN: hfq-opt %s --hfq-lower-to-llvm | FileCheck %s --check-prefix=THREADS
// RUN: hfq-opt %s --pass-pipeline='builtin.module(hfq-lower-to-llvm{threads=false})' | FileCheck %s --check-prefix=SEQUENTIAL
// THREADS: omp.parallel
// THREADS: omp.wsloop
// SEQUENTIAL-NOT: omp.
