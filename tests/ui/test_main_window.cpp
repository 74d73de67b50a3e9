// The main window on the offscreen platform: open a tiny fixture model the way File →
// Open does and check the Model panel (summary, tensor table, filter, numeric sort); a
// corrupt file shows its error inline and leaves the open model alone; a drop of a .gguf
// opens it and other files are refused with a message; the recent list; close; and the
// `--screenshot` mode of the real executable.
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMimeData>
#include <QProcess>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>
#include <future>

#include "composer.h"
#include "engine_controller.h"
#include "error_banner.h"
#include "expertscope/gguf.h"
#include "expertscope/model_info.h"
#include "format.h"
#include "main_window.h"
#include "model_loader.h"
#include "model_panel.h"
#include "tensor_table_model.h"
#include "tiny_models.h"

using es::ui::MainWindow;

namespace {

// Only a guard against a hang: waits end as soon as the answer comes, and a loaded CI
// machine may be slow, so the guard is generous (a test never asserts a time).
constexpr int kOpenTimeoutMs = 300000;

std::filesystem::path fs_path(const QString& path) {
  return QFile::encodeName(path).toStdString();
}

/// What the engine says about `path`, computed here independently of the window.
struct Expected {
  es::ModelSummary summary;
  std::vector<std::pair<QString, uint64_t>> tensors;  // name, bytes
};

Expected expected_for(const QString& path) {
  const es::gguf::File file = es::gguf::File::open(fs_path(path));
  Expected e{es::summarize(file), {}};
  for (const auto& t : file.tensors()) {
    e.tensors.emplace_back(QString::fromUtf8(t.name.data(), static_cast<qsizetype>(t.name.size())),
                           t.n_bytes);
  }
  return e;
}

/// Opens `path` through the slot File → Open uses and waits for the engine's answer.
bool open_and_wait(MainWindow& window, const QString& path, bool expect_success = true) {
  QSignalSpy opened(&window, &MainWindow::modelOpened);
  QSignalSpy failed(&window, &MainWindow::modelOpenFailed);
  window.openModel(path);
  const bool answered =
      QTest::qWaitFor([&] { return opened.count() + failed.count() > 0; }, kOpenTimeoutMs);
  return answered && (expect_success ? opened.count() == 1 : failed.count() == 1);
}

/// Sends a drop of `urls` to `window` (what a file manager's drag ends with).
bool send_drop(MainWindow& window, const QList<QUrl>& urls, bool* enter_accepted) {
  QMimeData mime;
  mime.setUrls(urls);
  const QPoint pos = window.rect().center();
  QDragEnterEvent enter(pos, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(&window, &enter);
  if (enter_accepted) *enter_accepted = enter.isAccepted();
  QDropEvent drop(QPointF(pos), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(&window, &drop);
  return drop.isAccepted();
}

}  // namespace

class TestMainWindow : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase();
  void init();
  void openShowsSummaryAndTensors();
  void filterNarrowsTheTensorTable();
  void sortingByBytesIsNumeric();
  void tensorProxySortsNamesNaturallyAndBytesNumerically();
  void corruptFileShowsErrorAndKeepsTheOpenModel();
  void corruptFileOnEmptyWindowShowsErrorBanner();
  void droppingAGgufOpensIt();
  void cancellingAnOpenKeepsThePreviousModel();
  void droppingOtherFilesIsRefused();
  void recentModelsAreRememberedAndMarked();
  void closeModelReturnsToWelcomePage();
  void windowGeometryIsPersisted();
  void screenshotModeWritesPngAndExitStatus();

 private:
  QTemporaryDir dir_;
  QString deepseek_;
  QString qwen_;
  QString corrupt_;
  QString truncated_;
};

void TestMainWindow::initTestCase() {
  QVERIFY(dir_.isValid());
  // Settings go to a scratch folder under a test-only name: never the user's settings.
  QCoreApplication::setOrganizationName(QStringLiteral("expertscope-tests"));
  QCoreApplication::setApplicationName(QStringLiteral("test_main_window"));
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, dir_.filePath("settings"));
  // Sessions likewise: the default database lives under XDG_DATA_HOME.
  qputenv("XDG_DATA_HOME", dir_.filePath("data").toUtf8());

