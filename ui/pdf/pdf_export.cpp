// PDF export: QTextDocument lays out the engine's Qt-flavoured HTML; each of its
// "es-heatmap:<message index>" images becomes a text object drawn here in vector form
// (crisp at any zoom, a few kilobytes); the pages are printed by QPdfWriter into a
// QSaveFile, with a footer (title, page n of m) on each.
#include "pdf_export.h"

#include <QAbstractTextDocumentLayout>
#include <QFile>
#include <QFontDatabase>
#include <QGuiApplication>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextBlock>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextObjectInterface>
#include <algorithm>
#include <map>

#include "expertscope/error.h"
#include "expertscope/transcript.h"

namespace es::pdf {

namespace {

/// The text object type of a heatmap and the property holding its message index.
constexpr int kHeatmapObject = QTextFormat::UserObject + 1;
constexpr int kMessageProperty = QTextFormat::UserProperty + 1;
/// Width of a heatmap in CSS pixels (what the HTML asks for; 1/96 inch).
constexpr double kHeatmapWidthPx = 600;

QColor rgb(uint32_t c) {
  return QColor::fromRgb(static_cast<QRgb>(0xff000000u | c));
}

/// Where the parts of a heatmap go, in the units of the browser page's SVG.
struct HeatmapLayout {
  double cw, ch, left = 34, top = 22, grid_w, grid_h, width, height;
  explicit HeatmapLayout(const transcript::LoadHeatmap& map)
      : cw(std::clamp(640.0 / map.n_expert, 2.0, 28.0)),
        ch(map.layers.size() > 40 ? 8.0 : 13.0),
        grid_w(cw * map.n_expert),
        grid_h(ch * static_cast<double>(map.layers.size())),
        width(left + grid_w + 6),
        height(top + grid_h + 30) {}
};

/// Draws a heatmap as the browser page's SVG does: a row per MoE layer labelled by block
/// index, a column per expert, the default (middle) layer's row outlined, a colour scale.
void paint_heatmap(QPainter& p, const transcript::LoadHeatmap& map) {
  const HeatmapLayout g(map);
  const auto n_e = static_cast<int>(map.n_expert);
  const auto n_l = static_cast<int>(map.layers.size());
  p.fillRect(QRectF(g.left, g.top, g.grid_w, g.grid_h), rgb(transcript::heat_colour(0)));
  for (int m = 0; m < n_l; ++m) {
    for (int e = 0; e < n_e; ++e) {
      const double f = map.fraction[static_cast<size_t>(m) * map.n_expert + static_cast<size_t>(e)];
      if (f <= 0) continue;
      // A hair wider than the cell, so that no seam of background shows between cells.
      p.fillRect(QRectF(g.left + e * g.cw, g.top + m * g.ch, g.cw + 0.05, g.ch + 0.05),
                 rgb(transcript::heat_colour(f / map.max_fraction)));
    }
  }
  p.setPen(QPen(QColor(0xcf, 0x22, 0x2e), 1.2));
  p.setBrush(Qt::NoBrush);
  p.drawRect(QRectF(g.left - 1, g.top + (n_l / 2) * g.ch, g.grid_w + 2, g.ch));
  QFont font = QFontDatabase::systemFont(QFontDatabase::GeneralFont);
  font.setPixelSize(9);  // in the heatmap's units, as the SVG's 9px labels
  p.setFont(font);
  p.setPen(QColor(0x57, 0x60, 0x6a));
  for (int m = 0; m<n_l; m += n_l> 40 ? 2 : 1) {
    p.drawText(QRectF(0, g.top + m * g.ch, g.left - 4, g.ch), Qt::AlignRight | Qt::AlignVCenter,
               QString::number(map.layers[static_cast<size_t>(m)]));
  }
  int step = 1;
  while (step * g.cw < 16) step *= 2;
  for (int e = 0; e < n_e; e += step) {
    p.drawText(QRectF(g.left + e * g.cw + g.cw / 2 - 12, 0, 24, g.top - 3),
               Qt::AlignHCenter | Qt::AlignBottom, QString::number(e));
  }
  p.drawText(QRectF(0, 0, g.left - 4, g.top - 3), Qt::AlignRight | Qt::AlignBottom, "layer");
  const double ly = g.top + g.grid_h + 10, lw = 4.0;
  for (int i = 0; i < 24; ++i) {
    p.fillRect(QRectF(g.left + i * lw, ly, lw + 0.05, 8),
               rgb(transcript::heat_colour((i + 0.5) / 24.0)));
  }
  p.drawText(QRectF(g.left + 24 * lw + 6, ly - 2, g.grid_w, 12), Qt::AlignLeft | Qt::AlignVCenter,
             QString("0 \u2013 %1% of the tokens chose the expert")
                 .arg(map.max_fraction * 100.0, 0, 'f', map.max_fraction >= 0.1 ? 0 : 1));
}

/// Draws the heatmap text objects of one document.
class HeatmapObjects : public QObject, public QTextObjectInterface {
  Q_OBJECT
  Q_INTERFACES(QTextObjectInterface)

