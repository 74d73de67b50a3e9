// The Vulkan device: instance, device choice, buffers and compute dispatch (vk_context.h).
#include "backend/vulkan/vk_context.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "embedded_shaders.h"
#include "expertscope/error.h"

namespace es::backend::vulkan {

namespace {

[[noreturn]] void fail(VkResult r, const std::string& what) {
  const ErrorKind kind = (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
                             ? ErrorKind::unsupported
                             : ErrorKind::io;
  std::string why;
  if (r == VK_ERROR_DEVICE_LOST) why = ": the device was lost";
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY) why = ": out of device memory";
  if (r == VK_ERROR_OUT_OF_HOST_MEMORY) why = ": out of host memory";
  throw Error(kind, "vulkan: " + what + " failed (VkResult " + std::to_string(r) + why + ")");
}

void check(VkResult r, const std::string& what) {
  if (r != VK_SUCCESS) fail(r, what);
}

/// Dispatches (and descriptor sets) one submission holds before it is flushed.
constexpr uint32_t kMaxRecorded = 4096;
/// Storage bindings one dispatch may have.
constexpr uint32_t kMaxBindings = 8;

/// Validation messages seen since the process started (EXPERTSCOPE_VULKAN_VALIDATION=1).
std::atomic<uint64_t> g_validation_messages{0};

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    ++g_validation_messages;
    std::fprintf(stderr, "vulkan validation: %s\n",
                 data != nullptr && data->pMessage != nullptr ? data->pMessage : "?");
  }
  return VK_FALSE;
}

bool validation_requested() {
  const char* v = std::getenv("EXPERTSCOPE_VULKAN_VALIDATION");
  return v != nullptr && std::string(v) == "1";
}

VkInstance make_instance() {
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "expertscope";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  // With EXPERTSCOPE_VULKAN_VALIDATION=1: Khronos' validation layer, every warning and
  // error printed and counted (validation_messages()).
  const char* layer = "VK_LAYER_KHRONOS_validation";
  const char* extension = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  VkDebugUtilsMessengerCreateInfoEXT messenger{};
  messenger.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
  messenger.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                              VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  messenger.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  messenger.pfnUserCallback = on_validation_message;
  if (validation_requested()) {
    ci.enabledLayerCount = 1;
    ci.ppEnabledLayerNames = &layer;
    ci.enabledExtensionCount = 1;
    ci.ppEnabledExtensionNames = &extension;
    ci.pNext = &messenger;  // Covers instance creation and everything after it.
  }
  VkInstance instance = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &instance);
  if (r == VK_ERROR_LAYER_NOT_PRESENT) {
    throw Error(ErrorKind::unsupported,
                "vulkan: EXPERTSCOPE_VULKAN_VALIDATION=1 but VK_LAYER_KHRONOS_validation is not "
                "installed (Debian: vulkan-validationlayers)");
  }
  if (r != VK_SUCCESS) {
    throw Error(ErrorKind::unsupported,
                "vulkan: no usable Vulkan driver (vkCreateInstance: VkResult " + std::to_string(r) +
                    "); install mesa-vulkan-drivers or a GPU driver");
  }
  return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t n = 0;
  check(vkEnumeratePhysicalDevices(instance, &n, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devices(n);
  check(vkEnumeratePhysicalDevices(instance, &n, devices.data()), "vkEnumeratePhysicalDevices");
  return devices;
}

std::string type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    default:
      return "other";
  }
}

/// Higher is preferred: discrete > integrated > virtual > CPU > other.
int rank(const std::string& type) {
  if (type == "discrete") return 4;
  if (type == "integrated") return 3;
  if (type == "virtual") return 2;
  if (type == "cpu") return 1;
  return 0;
}