  deepseek_ = dir_.filePath("deepseek2-tiny.gguf");
  qwen_ = dir_.filePath("qwen3moe-tiny.gguf");
  es::test::write_tiny_model(es::test::tiny_spec(es::Arch::deepseek2), fs_path(deepseek_));
  es::test::write_tiny_model(es::test::tiny_spec(es::Arch::qwen3moe), fs_path(qwen_));

  corrupt_ = dir_.filePath("corrupt.gguf");
  QFile garbage(corrupt_);
  QVERIFY(garbage.open(QIODevice::WriteOnly));
  garbage.write("GGUF\x03\x00\x00\x00 this is not a model at all", 36);
  garbage.close();

  truncated_ = dir_.filePath("truncated.gguf");
  const std::vector<uint8_t> bytes =
      es::test::make_tiny_model(es::test::tiny_spec(es::Arch::olmoe));
  QFile half(truncated_);
  QVERIFY(half.open(QIODevice::WriteOnly));
  half.write(reinterpret_cast<const char*>(bytes.data()), static_cast<qint64>(bytes.size() / 2));
  half.close();
}

void TestMainWindow::init() {
  QSettings().clear();
}

void TestMainWindow::openShowsSummaryAndTensors() {
  MainWindow window;
  window.show();
  es::ui::ModelPanel* panel = window.modelPanel();
  QVERIFY(panel->titleText().isEmpty());

  QSignalSpy busy(window.loader(), &es::ui::ModelLoader::busyChanged);
  QSignalSpy phases(window.loader(), &es::ui::ModelLoader::phaseChanged);
  window.openModel(deepseek_);
  QVERIFY(window.busyIndicator()->isVisible());  // At once: the UI thread did not wait.
  QTRY_VERIFY_WITH_TIMEOUT(!window.loader()->busy(), kOpenTimeoutMs);
  QVERIFY(!window.busyIndicator()->isVisible());
  QCOMPARE(busy.count(), 2);
  QVERIFY(phases.count() >= 1);
  QCOMPARE(phases.first().at(0).value<es::ui::OpenPhase>(), es::ui::OpenPhase::mapping);

  const es::test::TinyModelSpec spec = es::test::tiny_spec(es::Arch::deepseek2);
  const Expected e = expected_for(deepseek_);
  const es::HParams& hp = e.summary.hp;
  using es::ui::format_count;
  QCOMPARE(panel->titleText(), QString::fromStdString(hp.name));
  QCOMPARE(panel->fieldText("arch"), QStringLiteral("deepseek2"));
  QCOMPARE(panel->fieldText("n_layer"), format_count(spec.n_layer));
  QCOMPARE(panel->fieldText("n_embd"), format_count(spec.n_embd));
  QCOMPARE(panel->fieldText("n_head"), format_count(spec.n_head));
  QCOMPARE(panel->fieldText("n_head_kv"), format_count(hp.n_head_kv));
  QCOMPARE(panel->fieldText("n_ctx_train"), format_count(spec.n_ctx_train));
  QCOMPARE(panel->fieldText("n_vocab"), format_count(hp.n_vocab));
  QCOMPARE(panel->fieldText("n_expert"), format_count(spec.n_expert));
  QCOMPARE(panel->fieldText("n_expert_used"), format_count(spec.n_expert_used));
  QCOMPARE(panel->fieldText("n_expert_shared"), format_count(spec.n_expert_shared));
  QCOMPARE(panel->fieldText("gating"), QStringLiteral("sigmoid"));
  QCOMPARE(panel->fieldText("n_leading_dense"), format_count(spec.n_leading_dense));
  QCOMPARE(panel->fieldText("q_lora_rank"), format_count(spec.q_lora_rank));
  QCOMPARE(panel->fieldText("kv_lora_rank"), format_count(spec.kv_lora_rank));
  QCOMPARE(panel->fieldText("n_params"), es::ui::format_params(e.summary.n_params));
  QCOMPARE(panel->fieldText("n_params_active"), es::ui::format_params(e.summary.n_params_active));
  QCOMPARE(panel->fieldText("file_size"), es::ui::format_bytes(QFileInfo(deepseek_).size()));
  QVERIFY(!panel->fieldText("bytes.F32").isEmpty());
  QCOMPARE(panel->fieldText("n_tensors"), format_count(e.tensors.size()));

  QCOMPARE(panel->tensorProxy()->rowCount(), static_cast<int>(e.tensors.size()));
  QCOMPARE(panel->tensorView()->model(), panel->tensorProxy());
  // File order until the user sorts.
  const QAbstractItemModel* model = panel->tensorProxy();
  for (int row = 0; row < model->rowCount(); ++row) {
    QCOMPARE(model->index(row, es::ui::TensorTableModel::name).data().toString(),
             e.tensors[static_cast<size_t>(row)].first);
  }
  QVERIFY(window.windowTitle().contains(QStringLiteral("deepseek2-tiny.gguf")));
  QVERIFY(!panel->errorShown());

  // The engine thread holds the file; the UI only has the copied snapshot.
  QString engine_file;
  window.engine()->blockInvoke([&](es::ui::EngineState& state) {
    if (state.file) engine_file = QString::fromStdString(state.file->name());
  });
  QVERIFY(engine_file.endsWith(QStringLiteral("deepseek2-tiny.gguf")));
}