 public:
  explicit HeatmapObjects(const Session& session) {
    for (size_t i = 0; i < session.messages.size(); ++i) {
      const auto& trace = session.messages[i].trace;
      if (trace && trace->has_shape() && !trace->empty())
        maps_.emplace(static_cast<int>(i), transcript::load_heatmap(*trace));
    }
  }

  /// kHeatmapWidthPx CSS pixels wide in the layout's device units, its height in proportion.
  QSizeF intrinsicSize(QTextDocument* doc, int, const QTextFormat& format) override {
    const auto* map = find(format);
    if (map == nullptr) return {};
    const HeatmapLayout g(*map);
    const QPaintDevice* device = doc->documentLayout()->paintDevice();
    const double dpi_scale = device ? device->logicalDpiX() / 96.0 : 1.0;
    const double width = std::min(kHeatmapWidthPx, g.width) * dpi_scale;
    return {width, width * g.height / g.width};
  }

  void drawObject(QPainter* painter, const QRectF& rect, QTextDocument*, int,
                  const QTextFormat& format) override {
    const auto* map = find(format);
    if (map == nullptr) return;
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, false);
    painter->translate(rect.topLeft());
    const double scale = rect.width() / HeatmapLayout(*map).width;
    painter->scale(scale, scale);
    paint_heatmap(*painter, *map);
    painter->restore();
  }

 private:
  const transcript::LoadHeatmap* find(const QTextFormat& format) const {
    const auto it = maps_.find(format.intProperty(kMessageProperty));
    return it == maps_.end() ? nullptr : &it->second;
  }

