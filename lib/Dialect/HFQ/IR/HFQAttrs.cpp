//===- HFQAttrs.cpp - hfq weight encoding attributes -----------*- C++ -*-===//
//
// Verification of the encodings on their own and against a weight shape, and
// the storage part types each encoding implies. The rules here are the ones
// the dialect documentation states; diagnostics name the rule that broke.
//
//===----------------------------------------------------------------------===//

#include "hfq/Dialect/HFQ/IR/HFQDialect.h"
#include "hfq/Numerics/Codebooks.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace mlir::hfq;

#define GET_ATTRDEF_CLASSES
#include "hfq/Dialect/HFQ/IR/HFQAttrs.cpp.inc"

void HFQDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "hfq/Dialect/HFQ/IR/HFQAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Shared rules
//===----------------------------------------------------------------------===//

static LogicalResult verifyStorage(function_ref<InFlightDiagnostic()> emitError,
                                   unsigned codeBits, unsigned storageBits) {
  if (storageBits != 8 && storageBits != 16 && storageBits != 32)
    return emitError() << "storage_bits must be 8, 16 or 32, got "
                       << storageBits;
  if (codeBits > storageBits)
    return emitError() << codeBits << "-bit codes do not fit in "
                       << storageBits << "-bit storage";
  return success();
}

/// The packed codes run along the last dimension; it must fill whole
/// containers.
static LogicalResult
verifyPackedLastDim(function_ref<InFlightDiagnostic()> emitError,
                    ArrayRef<int64_t> shape, unsigned codeBits,
                    unsigned storageBits, bool padRows = false) {
  if (shape.empty())
    return emitError() << "quantized tensors must have rank >= 1";
  // Bounded so that element counts and bit offsets never overflow int64.
  constexpr int64_t kMaxElements = int64_t(1) << 48;
  int64_t elements = 1;
  for (int64_t d : shape) {
    if (d <= 0)
      return emitError() << "quantized tensors must have static, positive "
                            "dimensions";
    if (d > kMaxElements / elements)
      return emitError() << "quantized tensors may have at most 2^48 elements";
    elements *= d;
  }
  if (!padRows && (shape.back() * codeBits) % storageBits != 0)
    return emitError() << "last dimension " << shape.back() << " of "
                       << codeBits << "-bit codes does not fill whole "
                       << storageBits << "-bit containers";
  return success();
}

/// Appends the names of part `part`: itself, or with a nested encoding
/// that encoding's parts as `part.<name>` (interned, so that the names
/// outlive the call).
static void appendPartNames(SmallVector<StringRef> &names, StringRef part,
                            EncodingAttrInterface nested, MLIRContext *ctx) {
  if (!nested) {
    names.push_back(part);
    return;
  }
  for (StringRef name : nested.getPartNames())
    names.push_back(StringAttr::get(ctx, part + "." + name));
}

using ReportFn = function_ref<void(StringRef, const Twine &)>;

/// Checks the data of part `part`'s nested encoding (its parts `parts` for
/// a part of `shape`), reporting them as `part.<name>`.
static LogicalResult verifyNestedPartData(EncodingAttrInterface nested,
                                          StringRef part,
                                          ArrayRef<int64_t> shape,
                                          ArrayRef<ArrayRef<char>> parts,
                                          ReportFn report) {
  return nested.verifyPartData(shape, parts,
                               [&](StringRef name, const Twine &message) {
                                 report((part + "." + name).str(), message);
                               });
}

static RankedTensorType packedCodesType(ArrayRef<int64_t> shape,
                                        unsigned codeBits,
                                        unsigned storageBits, MLIRContext *ctx) {
  // Each row its own stream, padded to whole containers (affine only; the
  // other encodings' rows fill them).
  SmallVector<int64_t> packed(shape);
  packed.back() = llvm::divideCeil(shape.back() * codeBits, storageBits);
  return RankedTensorType::get(packed, IntegerType::get(ctx, storageBits));
}