void TestMainWindow::filterNarrowsTheTensorTable() {
  MainWindow window;
  window.show();
  QVERIFY(open_and_wait(window, deepseek_));
  es::ui::ModelPanel* panel = window.modelPanel();
  const Expected e = expected_for(deepseek_);
  const auto count_matching = [&](auto pred) {
    return static_cast<int>(std::count_if(e.tensors.begin(), e.tensors.end(), pred));
  };
  const int all = static_cast<int>(e.tensors.size());

  QTest::keyClicks(panel->tensorFilter(), QStringLiteral("ffn_gate_exps"));
  const int gate_exps =
      count_matching([](const auto& t) { return t.first.contains("ffn_gate_exps"); });
  QVERIFY(gate_exps > 0 && gate_exps < all);
  QCOMPARE(panel->tensorProxy()->rowCount(), gate_exps);
  QVERIFY(panel->findChild<QLabel*>("tensorCount")->text().contains(QString::number(gate_exps)));

  panel->tensorFilter()->setText(QStringLiteral("BLK.1.*_EXPS"));  // Wildcard, any case.
  const int blk1_exps = count_matching([](const auto& t) {
    return t.first.startsWith("blk.1.") && t.first.endsWith("_exps.weight");
  });
  QVERIFY(blk1_exps > 0);
  QCOMPARE(panel->tensorProxy()->rowCount(), blk1_exps);

  panel->tensorFilter()->setText(QStringLiteral("F32"));  // Types match too.
  QCOMPARE(panel->tensorProxy()->rowCount(), all);
  panel->tensorFilter()->setText(QStringLiteral("no-such-tensor"));
  QCOMPARE(panel->tensorProxy()->rowCount(), 0);
  panel->tensorFilter()->clear();
  QCOMPARE(panel->tensorProxy()->rowCount(), all);
}

