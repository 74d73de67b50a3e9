// Runs expertscope-cli (ES_CLI_PATH) for end-to-end tests. No time limit: CTest's own
// timeout guards against a hang, and a test never asserts a time.
#pragma once

#include <QByteArray>
#include <QProcess>
#include <QStringList>

namespace es::test {

struct CliRun {
  int exit_code = -1;  ///< -2: the process crashed.
  QByteArray out;
  QByteArray err;
};

inline CliRun run_cli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(ES_CLI_PATH), args);
  CliRun r;
  if (!p.waitForStarted(-1) || !p.waitForFinished(-1)) return r;
  r.exit_code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
  r.out = p.readAllStandardOutput();
  r.err = p.readAllStandardError();
  return r;
}

}  // namespace es::test
