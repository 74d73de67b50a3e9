// The application's icon, from the compiled-in resources (resources/icons).
#pragma once

#include <QIcon>

namespace es::ui {

/// Expertscope's icon at every size the resources hold (16 to 256 px).
[[nodiscard]] QIcon app_icon();

}  // namespace es::ui