  std::map<int, transcript::LoadHeatmap> maps_;
};

/// Replaces every <img src="es-heatmap:N"> of the document by a heatmap object for N.
void insert_heatmaps(QTextDocument& doc) {
  struct Hit {
    int position, length, message;
  };
  std::vector<Hit> hits;
  for (QTextBlock b = doc.begin(); b.isValid(); b = b.next()) {
    for (auto it = b.begin(); !it.atEnd(); ++it) {
      const QTextFragment f = it.fragment();
      const QTextCharFormat format = f.charFormat();
      if (!format.isImageFormat()) continue;
      const QString name = format.toImageFormat().name();
      if (!name.startsWith("es-heatmap:")) continue;
      hits.push_back({f.position(), f.length(), name.mid(11).toInt()});
    }
  }
  for (auto h = hits.rbegin(); h != hits.rend(); ++h) {
    QTextCursor cursor(&doc);
    cursor.setPosition(h->position);
    cursor.setPosition(h->position + h->length, QTextCursor::KeepAnchor);
    QTextCharFormat object;
    object.setObjectType(kHeatmapObject);
    object.setProperty(kMessageProperty, h->message);
    cursor.insertText(QString(QChar::ObjectReplacementCharacter), object);
  }
}

/// Text for the PDF's metadata and footer: invalid UTF-8 replaced, controls and format
/// characters (bidirectional overrides among them) removed.
QString plain_text(const std::string& text) {
  QString out = QString::fromStdString(text);
  out.removeIf([](QChar c) {
    return c.category() == QChar::Other_Control || c.category() == QChar::Other_Format;
  });
  return out;
}

/// Height of the page footer in the writer's device units (0.35 inch).
double footer_height(const QPdfWriter& writer) {
  return writer.resolution() * 0.35;
}

/// Lays the document out for the writer's pages (above the footer). Done before the HTML
/// is set: Qt 6.4 crashed laying this document out unpaginated (QTextCursor moves lay out).
void paginate(QTextDocument& doc, QPdfWriter& writer) {
  doc.documentLayout()->setPaintDevice(&writer);
  doc.setDocumentMargin(0);
  const QRectF page = writer.pageLayout().paintRectPixels(writer.resolution());
  doc.setPageSize(QSizeF(page.width(), page.height() - footer_height(writer)));
}

/// Prints the paginated document, a footer (title, page n / m) on each page.
void print(QTextDocument& doc, QPdfWriter& writer, const QString& title) {
  const QRectF page = writer.pageLayout().paintRectPixels(writer.resolution());
  const double footer = footer_height(writer);
  const double body_h = page.height() - footer;
  QPainter painter(&writer);
  QFont small = QFontDatabase::systemFont(QFontDatabase::GeneralFont);
  small.setPointSizeF(7.5);
  const int pages = doc.pageCount();
  for (int i = 0; i < pages; ++i) {
    if (i > 0) writer.newPage();
    painter.save();
    painter.translate(0, -i * body_h);
    QAbstractTextDocumentLayout::PaintContext context;
    context.clip = QRectF(0, i * body_h, page.width(), body_h);
    painter.setClipRect(context.clip);
    doc.documentLayout()->draw(&painter, context);
    painter.restore();
    painter.setFont(small);
    painter.setPen(QColor(0x65, 0x6d, 0x76));
    const QRectF foot(0, page.height() - footer * 0.6, page.width(), footer * 0.6);
    const QString left = painter.fontMetrics().elidedText(title, Qt::ElideRight,
                                                          static_cast<int>(page.width() * 0.75));
    painter.drawText(foot, Qt::AlignLeft | Qt::AlignBottom, left);
    painter.drawText(foot, Qt::AlignRight | Qt::AlignBottom,
                     QString("%1 / %2").arg(i + 1).arg(pages));
  }
}

[[noreturn]] void fail_io(const std::filesystem::path& out, const QString& what) {
  throw Error(ErrorKind::io, out.string() + ": " + what.toStdString());
}

}  // namespace

void write_pdf(const Session& session, const std::filesystem::path& out) {
  if (qobject_cast<QGuiApplication*>(QCoreApplication::instance()) == nullptr) {
    throw Error(ErrorKind::usage,
                out.string() + ": PDF export needs a QGuiApplication (QTextDocument needs fonts)");
  }
  const QString title = plain_text(session.title.empty() ? "Session" : session.title);
  QSaveFile file(QFile::decodeName(out.c_str()));
  if (!file.open(QIODevice::WriteOnly)) fail_io(out, "cannot write (" + file.errorString() + ")");
  {
    QPdfWriter writer(&file);
    writer.setPageSize(QPageSize(QPageSize::A4));
    writer.setPageMargins(QMarginsF(18, 16, 18, 12), QPageLayout::Millimeter);
    writer.setResolution(300);
    writer.setTitle(title);
    writer.setCreator("Expertscope");
    // The document is laid out for the writer's pages from the start.
    QTextDocument doc;
    paginate(doc, writer);
    QFont font = QFontDatabase::systemFont(QFontDatabase::GeneralFont);
    font.setPointSizeF(10);
    doc.setDefaultFont(font);
    HeatmapObjects heatmaps(session);
    doc.documentLayout()->registerHandler(kHeatmapObject, &heatmaps);
    doc.setHtml(
        QString::fromStdString(transcript::to_html(session, transcript::HtmlFlavor::qt_rich_text)));
    insert_heatmaps(doc);
    print(doc, writer, title);
  }
  if (file.error() != QFileDevice::NoError)
    fail_io(out, "writing failed (" + file.errorString() + ")");
  if (!file.commit()) fail_io(out, "cannot replace the file (" + file.errorString() + ")");
}

}  // namespace es::pdf

#include "pdf_export.moc"
