//===- QuantInterop.cpp - hfq encodings <-> upstream !quant.uniform -*- C++ -*-===//
//
// Both directions reduce the quant type to the same picture: a scale tensor
// with the weight's rank whose shape says how many blocks each dimension is
// cut into. hfq's affine encoding groups along one dimension only, which
// decides what converts.
//
//===----------------------------------------------------------------------===//

#include "hfq/Conversion/QuantInterop/QuantInterop.h"
#include "hfq/Numerics/Packing.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::hfq;

namespace {

DenseElementsAttr floatTensor(ArrayRef<int64_t> shape, FloatType type,
                              ArrayRef<double> values) {
  SmallVector<APFloat> converted;
  for (double v : values) {
    APFloat f(v);
    bool lost;
    f.convert(type.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    converted.push_back(f);
  }
  return DenseElementsAttr::get(RankedTensorType::get(shape, type), converted);
}

DenseElementsAttr intTensor(MLIRContext *ctx, ArrayRef<int64_t> shape,
                            unsigned width, ArrayRef<int64_t> values) {
  SmallVector<APInt> converted;
  for (int64_t v : values)
    converted.push_back(APInt(width, uint64_t(v), /*isSigned=*/true,
                              /*implicitTrunc=*/true));
  return DenseElementsAttr::get(
      RankedTensorType::get(shape, IntegerType::get(ctx, width)), converted);
}

SmallVector<double> toDoubles(DenseElementsAttr attr) {
  SmallVector<double> out;
  for (APFloat v : attr.getValues<APFloat>())
    out.push_back(v.convertToDouble());
  return out;
}

SmallVector<int64_t> toInts(DenseElementsAttr attr, bool isSigned) {
  SmallVector<int64_t> out;
  for (APInt v : attr.getValues<APInt>())
    out.push_back(isSigned ? v.getSExtValue() : int64_t(v.getZExtValue()));
  return out;
}

int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

} // namespace

FailureOr<HFQConstant>
mlir::hfq::convertQuantToHFQ(const QuantConstant &value,
                             function_ref<InFlightDiagnostic()> emitError) {
  auto storageType = dyn_cast<RankedTensorType>(value.storage.getType());
  if (!storageType || storageType.getRank() < 1 ||
      !storageType.hasStaticShape())
    return emitError() << "expected a statically shaped tensor of rank >= 1";
  ArrayRef<int64_t> shape = storageType.getShape();
  int64_t rank = shape.size();
  MLIRContext *ctx = storageType.getContext();
  quant::QuantizedType qt = value.type;
  unsigned bits = qt.getStorageTypeIntegralWidth();
  if (bits < 2 || bits > 8)
    return emitError() << bits << "-bit storage is outside hfq's 2..8 bits";
  bool isSigned = qt.isSigned();
  if (qt.getStorageTypeMin() !=
          quant::QuantizedType::getDefaultMinimumForInteger(isSigned, bits) ||
      qt.getStorageTypeMax() !=
          quant::QuantizedType::getDefaultMaximumForInteger(isSigned, bits))
    return emitError() << "narrowed storage range [" << qt.getStorageTypeMin()
                       << ", " << qt.getStorageTypeMax()
                       << "] is not expressible: hfq codes use the full range";
  auto expressed = dyn_cast<FloatType>(qt.getExpressedType());
  if (!expressed)
    return emitError() << "expressed type " << qt.getExpressedType()
                       << " is not a float type";

  // The scale grid: one entry per block, same rank as the weight.
  SmallVector<int64_t> grid(rank, 1);
  SmallVector<double> scales;
  SmallVector<int64_t> zeroPoints;
  if (auto u = dyn_cast<quant::UniformQuantizedType>(qt)) {
    scales = {u.getScale()};
    zeroPoints = {u.getZeroPoint()};
  } else if (auto pa = dyn_cast<quant::UniformQuantizedPerAxisType>(qt)) {
    int32_t q = pa.getQuantizedDimension();
    if (q < 0 || q >= rank || int64_t(pa.getScales().size()) != shape[q])
      return emitError() << "per-axis scales do not match dimension " << q;
    grid[q] = shape[q];
    scales.assign(pa.getScales().begin(), pa.getScales().end());
    zeroPoints.assign(pa.getZeroPoints().begin(), pa.getZeroPoints().end());
  } else if (auto sc = dyn_cast<quant::UniformQuantizedSubChannelType>(qt)) {
    ArrayRef<int64_t> scaleShape =
        cast<ShapedType>(sc.getScales().getType()).getShape();
    if (int64_t(scaleShape.size()) != rank)
      return emitError() << "sub-channel scales of rank " << scaleShape.size()
                         << " for a weight of rank " << rank;
    grid.assign(scaleShape.begin(), scaleShape.end());
    scales = toDoubles(sc.getScales());
    zeroPoints = toInts(sc.getZeroPoints(), isSigned);
  } else {
    return emitError() << "only !quant.uniform types convert, got " << qt;
  }

  // Which single dimension (if any) is cut into blocks of more than one
  // element while the others keep one scale per index.
  bool perTensor = llvm::all_of(grid, [](int64_t g) { return g == 1; });
  int64_t axis = rank - 1, groupSize = 1;
  Granularity granularity = Granularity::tensor;
  if (!perTensor) {
    int64_t blockedDim = -1;
    for (int64_t d = 0; d < rank; ++d) {
      if (shape[d] % grid[d] != 0)
        return emitError() << "dimension " << d << " of size " << shape[d]
                           << " is not a whole number of blocks";
      int64_t block = shape[d] / grid[d];
      if (block == 1)
        continue;
      if (blockedDim >= 0)
        return emitError() << "blocks along dimensions " << blockedDim
                           << " and " << d
                           << " are not expressible: #hfq.affine groups "
                              "along one dimension";
      blockedDim = d;
      groupSize = block;
    }
    if (blockedDim >= 0)
      axis = blockedDim;
    granularity = blockedDim >= 0 && groupSize == shape[axis]
                      ? Granularity::channel
                      : Granularity::group;
  }
  int64_t offset = isSigned ? int64_t(1) << (bits - 1) : 0;
  int64_t midpoint = int64_t(1) << (bits - 1);
  bool symmetric = llvm::all_of(zeroPoints, [&](int64_t z) {
    return z + offset == midpoint;
  });

  auto encoding = AffineEncodingAttr::get(
      ctx, bits, /*codeType=*/FloatType(), granularity, axis,
      granularity == Granularity::group ? groupSize : 0,
      symmetric ? ZeroPoint::symmetric : ZeroPoint::integer,
      /*actOrder=*/false, /*storageBits=*/8, PackOrder::lsb_first,
      /*scaleType=*/FloatType(), /*scaleEncoding=*/{}, /*zeroEncoding=*/{},
      /*packedZeros=*/false);
  QTensorType type = QTensorType::getChecked(
      emitError, ctx, shape, expressed, cast<EncodingAttrInterface>(encoding));
  if (!type)
    return failure();

  // Codes: storage + offset, packed row by row along the last dimension.
  SmallVector<int64_t> codes = toInts(value.storage, isSigned);
  int64_t rowLength = shape.back();
  SmallVector<int64_t> packed;
  for (int64_t row = 0, rows = product(shape) / rowLength; row < rows; ++row) {
    std::vector<uint8_t> rowCodes;
    for (int64_t i = 0; i < rowLength; ++i)
      rowCodes.push_back(uint8_t(codes[row * rowLength + i] + offset));
    auto words = numerics::packCodes(rowCodes, bits, 8,
                                     numerics::BitOrder::LsbFirst);
    if (!words)
      return emitError() << llvm::toString(words.takeError());
    packed.append(words->begin(), words->end());
  }

  SmallVector<RankedTensorType> partTypes = type.getPartTypes();
  HFQConstant result{type, {}};
  result.parts.push_back(intTensor(ctx, partTypes[0].getShape(), 8, packed));
  result.parts.push_back(
      floatTensor(partTypes[1].getShape(), expressed, scales));
  if (!symmetric) {
    SmallVector<int64_t> zeros;
    for (int64_t z : zeroPoints)
      zeros.push_back(z + offset);
    result.parts.push_back(intTensor(ctx, partTypes[2].getShape(), 32, zeros));
  }
  return result;
}

FailureOr<QuantConstant>
mlir::hfq::convertHFQToQuant(const HFQConstant &value,
                             function_ref<InFlightDiagnostic()> emitError) {
  QTensorType type = value.type;
  auto enc = dyn_cast<AffineEncodingAttr>(type.getEncoding());
  if (!enc)
    return emitError() << "codebook encodings have no !quant.uniform form";
  if (enc.getZeroPoint() == ZeroPoint::float_)
    return emitError() << "float zero points (HQQ) have no !quant.uniform form";
  if (enc.getActOrder())
    return emitError() << "act_order (g_idx) has no !quant.uniform form";
  if (enc.getCodeType())
    return emitError() << "float codes (" << enc.getCodeType()
                       << ") have no !quant.uniform form";
  if (!enc.hasIntegerCodesAndPlainScales())
    return emitError() << "quantized or 8-bit scales have no !quant.uniform "
                          "form";
  if (value.parts.size() != type.getPartTypes().size())
    return emitError() << "expected " << type.getPartTypes().size()
                       << " parts, got " << value.parts.size();
  MLIRContext *ctx = type.getContext();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = shape.size();
  unsigned bits = enc.getBits();

  // Unpack the codes row by row.
  SmallVector<int64_t> containers = toInts(value.parts[0], /*isSigned=*/false);
  int64_t rowLength = shape.back();
  int64_t rowContainers =
      rowLength * bits / enc.getStorageBits();
  numerics::BitOrder order = enc.getOrder() == PackOrder::lsb_first
                                 ? numerics::BitOrder::LsbFirst
                                 : numerics::BitOrder::MsbFirst;
  SmallVector<int64_t> codes;
  for (int64_t row = 0, rows = product(shape) / rowLength; row < rows; ++row) {
    std::vector<uint32_t> words;
    for (int64_t i = 0; i < rowContainers; ++i)
      words.push_back(uint32_t(containers[row * rowContainers + i]));
    auto rowCodes = numerics::unpackCodes(words, rowLength, bits,
                                          enc.getStorageBits(), order);
    if (!rowCodes)
      return emitError() << llvm::toString(rowCodes.takeError());
    codes.append(rowCodes->begin(), rowCodes->end());
  }

  bool symmetric = enc.getZeroPoint() == ZeroPoint::symmetric;
  bool isSigned = symmetric;
  int64_t midpoint = int64_t(1) << (bits - 1);
  int64_t offset = isSigned ? midpoint : 0;
  ArrayRef<int64_t> grid =
      cast<RankedTensorType>(value.parts[1].getType()).getShape();
  SmallVector<double> scales = toDoubles(value.parts[1]);
  SmallVector<int64_t> zeroPoints;
  if (symmetric) {
    zeroPoints.assign(scales.size(), 0);
  } else {
    for (int64_t z : toInts(value.parts[2], /*isSigned=*/true))
      zeroPoints.push_back(
          z + (enc.getZeroPoint() == ZeroPoint::integer_minus_one ? 1 : 0));
  }

  auto storageType = IntegerType::get(ctx, bits);
  Type expressed = type.getElementType();
  unsigned flags = isSigned ? quant::QuantizationFlags::Signed : 0;
  int64_t qmin = quant::QuantizedType::getDefaultMinimumForInteger(isSigned, bits);
  int64_t qmax = quant::QuantizedType::getDefaultMaximumForInteger(isSigned, bits);
  quant::QuantizedType qtype;
  if (llvm::all_of(grid, [](int64_t g) { return g == 1; })) {
    qtype = quant::UniformQuantizedType::getChecked(
        emitError, flags, storageType, expressed, scales[0], zeroPoints[0],
        qmin, qmax);
  } else if (rank == 2 && enc.getGranularity() == Granularity::channel) {
    qtype = quant::UniformQuantizedPerAxisType::getChecked(
        emitError, flags, storageType, expressed, scales, zeroPoints,
        /*quantizedDimension=*/int32_t(1 - enc.getAxis()), qmin, qmax);
  } else {
    SmallVector<int32_t> dims;
    SmallVector<int64_t> blocks;
    for (int64_t d = 0; d < rank; ++d) {
      dims.push_back(int32_t(d));
      blocks.push_back(shape[d] / grid[d]);
    }
    qtype = quant::UniformQuantizedSubChannelType::getChecked(
        emitError, flags, storageType, expressed,
        floatTensor(grid, cast<FloatType>(expressed), scales),
        intTensor(ctx, grid, bits, zeroPoints), dims, blocks, qmin, qmax);
  }
  if (!qtype)
    return failure();

  SmallVector<int64_t> storage;
  for (int64_t c : codes)
    storage.push_back(c - offset);
  return QuantConstant{qtype, intTensor(ctx, shape, bits, storage)};
}
