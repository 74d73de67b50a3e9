// expertscope-cli export: one session of a store as Markdown, HTML, JSON, CSV, NumPy or
// (when built with the UI) PDF, written atomically.
#include <cstdio>

#include "cli.h"
#include "expertscope/store.h"
#include "expertscope/transcript.h"

#ifdef EXPERTSCOPE_HAVE_PDF
#include <QGuiApplication>

#include "pdf_export.h"
#endif

namespace es::cli {

int cmd_export(const Args& args) {
  args.reject_unknown_options({"--db", "--session", "--format", "--out"});
  const auto db = args.value("--db");
  const auto session_arg = args.value("--session");
  const auto out = args.value("--out");
  if (!db) throw usage_error("export: no database given (--db FILE)");
  if (!session_arg) throw usage_error("export: no session given (--session ID)");
  if (!out) throw usage_error("export: no output given (--out PATH)");
  const std::filesystem::path out_path(*out);
  std::string format_name;
  if (const auto f = args.value("--format")) {
    format_name = *f;
  } else {
    format_name = out_path.extension().string();
    if (!format_name.empty()) format_name.erase(0, 1);
  }
  const auto format = transcript::parse_format(format_name);
  if (!format) {
    throw usage_error("export: unknown format '" + format_name +
                      "' (expected md, html, json, csv, npy or pdf)");
  }
#ifndef EXPERTSCOPE_HAVE_PDF
  if (*format == transcript::Format::pdf) {
    throw Error(ErrorKind::unsupported,
                "export: PDF is rendered by the Qt front end; this expertscope-cli was built "
                "without it (EXPERTSCOPE_BUILD_UI=OFF)");
  }
#endif
  const int64_t id = parse_int(*session_arg, "--session");
  Store store(*db, Store::Options{.create = false});
  const Session session = store.load_session(id);
#ifdef EXPERTSCOPE_HAVE_PDF
  if (*format == transcript::Format::pdf) {
    // QTextDocument lays text out with real fonts: it needs a QGuiApplication, which
    // needs no display on the offscreen platform.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    int argc = 1;
    char name[] = "expertscope-cli";
    char* argv[] = {name, nullptr};
    const QGuiApplication app(argc, argv);
    pdf::write_pdf(session, out_path);
    return exit_ok;
  }
#endif
  transcript::write_export(session, *format, out_path);
  return exit_ok;
}

}  // namespace es::cli
