// Colour scales of the inspector.
#include "colour_scales.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "expertscope/transcript.h"

namespace es::inspector {

QString measureName(Measure measure) {
  switch (measure) {
    case Measure::dominant_expert:
      return QStringLiteral("dominant expert");
    case Measure::entropy:
      return QStringLiteral("router entropy");
    case Measure::top1_weight:
      return QStringLiteral("top-1 weight");
  }
  return {};
}

QColor expertColor(uint32_t expert) {
  return QColor::fromRgb(es::transcript::expert_colour(expert));
}

namespace {

/// Linear interpolation along `stops` at x in [0, 1].
template <size_t N>
QColor interpolate(const std::array<QRgb, N>& stops, double x) {
  x = std::isfinite(x) ? std::clamp(x, 0.0, 1.0) * (N - 1) : 0.0;
  const auto i = std::min(static_cast<size_t>(x), N - 2);
  const double f = x - static_cast<double>(i);
  const QColor a = QColor::fromRgb(stops[i]), b = QColor::fromRgb(stops[i + 1]);
  return QColor::fromRgbF(static_cast<float>(a.redF() + (b.redF() - a.redF()) * f),
                          static_cast<float>(a.greenF() + (b.greenF() - a.greenF()) * f),
                          static_cast<float>(a.blueF() + (b.blueF() - a.blueF()) * f));
}

}  // namespace

bool isDark(const QPalette& palette) {
  return palette.color(QPalette::Window).lightnessF() < 0.5;
}

QColor heatColor(double fraction, bool dark) {
  if (!dark) return QColor::fromRgb(es::transcript::heat_colour(fraction));
  // ColorBrewer "Blues" from a navy just above a dark background up to its pale end.
  static constexpr std::array<QRgb, 8> kDark = {0x1f2a36, 0x0b3a6e, 0x08519c, 0x2171b5,
                                                0x4292c6, 0x6baed6, 0x9ecae1, 0xdeebf7};
  return interpolate(kDark, fraction);
}

QColor divergingColor(double value, bool dark) {
  // ColorBrewer RdBu, 11 classes, reversed (blue for negative), interpolated.
  static constexpr std::array<QRgb, 11> kLight = {0x053061, 0x2166ac, 0x4393c3, 0x92c5de,
                                                  0xd1e5f0, 0xf7f7f7, 0xfddbc7, 0xf4a582,
                                                  0xd6604d, 0xb2182b, 0x67001f};
  // The same hues around a dark neutral: stronger is brighter.
  static constexpr std::array<QRgb, 9> kDark = {0x92c5de, 0x4393c3, 0x2166ac, 0x1d3650, 0x2a2c30,
                                                0x5a2424, 0xb2182b, 0xd6604d, 0xf4a582};
  const double v = std::isfinite(value) ? std::clamp(value, -1.0, 1.0) : 0.0;
  return dark ? interpolate(kDark, (v + 1.0) / 2.0) : interpolate(kLight, (v + 1.0) / 2.0);
}

QColor textColorOn(const QColor& background) {
  const double luma =
      0.2126 * background.redF() + 0.7152 * background.greenF() + 0.0722 * background.blueF();
  return luma > 0.5 ? QColor(0x1a, 0x1a, 0x1a) : QColor(0xff, 0xff, 0xff);
}

QColor measureColor(Measure measure, double value, bool dark) {
  if (measure == Measure::dominant_expert)
    return expertColor(static_cast<uint32_t>(std::max(0.0, value)));
  return heatColor(value, dark);
}

}  // namespace es::inspector