//===----------------------------------------------------------------------===//
// AffineEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult AffineEncodingAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, unsigned bits,
    FloatType codeType, Granularity granularity, int64_t axis,
    int64_t groupSize, ZeroPoint zeroPoint, bool actOrder, unsigned storageBits,
    PackOrder order, FloatType scaleType, EncodingAttrInterface scaleEncoding,
    EncodingAttrInterface zeroEncoding, bool packedZeros) {
  if (scaleType && !scaleType.isF16() && !scaleType.isBF16() &&
      !scaleType.isF32() &&
      !isa<Float8E4M3FNType, Float8E8M0FNUType>(scaleType))
    return emitError() << "scale_type must be f16, bf16, f32, f8E4M3FN or "
                          "f8E8M0FNU, got "
                       << scaleType;
  if (isNarrowFloat(scaleType) && zeroPoint == ZeroPoint::float_)
    return emitError() << "float zero points cannot be stored in " << scaleType;
  if (scaleType && scaleEncoding)
    return emitError() << "scale_type and scale_encoding exclude each other: "
                          "quantized scales take their types from their "
                          "encoding";
  if (codeType) {
    if (!isNarrowFloat(codeType) || isa<Float8E8M0FNUType>(codeType))
      return emitError() << "code_type must be a float type of at most 8 "
                            "bits with a zero (f4E2M1FN, f8E4M3FN, ...), got "
                         << codeType;
    if (codeType.getWidth() != bits)
      return emitError() << "code_type " << codeType << " has "
                         << codeType.getWidth() << " bits, not bits = " << bits;
    if (zeroPoint != ZeroPoint::symmetric)
      return emitError() << "float codes (code_type) need zero_point = "
                            "symmetric";
  }
  if (zeroEncoding && zeroPoint != ZeroPoint::float_)
    return emitError() << "zero_encoding quantizes float zero points: it "
                          "needs zero_point = float";
  if (zeroEncoding && scaleType)
    return emitError() << "scale_type and zero_encoding exclude each other: "
                          "quantized zeros take their types from their "
                          "encoding";
  if (packedZeros && zeroPoint != ZeroPoint::integer &&
      zeroPoint != ZeroPoint::integer_minus_one)
    return emitError() << "packed_zeros needs integer zero points";
  if (bits < 2 || bits > 8)
    return emitError() << "bits must be in [2, 8], got " << bits;
  if (axis < 0)
    return emitError() << "axis must be non-negative, got " << axis;
  if (granularity == Granularity::group && groupSize <= 0)
    return emitError() << "granularity = group needs a positive group_size";
  if (granularity != Granularity::group && groupSize != 0)
    return emitError() << "group_size is only meaningful with granularity = "
                          "group";
  if (actOrder && granularity != Granularity::group)
    return emitError() << "act_order needs granularity = group";
  return verifyStorage(emitError, bits, storageBits);
}

int64_t AffineEncodingAttr::getNumGroups(int64_t axisSize) const {
  switch (getGranularity()) {
  case Granularity::tensor:
  case Granularity::channel:
    return 1;
  case Granularity::group:
    return axisSize / getGroupSize();
  }
  llvm_unreachable("unknown granularity");
}

unsigned AffineEncodingAttr::getCodeBits() const { return getBits(); }

LogicalResult AffineEncodingAttr::verifyForShape(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape,
    FloatType elementType) const {
  if (failed(verifyPackedLastDim(emitError, shape, getBits(), getStorageBits(),
                                 /*padRows=*/true)))
    return failure();
  if (getAxis() >= int64_t(shape.size()))
    return emitError() << "axis " << getAxis() << " is out of range for rank "
                       << shape.size();
  if (getGranularity() == Granularity::group &&
      shape[getAxis()] % getGroupSize() != 0)
    return emitError() << "group_size " << getGroupSize()
                       << " does not divide dimension " << getAxis()
                       << " of size " << shape[getAxis()];
  if (EncodingAttrInterface nested = getScaleEncoding())
    if (failed(nested.verifyForShape(
            [&] { return emitError() << "scale_encoding of the scales: "; },
            getGroupShape(shape), elementType)))
      return failure();
  if (EncodingAttrInterface nested = getZeroEncoding())
    if (failed(nested.verifyForShape(
            [&] { return emitError() << "zero_encoding of the zeros: "; },
            getGroupShape(shape), elementType)))
      return failure();
  return success();
}