void TestMainWindow::sortingByBytesIsNumeric() {
  MainWindow window;
  window.show();
  QVERIFY(open_and_wait(window, deepseek_));
  es::ui::ModelPanel* panel = window.modelPanel();
  auto* proxy = panel->tensorProxy();
  auto* source = qobject_cast<es::ui::TensorTableModel*>(proxy->sourceModel());
  QVERIFY(source);
  const auto bytes_at = [&](int row) {
    const QModelIndex src = proxy->mapToSource(proxy->index(row, 0));
    return source->tensorAt(src.row())->n_bytes;
  };
  const Expected e = expected_for(deepseek_);
  uint64_t largest = 0, smallest = UINT64_MAX;
  for (const auto& t : e.tensors) {
    largest = std::max(largest, t.second);
    smallest = std::min(smallest, t.second);
  }

  panel->tensorView()->sortByColumn(es::ui::TensorTableModel::bytes, Qt::DescendingOrder);
  QCOMPARE(bytes_at(0), largest);
  for (int row = 1; row < proxy->rowCount(); ++row) QVERIFY(bytes_at(row - 1) >= bytes_at(row));
  panel->tensorView()->sortByColumn(es::ui::TensorTableModel::bytes, Qt::AscendingOrder);
  QCOMPARE(bytes_at(0), smallest);
  for (int row = 1; row < proxy->rowCount(); ++row) QVERIFY(bytes_at(row - 1) <= bytes_at(row));
  // Text order would put "1.00 KiB" before "512 bytes"; numbers must not sort as text.
  QVERIFY(proxy->index(0, es::ui::TensorTableModel::bytes).data().toString() !=
          proxy->index(proxy->rowCount() - 1, es::ui::TensorTableModel::bytes).data().toString());

  // Names sort naturally: blk.2 before blk.10 (when there are that many layers) and
  // blk.0 before blk.1.
  panel->tensorView()->sortByColumn(es::ui::TensorTableModel::name, Qt::AscendingOrder);
  QStringList names;
  for (int row = 0; row < proxy->rowCount(); ++row) {
    names << proxy->index(row, es::ui::TensorTableModel::name).data().toString();
  }
  QVERIFY(names.indexOf(QRegularExpression("^blk\\.0\\..*")) <
          names.indexOf(QRegularExpression("^blk\\.1\\..*")));
}

void TestMainWindow::tensorProxySortsNamesNaturallyAndBytesNumerically() {
  auto snapshot = std::make_shared<es::ui::ModelSnapshot>();
  const auto add = [&](const char* name, uint64_t bytes) {
    es::ui::TensorRow row;
    row.name = QString::fromLatin1(name);
    row.type = QStringLiteral("F32");
    row.n_dims = 1;
    row.ne = {static_cast<int64_t>(bytes / 4), 1, 1, 1};
    row.n_elements = bytes / 4;
    row.n_bytes = bytes;
    snapshot->tensors.push_back(row);
  };
  add("blk.10.ffn_up_exps.weight", 1024);          // "1.00 KiB"
  add("blk.2.ffn_up_exps.weight", 512);            // "512 bytes"
  add("blk.1.attn_norm.weight", 3 * 1024 * 1024);  // "3.00 MiB"
  add("output.weight", 2048);                      // "2.00 KiB"
  es::ui::TensorTableModel model;
  model.setSnapshot(snapshot);
  es::ui::TensorFilterProxy proxy;
  proxy.setSourceModel(&model);
  const auto column = [&](int c) {
    QStringList values;
    for (int row = 0; row < proxy.rowCount(); ++row)
      values << proxy.index(row, c).data().toString();
    return values;
  };
  using M = es::ui::TensorTableModel;
  proxy.sort(M::name, Qt::AscendingOrder);
  QCOMPARE(column(M::name), (QStringList{"blk.1.attn_norm.weight", "blk.2.ffn_up_exps.weight",
                                         "blk.10.ffn_up_exps.weight", "output.weight"}));
  proxy.sort(M::bytes, Qt::AscendingOrder);
  QCOMPARE(column(M::name), (QStringList{"blk.2.ffn_up_exps.weight", "blk.10.ffn_up_exps.weight",
                                         "output.weight", "blk.1.attn_norm.weight"}));
  proxy.sort(M::shape, Qt::DescendingOrder);  // By element count.
  QCOMPARE(proxy.index(0, M::name).data().toString(), QStringLiteral("blk.1.attn_norm.weight"));
  QCOMPARE(
      proxy.index(0, M::bytes).data(Qt::TextAlignmentRole).value<Qt::Alignment>() & Qt::AlignRight,
      Qt::AlignRight);
  proxy.setPattern(QStringLiteral("blk.?.*exps"));
  QCOMPARE(proxy.rowCount(), 1);
}

