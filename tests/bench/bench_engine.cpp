// `expertscope-cli bench` on its own: the CLI's cmd_bench.cpp linked with the engine alone
// (no FFmpeg, Poppler or Qt GUI libraries), so that tests/device/pack.sh can carry it to a
// GPU machine that has none of them. Same arguments and JSON as the CLI's command:
//   bench_engine -m MODEL [--backend B] [--threads N] [-p 512] [-n 128] [-r 3] [--ops]
#include <cstdio>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  using namespace es::cli;
  try {
    const Args args("bench", std::vector<std::string>(argv + 1, argv + argc));
    return cmd_bench(args);
  } catch (const es::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return e.kind() == es::ErrorKind::usage ? exit_usage : exit_bad_input;
  } catch (...) {
    std::fputs("error: internal error\n", stderr);  // as expertscope-cli's main()
    return exit_internal;
  }
}
