#include "model_panel.h"

#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QShortcut>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>
#include <array>

#include "app_icon.h"
#include "device_picker.h"
#include "error_banner.h"
#include "format.h"
#include "summary_fields.h"
#include "tensor_table_model.h"

namespace es::ui {

namespace {

constexpr int kCardColumns = 4;

/// Gives `label` a secondary (muted) text colour derived from the palette.
void make_muted(QLabel* label) {
  QPalette pal = label->palette();
  QColor c = pal.color(QPalette::WindowText);
  c.setAlphaF(0.62);
  pal.setColor(QPalette::WindowText, c);
  label->setPalette(pal);
}

QFont scaled_font(const QFont& base, double factor, bool bold) {
  QFont f = base;
  f.setPointSizeF(base.pointSizeF() * factor);
  f.setBold(bold);
  return f;
}

/// One summary card: a title and right-aligned values against muted labels.
QFrame* make_card(const SummarySection& section, QWidget* parent) {
  auto* card = new QFrame(parent);
  card->setObjectName(QStringLiteral("summaryCard"));
  card->setProperty("section", section.key);
  auto* grid = new QGridLayout(card);
  grid->setContentsMargins(14, 10, 14, 12);
  grid->setHorizontalSpacing(16);
  grid->setVerticalSpacing(4);
  auto* title = new QLabel(section.title.toUpper(), card);
  QFont tf = scaled_font(title->font(), 0.85, true);
  tf.setLetterSpacing(QFont::PercentageSpacing, 106);
  title->setFont(tf);
  make_muted(title);
  grid->addWidget(title, 0, 0, 1, 2);
  grid->addItem(new QSpacerItem(0, 4), 1, 0);
  int row = 2;
  for (const SummaryField& field : section.fields) {
    auto* label = new QLabel(field.label, card);
    make_muted(label);
    auto* value = new QLabel(field.value, card);
    value->setObjectName(QStringLiteral("value_") + field.key);
    value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    value->setToolTip(field.tool_tip);
    label->setToolTip(field.tool_tip);
    grid->addWidget(label, row, 0);
    grid->addWidget(value, row, 1);
    ++row;
  }
  grid->setColumnStretch(1, 1);
  grid->setRowStretch(row, 1);
  return card;
}

/// A scroll area that asks for the whole height of its content, so the splitter gives
/// the summary cards their natural height and the tensor table the rest.
class FitScrollArea : public QScrollArea {
 public:
  using QScrollArea::QScrollArea;
  [[nodiscard]] QSize sizeHint() const override {
    const QSize content = widget() ? widget()->sizeHint() : QSize();
    return {QScrollArea::sizeHint().width(), content.height() + 2 * frameWidth()};
  }
};

}  // namespace

ModelPanel::ModelPanel(QWidget* parent, bool use_settings) : QWidget(parent) {
  devices_ = new DevicePicker(this, use_settings);
  setObjectName(QStringLiteral("modelPanel"));
  setStyleSheet(QStringLiteral(
      "#summaryCard { background: palette(base); border: 1px solid palette(midlight);"
      " border-radius: 6px; }"));
  banner_ = new ErrorBanner(this);
  stack_ = new QStackedWidget(this);
  welcome_ = buildWelcomePage();
  model_page_ = buildModelPage();
  stack_->addWidget(welcome_);
  stack_->addWidget(model_page_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(16, 12, 16, 12);
  layout->setSpacing(10);
  layout->addWidget(banner_);
  layout->addWidget(stack_, 1);
  auto* find = new QShortcut(QKeySequence::Find, this);
  connect(find, &QShortcut::activated, this, [this] {
    filter_->setFocus(Qt::ShortcutFocusReason);
    filter_->selectAll();
  });
}

QWidget* ModelPanel::buildWelcomePage() {
  auto* page = new QWidget(this);
  auto* icon = new QLabel(page);
  icon->setPixmap(app_icon().pixmap(96, 96));
  icon->setAlignment(Qt::AlignCenter);
  auto* heading = new QLabel(tr("No model open"), page);
  heading->setFont(scaled_font(heading->font(), 1.6, true));
  heading->setAlignment(Qt::AlignCenter);
  auto* hint = new QLabel(tr("Open a GGUF model with File → Open Model… or drop a .gguf file "
                             "onto this window to see its architecture, experts and tensors."),
                          page);
  hint->setWordWrap(true);
  hint->setAlignment(Qt::AlignCenter);
  hint->setFixedWidth(480);
  make_muted(hint);
  auto* open = new QPushButton(tr("Open Model…"), page);
  open->setObjectName(QStringLiteral("welcomeOpen"));
  connect(open, &QPushButton::clicked, this, &ModelPanel::openRequested);
  auto* column = new QVBoxLayout(page);
  column->addStretch(2);
  column->addWidget(icon, 0, Qt::AlignHCenter);
  column->addSpacing(8);
  column->addWidget(heading, 0, Qt::AlignHCenter);
  // Centred by stretches, not an alignment flag: an aligned item loses heightForWidth and
  // the wrapped text would be cut.
  auto* hint_row = new QHBoxLayout;
  hint_row->addStretch(1);
  hint_row->addWidget(hint);
  hint_row->addStretch(1);
  column->addLayout(hint_row);
  column->addSpacing(12);
  column->addWidget(open, 0, Qt::AlignHCenter);
  column->addStretch(3);
  return page;
}

QWidget* ModelPanel::buildModelPage() {
  auto* page = new QWidget(this);
  title_ = new QLabel(page);
  title_->setObjectName(QStringLiteral("modelTitle"));
  title_->setFont(scaled_font(title_->font(), 1.75, true));
  title_->setTextFormat(Qt::PlainText);
  subtitle_ = new QLabel(page);
  subtitle_->setObjectName(QStringLiteral("modelSubtitle"));
  subtitle_->setFont(scaled_font(subtitle_->font(), 1.1, false));
  path_ = new QLabel(page);
  path_->setObjectName(QStringLiteral("modelPath"));
  path_->setTextFormat(Qt::PlainText);
  path_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  make_muted(path_);

  cards_scroll_ = new FitScrollArea(page);
  cards_scroll_->setWidgetResizable(true);
  cards_scroll_->setFrameShape(QFrame::NoFrame);
  cards_scroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  cards_host_ = new QWidget;
  cards_scroll_->setWidget(cards_host_);

  split_ = new QSplitter(Qt::Vertical, page);
  split_->setObjectName(QStringLiteral("modelSplitter"));
  split_->setChildrenCollapsible(false);
  split_->addWidget(cards_scroll_);
  split_->addWidget(buildTensorSection());
  split_->setStretchFactor(0, 0);
  split_->setStretchFactor(1, 1);

  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  layout->addWidget(title_);
  layout->addWidget(subtitle_);
  layout->addWidget(path_);
  layout->addSpacing(6);
  layout->addWidget(devices_);
  layout->addSpacing(10);
  layout->addWidget(split_, 1);
  return page;
}

QWidget* ModelPanel::buildTensorSection() {
  auto* section = new QWidget(this);
  auto* heading = new QLabel(tr("Tensors"), section);
  heading->setFont(scaled_font(heading->font(), 1.2, true));
  filter_ = new QLineEdit(section);
  filter_->setObjectName(QStringLiteral("tensorFilter"));
  filter_->setPlaceholderText(tr("Filter by name or type: ffn_*_exps, blk.3., Q4_K  (Ctrl+F)"));
  filter_->setClearButtonEnabled(true);
  filter_->setMaximumWidth(420);
  tensor_count_ = new QLabel(section);
  tensor_count_->setObjectName(QStringLiteral("tensorCount"));
  make_muted(tensor_count_);

  tensors_ = new TensorTableModel(this);
  proxy_ = new TensorFilterProxy(this);
  proxy_->setSourceModel(tensors_);
  table_ = new QTableView(section);
  table_->setObjectName(QStringLiteral("tensorTable"));
  table_->setModel(proxy_);
  table_->setAlternatingRowColors(true);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setWordWrap(false);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
  QHeaderView* header = table_->horizontalHeader();
  header->setHighlightSections(false);
  header->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
  header->setSectionResizeMode(TensorTableModel::name, QHeaderView::Stretch);
  for (int c : {TensorTableModel::type, TensorTableModel::shape, TensorTableModel::bytes}) {
    header->setSectionResizeMode(c, QHeaderView::Interactive);
  }
  header->resizeSection(TensorTableModel::type,
                        fontMetrics().horizontalAdvance(QStringLiteral("IQ2_XXS")) + 40);
  header->resizeSection(
      TensorTableModel::shape,
      fontMetrics().horizontalAdvance(QStringLiteral("163840 × 7168 × 256")) + 40);
  header->resizeSection(TensorTableModel::bytes,
                        fontMetrics().horizontalAdvance(QStringLiteral("1023.99 MiB")) + 40);
  header->setSortIndicator(-1, Qt::AscendingOrder);  // File order until the user sorts.
  table_->setSortingEnabled(true);

  connect(filter_, &QLineEdit::textChanged, this, [this](const QString& text) {
    proxy_->setPattern(text);
    updateTensorCount();
  });

  auto* bar = new QHBoxLayout;
  bar->setSpacing(12);
  bar->addWidget(heading);
  bar->addWidget(filter_, 1);
  bar->addStretch();
  bar->addWidget(tensor_count_);
  auto* layout = new QVBoxLayout(section);
  layout->setContentsMargins(0, 10, 0, 0);
  layout->setSpacing(8);
  layout->addLayout(bar);
  layout->addWidget(table_, 1);
  return section;
}

void ModelPanel::showModel(ModelSnapshotPtr snapshot) {
  snapshot_ = std::move(snapshot);
  clearError();
  if (!snapshot_) {
    clearModel();
    return;
  }
  const ModelSnapshot& s = *snapshot_;
  const HParams& hp = s.summary.hp;
  title_->setText(model_display_name(s));
  QStringList facts{QString::fromUtf8(arch_name(hp.arch).data(),
                                      static_cast<qsizetype>(arch_name(hp.arch).size())),
                    hp.n_layer == 1 ? tr("1 layer") : tr("%1 layers").arg(hp.n_layer)};
  if (hp.n_expert > 0) {
    facts << tr("%1 experts, top-%2").arg(hp.n_expert).arg(hp.n_expert_used);
  }
  facts << tr("%1 parameters").arg(format_params(s.summary.n_params))
        << tr("%1 active").arg(format_params(s.summary.n_params_active))
        << format_bytes(s.file_size_bytes);
  subtitle_->setText(facts.join(QStringLiteral("  ·  ")));
  path_->setText(s.path);
  path_->setToolTip(s.path);
  rebuildCards();
  tensors_->setSnapshot(snapshot_);
  updateTensorCount();
  stack_->setCurrentWidget(model_page_);
}

void ModelPanel::clearModel() {
  snapshot_.reset();
  tensors_->setSnapshot(nullptr);
  title_->clear();
  subtitle_->clear();
  path_->clear();
  rebuildCards();
  updateTensorCount();
  stack_->setCurrentWidget(welcome_);
}

void ModelPanel::rebuildCards() {
  // A fresh host each time: setWidget() deletes the old one with its cards.
  cards_host_ = new QWidget;
  cards_host_->setObjectName(QStringLiteral("summaryCards"));
  auto* row = new QHBoxLayout(cards_host_);
  row->setContentsMargins(0, 0, 0, 0);
  row->setSpacing(10);
  std::array<QVBoxLayout*, kCardColumns> columns{};
  std::array<size_t, kCardColumns> heights{};  // In rows; a card's title counts as two.
  for (auto& column : columns) {
    column = new QVBoxLayout;
    column->setSpacing(10);
    row->addLayout(column, 1);
  }
  if (snapshot_) {
    // Each card goes to the shortest column so far: balanced columns, in reading order.
    for (const SummarySection& section : summary_sections(*snapshot_)) {
      const auto shortest = std::min_element(heights.begin(), heights.end()) - heights.begin();
      columns[static_cast<size_t>(shortest)]->addWidget(make_card(section, cards_host_));
      heights[static_cast<size_t>(shortest)] += section.fields.size() + 2;
    }
  }
  for (auto* column : columns) column->addStretch(1);
  cards_scroll_->setWidget(cards_host_);
  cards_scroll_->updateGeometry();
  if (split_->isVisible()) {
    const int cards = cards_scroll_->sizeHint().height();
    split_->setSizes({cards, std::max(1, split_->height() - cards)});
  }
}

void ModelPanel::updateTensorCount() {
  const int total = tensors_->rowCount();
  const int shown = proxy_->rowCount();
  const QString all = total == 1 ? tr("1 tensor") : tr("%1 tensors").arg(format_count(total));
  tensor_count_->setText(shown == total ? all : tr("%1 of %2").arg(format_count(shown), all));
}

void ModelPanel::showError(const QString& title, const QString& message) {
  banner_->showError(title, message);
}

void ModelPanel::clearError() {
  banner_->clear();
}

QString ModelPanel::fieldText(const QString& key) const {
  const auto* label = cards_host_->findChild<QLabel*>(QStringLiteral("value_") + key);
  return label ? label->text() : QString();
}

QString ModelPanel::titleText() const {
  return snapshot_ ? title_->text() : QString();
}

bool ModelPanel::errorShown() const {
  return banner_->isVisibleTo(this);
}

QString ModelPanel::errorText() const {
  if (banner_->isHidden()) return QString();
  return banner_->title() + QLatin1Char('\n') + banner_->message();
}

}  // namespace es::ui