SmallVector<int64_t>
AffineEncodingAttr::getGroupShape(ArrayRef<int64_t> shape) const {
  SmallVector<int64_t> groupShape(shape.size(), 1);
  if (getGranularity() != Granularity::tensor) {
    groupShape.assign(shape.begin(), shape.end());
    groupShape[getAxis()] = getNumGroups(shape[getAxis()]);
  }
  return groupShape;
}

unsigned AffineEncodingAttr::getNumScaleParts() const {
  EncodingAttrInterface nested = getScaleEncoding();
  return nested ? nested.getPartNames().size() : 1;
}

unsigned AffineEncodingAttr::getNumZeroParts() const {
  if (getZeroPoint() == ZeroPoint::symmetric)
    return 0;
  EncodingAttrInterface nested = getZeroEncoding();
  return nested ? nested.getPartNames().size() : 1;
}

SmallVector<StringRef> AffineEncodingAttr::getPartNames() const {
  SmallVector<StringRef> names = {"codes"};
  appendPartNames(names, "scales", getScaleEncoding(), getContext());
  if (getZeroPoint() != ZeroPoint::symmetric)
    appendPartNames(names, "zeros", getZeroEncoding(), getContext());
  if (getActOrder())
    names.push_back("g_idx");
  return names;
}

SmallVector<RankedTensorType>
AffineEncodingAttr::getPartTypes(ArrayRef<int64_t> shape,
                                 FloatType elementType) const {
  MLIRContext *ctx = getContext();
  SmallVector<int64_t> groupShape = getGroupShape(shape);
  FloatType scaleType = getScaleStorageType(elementType);
  SmallVector<RankedTensorType> parts = {
      packedCodesType(shape, getBits(), getStorageBits(), ctx)};
  if (EncodingAttrInterface nested = getScaleEncoding())
    llvm::append_range(parts, nested.getPartTypes(groupShape, elementType));
  else
    parts.push_back(RankedTensorType::get(groupShape, scaleType));
  if (EncodingAttrInterface nested = getZeroEncoding()) {
    llvm::append_range(parts, nested.getPartTypes(groupShape, elementType));
  } else if (getZeroPoint() == ZeroPoint::float_) {
    parts.push_back(RankedTensorType::get(groupShape, scaleType));
  } else if (getPackedZeros()) {
    // Each row its own bit stream, padded to whole bytes.
    SmallVector<int64_t> packed(groupShape);
    packed.back() = (groupShape.back() * getBits() + 7) / 8;
    parts.push_back(RankedTensorType::get(packed, IntegerType::get(ctx, 8)));
  } else if (getZeroPoint() != ZeroPoint::symmetric) {
    parts.push_back(
        RankedTensorType::get(groupShape, IntegerType::get(ctx, 32)));
  }
  if (getActOrder())
    parts.push_back(RankedTensorType::get({shape[getAxis()]},
                                          IntegerType::get(ctx, 32)));
  return parts;
}

//===----------------------------------------------------------------------===//
// CodebookEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
CodebookEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                             CodebookKind kind, DenseF32ArrayAttr values,
                             int64_t blockSize,
                             EncodingAttrInterface absmaxEncoding, bool offset,
                             unsigned storageBits, PackOrder order) {
  unsigned codeBits = kind == CodebookKind::dynamic8 ? 8 : 4;
  if (kind == CodebookKind::custom) {
    if (!values)
      return emitError() << "kind = custom needs a values table";
    int64_t n = values.size();
    if (n < 2 || n > 256 || !llvm::isPowerOf2_64(n))
      return emitError() << "a custom table must have a power-of-two size in "
                            "[2, 256], got "
                         << n;
    for (float v : values.asArrayRef())
      if (!std::isfinite(v))
        return emitError() << "custom table values must be finite";
    codeBits = llvm::Log2_64(n);
  } else if (values) {
    return emitError() << "values are only allowed with kind = custom";
  }
  if (blockSize <= 0)
    return emitError() << "block_size must be positive, got " << blockSize;
  return verifyStorage(emitError, codeBits, storageBits);
}