ComputeDevice describe(VkPhysicalDevice d, uint32_t index) {
  VkPhysicalDeviceSubgroupProperties subgroup{};
  subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
  VkPhysicalDeviceProperties2 props{};
  props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  props.pNext = &subgroup;
  vkGetPhysicalDeviceProperties2(d, &props);
  VkPhysicalDeviceMemoryProperties mem{};
  vkGetPhysicalDeviceMemoryProperties(d, &mem);
  ComputeDevice c;
  c.backend = "vulkan";
  c.index = index;
  c.name = props.properties.deviceName;
  c.type = type_name(props.properties.deviceType);
  const uint32_t v = props.properties.apiVersion;
  c.api_version = std::to_string(VK_API_VERSION_MAJOR(v)) + "." +
                  std::to_string(VK_API_VERSION_MINOR(v)) + "." +
                  std::to_string(VK_API_VERSION_PATCH(v));
  for (uint32_t h = 0; h < mem.memoryHeapCount; ++h) {
    if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) {
      c.memory_bytes = std::max<uint64_t>(c.memory_bytes, mem.memoryHeaps[h].size);
    }
  }
  c.max_storage_buffer = props.properties.limits.maxStorageBufferRange;
  c.subgroup_size = subgroup.subgroupSize;
  return c;
}

/// The device EXPERTSCOPE_VULKAN_DEVICE names (an index, or part of a name), else the
/// best-ranked one.
size_t choose(const std::vector<ComputeDevice>& devices) {
  if (const char* want = std::getenv("EXPERTSCOPE_VULKAN_DEVICE"); want != nullptr && *want) {
    const std::string w(want);
    for (size_t i = 0; i < devices.size(); ++i) {
      if (std::to_string(i) == w || devices[i].name.find(w) != std::string::npos) return i;
    }
    throw Error(ErrorKind::usage, "EXPERTSCOPE_VULKAN_DEVICE=" + w +
                                      ": no such Vulkan device (see expertscope-cli devices)");
  }
  size_t best = 0;
  for (size_t i = 1; i < devices.size(); ++i) {
    if (rank(devices[i].type) > rank(devices[best].type)) best = i;
  }
  return best;
}

/// EXPERTSCOPE_VULKAN_FAULT (a test hook): "oom@BYTES" makes allocations beyond BYTES
/// fail as out of device memory; "lost@N" makes the Nth submission report a lost device.
void parse_fault(uint64_t& budget, uint64_t& lost_at) {
  const char* f = std::getenv("EXPERTSCOPE_VULKAN_FAULT");
  if (f == nullptr) return;
  const std::string s(f);
  const auto at = s.find('@');
  if (at == std::string::npos) return;
  const uint64_t n = std::strtoull(s.c_str() + at + 1, nullptr, 10);
  if (s.compare(0, at, "oom") == 0) budget = std::max<uint64_t>(n, 1);
  if (s.compare(0, at, "lost") == 0) lost_at = std::max<uint64_t>(n, 1);
}

}  // namespace

uint64_t validation_messages() noexcept {
  return g_validation_messages.load();
}

std::vector<ComputeDevice> list_devices() {
  // One instance for every listing, created at the first and kept for the process: each
  // instance created and destroyed loads and unloads the driver (lavapipe's LLVM and the
  // loader keep allocations that then become unreachable leaks), and listing is cheap.
  static std::mutex mutex;
  static VkInstance instance = VK_NULL_HANDLE;
  const std::lock_guard lock(mutex);
  if (instance == VK_NULL_HANDLE) instance = make_instance();
  std::vector<ComputeDevice> out;
  const auto devices = physical_devices(instance);
  for (uint32_t i = 0; i < devices.size(); ++i) out.push_back(describe(devices[i], i));
  if (!out.empty()) out[choose(out)].preferred = true;
  return out;
}

// ---------------------------------------------------------------------------------------

Buffer::~Buffer() {
  release();
}

Buffer::Buffer(Buffer&& o) noexcept
    : device_(o.device_),
      buffer_(o.buffer_),
      memory_(o.memory_),
      mapped_(o.mapped_),
      size_(o.size_) {
  o.device_ = VK_NULL_HANDLE;
  o.buffer_ = VK_NULL_HANDLE;
  o.memory_ = VK_NULL_HANDLE;
  o.mapped_ = nullptr;
  o.size_ = 0;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    std::swap(device_, o.device_);
    std::swap(buffer_, o.buffer_);
    std::swap(memory_, o.memory_);
    std::swap(mapped_, o.mapped_);
    std::swap(size_, o.size_);
  }
  return *this;
}