void TestMainWindow::corruptFileShowsErrorAndKeepsTheOpenModel() {
  MainWindow window;
  window.show();
  QVERIFY(open_and_wait(window, deepseek_));
  es::ui::ModelPanel* panel = window.modelPanel();
  const QString title = panel->titleText();
  const int rows = panel->tensorProxy()->rowCount();

  for (const QString& bad : {corrupt_, truncated_}) {
    QSignalSpy failed(&window, &MainWindow::modelOpenFailed);
    QVERIFY(open_and_wait(window, bad, /*expect_success=*/false));
    const QString message = failed.first().at(1).toString();
    QVERIFY2(message.contains(QFileInfo(bad).fileName()), qPrintable(message));
    QVERIFY(panel->errorShown());
    QVERIFY(panel->errorText().contains(message));
    QVERIFY(panel->errorText().contains(QFileInfo(bad).fileName()));
    QVERIFY(!window.busyIndicator()->isVisible());
    // The previous model is untouched, in the panel and on the engine thread.
    QCOMPARE(panel->titleText(), title);
    QCOMPARE(panel->tensorProxy()->rowCount(), rows);
    QCOMPARE(window.loader()->current()->path, es::ui::RecentModels::normalized(deepseek_));
    bool engine_has_model = false;
    window.engine()->blockInvoke(
        [&](es::ui::EngineState& s) { engine_has_model = s.file.has_value(); });
    QVERIFY(engine_has_model);
    QVERIFY(!window.recentModels().paths().contains(es::ui::RecentModels::normalized(bad)));
  }

  // Opening a good model again clears the error.
  QVERIFY(open_and_wait(window, qwen_));
  QVERIFY(!panel->errorShown());
  QCOMPARE(panel->fieldText("arch"), QStringLiteral("qwen3moe"));
}

void TestMainWindow::corruptFileOnEmptyWindowShowsErrorBanner() {
  MainWindow window;
  window.show();
  QVERIFY(open_and_wait(window, corrupt_, /*expect_success=*/false));
  es::ui::ModelPanel* panel = window.modelPanel();
  QVERIFY(panel->errorShown());
  QVERIFY(panel->titleText().isEmpty());  // Still the welcome page.
  QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("corrupt.gguf")));
  auto* dismiss = panel->findChild<QToolButton*>(QStringLiteral("errorDismiss"));
  QVERIFY(dismiss);
  QTest::mouseClick(dismiss, Qt::LeftButton);
  QVERIFY(!panel->errorShown());

  // A path that does not exist is an error too, named.
  const QString missing = dir_.filePath("missing.gguf");
  QSignalSpy failed(&window, &MainWindow::modelOpenFailed);
  QVERIFY(open_and_wait(window, missing, /*expect_success=*/false));
  QVERIFY(failed.first().at(1).toString().contains(QStringLiteral("missing.gguf")));
}

void TestMainWindow::droppingAGgufOpensIt() {
  MainWindow window;
  window.show();
  QSignalSpy opened(&window, &MainWindow::modelOpened);
  bool enter_accepted = false;
  QVERIFY(send_drop(window, {QUrl::fromLocalFile(qwen_)}, &enter_accepted));
  QVERIFY(enter_accepted);
  QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, kOpenTimeoutMs);
  QCOMPARE(window.modelPanel()->fieldText("arch"), QStringLiteral("qwen3moe"));
  QCOMPARE(window.modelPanel()->tensorProxy()->rowCount(),
           static_cast<int>(expected_for(qwen_).tensors.size()));

  // With other files in the drop, the first .gguf among them is opened.
  QVERIFY(send_drop(
      window, {QUrl::fromLocalFile(dir_.filePath("notes.txt")), QUrl::fromLocalFile(deepseek_)},
      nullptr));
  QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 2, kOpenTimeoutMs);
  QCOMPARE(window.modelPanel()->fieldText("arch"), QStringLiteral("deepseek2"));
}

void TestMainWindow::cancellingAnOpenKeepsThePreviousModel() {
  MainWindow window;
  window.show();
  QSignalSpy progress(window.loader(), &es::ui::ModelLoader::progressChanged);
  QVERIFY(open_and_wait(window, qwen_));
  // Reading the weights reports its progress, up to 1.
  QVERIFY(!progress.isEmpty());
  QCOMPARE(progress.last().at(0).toDouble(), 1.0);
  // Hold the engine thread so that the cancel lands before the open starts.
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  window.engine()->asyncInvoke([gate](es::ui::EngineState&) { gate.wait(); });
  QSignalSpy failed(&window, &MainWindow::modelOpenFailed);
  window.openModel(deepseek_);
  window.loader()->cancel();
  release.set_value();
  QVERIFY(failed.wait(kOpenTimeoutMs));
  QVERIFY(failed.at(0).at(1).toString().contains(QStringLiteral("cancelled")));
  QCOMPARE(window.modelPanel()->fieldText("arch"), QStringLiteral("qwen3moe"));
}

