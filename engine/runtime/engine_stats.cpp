// EngineStats helpers: the op names the inspector shows.
#include "expertscope/engine_stats.h"

namespace es {

std::string_view engine_op_name(EngineOp op) noexcept {
  switch (op) {
    case EngineOp::get_rows:
      return "get_rows";
    case EngineOp::rms_norm:
      return "rms_norm";
    case EngineOp::mul_mat:
      return "mul_mat";
    case EngineOp::mul_mat_id:
      return "mul_mat_id";
    case EngineOp::add_bias:
      return "add_bias";
    case EngineOp::add:
      return "add";
    case EngineOp::rope:
      return "rope";
    case EngineOp::swiglu:
      return "swiglu";
    case EngineOp::router:
      return "router";
    case EngineOp::moe_sum:
      return "moe_sum";
    case EngineOp::kv_store:
      return "kv_store";
    case EngineOp::attention:
      return "attention";
    case EngineOp::copy:
      return "copy";
    case EngineOp::scale:
      return "scale";
    case EngineOp::sigmoid_gate:
      return "sigmoid_gate";
    case EngineOp::synchronize:
      return "synchronize";
    case EngineOp::unset:
    case EngineOp::count:
      break;
  }
  return "unset";
}

}  // namespace es