void Buffer::release() noexcept {
  if (device_ == VK_NULL_HANDLE) return;
  if (mapped_ != nullptr) vkUnmapMemory(device_, memory_);
  vkDestroyBuffer(device_, buffer_, nullptr);
  vkFreeMemory(device_, memory_, nullptr);
  device_ = VK_NULL_HANDLE;
}

struct Context::Pipeline {
  std::string name;
  size_t n_bindings = 0;
  size_t push_bytes = 0;
  uint32_t local_size = 0;
  VkDevice device = VK_NULL_HANDLE;
  VkShaderModule module = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;

  ~Pipeline() {
    if (device == VK_NULL_HANDLE) return;
    vkDestroyPipeline(device, pipeline, nullptr);
    vkDestroyPipelineLayout(device, layout, nullptr);
    vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
    vkDestroyShaderModule(device, module, nullptr);
  }
};

std::unique_ptr<Context> Context::create(int index) {
  std::unique_ptr<Context> c(new Context());
  c->instance_ = make_instance();
  const auto devices = physical_devices(c->instance_);
  if (devices.empty()) {
    throw Error(ErrorKind::unsupported, "vulkan: the driver reports no device");
  }
  std::vector<ComputeDevice> infos;
  for (uint32_t i = 0; i < devices.size(); ++i) infos.push_back(describe(devices[i], i));
  if (index >= static_cast<int>(infos.size())) {
    throw Error(ErrorKind::usage, "vulkan:" + std::to_string(index) + ": there are " +
                                      std::to_string(infos.size()) +
                                      " Vulkan devices (see expertscope-cli devices)");
  }
  const size_t chosen = index >= 0 ? static_cast<size_t>(index) : choose(infos);
  c->physical_ = devices[chosen];
  c->info_ = infos[chosen];
  c->info_.preferred = true;
  vkGetPhysicalDeviceMemoryProperties(c->physical_, &c->memory_);
  VkPhysicalDeviceProperties props{};
  vkGetPhysicalDeviceProperties(c->physical_, &props);
  c->max_range_ = props.limits.maxStorageBufferRange;
  c->offset_align_ = std::max<uint64_t>(4, props.limits.minStorageBufferOffsetAlignment);
  parse_fault(c->budget_, c->lost_at_);

  uint32_t n_families = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(c->physical_, &n_families, nullptr);
  std::vector<VkQueueFamilyProperties> families(n_families);
  vkGetPhysicalDeviceQueueFamilyProperties(c->physical_, &n_families, families.data());
  bool found = false;
  for (uint32_t f = 0; f < n_families && !found; ++f) {
    if (families[f].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      c->queue_family_ = f;
      found = true;
    }
  }
  if (!found)
    throw Error(ErrorKind::unsupported, "vulkan: " + c->info_.name + " has no compute queue");
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo q{};
  q.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  q.queueFamilyIndex = c->queue_family_;
  q.queueCount = 1;
  q.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{};
  dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &q;
  check(vkCreateDevice(c->physical_, &dci, nullptr, &c->device_), "vkCreateDevice");
  vkGetDeviceQueue(c->device_, c->queue_family_, 0, &c->queue_);
  VkCommandPoolCreateInfo pci{};
  pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = c->queue_family_;
  check(vkCreateCommandPool(c->device_, &pci, nullptr, &c->pool_), "vkCreateCommandPool");
  VkCommandBufferAllocateInfo cai{};
  cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  cai.commandPool = c->pool_;
  cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  cai.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(c->device_, &cai, &c->cmd_), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fci{};
  fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  check(vkCreateFence(c->device_, &fci, nullptr, &c->fence_), "vkCreateFence");
  const VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kMaxRecorded * kMaxBindings};
  VkDescriptorPoolCreateInfo dpi{};
  dpi.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  dpi.maxSets = kMaxRecorded;
  dpi.poolSizeCount = 1;
  dpi.pPoolSizes = &size;
  check(vkCreateDescriptorPool(c->device_, &dpi, nullptr, &c->descriptors_),
        "vkCreateDescriptorPool");
  if (families[c->queue_family_].timestampValidBits > 0 && props.limits.timestampPeriod > 0.0f) {
    VkQueryPoolCreateInfo qpi{};
    qpi.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO;
    qpi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qpi.queryCount = kMaxRecorded + 1;
    if (vkCreateQueryPool(c->device_, &qpi, nullptr, &c->queries_) == VK_SUCCESS) {
      c->timestamp_period_ = props.limits.timestampPeriod;
    }
  }
  return c;
}

