// Backend plugins through the C ABI: the loader accepts the reference plugin, rejects the
// broken ones with the reason (another API version, score 0, not a library), and an op
// runs through the vtable (alloc, upload, run, download) with the CPU's result.
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <fstream>

#include "backend/plugin_loader.h"

using es::backend::scan_plugins;

namespace {

bool has_line(const std::vector<std::string>& log, const std::string& a, const std::string& b) {
  for (const std::string& line : log) {
    if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

class TestPlugins : public QObject {
  Q_OBJECT

 private slots:
  void the_loader_accepts_and_rejects_with_reasons() {
    QTemporaryDir junk;
    std::ofstream(junk.filePath("not_a_library.so").toStdString()) << "this is text";
    const auto scan = scan_plugins({ES_PLUGIN_DIR, junk.path().toStdString()});
    for (const std::string& line : scan.log) qInfo("%s", line.c_str());
    QCOMPARE(scan.accepted.size(), size_t{1});
    QCOMPARE(scan.accepted[0]->name(), std::string("reference"));
    QVERIFY(has_line(scan.log, "expertscope_test_wrong_version", "built for backend API 99"));
    QVERIFY(has_line(scan.log, "expertscope_test_cannot_run", "score 0"));
    QVERIFY(has_line(scan.log, "not_a_library.so", "cannot be loaded"));
  }

  void the_plugin_path_variable_is_scanned_first() {
    qputenv("EXPERTSCOPE_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b");
    const auto dirs = es::backend::plugin_dirs();
    QVERIFY(dirs.size() >= 2);
    QCOMPARE(dirs[0], std::filesystem::path("/nonexistent/a"));
    QCOMPARE(dirs[1], std::filesystem::path("/nonexistent/b"));
    qunsetenv("EXPERTSCOPE_PLUGIN_PATH");
  }

  void an_op_runs_through_the_abi() {
    const auto scan = scan_plugins({ES_PLUGIN_DIR});
    QCOMPARE(scan.accepted.size(), size_t{1});
    const es_backend_vtable& vt = scan.accepted[0]->vtable();
    QVERIFY(vt.supports(vt.state, ES_OP_ADD_F32, 0) != 0);
    QVERIFY(vt.supports(vt.state, ES_OP_ADD_F32, 8) == 0);  // no weight types
    const uint32_t n = 1001;
    std::vector<float> a(n);
    std::vector<float> b(n);
    for (uint32_t i = 0; i < n; ++i) {
      a[i] = 0.5f * static_cast<float>(i) - 7.0f;
      b[i] = 1.0f / static_cast<float>(i + 1);
    }
    es_backend_buffer* ba = vt.alloc(vt.state, n * 4);
    es_backend_buffer* bb = vt.alloc(vt.state, n * 4);
    es_backend_buffer* out = vt.alloc(vt.state, n * 4);
    QVERIFY(ba && bb && out);
    QCOMPARE(vt.upload(vt.state, ba, 0, a.data(), n * 4), 0);
    QCOMPARE(vt.upload(vt.state, bb, 0, b.data(), n * 4), 0);
    const es_backend_buffer* inputs[] = {ba, bb};
    QCOMPARE(vt.run_op(vt.state, ES_OP_ADD_F32, inputs, 2, out, &n, sizeof n), 0);
    std::vector<float> got(n);
    QCOMPARE(vt.download(vt.state, out, 0, got.data(), n * 4), 0);
    for (uint32_t i = 0; i < n; ++i) QCOMPARE(got[i], a[i] + b[i]);
    // Bad requests fail with a message, never a crash.
    QVERIFY(vt.run_op(vt.state, ES_OP_ADD_F32, inputs, 1, out, &n, sizeof n) != 0);
    QVERIFY(std::strlen(vt.last_error(vt.state)) > 0);
    QVERIFY(vt.upload(vt.state, ba, n * 4, a.data(), 4) != 0);
    QVERIFY(vt.run_op(vt.state, 999, inputs, 2, out, &n, sizeof n) != 0);
    QVERIFY(std::string(vt.last_error(vt.state)).find("999") != std::string::npos);
    vt.free(vt.state, ba);
    vt.free(vt.state, bb);
    vt.free(vt.state, out);
  }
};

QTEST_GUILESS_MAIN(TestPlugins)
#include "test_plugins.moc"
