#include "app_icon.h"

// Q_INIT_RESOURCE must be used outside any namespace. Calling it from the function that
// uses the icons also makes the linker keep the resources of this static library.
static void init_icon_resources() {
  Q_INIT_RESOURCE(expertscope);
}

namespace es::ui {

QIcon app_icon() {
  init_icon_resources();
  QIcon icon;
  for (int px : {16, 24, 32, 48, 64, 128, 256}) {
    icon.addFile(QStringLiteral(":/icons/expertscope-%1.png").arg(px), QSize(px, px));
  }
  return icon;
}

}  // namespace es::ui
