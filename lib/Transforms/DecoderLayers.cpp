//===- DecoderLayers.cpp - a module's Llama layers as float data ----------===//

#include "DecoderLayers.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

llvm::Expected<DecoderLayers> DecoderLayers::of(ModuleOp module,
                                                llvm::StringRef pass) {
  auto *dialect = module.getContext()->getLoadedDialect<HFQDialect>();
  std::optional<llvm::StringRef> dir =
      dialect ? dialect->lookupParameterScope(kModelScope) : std::nullopt;
  if (!dir)
    return llvm::createStringError(
        pass + " needs the model's config: parameter scope 'model' is not "
               "bound to a checkpoint directory (hfq-opt "
               "--hfq-param-scope=model=DIR)");
  auto cfg = io::ModelConfig::load(*dir);
  if (!cfg)
    return cfg.takeError();
  DecoderLayers d;
  d.config = std::move(*cfg);
  d.attention.heads = d.config.numHeads;
  d.attention.kvHeads = d.config.numKVHeads;
  d.attention.headDim = d.config.headDim;
  for (double f : d.config.ropeInverseFrequencies())
    d.attention.invFreq.push_back(float(f));
  d.attention.slidingWindow = d.config.slidingWindow;

  module.walk([&](LinearOp l) { d.linears[getLinearName(l)] = l; });
  for (GlobalOp g : module.getOps<GlobalOp>())
    d.tensors[g.getSymName()] = g;
  return d;
}

llvm::Expected<numerics::DenseLinear>
DecoderLayers::linear(FloatReader &reader, llvm::StringRef name) const {
  LinearOp op = linears.lookup(name);
  if (!op)
    return llvm::createStringError("no linear '" + name + "' in the module");
  auto type = dyn_cast<RankedTensorType>(op.getWeight().getType());
  if (!type || !type.hasStaticShape() || type.getRank() != 2)
    return llvm::createStringError(
        name + ": needs a float weight (is the module already quantized?)");
  numerics::DenseLinear l;
  l.out = type.getDimSize(0);
  l.in = type.getDimSize(1);
  auto w = reader.read(op);
  if (!w)
    return w.takeError();
  l.weight = std::move(*w);
  if (Value bias = op.getBias()) {
    auto b = reader.read(bias);
    if (!b)
      return b.takeError();
    l.bias = std::move(*b);
  }
  return l;
}

llvm::Expected<std::vector<float>>
DecoderLayers::tensor(FloatReader &reader, llvm::StringRef name) const {
  GlobalOp t = tensors.lookup(name);
  if (!t)
    return llvm::createStringError("no tensor '" + name + "' in the module");
  auto values = reader.read(t);
  if (!values)
    return llvm::createStringError(name + ": " +
                                   llvm::toString(values.takeError()));
  return values;
}

llvm::Error DecoderLayers::replaceTensor(llvm::StringRef name,
                                         llvm::ArrayRef<float> values) {
  GlobalOp t = tensors.lookup(name);
  if (!t)
    return llvm::createStringError("no tensor '" + name + "' in the module");
  setGlobalFloats(t, values);
  return llvm::Error::success();
}
