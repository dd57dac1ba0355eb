//===- Packing.cpp - bit packing of quantization codes ---------*- C++ -*-===//
//
// Bit-stream packing in either order. A code whose bits straddle two
// containers (3-bit codes in 32-bit words, as GPTQ stores them) is split
// across both; see Packing.h for the layout contract.
//
//===----------------------------------------------------------------------===//

#include "hfq/Numerics/Packing.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir::hfq::numerics;

static llvm::Error checkWidths(unsigned codeBits, unsigned storageBits) {
  if (codeBits < 1 || codeBits > 8)
    return llvm::createStringError(
        llvm::formatv("code width {0} is outside 1..8 bits", codeBits));
  if (storageBits != 8 && storageBits != 16 && storageBits != 32)
    return llvm::createStringError(llvm::formatv(
        "storage width {0} is not 8, 16 or 32 bits", storageBits));
  return llvm::Error::success();
}

llvm::Expected<int64_t> mlir::hfq::numerics::packedSize(int64_t numCodes,
                                                  unsigned codeBits,
                                                  unsigned storageBits) {
  if (llvm::Error e = checkWidths(codeBits, storageBits))
    return std::move(e);
  int64_t bits = numCodes * codeBits;
  if (numCodes < 0 || bits % storageBits != 0)
    return llvm::createStringError(llvm::formatv(
        "{0} codes of {1} bits do not fill whole {2}-bit containers",
        numCodes, codeBits, storageBits));
  return bits / storageBits;
}

llvm::Expected<std::vector<uint32_t>>
mlir::hfq::numerics::packCodes(llvm::ArrayRef<uint8_t> codes, unsigned codeBits,
                         unsigned storageBits, BitOrder order) {
  llvm::Expected<int64_t> size =
      packedSize(codes.size(), codeBits, storageBits);
  if (!size)
    return size.takeError();
  std::vector<uint32_t> out(*size, 0);
  const uint64_t containerMask = (uint64_t(1) << storageBits) - 1;
  for (size_t i = 0; i < codes.size(); ++i) {
    uint64_t code = codes[i];
    if (code >> codeBits)
      return llvm::createStringError(llvm::formatv(
          "code {0} at index {1} does not fit in {2} bits", code, i, codeBits));
    uint64_t offset = uint64_t(i) * codeBits;
    uint64_t word = offset / storageBits;
    unsigned shift = offset % storageBits;
    // Place the code in a double-width window over containers word, word+1;
    // in MSB order container `word` is the window's high half.
    uint64_t window;
    if (order == BitOrder::LsbFirst)
      window = code << shift;
    else
      window = code << (2 * storageBits - shift - codeBits);
    uint64_t lo = window & containerMask, hi = window >> storageBits;
    uint64_t first = order == BitOrder::LsbFirst ? lo : hi;
    uint64_t second = order == BitOrder::LsbFirst ? hi : lo;
    out[word] |= uint32_t(first);
    if (second)
      out[word + 1] |= uint32_t(second);
  }
  return out;
}

llvm::Expected<std::vector<uint8_t>>
mlir::hfq::numerics::unpackCodes(llvm::ArrayRef<uint32_t> containers,
                           int64_t numCodes, unsigned codeBits,
                           unsigned storageBits, BitOrder order) {
  if (llvm::Error e = checkWidths(codeBits, storageBits))
    return std::move(e);
  if (numCodes < 0 ||
      uint64_t(numCodes) * codeBits >
          uint64_t(containers.size()) * storageBits)
    return llvm::createStringError(llvm::formatv(
        "{0} containers of {1} bits hold fewer than {2} codes of {3} bits",
        containers.size(), storageBits, numCodes, codeBits));
  std::vector<uint8_t> out(numCodes);
  const uint64_t codeMask = (uint64_t(1) << codeBits) - 1;
  for (int64_t i = 0; i < numCodes; ++i) {
    uint64_t offset = uint64_t(i) * codeBits;
    uint64_t word = offset / storageBits;
    unsigned shift = offset % storageBits;
    uint64_t a = containers[word];
    uint64_t b = word + 1 < containers.size() ? containers[word + 1] : 0;
    uint64_t code;
    if (order == BitOrder::LsbFirst)
      code = ((a | (b << storageBits)) >> shift) & codeMask;
    else
      code = (((a << storageBits) | b) >> (2 * storageBits - shift - codeBits)) &
             codeMask;
    out[i] = uint8_t(code);
  }
  return out;
}

llvm::Expected<std::vector<uint8_t>>
mlir::hfq::numerics::packRowsPadded(llvm::ArrayRef<uint8_t> codes, int64_t rows,
                                    int64_t cols, unsigned codeBits) {
  if (llvm::Error e = checkWidths(codeBits, 8))
    return std::move(e);
  if (rows < 0 || cols < 0 || int64_t(codes.size()) != rows * cols)
    return llvm::createStringError(llvm::formatv(
        "{0} codes given for {1} rows of {2}", codes.size(), rows, cols));
  const int64_t rowBytes = (cols * codeBits + 7) / 8;
  std::vector<uint8_t> out(rows * rowBytes, 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t code = codes[r * cols + c];
      if (code >> codeBits)
        return llvm::createStringError(llvm::formatv(
            "code {0} at row {1}, column {2} does not fit in {3} bits", code, r,
            c, codeBits));
      int64_t offset = c * codeBits;
      uint32_t window = code << (offset % 8);
      uint8_t *at = &out[r * rowBytes + offset / 8];
      at[0] |= uint8_t(window);
      if (window >> 8)
        at[1] |= uint8_t(window >> 8);
    }
  return out;
}