SmallVector<float> CodebookEncodingAttr::getTable() const {
  switch (getKind()) {
  case CodebookKind::nf4:
    return SmallVector<float>(numerics::nf4Table());
  case CodebookKind::fp4:
    return SmallVector<float>(numerics::fp4Table());
  case CodebookKind::dynamic8:
    return SmallVector<float>(numerics::dynamicMap8());
  case CodebookKind::custom:
    return SmallVector<float>(getValues().asArrayRef());
  }
  llvm_unreachable("unknown codebook kind");
}

unsigned CodebookEncodingAttr::getCodeBits() const {
  if (getKind() == CodebookKind::custom)
    return llvm::Log2_64(getValues().size());
  return getKind() == CodebookKind::dynamic8 ? 8 : 4;
}

unsigned CodebookEncodingAttr::getNumAbsmaxParts() const {
  EncodingAttrInterface nested = getAbsmaxEncoding();
  return nested ? nested.getPartNames().size() : 1;
}

LogicalResult CodebookEncodingAttr::verifyForShape(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape,
    FloatType elementType) const {
  if (failed(verifyPackedLastDim(emitError, shape, getCodeBits(),
                                 getStorageBits())))
    return failure();
  if (EncodingAttrInterface nested = getAbsmaxEncoding())
    return nested.verifyForShape(
        [&] { return emitError() << "absmax_encoding of the absmax values: "; },
        {getNumBlocks(ShapedType::getNumElements(shape))},
        Float32Type::get(getContext()));
  return success();
}

SmallVector<StringRef> CodebookEncodingAttr::getPartNames() const {
  SmallVector<StringRef> names = {"codes"};
  appendPartNames(names, "absmax", getAbsmaxEncoding(), getContext());
  if (getOffset())
    names.push_back("offset");
  return names;
}

SmallVector<RankedTensorType>
CodebookEncodingAttr::getPartTypes(ArrayRef<int64_t> shape,
                                   FloatType elementType) const {
  MLIRContext *ctx = getContext();
  int64_t blocks = getNumBlocks(ShapedType::getNumElements(shape));
  auto f32 = Float32Type::get(ctx);
  SmallVector<RankedTensorType> parts = {
      packedCodesType(shape, getCodeBits(), getStorageBits(), ctx)};
  if (EncodingAttrInterface nested = getAbsmaxEncoding())
    llvm::append_range(parts, nested.getPartTypes({blocks}, f32));
  else
    parts.push_back(RankedTensorType::get({blocks}, f32));
  if (getOffset())
    parts.push_back(RankedTensorType::get({1}, f32));
  return parts;
}

LogicalResult
CodebookEncodingAttr::verifyPartData(ArrayRef<int64_t> shape,
                                     ArrayRef<ArrayRef<char>> parts,
                                     ReportFn report) const {
  EncodingAttrInterface nested = getAbsmaxEncoding();
  if (!nested)
    return success();
  return verifyNestedPartData(nested, "absmax",
                              {getNumBlocks(ShapedType::getNumElements(shape))},
                              parts.slice(1, getNumAbsmaxParts()), report);
}

//===----------------------------------------------------------------------===//
// SparseEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
SparseEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                           int64_t n, int64_t m) {
  if (!llvm::is_contained({2, 4, 8, 16}, m))
    return emitError() << "m must be 2, 4, 8 or 16, got " << m;
  if (n <= 0 || n >= m)
    return emitError() << "n must be in [1, m), got " << n << " of " << m;
  return success();
}

unsigned SparseEncodingAttr::getCodeBits() const {
  return llvm::Log2_64(getM());
}
unsigned SparseEncodingAttr::getStorageBits() const { return 8; }
PackOrder SparseEncodingAttr::getOrder() const { return PackOrder::lsb_first; }

LogicalResult SparseEncodingAttr::verifyForShape(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape,
    FloatType elementType) const {
  if (shape.empty() || shape.back() % getM() != 0)
    return emitError() << "the last dimension must be a multiple of m = "
                       << getM();
  SmallVector<int64_t> kept(shape);
  kept.back() = getKeptPerRow(shape.back());
  return verifyPackedLastDim(emitError, kept, getCodeBits(), getStorageBits());
}

SmallVector<StringRef> SparseEncodingAttr::getPartNames() const {
  return {"indices", "values"};
}

