// The Vulkan backend: memory, weights, operand windows, the upload arena and the CPU
// fallback (vk_backend.h). The ops are in the op-family files beside it.
#include "vk_backend.h"

#include <algorithm>
#include <cstring>

#include "expertscope/error.h"

namespace es::backend::vulkan {

namespace {

/// The upload arena's first size; it grows when one op's host data needs more.
constexpr size_t kArenaBytes = size_t{4} << 20;

}  // namespace

VulkanBackend::VulkanBackend(std::unique_ptr<Context> ctx, uint32_t n_threads)
    : ctx_(std::move(ctx)), cpu_(make_cpu_backend(n_threads)) {
  arena_ = std::make_unique<VkBuf>(ctx_->make_buffer(kArenaBytes, Memory::host_visible));
}

VulkanBackend::~VulkanBackend() {
  try {
    ctx_->flush();
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing to do with a failure at teardown
  }
}

bool VulkanBackend::supports(Op op, TensorType type) const noexcept {
  switch (op) {
    case Op::get_rows:
    case Op::mul_mat:
    case Op::mul_mat_id:
      return has_matmul_shader(op, type);
    case Op::rope:
    case Op::kv_store:
    case Op::attention:
      return has_attention_shader(op);
    case Op::rms_norm:
    case Op::add_bias:
      return type == TensorType::F32;
    case Op::add:
    case Op::copy:
    case Op::scale:
    case Op::swiglu:
    case Op::moe_sum:
    case Op::sigmoid_gate:
      return true;
    case Op::route:
      return true;
    case Op::unset:
      return false;
  }
  return false;
}

std::unique_ptr<backend::Buffer> VulkanBackend::alloc(size_t n_bytes) {
  auto b = std::make_unique<VkBuf>(ctx_->make_buffer(n_bytes, Memory::host_visible));
  if (b->host() == nullptr) {
    throw Error(ErrorKind::unsupported,
                "vulkan: " + ctx_->device().name + " gave memory the host cannot map");
  }
  std::memset(b->host(), 0, b->n_bytes());
  return b;
}

Weight VulkanBackend::bind(const gguf::File& file, const gguf::TensorInfo& tensor) {
  Weight w = cpu_->bind(file, tensor);
  const bool used_here = tensor.type == TensorType::F32 ||
                         has_matmul_shader(Op::mul_mat, tensor.type) ||
                         has_matmul_shader(Op::get_rows, tensor.type);
  if (!used_here) return w;  // Only the CPU fallback multiplies it, from the mapping.
  const size_t bytes = tensor.n_bytes;
  auto buf = std::make_unique<VkBuf>(ctx_->make_buffer(bytes, Memory::device_local));
  ctx_->upload(buf->raw(), 0, w.host, bytes);
  w.device = buf.get();
  w.device_offset = 0;
  weights_.push_back(std::move(buf));
  return w;
}

Operand VulkanBackend::operand(backend::Buffer& buf, size_t byte_offset, size_t bytes) const {
  auto& vb = static_cast<VkBuf&>(buf);
  const uint64_t align = ctx_->binding_alignment();
  const uint64_t base = byte_offset / align * align;
  const uint64_t end = std::min<uint64_t>(vb.n_bytes(), (byte_offset + bytes + 3) / 4 * 4);
  const uint64_t range = std::max<uint64_t>(end - base, 4);
  if (range > ctx_->max_binding_bytes()) {
    throw Error(ErrorKind::unsupported, "vulkan: an operand of " + std::to_string(range) +
                                            " bytes exceeds the device's binding limit of " +
                                            std::to_string(ctx_->max_binding_bytes()));
  }
  return Operand{Binding{vb.raw().handle(), base, range},
                 static_cast<uint32_t>(byte_offset - base)};
}

Operand VulkanBackend::operand(const Mat& m) const {
  const size_t n = m.rows == 0 ? 0 : (size_t{m.rows} - 1) * m.stride + m.cols;
  Operand o = operand(*m.buf, m.offset * sizeof(float), n * sizeof(float));
  o.offset /= sizeof(float);
  return o;
}

Operand VulkanBackend::weight_operand(const Weight& w, size_t byte_offset, size_t bytes) const {
  if (w.device == nullptr) {
    throw Error(ErrorKind::unsupported, "vulkan: a weight without a device copy (an internal bug)");
  }
  return operand(*w.device, w.device_offset + byte_offset, bytes);
}

Operand VulkanBackend::stage(const void* data, size_t bytes) {
  const uint64_t align = ctx_->binding_alignment();
  size_t at = (arena_used_ + align - 1) / align * align;
  if (at + bytes > arena_->n_bytes()) {
    // Full: a larger arena for what follows; the full one stays alive (and untouched)
    // until the recorded work that reads it has run, so several stage() calls of one op
    // never overwrite each other.
    const size_t next = std::max(bytes, 2 * arena_->n_bytes());
    retired_.push_back(std::move(arena_));
    arena_ = std::make_unique<VkBuf>(ctx_->make_buffer(next, Memory::host_visible));
    at = 0;
  }
  std::memcpy(reinterpret_cast<uint8_t*>(arena_->host()) + at, data, bytes);
  arena_used_ = at + bytes;
  return Operand{Binding{arena_->raw().handle(), at, std::max<uint64_t>((bytes + 3) / 4 * 4, 4)},
                 0};
}

void VulkanBackend::dispatch_raw(std::string_view shader, std::initializer_list<Operand> ops,
                                 const uint8_t* push, size_t push_bytes, Groups groups,
                                 uint32_t local_size, Tag tag) {
  if (groups.x == 0 || groups.y == 0 || groups.z == 0) return;
  std::array<Binding, 8> b{};
  size_t n = 0;
  for (const Operand& o : ops) b.at(n++) = o.binding;
  ctx_->dispatch(shader, std::span<const Binding>(b.data(), n),
                 std::span<const uint8_t>(push, push_bytes), groups, local_size,
                 static_cast<uint32_t>(tag));
}

Backend& VulkanBackend::fallback() {
  ctx_->flush();
  arena_used_ = 0;
  retired_.clear();
  ++n_fallbacks_;
  return *cpu_;
}

bool VulkanBackend::take_op_times(OpTimes& out) {
  if (!ctx_->has_timestamps()) return false;
  const Context::TagTimes t = ctx_->take_tag_times();
  for (size_t i = 1; i < out.size(); ++i) {
    out[i].total_ms = t.ns[i] * 1e-6;
    out[i].n_calls = t.calls[i];
  }
  return true;
}

void VulkanBackend::synchronize() {
  ctx_->flush();
  arena_used_ = 0;
  retired_.clear();
}

}  // namespace es::backend::vulkan

namespace es::backend {

std::unique_ptr<Backend> make_vulkan_backend(uint32_t n_threads, int device) {
  return std::make_unique<vulkan::VulkanBackend>(vulkan::Context::create(device), n_threads);
}

}  // namespace es::backend