Context::~Context() {
  if (device_ != VK_NULL_HANDLE) {
    vkDeviceWaitIdle(device_);
    pipelines_.clear();
    if (queries_ != VK_NULL_HANDLE) vkDestroyQueryPool(device_, queries_, nullptr);
    vkDestroyDescriptorPool(device_, descriptors_, nullptr);
    vkDestroyFence(device_, fence_, nullptr);
    vkDestroyCommandPool(device_, pool_, nullptr);
    vkDestroyDevice(device_, nullptr);
  }
  if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
}

uint32_t Context::memory_type(uint32_t bits, VkMemoryPropertyFlags want) const {
  for (uint32_t t = 0; t < memory_.memoryTypeCount; ++t) {
    if ((bits & (1u << t)) && (memory_.memoryTypes[t].propertyFlags & want) == want) return t;
  }
  return UINT32_MAX;
}

Buffer Context::make_buffer(size_t bytes, Memory memory) {
  bytes = std::max<size_t>(bytes, 4);
  if (budget_ != 0 && allocated_ + bytes > budget_) {
    fail(VK_ERROR_OUT_OF_DEVICE_MEMORY,
         "allocating " + std::to_string(bytes) + " bytes on " + info_.name);
  }
  Buffer b;
  b.device_ = device_;
  b.size_ = bytes;
  VkBufferCreateInfo bci{};
  bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  bci.size = bytes;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
              VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(device_, &bci, nullptr, &b.buffer_), "vkCreateBuffer");
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device_, b.buffer_, &req);
  constexpr VkMemoryPropertyFlags host =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  constexpr VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  // Preference order: both where the device has it (unified memory, resizable BAR), then
  // what was asked for.
  uint32_t type = memory_type(req.memoryTypeBits, host | local);
  if (type == UINT32_MAX) {
    type = memory_type(req.memoryTypeBits, memory == Memory::device_local ? local : host);
  }
  if (type == UINT32_MAX) {
    throw Error(ErrorKind::unsupported, "vulkan: " + info_.name + " has no suitable memory type");
  }
  VkMemoryAllocateInfo mai{};
  mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  mai.allocationSize = req.size;
  mai.memoryTypeIndex = type;
  check(vkAllocateMemory(device_, &mai, nullptr, &b.memory_),
        "allocating " + std::to_string(req.size) + " bytes on " + info_.name);
  check(vkBindBufferMemory(device_, b.buffer_, b.memory_, 0), "vkBindBufferMemory");
  if ((memory_.memoryTypes[type].propertyFlags & host) == host) {
    check(vkMapMemory(device_, b.memory_, 0, VK_WHOLE_SIZE, 0, &b.mapped_), "vkMapMemory");
  }
  allocated_ += bytes;
  return b;
}