SmallVector<RankedTensorType>
SparseEncodingAttr::getPartTypes(ArrayRef<int64_t> shape,
                                 FloatType elementType) const {
  SmallVector<int64_t> kept(shape);
  kept.back() = getKeptPerRow(shape.back());
  return {packedCodesType(kept, getCodeBits(), getStorageBits(), getContext()),
          RankedTensorType::get(kept, elementType)};
}

//===----------------------------------------------------------------------===//
// BitmaskEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
BitmaskEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                            int64_t kept) {
  if (kept < 0)
    return emitError() << "kept must be >= 0, got " << kept;
  return success();
}

unsigned BitmaskEncodingAttr::getCodeBits() const { return 1; }
unsigned BitmaskEncodingAttr::getStorageBits() const { return 8; }
PackOrder BitmaskEncodingAttr::getOrder() const { return PackOrder::lsb_first; }

LogicalResult BitmaskEncodingAttr::verifyForShape(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape,
    FloatType elementType) const {
  if (shape.size() != 2)
    return emitError() << "bitmask encodes [out, in] weights, got rank "
                       << shape.size();
  if (getKept() > shape[0] * shape[1])
    return emitError() << getKept() << " kept values in " << shape[0] * shape[1]
                       << " weights";
  return success();
}

SmallVector<StringRef> BitmaskEncodingAttr::getPartNames() const {
  return {"bitmask", "values", "row_offsets"};
}

SmallVector<RankedTensorType>
BitmaskEncodingAttr::getPartTypes(ArrayRef<int64_t> shape,
                                  FloatType elementType) const {
  MLIRContext *ctx = getContext();
  return {RankedTensorType::get({shape[0], (shape[1] + 7) / 8},
                                IntegerType::get(ctx, 8)),
          RankedTensorType::get({getKept()}, elementType),
          RankedTensorType::get({shape[0]}, IntegerType::get(ctx, 64))};
}

//===----------------------------------------------------------------------===//
// SpQREncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
SpQREncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         EncodingAttrInterface base, int64_t outliers) {
  if (!base)
    return emitError() << "spqr needs a base encoding";
  if (isa<SpQREncodingAttr>(base))
    return emitError() << "a spqr base cannot itself be spqr";
  if (outliers < 0)
    return emitError() << "outliers must be >= 0, got " << outliers;
  return success();
}

unsigned SpQREncodingAttr::getCodeBits() const {
  return getBase().getCodeBits();
}
unsigned SpQREncodingAttr::getStorageBits() const {
  return getBase().getStorageBits();
}
PackOrder SpQREncodingAttr::getOrder() const { return getBase().getOrder(); }

LogicalResult SpQREncodingAttr::verifyForShape(
    function_ref<InFlightDiagnostic()> emitError, ArrayRef<int64_t> shape,
    FloatType elementType) const {
  if (shape.size() != 2)
    return emitError() << "spqr encodes [out, in] weights, got rank "
                       << shape.size();
  if (getOutliers() > shape[0] * shape[1])
    return emitError() << getOutliers() << " outliers in "
                       << shape[0] * shape[1] << " weights";
  return getBase().verifyForShape(emitError, shape, elementType);
}

SmallVector<StringRef> SpQREncodingAttr::getPartNames() const {
  SmallVector<StringRef> names = getBase().getPartNames();
  names.append({"outlier_row_ptr", "outlier_cols", "outlier_values"});
  return names;
}

SmallVector<RankedTensorType>
SpQREncodingAttr::getPartTypes(ArrayRef<int64_t> shape,
                               FloatType elementType) const {
  MLIRContext *ctx = getContext();
  auto i32 = IntegerType::get(ctx, 32);
  SmallVector<RankedTensorType> types =
      getBase().getPartTypes(shape, elementType);
  types.append({RankedTensorType::get({shape[0] + 1}, i32),
                RankedTensorType::get({getOutliers()}, i32),
                RankedTensorType::get({getOutliers()}, Float16Type::get(ctx))});
  return types;
}

//===----------------------------------------------------------------------===//
// Stored data of index-bearing parts
//===----------------------------------------------------------------------===//

