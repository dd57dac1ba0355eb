//===- LayerRunner.cpp - the module a layer runner compiles ---------------===//

#include "hfq/Transforms/LayerRunner.h"
#include "LinearWeights.h"

#include "hfq/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::hfq;
using namespace mlir::hfq::detail;

LayerRunner::~LayerRunner() = default;

static LayerRunnerFactory &registeredFactory() {
  static LayerRunnerFactory factory;
  return factory;
}

void mlir::hfq::registerLayerRunnerFactory(LayerRunnerFactory factory) {
  registeredFactory() = std::move(factory);
}

llvm::Expected<std::unique_ptr<LayerRunner>>
mlir::hfq::createLayerRunner(ModuleOp module, llvm::StringRef pass) {
  if (!registeredFactory())
    return llvm::createStringError(
        pass + " runs the model layer by layer, but this program registered "
               "no layer runner (hfq::registerJITLayerRunner)");
  return registeredFactory()(module);
}

namespace {
/// N when `name` is "model.layers.N".
std::optional<int64_t> layerIndex(llvm::StringRef name) {
  int64_t index;
  if (!name.consume_front("model.layers.") || name.getAsInteger(10, index) ||
      index < 0)
    return std::nullopt;
  return index;
}
} // namespace

llvm::Expected<LayerModule> mlir::hfq::extractLayerModule(ModuleOp module) {
  LayerModule out;
  out.module = OwningOpRef<ModuleOp>(module.clone());
  ModuleOp m = *out.module;
  MLIRContext *ctx = m.getContext();

  // Keep the embedding, the layers and the head, callable from outside.
  bool embedding = false, head = false;
  std::vector<bool> layers;
  SmallVector<func::FuncOp> others;
  for (func::FuncOp f : m.getOps<func::FuncOp>()) {
    if (f.isExternal())
      continue;
    llvm::StringRef name = f.getSymName();
    std::optional<int64_t> index = layerIndex(name);
    if (index) {
      if (int64_t(layers.size()) <= *index)
        layers.resize(*index + 1);
      layers[*index] = true;
    } else if (name == "model.embed_tokens") {
      embedding = true;
    } else if (name == "head") {
      head = true;
    } else {
      others.push_back(f);
      continue;
    }
    f.setPublic();
  }
  if (!embedding || !head || layers.empty() ||
      !llvm::all_of(layers, [](bool b) { return b; }))
    return llvm::createStringError(
        "running the model layer by layer needs the functions "
        "@model.embed_tokens, @model.layers.0..N-1 and @head that hfq import "
        "emits; this module lacks some (written by an older hfq? import it "
        "again)");
  for (func::FuncOp f : others)
    f.erase();
  out.numLayers = layers.size();

  // Every float linear weight reads the runner's buffer for it.
  SmallVector<LinearOp> linears;
  m.walk([&](LinearOp op) { linears.push_back(op); });
  FloatReader reader(m);
  for (LinearOp op : linears) {
    auto type = dyn_cast<RankedTensorType>(op.getWeight().getType());
    GlobalOp global = getWeightGlobal(op.getWeight());
    if (!type || !global || out.weights.count(global.getSymName()))
      continue;
    auto values = reader.read(op);
    if (!values)
      return llvm::createStringError(getLinearName(op) + ": " +
                                     llvm::toString(values.takeError()));
    setGlobalValue(
        global, RankedTensorType::get(type.getShape(), Float32Type::get(ctx)),
        ParameterAttr::get(ctx, StringAttr::get(ctx, kLayerRunnerScope),
                           global.getSymNameAttr()));
    out.weights[global.getSymName()] = std::move(*values);
  }

  if (!m->hasAttr("hfq.calibration_inputs")) {
    PassManager pm(ctx);
    pm.addPass(createInstrumentLinears());
    if (failed(pm.run(m)))
      return llvm::createStringError(
          "instrumenting the layer functions failed");
  }
  for (Attribute group :
       m->getAttrOfType<ArrayAttr>("hfq.calibration_inputs")) {
    std::vector<std::string> names;
    for (Attribute name : cast<ArrayAttr>(group))
      names.push_back(cast<StringAttr>(name).str());
    out.groups.push_back(std::move(names));
  }
  // Which function records each group (the recorder call's constant id).
  out.layerGroups.resize(out.numLayers);
  for (func::FuncOp f : m.getOps<func::FuncOp>()) {
    std::optional<int64_t> index = layerIndex(f.getSymName());
    std::vector<int64_t> *target = index ? &out.layerGroups[*index]
                                   : f.getSymName() == "head" ? &out.headGroups
                                                              : nullptr;
    if (!target)
      continue;
    f.walk([&](func::CallOp call) {
      if (!call.getCallee().starts_with("hfq_calibration_record_"))
        return;
      auto id = call.getOperand(0).getDefiningOp<arith::ConstantIntOp>();
      if (id)
        target->push_back(id.value());
    });
  }
  return out;
}
