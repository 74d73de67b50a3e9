#include "sessions_sidebar.h"

#include <QDateTime>
#include <QInputDialog>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPushButton>
#include <QVBoxLayout>

namespace es::ui {

namespace {

constexpr int kIdRole = Qt::UserRole;

}  // namespace

SessionsSidebar::SessionsSidebar(QWidget* parent) : QWidget(parent) {
  setObjectName(QStringLiteral("sessionsSidebar"));
  search_ = new QLineEdit(this);
  search_->setObjectName(QStringLiteral("sessionSearch"));
  search_->setPlaceholderText(tr("Search all messages"));
  search_->setClearButtonEnabled(true);
  new_ = new QPushButton(tr("New Session"), this);
  new_->setObjectName(QStringLiteral("newSessionButton"));
  list_ = new QListWidget(this);
  list_->setObjectName(QStringLiteral("sessionList"));
  list_->setContextMenuPolicy(Qt::CustomContextMenu);
  list_->setWordWrap(true);
  list_->setUniformItemSizes(false);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(new_);
  layout->addWidget(search_);
  layout->addWidget(list_, 1);

  debounce_.setSingleShot(true);
  debounce_.setInterval(200);
  connect(search_, &QLineEdit::textChanged, this, [this] { debounce_.start(); });
  connect(&debounce_, &QTimer::timeout, this, [this] {
    const QString q = search_->text().trimmed();
    if (q.isEmpty()) {
      showList();
    } else {
      emit searchRequested(q);
    }
  });
  connect(new_, &QPushButton::clicked, this, &SessionsSidebar::newRequested);
  connect(list_, &QListWidget::itemClicked, this, [this](QListWidgetItem* item) {
    emit sessionActivated(item->data(kIdRole).toLongLong());
  });
  connect(list_, &QListWidget::customContextMenuRequested, this, &SessionsSidebar::showMenu);
}

void SessionsSidebar::setSessions(const QVector<SessionSummary>& sessions) {
  sessions_ = sessions;
  if (!showing_hits_) showList();
}

void SessionsSidebar::showList() {
  showing_hits_ = false;
  list_->clear();
  for (const SessionSummary& s : sessions_) {
    const QString when =
        QDateTime::fromMSecsSinceEpoch(s.updated_ms).toString(QStringLiteral("yyyy-MM-dd HH:mm"));
    auto* item =
        new QListWidgetItem(QStringLiteral("%1\n%2 · %3")
                                .arg(QString::fromStdString(s.title), when)
                                .arg(tr("%n message(s)", nullptr, static_cast<int>(s.n_messages))),
                            list_);
    item->setData(kIdRole, QVariant::fromValue<qlonglong>(s.id));
    item->setToolTip(s.model ? QString::fromStdString(s.model->name) : QString());
    if (s.id == current_) item->setSelected(true);
  }
}

void SessionsSidebar::setSearchResults(const QString& query, const QVector<SearchHit>& hits) {
  if (query != search_->text().trimmed()) return;  // an older query
  showing_hits_ = true;
  list_->clear();
  if (hits.isEmpty()) {
    auto* none = new QListWidgetItem(tr("No message holds “%1”").arg(query), list_);
    none->setFlags(Qt::NoItemFlags);
    return;
  }
  for (const SearchHit& h : hits) {
    auto* item = new QListWidgetItem(
        QStringLiteral("%1\n%2: %3")
            .arg(QString::fromStdString(h.session_title), QString::fromStdString(h.role),
                 QString::fromStdString(h.snippet)),
        list_);
    item->setData(kIdRole, QVariant::fromValue<qlonglong>(h.session_id));
  }
}

void SessionsSidebar::setCurrent(int64_t id) {
  current_ = id;
  for (int i = 0; i < list_->count(); ++i) {
    QListWidgetItem* item = list_->item(i);
    item->setSelected(item->data(kIdRole).toLongLong() == id);
  }
}

void SessionsSidebar::showMenu(const QPoint& at) {
  QListWidgetItem* item = list_->itemAt(at);
  if (item == nullptr || !(item->flags() & Qt::ItemIsEnabled)) return;
  const int64_t id = item->data(kIdRole).toLongLong();
  QString title = item->text().section(QLatin1Char('\n'), 0, 0);
  QMenu menu(this);
  menu.addAction(tr("Rename…"), this, [this, id, title] {
    bool ok = false;
    const QString t = QInputDialog::getText(this, tr("Rename Session"), tr("Title:"),
                                            QLineEdit::Normal, title, &ok);
    if (ok && !t.trimmed().isEmpty()) emit renameRequested(id, t.trimmed());
  });
  menu.addAction(tr("Duplicate"), this, [this, id] { emit duplicateRequested(id); });
  menu.addAction(tr("Export…"), this, [this, id] { emit exportRequested(id); });
  menu.addSeparator();
  menu.addAction(tr("Delete…"), this, [this, id, title] {
    if (QMessageBox::question(this, tr("Delete Session"),
                              tr("Delete “%1” with all its messages and routing?").arg(title)) ==
        QMessageBox::Yes) {
      emit deleteRequested(id);
    }
  });
  menu.exec(list_->viewport()->mapToGlobal(at));
}

}  // namespace es::ui