/// The values of a part's little-endian bytes.
template <typename T> static std::vector<T> valuesOf(ArrayRef<char> bytes) {
  std::vector<T> out(bytes.size() / sizeof(T));
  if (!out.empty())
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

/// Every act-order g_idx entry names one of `groups` groups.
static LogicalResult verifyGroupIndex(ArrayRef<char> gIdx, int64_t groups,
                                      ReportFn report) {
  for (int32_t g : valuesOf<int32_t>(gIdx))
    if (g < 0 || g >= groups) {
      report("g_idx", llvm::formatv("group {0} outside [0, {1})", g, groups));
      return failure();
    }
  return success();
}

LogicalResult AffineEncodingAttr::verifyPartData(ArrayRef<int64_t> shape,
                                                 ArrayRef<ArrayRef<char>> parts,
                                                 ReportFn report) const {
  if (EncodingAttrInterface nested = getScaleEncoding())
    if (failed(verifyNestedPartData(nested, "scales", getGroupShape(shape),
                                    parts.slice(1, getNumScaleParts()),
                                    report)))
      return failure();
  if (EncodingAttrInterface nested = getZeroEncoding())
    if (failed(verifyNestedPartData(
            nested, "zeros", getGroupShape(shape),
            parts.slice(1 + getNumScaleParts(), getNumZeroParts()), report)))
      return failure();
  if (!getActOrder())
    return success();
  return verifyGroupIndex(parts.back(), getGroupShape(shape)[getAxis()],
                          report);
}

LogicalResult SpQREncodingAttr::verifyPartData(ArrayRef<int64_t> shape,
                                               ArrayRef<ArrayRef<char>> parts,
                                               ReportFn report) const {
  const unsigned n = getNumBaseParts();
  if (failed(getBase().verifyPartData(shape, parts.take_front(n), report)))
    return failure();
  std::vector<int32_t> rowPtr = valuesOf<int32_t>(parts[n]);
  if (rowPtr.empty() || rowPtr.front() != 0 || rowPtr.back() != getOutliers() ||
      !std::is_sorted(rowPtr.begin(), rowPtr.end())) {
    report("outlier_row_ptr",
           llvm::formatv("not a CSR row pointer over {0} outliers (from 0, "
                         "non-decreasing)",
                         getOutliers()));
    return failure();
  }
  for (int32_t c : valuesOf<int32_t>(parts[n + 1]))
    if (c < 0 || c >= shape[1]) {
      report("outlier_cols",
             llvm::formatv("column {0} outside [0, {1})", c, shape[1]));
      return failure();
    }
  return success();
}

LogicalResult
BitmaskEncodingAttr::verifyPartData(ArrayRef<int64_t> shape,
                                    ArrayRef<ArrayRef<char>> parts,
                                    ReportFn report) const {
  std::vector<uint8_t> mask = valuesOf<uint8_t>(parts[0]);
  std::vector<int64_t> offsets = valuesOf<int64_t>(parts[2]);
  const int64_t bytes = (shape[1] + 7) / 8;
  int64_t kept = 0;
  for (int64_t r = 0; r < shape[0]; ++r) {
    if (offsets[r] != kept) {
      report("row_offsets",
             llvm::formatv("row {0} starts at {1}, but the mask keeps {2} "
                           "elements before it",
                           r, offsets[r], kept));
      return failure();
    }
    for (int64_t c = 0; c < bytes; ++c) {
      uint8_t byte = mask[r * bytes + c];
      if (c == bytes - 1 && shape[1] % 8 && byte >> (shape[1] % 8)) {
        report("bitmask",
               llvm::formatv("row {0} sets bits past column {1}", r, shape[1]));
        return failure();
      }
      kept += llvm::popcount(byte);
    }
  }
  if (kept != getKept()) {
    report("bitmask", llvm::formatv("{0} bits set, the encoding keeps {1}",
                                    kept, getKept()));
    return failure();
  }
  return success();
}

int64_t BitmaskEncodingAttr::getStoredElementCount(int64_t) const {
  return getKept();
}

int64_t SparseEncodingAttr::getStoredElementCount(int64_t numElements) const {
  return numElements / getM() * getN();
}

//===----------------------------------------------------------------------===//
// #hfq.param
//===----------------------------------------------------------------------===//

LogicalResult
ParameterAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      StringAttr scope, StringAttr key) {
  if (scope.getValue().empty() || key.getValue().empty())
    return emitError() << "a parameter needs a non-empty scope and key";
  return success();
}
