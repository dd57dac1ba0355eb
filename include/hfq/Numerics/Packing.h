//===- Packing.h - bit packing of quantization codes -----------*- C++ -*-===//
//
// Packs unsigned b-bit codes into w-bit containers as a bit stream, in either
// bit order, and back. This is the storage layout `#hfq.affine` and
// `#hfq.codebook` describe; the reference lowering and the exporters must
// agree with it bit for bit. Plain C++: no MLIR includes.
//
//===----------------------------------------------------------------------===//

#ifndef HFQ_NUMERICS_PACKING_H
#define HFQ_NUMERICS_PACKING_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::hfq::numerics {

/// Bit order of a packed stream (mirrors hfq::PackOrder in the dialect).
enum class BitOrder {
  /// Little-endian stream: code 0 in the low bits of container 0.
  LsbFirst,
  /// Big-endian stream: code 0 in the high bits of container 0.
  MsbFirst,
};

/// Number of containers needed for `numCodes` codes, or an error when the
/// codes do not fill whole containers (the layouts hfq supports never pad).
llvm::Expected<int64_t> packedSize(int64_t numCodes, unsigned codeBits,
                                   unsigned storageBits);

/// Packs `codes` (each < 2^codeBits) into containers of `storageBits` bits
/// (8, 16 or 32). Containers are returned as uint32 values < 2^storageBits.
/// Fails when a code is out of range or the codes do not fill whole
/// containers.
llvm::Expected<std::vector<uint32_t>> packCodes(llvm::ArrayRef<uint8_t> codes,
                                                unsigned codeBits,
                                                unsigned storageBits,
                                                BitOrder order);

/// Inverse of packCodes: the first `numCodes` codes of the stream.
llvm::Expected<std::vector<uint8_t>>
unpackCodes(llvm::ArrayRef<uint32_t> containers, int64_t numCodes,
            unsigned codeBits, unsigned storageBits, BitOrder order);

/// Packs each of `rows` rows of `cols` codes (each < 2^codeBits) as its own
/// LSB-first bit stream into ceil(cols * codeBits / 8) bytes, the last one
/// zero-padded: the layout of packed zero points, whose group counts rarely
/// fill whole bytes.
llvm::Expected<std::vector<uint8_t>>
packRowsPadded(llvm::ArrayRef<uint8_t> codes, int64_t rows, int64_t cols,
               unsigned codeBits);

} // namespace mlir::hfq::numerics

#endif // HFQ_NUMERICS_PACKING_H