void TestMainWindow::droppingOtherFilesIsRefused() {
  MainWindow window;
  window.show();
  QSignalSpy problems(&window, &MainWindow::problemShown);
  // A text file is attached to the message being written, not opened as a model.
  {
    QFile notes(dir_.filePath("notes.txt"));
    QVERIFY(notes.open(QIODevice::WriteOnly));
    notes.write("Expert notes\n");
  }
  bool enter_accepted = false;
  QVERIFY(send_drop(window, {QUrl::fromLocalFile(dir_.filePath("notes.txt"))}, &enter_accepted));
  QVERIFY(enter_accepted);
  QVERIFY(!window.loader()->busy());
  QCOMPARE(window.composer()->attachments().size(), size_t{1});
  QCOMPARE(window.composer()->attachments()[0].file_name, std::string("notes.txt"));
  // A file the model cannot use is refused with a message that names it.
  const QString binary = dir_.filePath("blob.bin");
  {
    QFile f(binary);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray("\x00\x01\xff\xfe binary", 12));
  }
  QVERIFY(send_drop(window, {QUrl::fromLocalFile(binary)}, nullptr));
  // Only FFmpeg can tell what a nameless binary is: found out off the UI thread.
  QTRY_COMPARE_WITH_TIMEOUT(problems.count(), 1, kOpenTimeoutMs);
  QVERIFY2(problems.at(0).at(0).toString().contains(QStringLiteral("blob.bin")),
           qPrintable(problems.at(0).at(0).toString()));
  QCOMPARE(window.composer()->attachments().size(), size_t{1});
  QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("blob.bin")));
  // Remote URLs are neither opened nor fetched.
  QVERIFY(!send_drop(window, {QUrl(QStringLiteral("https://example.com/model.gguf"))}, nullptr));
  QVERIFY(!window.loader()->busy());
}

void TestMainWindow::recentModelsAreRememberedAndMarked() {
  const QString doomed = dir_.filePath("doomed.gguf");
  QVERIFY(QFile::copy(qwen_, doomed));
  {
    MainWindow window;
    window.show();
    QVERIFY(open_and_wait(window, doomed));
    QVERIFY(open_and_wait(window, qwen_));
    QVERIFY(open_and_wait(window, deepseek_));
    const QStringList expected{es::ui::RecentModels::normalized(deepseek_),
                               es::ui::RecentModels::normalized(qwen_),
                               es::ui::RecentModels::normalized(doomed)};
    QCOMPARE(window.recentModels().paths(), expected);
  }
  QVERIFY(QFile::remove(doomed));

  // A new window (a new session) remembers them, newest first; the missing one is marked.
  MainWindow window;
  window.show();
  QCOMPARE(window.recentModels().paths().size(), 3);
  QCOMPARE(window.recentModels().paths().front(), es::ui::RecentModels::normalized(deepseek_));
  QMenu* menu = window.recentMenu();
  emit menu->aboutToShow();
  QList<QAction*> entries;
  for (QAction* a : menu->actions()) {
    if (a->data().isValid()) entries << a;
  }
  QCOMPARE(entries.size(), 3);
  QVERIFY(entries[0]->text().contains(QStringLiteral("deepseek2-tiny.gguf")));
  QVERIFY(entries[0]->isEnabled());
  QVERIFY(entries[2]->text().contains(QStringLiteral("doomed.gguf")));
  QVERIFY(entries[2]->text().contains(QStringLiteral("not found")));
  QVERIFY(!entries[2]->isEnabled());

  // Choosing an entry opens it and moves it to the front.
  QSignalSpy opened(&window, &MainWindow::modelOpened);
  entries[1]->trigger();
  QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, kOpenTimeoutMs);
  QCOMPARE(window.recentModels().paths().front(), es::ui::RecentModels::normalized(qwen_));

  // At most max_entries are kept.
  es::ui::RecentModels recent;
  for (int i = 0; i < es::ui::RecentModels::max_entries + 5; ++i) {
    recent.add(dir_.filePath(QStringLiteral("m%1.gguf").arg(i)));
  }
  QCOMPARE(recent.paths().size(), es::ui::RecentModels::max_entries);
  QCOMPARE(es::ui::RecentModels().paths(), recent.paths());
}