void Context::upload(Buffer& dst, size_t offset, const void* src, size_t n) {
  if (n == 0) return;
  if (offset + n > dst.size()) {
    throw Error(ErrorKind::io, "vulkan: upload beyond the end of a buffer (an internal bug)");
  }
  if (!dst.bytes().empty()) {
    std::memcpy(dst.bytes().data() + offset, src, n);
    return;
  }
  flush();
  // Staging in pieces of at most 64 MiB.
  constexpr size_t kPiece = size_t{64} << 20;
  Buffer staging = make_buffer(std::min(n, kPiece), Memory::host_visible);
  allocated_ -= staging.size();
  for (size_t done = 0; done < n; done += kPiece) {
    const size_t len = std::min(kPiece, n - done);
    std::memcpy(staging.bytes().data(), static_cast<const uint8_t*>(src) + done, len);
    begin_recording();
    const VkBufferCopy region{0, offset + done, len};
    vkCmdCopyBuffer(cmd_, staging.handle(), dst.handle(), 1, &region);
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT;
    vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                         0, 1, &barrier, 0, nullptr, 0, nullptr);
    ++n_recorded_;
    flush();
  }
}

Context::Pipeline& Context::pipeline(std::string_view shader, size_t n_bindings, size_t push_bytes,
                                     uint32_t local_size) {
  for (auto& p : pipelines_) {
    if (p->name == shader && p->n_bindings == n_bindings && p->push_bytes == push_bytes &&
        p->local_size == local_size) {
      return *p;
    }
  }
  if (n_bindings > kMaxBindings) {
    throw Error(ErrorKind::usage, "vulkan: too many bindings for " + std::string(shader));
  }
  const shaders::EmbeddedShader* code = shaders::find_shader(shader);
  if (code == nullptr) {
    throw Error(ErrorKind::usage, "vulkan: no embedded shader \"" + std::string(shader) + "\"");
  }
  auto p = std::make_unique<Pipeline>();
  p->name = std::string(shader);
  p->n_bindings = n_bindings;
  p->push_bytes = push_bytes;
  p->local_size = local_size;
  p->device = device_;
  VkShaderModuleCreateInfo smi{};
  smi.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  smi.codeSize = code->code.size() * sizeof(uint32_t);
  smi.pCode = code->code.data();
  check(vkCreateShaderModule(device_, &smi, nullptr, &p->module), "vkCreateShaderModule");
  std::vector<VkDescriptorSetLayoutBinding> bindings(n_bindings);
  for (uint32_t i = 0; i < n_bindings; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo dsl{};
  dsl.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  dsl.bindingCount = static_cast<uint32_t>(n_bindings);
  dsl.pBindings = bindings.data();
  check(vkCreateDescriptorSetLayout(device_, &dsl, nullptr, &p->set_layout),
        "vkCreateDescriptorSetLayout");
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, static_cast<uint32_t>(push_bytes)};
  VkPipelineLayoutCreateInfo pli{};
  pli.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  pli.setLayoutCount = 1;
  pli.pSetLayouts = &p->set_layout;
  pli.pushConstantRangeCount = push_bytes > 0 ? 1 : 0;
  pli.pPushConstantRanges = &range;
  check(vkCreatePipelineLayout(device_, &pli, nullptr, &p->layout), "vkCreatePipelineLayout");
  // Specialization constant 0: the workgroup size.
  const VkSpecializationMapEntry entry{0, 0, sizeof(uint32_t)};
  VkSpecializationInfo spec{1, &entry, sizeof(uint32_t), &local_size};
  VkComputePipelineCreateInfo cpi{};
  cpi.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  cpi.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  cpi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpi.stage.module = p->module;
  cpi.stage.pName = "main";
  cpi.stage.pSpecializationInfo = &spec;
  cpi.layout = p->layout;
  check(vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &cpi, nullptr, &p->pipeline),
        "vkCreateComputePipelines");
  pipelines_.push_back(std::move(p));
  return *pipelines_.back();
}

void Context::begin_recording() {
  if (recording_) return;
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(cmd_, &begin), "vkBeginCommandBuffer");
  recording_ = true;
  n_recorded_ = 0;
  query_tags_.clear();
  if (queries_ != VK_NULL_HANDLE) {
    vkCmdResetQueryPool(cmd_, queries_, 0, kMaxRecorded + 1);
    vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 0);
  }
}

