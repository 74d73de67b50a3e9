#include "error_banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

namespace es::ui {

ErrorBanner::ErrorBanner(QWidget* parent)
    : QFrame(parent), title_(new QLabel(this)), message_(new QLabel(this)) {
  setObjectName(QStringLiteral("errorBanner"));
  // Translucent red reads well on light and dark palettes alike.
  setStyleSheet(QStringLiteral(
      "#errorBanner { background: rgba(220, 53, 69, 0.10); border: 1px solid rgba(220, 53, 69, "
      "0.55); border-radius: 6px; }"));
  auto* icon = new QLabel(this);
  const int icon_px = style()->pixelMetric(QStyle::PM_SmallIconSize) * 3 / 2;
  icon->setPixmap(style()->standardIcon(QStyle::SP_MessageBoxCritical).pixmap(icon_px, icon_px));
  icon->setAlignment(Qt::AlignTop);

  QFont bold = title_->font();
  bold.setBold(true);
  title_->setFont(bold);
  title_->setObjectName(QStringLiteral("errorTitle"));
  title_->setTextFormat(Qt::PlainText);
  message_->setObjectName(QStringLiteral("errorMessage"));
  message_->setTextFormat(Qt::PlainText);
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* dismiss = new QToolButton(this);
  dismiss->setObjectName(QStringLiteral("errorDismiss"));
  dismiss->setText(tr("Dismiss"));
  dismiss->setToolTip(tr("Hide this message"));
  dismiss->setAutoRaise(true);
  connect(dismiss, &QToolButton::clicked, this, &ErrorBanner::clear);

  auto* text = new QVBoxLayout;
  text->setSpacing(2);
  text->addWidget(title_);
  text->addWidget(message_);
  auto* row = new QHBoxLayout(this);
  row->setContentsMargins(12, 10, 8, 10);
  row->setSpacing(10);
  row->addWidget(icon, 0, Qt::AlignTop);
  row->addLayout(text, 1);
  row->addWidget(dismiss, 0, Qt::AlignTop);
  hide();
}

void ErrorBanner::showError(const QString& title, const QString& message) {
  title_->setText(title);
  message_->setText(message);
  show();
}

void ErrorBanner::clear() {
  title_->clear();
  message_->clear();
  hide();
}

QString ErrorBanner::title() const {
  return title_->text();
}

QString ErrorBanner::message() const {
  return message_->text();
}

}  // namespace es::ui