void TestMainWindow::closeModelReturnsToWelcomePage() {
  MainWindow window;
  window.show();
  QVERIFY(open_and_wait(window, deepseek_));
  QSignalSpy closed(window.loader(), &es::ui::ModelLoader::closed);
  window.closeModel();
  QTRY_COMPARE_WITH_TIMEOUT(closed.count(), 1, kOpenTimeoutMs);
  QVERIFY(window.modelPanel()->titleText().isEmpty());
  QCOMPARE(window.modelPanel()->tensorProxy()->rowCount(), 0);
  QVERIFY(!window.loader()->current());
  bool engine_has_model = true;
  window.engine()->blockInvoke(
      [&](es::ui::EngineState& s) { engine_has_model = s.file.has_value(); });
  QVERIFY(!engine_has_model);
  QCOMPARE(window.windowTitle(), QStringLiteral("Expertscope"));
}

void TestMainWindow::windowGeometryIsPersisted() {
  {
    MainWindow window;
    window.show();
    window.resize(900, 640);
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.close();
  }
  QVERIFY(!QSettings().value("window/geometry").toByteArray().isEmpty());
  MainWindow again;
  QCOMPARE(again.size(), QSize(900, 640));

  // A screenshot window neither reads nor writes settings.
  MainWindow shot(MainWindow::Options{.use_settings = false});
  QCOMPARE(shot.size(), QSize(1280, 820));
}

void TestMainWindow::screenshotModeWritesPngAndExitStatus() {
  const QString out = dir_.filePath("shot.png");
  QProcess app;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
  app.setProcessEnvironment(env);
  app.start(QStringLiteral(ES_GUI_PATH), {deepseek_, QStringLiteral("--screenshot"), out});
  QVERIFY(app.waitForFinished(-1));
  QCOMPARE(app.exitCode(), 0);
  QImage image(out);
  QVERIFY(!image.isNull());
  QCOMPARE(image.size(), QSize(1280, 820));

  const QString bad_out = dir_.filePath("bad.png");
  app.start(QStringLiteral(ES_GUI_PATH), {corrupt_, QStringLiteral("--screenshot"), bad_out});
  QVERIFY(app.waitForFinished(-1));
  QCOMPARE(app.exitCode(), 3);
  QVERIFY(QString::fromLocal8Bit(app.readAllStandardError()).contains(QStringLiteral("error: ")));
  QVERIFY(QFile::exists(bad_out));  // The picture shows the error.

  // No model on the command line: the bundled demo model (here a fixture named by
  // EXPERTSCOPE_DEMO_MODEL) is opened; a corrupt one is an error naming it.
  const QString demo_out = dir_.filePath("demo.png");
  env.insert(QStringLiteral("EXPERTSCOPE_DEMO_MODEL"), deepseek_);
  app.setProcessEnvironment(env);
  app.start(QStringLiteral(ES_GUI_PATH), {QStringLiteral("--screenshot"), demo_out});
  QVERIFY(app.waitForFinished(-1));
  QCOMPARE(app.exitCode(), 0);
  QVERIFY(!QImage(demo_out).isNull());
  env.insert(QStringLiteral("EXPERTSCOPE_DEMO_MODEL"), corrupt_);
  app.setProcessEnvironment(env);
  app.start(QStringLiteral(ES_GUI_PATH), {QStringLiteral("--screenshot"), demo_out});
  QVERIFY(app.waitForFinished(-1));
  QCOMPARE(app.exitCode(), 3);
  QVERIFY(QString::fromLocal8Bit(app.readAllStandardError()).contains(corrupt_));
}

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
