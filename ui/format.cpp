#include "format.h"

#include <QLocale>
#include <algorithm>

namespace es::ui {

QString format_count(uint64_t n) {
  return QLocale().toString(static_cast<qulonglong>(n));
}

QString format_params(uint64_t n) {
  static constexpr struct {
    double scale;
    const char* suffix;
  } kUnits[] = {{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
  const QLocale locale;
  for (const auto& unit : kUnits) {
    const double value = static_cast<double>(n) / unit.scale;
    if (value >= 0.9995) {  // 999,999 is "1.00 M", not "1000 K".
      // Three significant digits: 2.42 M, 15.7 M, 236 B.
      const int decimals = value >= 100.0 ? 0 : value >= 10.0 ? 1 : 2;
      return QStringLiteral("%1 %2").arg(locale.toString(value, 'f', decimals),
                                         QLatin1String(unit.suffix));
    }
  }
  return locale.toString(static_cast<qulonglong>(n));
}

QString format_bytes(uint64_t bytes) {
  return QLocale().formattedDataSize(static_cast<qint64>(bytes), 2, QLocale::DataSizeIecFormat);
}

QString format_shape(uint32_t n_dims, const std::array<int64_t, 4>& ne) {
  QString text;
  const uint32_t dims = n_dims == 0 ? 1 : std::min<uint32_t>(n_dims, 4);
  for (uint32_t i = 0; i < dims; ++i) {
    if (i > 0) text += QStringLiteral(" × ");
    text += QString::number(ne[i]);
  }
  return text;
}

QString format_percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return QStringLiteral("–");
  const double pct = 100.0 * static_cast<double>(part) / static_cast<double>(whole);
  return QStringLiteral("%1 %").arg(QLocale().toString(pct, 'f', 1));
}

}  // namespace es::ui