VkDescriptorSet Context::descriptor_set(Pipeline& p) {
  VkDescriptorSetAllocateInfo dai{};
  dai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  dai.descriptorPool = descriptors_;
  dai.descriptorSetCount = 1;
  dai.pSetLayouts = &p.set_layout;
  VkDescriptorSet set = VK_NULL_HANDLE;
  check(vkAllocateDescriptorSets(device_, &dai, &set), "vkAllocateDescriptorSets");
  ++n_sets_;
  return set;
}

void Context::dispatch(std::string_view shader, std::span<const Binding> bindings,
                       std::span<const uint8_t> push, Groups groups, uint32_t local_size,
                       uint32_t tag) {
  Pipeline& p = pipeline(shader, bindings.size(), push.size(), local_size);
  if (n_sets_ >= kMaxRecorded || n_recorded_ >= kMaxRecorded) flush();
  begin_recording();
  const VkDescriptorSet set = descriptor_set(p);
  std::array<VkDescriptorBufferInfo, kMaxBindings> infos{};
  std::array<VkWriteDescriptorSet, kMaxBindings> writes{};
  for (uint32_t i = 0; i < bindings.size(); ++i) {
    infos[i] = {bindings[i].buffer, bindings[i].offset,
                bindings[i].range == 0 ? VK_WHOLE_SIZE : bindings[i].range};
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device_, static_cast<uint32_t>(bindings.size()), writes.data(), 0,
                         nullptr);
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  if (!push.empty()) {
    vkCmdPushConstants(cmd_, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       static_cast<uint32_t>(push.size()), push.data());
  }
  vkCmdDispatch(cmd_, groups.x, groups.y, groups.z);
  if (queries_ != VK_NULL_HANDLE) {
    vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, queries_, n_recorded_ + 1);
    query_tags_.push_back(tag < kTags ? tag : 0);
  }
  // The next dispatch (or the host) sees this one's writes.
  VkMemoryBarrier barrier{};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask =
      VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                       &barrier, 0, nullptr, 0, nullptr);
  ++n_recorded_;
}

void Context::flush() {
  if (!recording_) return;
  recording_ = false;
  check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
  VkSubmitInfo submit{};
  submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd_;
  VkResult r = vkQueueSubmit(queue_, 1, &submit, fence_);
  if (r == VK_SUCCESS) r = vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
  if (lost_at_ != 0 && ++n_submits_ >= lost_at_) r = VK_ERROR_DEVICE_LOST;  // Test hook.
  vkResetFences(device_, 1, &fence_);
  vkResetCommandBuffer(cmd_, 0);
  vkResetDescriptorPool(device_, descriptors_, 0);
  n_sets_ = 0;
  if (r != VK_SUCCESS) fail(r, "running work on " + info_.name);
  if (queries_ != VK_NULL_HANDLE && !query_tags_.empty()) {
    const auto n = static_cast<uint32_t>(query_tags_.size() + 1);
    std::vector<uint64_t> stamps(n);
    if (vkGetQueryPoolResults(device_, queries_, 0, n, n * sizeof(uint64_t), stamps.data(),
                              sizeof(uint64_t), VK_QUERY_RESULT_64_BIT) == VK_SUCCESS) {
      for (uint32_t i = 1; i < n; ++i) {
        const uint64_t d = stamps[i] >= stamps[i - 1] ? stamps[i] - stamps[i - 1] : 0;
        tag_times_.ns[query_tags_[i - 1]] += static_cast<double>(d) * timestamp_period_;
        ++tag_times_.calls[query_tags_[i - 1]];
      }
    }
  }
  n_recorded_ = 0;
}

void Context::run(std::string_view shader, std::span<Buffer* const> bindings,
                  std::span<const uint8_t> push, uint32_t groups, uint32_t local_size) {
  std::vector<Binding> b(bindings.size());
  for (size_t i = 0; i < bindings.size(); ++i) b[i] = {bindings[i]->handle(), 0, 0};
  dispatch(shader, b, push, Groups{groups, 1, 1}, local_size, 0);
  flush();
}

}  // namespace es::backend::vulkan
