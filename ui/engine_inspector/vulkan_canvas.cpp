// VulkanCanvas: imgui_impl_vulkan recording into QVulkanWindow's command buffer and
// default render pass, one frame per request.
#include "vulkan_canvas.h"

#include <imgui.h>
#include <imgui_impl_vulkan.h>

#include <QMouseEvent>
#include <QVulkanDeviceFunctions>
#include <QVulkanFunctions>
#include <QVulkanInstance>
#include <QWheelEvent>
#include <QWidget>
#include <algorithm>
#include <vector>

namespace es::ui::engine_inspector {

namespace {

int imgui_button(Qt::MouseButton b) {
  switch (b) {
    case Qt::LeftButton:
      return 0;
    case Qt::RightButton:
      return 1;
    case Qt::MiddleButton:
      return 2;
    default:
      return -1;
  }
}

void check_vk(VkResult r) {
  if (r != VK_SUCCESS) qWarning("Engine Inspector: Vulkan call failed (VkResult %d)", r);
}

/// Renders the scene into QVulkanWindow's frames.
class ImGuiVulkanRenderer final : public QVulkanWindowRenderer {
 public:
  ImGuiVulkanRenderer(QVulkanWindow* window, InspectorScene& scene)
      : window_(window), scene_(scene) {}

  void initResources() override;
  void releaseResources() override;
  void startNextFrame() override;

 private:
  bool upload_fonts();
  /// Qt's device-level function table for the window's device.
  QVulkanDeviceFunctions* df() const {
    return window_->vulkanInstance()->deviceFunctions(window_->device());
  }

  QVulkanWindow* window_;
  InspectorScene& scene_;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  bool ready_ = false;
};

void ImGuiVulkanRenderer::initResources() {
  const VkDevice dev = window_->device();
  const VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 8};
  VkDescriptorPoolCreateInfo pi{};
  pi.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  pi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  pi.maxSets = 8;
  pi.poolSizeCount = 1;
  pi.pPoolSizes = &size;
  if (df()->vkCreateDescriptorPool(dev, &pi, nullptr, &pool_) != VK_SUCCESS) {
    qWarning("Engine Inspector: no Vulkan descriptor pool");
    return;
  }
  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = window_->vulkanInstance()->vkInstance();
  info.PhysicalDevice = window_->physicalDevice();
  info.Device = dev;
  info.QueueFamily = window_->graphicsQueueFamilyIndex();
  info.Queue = window_->graphicsQueue();
  info.DescriptorPool = pool_;
  info.Subpass = 0;
  info.MinImageCount = 2;
  // ImGui rotates its vertex buffers over ImageCount frames; more than can be in flight.
  info.ImageCount = static_cast<uint32_t>(std::max(2, window_->concurrentFrameCount() + 1));
  info.MSAASamples = window_->sampleCountFlagBits();
  info.CheckVkResultFn = check_vk;
  scene_.host.make_current();
  ready_ = ImGui_ImplVulkan_Init(&info, window_->defaultRenderPass()) && upload_fonts();
}

bool ImGuiVulkanRenderer::upload_fonts() {
  const VkDevice dev = window_->device();
  VkCommandBufferAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  ai.commandPool = window_->graphicsCommandPool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  if (df()->vkAllocateCommandBuffers(dev, &ai, &cb) != VK_SUCCESS) return false;
  VkCommandBufferBeginInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  bool ok = df()->vkBeginCommandBuffer(cb, &bi) == VK_SUCCESS &&
            ImGui_ImplVulkan_CreateFontsTexture(cb) && df()->vkEndCommandBuffer(cb) == VK_SUCCESS;
  if (ok) {
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cb;
    ok = df()->vkQueueSubmit(window_->graphicsQueue(), 1, &si, VK_NULL_HANDLE) == VK_SUCCESS &&
         df()->vkQueueWaitIdle(window_->graphicsQueue()) == VK_SUCCESS;
  }
  df()->vkFreeCommandBuffers(dev, window_->graphicsCommandPool(), 1, &cb);
  ImGui_ImplVulkan_DestroyFontUploadObjects();
  return ok;
}

void ImGuiVulkanRenderer::releaseResources() {
  scene_.host.make_current();
  if (ready_ || pool_ != VK_NULL_HANDLE) {
    df()->vkDeviceWaitIdle(window_->device());
  }
  if (ImGui::GetIO().BackendRendererUserData != nullptr) ImGui_ImplVulkan_Shutdown();
  if (pool_ != VK_NULL_HANDLE) df()->vkDestroyDescriptorPool(window_->device(), pool_, nullptr);
  pool_ = VK_NULL_HANDLE;
  ready_ = false;
}

void ImGuiVulkanRenderer::startNextFrame() {
  const VkCommandBuffer cb = window_->currentCommandBuffer();
  float bg[4];
  scene_.clear_colour(bg);
  VkClearValue clear[3]{};
  clear[0].color = {{bg[0], bg[1], bg[2], bg[3]}};
  clear[1].depthStencil = {1.0f, 0};
  clear[2].color = clear[0].color;
  const QSize px = window_->swapChainImageSize();
  VkRenderPassBeginInfo rp{};
  rp.sType = VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO;
  rp.renderPass = window_->defaultRenderPass();
  rp.framebuffer = window_->currentFramebuffer();
  rp.renderArea.extent = {static_cast<uint32_t>(px.width()), static_cast<uint32_t>(px.height())};
  rp.clearValueCount = window_->sampleCountFlagBits() > VK_SAMPLE_COUNT_1_BIT ? 3 : 2;
  rp.pClearValues = clear;
  df()->vkCmdBeginRenderPass(cb, &rp, VK_SUBPASS_CONTENTS_INLINE);
  if (ready_) {
    scene_.host.make_current();
    ImGui_ImplVulkan_NewFrame();
    const double dpr = window_->devicePixelRatio();
    const QSize logical(static_cast<int>(px.width() / dpr), static_cast<int>(px.height() / dpr));
    ImDrawData* draw = scene_.build(logical, dpr);
    ImGui_ImplVulkan_RenderDrawData(draw, cb);
  }
  df()->vkCmdEndRenderPass(cb);
  window_->frameReady();
  if (ready_ && scene_.host.wants_frame()) window_->requestUpdate();
}

}  // namespace

