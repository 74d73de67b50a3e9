// Private to es_engine_inspector: the Vulkan canvas — a QVulkanWindow drawing the scene
// with imgui_impl_vulkan, embedded in the widget tree by QWidget::createWindowContainer.
#pragma once

#include <QVulkanWindow>
#include <memory>

#include "inspector_scene.h"

class QVulkanInstance;

namespace es::ui::engine_inspector {

/// The native window that renders; input events arrive here, not at the container.
class ImGuiVulkanWindow final : public QVulkanWindow {
 public:
  /// `scene` must outlive the window.
  explicit ImGuiVulkanWindow(InspectorScene& scene) : scene_(scene) {}
  QVulkanWindowRenderer* createRenderer() override;

 protected:
  void mouseMoveEvent(QMouseEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  bool event(QEvent* e) override;

 private:
  InspectorScene& scene_;
};

class VulkanCanvas final : public Canvas {
 public:
  /// Creates the window on `instance` (which must outlive the canvas) inside a container
  /// widget parented to `parent`; `physical_device` is the index of a device that can
  /// present to it.
  VulkanCanvas(InspectorScene& scene, QVulkanInstance& instance, int physical_device,
               QWidget* parent);
  ~VulkanCanvas() override;

  QWidget* widget() override { return container_; }
  void request_frame() override;
  QImage grab_frame() override;

 private:
  ImGuiVulkanWindow* window_ = nullptr;  ///< Owned by the container.
  QWidget* container_ = nullptr;         ///< Owned by its parent widget.
};

/// Whether `instance` has a physical device with a graphics queue that can present to
/// this platform's windows; its index goes to `physical_device`.
[[nodiscard]] bool vulkan_can_present(QVulkanInstance& instance, int& physical_device);

}  // namespace es::ui::engine_inspector