QVulkanWindowRenderer* ImGuiVulkanWindow::createRenderer() {
  return new ImGuiVulkanRenderer(this, scene_);
}

void ImGuiVulkanWindow::mouseMoveEvent(QMouseEvent* e) {
  scene_.host.mouse_move(e->position());
  requestUpdate();
}

void ImGuiVulkanWindow::mousePressEvent(QMouseEvent* e) {
  scene_.host.mouse_move(e->position());
  scene_.host.mouse_button(imgui_button(e->button()), true);
  requestUpdate();
}

void ImGuiVulkanWindow::mouseReleaseEvent(QMouseEvent* e) {
  scene_.host.mouse_move(e->position());
  scene_.host.mouse_button(imgui_button(e->button()), false);
  requestUpdate();
}

void ImGuiVulkanWindow::wheelEvent(QWheelEvent* e) {
  scene_.host.mouse_wheel(e->angleDelta());
  e->accept();
  requestUpdate();
}

bool ImGuiVulkanWindow::event(QEvent* e) {
  if (e->type() == QEvent::Leave) {
    scene_.host.mouse_leave();
    requestUpdate();
  }
  return QVulkanWindow::event(e);
}

VulkanCanvas::VulkanCanvas(InspectorScene& scene, QVulkanInstance& instance, int physical_device,
                           QWidget* parent) {
  window_ = new ImGuiVulkanWindow(scene);
  window_->setVulkanInstance(&instance);
  window_->setPhysicalDeviceIndex(physical_device);
  // Keep the device and ImGui's resources while hidden (a dock tabbed away).
  window_->setFlags(QVulkanWindow::PersistentResources);
  // ImGui's colours are sRGB values already: a UNORM swap chain keeps them as they are
  // (an _SRGB one would encode them a second time), as the OpenGL canvas does.
  window_->setPreferredColorFormats({VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM});
  container_ = QWidget::createWindowContainer(window_, parent);
  container_->setMouseTracking(true);
  container_->setFocusPolicy(Qt::ClickFocus);
}

VulkanCanvas::~VulkanCanvas() {
  delete container_;  // Deletes the window before the instance it uses goes away.
}

void VulkanCanvas::request_frame() {
  if (window_->isExposed()) window_->requestUpdate();
}

QImage VulkanCanvas::grab_frame() {
  if (!window_->isValid() || !window_->supportsGrab()) return {};
  QImage img = window_->grab();
  // grab() labels the bytes RGBA whatever the swap chain's order is.
  const VkFormat f = window_->colorFormat();
  if (f == VK_FORMAT_B8G8R8A8_UNORM || f == VK_FORMAT_B8G8R8A8_SRGB)
    img = std::move(img).rgbSwapped();
  img.setDevicePixelRatio(window_->devicePixelRatio());
  return img;
}

bool vulkan_can_present(QVulkanInstance& instance, int& physical_device) {
  QVulkanFunctions* f = instance.functions();
  uint32_t n = 0;
  if (f->vkEnumeratePhysicalDevices(instance.vkInstance(), &n, nullptr) != VK_SUCCESS || n == 0) {
    return false;
  }
  std::vector<VkPhysicalDevice> devices(n);
  f->vkEnumeratePhysicalDevices(instance.vkInstance(), &n, devices.data());
  QWindow probe;
  probe.setSurfaceType(QSurface::VulkanSurface);
  probe.setVulkanInstance(&instance);
  probe.create();
  for (uint32_t d = 0; d < n; ++d) {
    uint32_t n_families = 0;
    f->vkGetPhysicalDeviceQueueFamilyProperties(devices[d], &n_families, nullptr);
    std::vector<VkQueueFamilyProperties> families(n_families);
    f->vkGetPhysicalDeviceQueueFamilyProperties(devices[d], &n_families, families.data());
    for (uint32_t q = 0; q < n_families; ++q) {
      if ((families[q].queueFlags & VK_QUEUE_GRAPHICS_BIT) != 0 &&
          instance.supportsPresent(devices[d], q, &probe)) {
        physical_device = static_cast<int>(d);
        return true;
      }
    }
  }
  return false;
}

}  // namespace es::ui::engine_inspector
